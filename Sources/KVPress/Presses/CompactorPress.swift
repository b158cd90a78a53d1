/// Blends leverage scores and non-causal chunked attention (kvpress `CompactorPress`).
///
/// The first `sink_size_start` and last `sink_size_end` tokens always stay; on the rest,
/// `blending · leverage + non_causal_attn` (both z-normalised), with `blending` defaulting to the
/// compression ratio.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2507.08143.
public final class CompactorPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let sinkSizeStart: Int
    public let sinkSizeEnd: Int
    public let blending: Double?
    /// Leverage scores of the middle (`sketch_dimension`, `seed`).
    let leverage: LeverageScorePress
    /// Non-causal chunked attention of the middle (`chunk_size`).
    let attention: NonCausalAttnPress

    public init(_ arguments: PressArguments) throws {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        sinkSizeStart = arguments[.sinkSizeStart]
        sinkSizeEnd = arguments[.sinkSizeEnd]
        blending = arguments[.blending]
        leverage = LeverageScorePress(try PressCatalog.arguments(SpecNode(name: "leverage", parameters: [
            .init(ParameterKey<Int>.sketchDimension.name, arguments.printed(.sketchDimension)),
            .init(ParameterKey<Int?>.seed.name, arguments.printed(.seed)),
        ])))
        attention = NonCausalAttnPress(try PressCatalog.arguments(SpecNode(name: "non_causal_attn", parameters: [
            .init(ParameterKey<Int>.chunkSize.name, arguments.printed(.chunkSize)),
        ])))
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, G = input.headCountKV
        let left = min(sinkSizeStart, T)
        let right = min(sinkSizeEnd, max(0, T - left))
        let middle = input.rows(left..<(T - right))
        let n = middle.tokenCount
        guard n > 1 else { return [Float](repeating: 1, count: G * T) }
        let w = Float(blending ?? compressionRatio)
        let blended = zip(try leverage.score(middle), try attention.score(middle)).map { w * $0 + $1 }
        return Pooling.pad(blended, rows: G, count: n, left: left, right: right, value: Pooling.max(blended))
    }
}
