import KVModel

/// `knorm` during generation: keeps the keys with the smallest L2 norm (kvpress `KnormPress`
/// inside `DecodingPress`). Needs nothing from the attention.
public final class DecodingKnorm: CatalogDecodingScorer {
    public let arguments: PressArguments
    public init(_ arguments: PressArguments) { self.arguments = arguments }

    public func score(_ layer: DecodingLayer, head g: Int) -> [Float] {
        let keys = layer.keys(g), kd = layer.heads[g].keyDimension
        return keys.withUnsafeBufferPointer { Norms.l2($0.baseAddress!, rows: layer.heads[g].count, width: kd).map { -$0 } }
    }
}
