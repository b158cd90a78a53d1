/// Scores the context by the last token's attention, averaged over ALL query heads (kvpress `TOVAPress`).
///
/// Every KV head gets the same scores; the last token always stays.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2401.06104.
public final class TOVAPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
    }

    public var recentQueriesRead: Int? { 1 }

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
}
