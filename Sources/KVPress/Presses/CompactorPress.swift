/// Blends leverage scores and non-causal chunked attention (kvpress `CompactorPress`).
///
/// The first `sink_size_start` and last `sink_size_end` tokens always stay; on the rest,
/// `blending · leverage + non_causal_attn` (both z-normalised), with `blending` defaulting to the
/// compression ratio.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - sink_size_start: initial tokens kept, `≥ 0`; default `8`.
///   - sink_size_end: most recent tokens kept, `≥ 0`; default `4`.
///   - chunk_size: chunk of the non-causal attention, `≥ 1`; default `256`.
///   - sketch_dimension: leverage sketch width, `≥ 1`; default `48`.
///   - blending: weight of the leverage scores, or `none` for `compression_ratio`; default `none`.
///   - seed: sketch seed (kvd extension), or `none`; default `none`.
///
/// Based on https://arxiv.org/abs/2507.08143.
public final class CompactorPress: ScorerPress {
    public let name = "compactor"
    public var compressionRatio: Double
    public var sinkSizeStart: Int
    public var sinkSizeEnd: Int
    public var chunkSize: Int
    public var sketchDimension: Int
    public var blending: Double?
    public var seed: Int?

    public init(compressionRatio: Double = 0.0, sinkSizeStart: Int = 8, sinkSizeEnd: Int = 4, chunkSize: Int = 256,
                sketchDimension: Int = 48, blending: Double? = nil, seed: Int? = nil) throws {
        try Validate.ratio(compressionRatio, press: "compactor")
        try Validate.atLeast(sinkSizeStart, 0, "sink_size_start", press: "compactor")
        try Validate.atLeast(sinkSizeEnd, 0, "sink_size_end", press: "compactor")
        try Validate.atLeast(chunkSize, 1, "chunk_size", press: "compactor")
        try Validate.atLeast(sketchDimension, 1, "sketch_dimension", press: "compactor")
        self.compressionRatio = compressionRatio
        self.sinkSizeStart = sinkSizeStart
        self.sinkSizeEnd = sinkSizeEnd
        self.chunkSize = chunkSize
        self.sketchDimension = sketchDimension
        self.blending = blending
        self.seed = seed
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("sink_size_start", String(sinkSizeStart)),
         ("sink_size_end", String(sinkSizeEnd)), ("chunk_size", String(chunkSize)),
         ("sketch_dimension", String(sketchDimension)), ("blending", blending.map { String($0) } ?? "none"),
         ("seed", seed.map(String.init) ?? "none")]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, G = input.headCountKV
        let left = min(sinkSizeStart, T)
        let right = min(sinkSizeEnd, max(0, T - left))
        let middle = input.rows(left..<(T - right))
        let n = middle.tokenCount
        guard n > 1 else { return [Float](repeating: 1, count: G * T) }
        let leverage = try LeverageScorePress(compressionRatio: compressionRatio, sketchDimension: sketchDimension, seed: seed)
            .score(middle)
        let attention = try NonCausalAttnPress(compressionRatio: compressionRatio, chunkSize: chunkSize).score(middle)
        let w = Float(blending ?? compressionRatio)
        let blended = zip(leverage, attention).map { w * $0 + $1 }
        return Pooling.pad(blended, rows: G, count: n, left: left, right: right, value: Pooling.max(blended))
    }

    static let descriptor = PressDescriptor(
        name: "compactor", summary: "blends leverage scores with non-causal chunked attention",
        reference: "https://arxiv.org/abs/2507.08143",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("sink_size_start", "8", "initial tokens always kept, ≥ 0"),
            PressParameter("sink_size_end", "4", "most recent tokens always kept, ≥ 0"),
            PressParameter("chunk_size", "256", "chunk length of the non-causal attention, ≥ 1"),
            PressParameter("sketch_dimension", "48", "width of the leverage Gaussian sketch, ≥ 1"),
            PressParameter("blending", "none", "weight of the leverage scores; none = compression_ratio"),
            PressParameter("seed", "none", "sketch seed for reproducible scores (kvd extension), or none"),
        ]
    ) { args, _ in
        try CompactorPress(compressionRatio: args.ratio(), sinkSizeStart: args.int("sink_size_start"),
                           sinkSizeEnd: args.int("sink_size_end"), chunkSize: args.int("chunk_size", minimum: 1),
                           sketchDimension: args.int("sketch_dimension", minimum: 1),
                           blending: args.optionalDouble("blending"), seed: args.optionalInt("seed"))
    }
}
