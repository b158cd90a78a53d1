import KVModel

/// `random` during generation: evicts random entries (a baseline).
///
/// With a `seed` the choice is reproducible: each (layer, head) draws from its own generator
/// seeded by `seed`, the layer and the head.
///
/// Parameters, defaults and ranges: its `DecodingCatalog` entry.
public final class DecodingRandom: CatalogDecodingScorer {
    public let arguments: PressArguments
    public let seed: Int?

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        seed = arguments.optionalInt("seed")
    }

    public func score(_ layer: DecodingLayer, head g: Int) -> [Float] {
        let base = seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: .min ... .max)
        var rng = SplitMix64(seed: base ^ UInt64(layer.geometry.layer &* 1_000_003 &+ g))
        return (0..<layer.heads[g].count).map { _ in rng.nextUnitFloat() }
    }
}
