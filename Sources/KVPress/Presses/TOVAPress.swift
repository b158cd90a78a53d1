/// Scores the context by the last token's attention, averaged over ALL query heads (kvpress `TOVAPress`).
///
/// Every KV head gets the same scores; the last token always stays.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///
/// Based on https://arxiv.org/abs/2401.06104.
public final class TOVAPress: ScorerPress {
    public let name = "tova"
    public var compressionRatio: Double

    public init(compressionRatio: Double = 0.0) throws {
        try Validate.ratio(compressionRatio, press: "tova")
        self.compressionRatio = compressionRatio
    }

    public var parameterValues: [(String, String)] { [("compression_ratio", String(compressionRatio))] }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, H = input.headCount, G = input.headCountKV
        guard T > 1 else { throw PressError.contextTooShort(press: name, tokens: T, needed: 2) }
        let attention = WindowAttention.weights(input, window: 1)  // [H, 1, T]
        var row = [Float](repeating: 0, count: T - 1)
        for h in 0..<H { for j in 0..<(T - 1) { row[j] += attention[h * T + j] } }
        for j in 0..<(T - 1) { row[j] /= Float(H) }
        let top = Pooling.max(row) + 1
        return Array((0..<G).map { _ in row + [top] }.joined())
    }

    static let descriptor = PressDescriptor(
        name: "tova", summary: "scores by the last token's attention averaged over all heads",
        reference: "https://arxiv.org/abs/2401.06104",
        parameters: [PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)")]
    ) { args, _ in try TOVAPress(compressionRatio: args.ratio()) }
}
