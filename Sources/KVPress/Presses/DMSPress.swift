import KVModel

/// `dms`: evicts, in each KV head, the entries its inner scorer ranks below `threshold`, except the
/// newest `sliding_window_size` (kvpress `DMSPress`, the dense-prefill form of Dynamic Memory
/// Sparsification without its trained evictors). How much it removes depends on the content, so
/// heads keep different counts and the ratio is known only afterwards (``achievedRatio``).
///
/// While generating, the same rule runs through ``DecodingPress`` (`--decoding dms(knorm):threshold=…`):
/// each entry is judged once, when it leaves the window, as kvpress's decoding form does.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry.
public final class DMSPress: Press, CatalogPress {
    public let arguments: PressArguments
    /// Scores the entries.
    public let scorer: ScorerPress
    /// Entries scoring below it are evicted.
    public let threshold: Double
    /// Newest entries never evicted.
    public let slidingWindowSize: Int
    /// Entries evicted and seen so far over every layer compressed (the ratio kvpress reports afterwards).
    private var evicted = 0, seen = 0

    public init(_ arguments: PressArguments, press: ScorerPress) {
        self.arguments = arguments
        scorer = press
        threshold = arguments[.threshold]
        slidingWindowSize = arguments[.slidingWindowSize]
    }

    public var innerPresses: [Press] { [scorer] }
    /// Nothing is promised before the content is seen (the memory budget plans for the whole context).
    public var compressionRatio: Double { 0 }
    /// Fraction of the entries evicted so far.
    public var achievedRatio: Double { seen == 0 ? 0 : Double(evicted) / Double(seen) }

    public func compress(_ input: PressInput) throws {
        let T = input.tokenCount
        guard T > slidingWindowSize else { return }
        let scores = try scorer.score(input)
        let kept = Self.kept(scores, heads: input.headCountKV, count: T, threshold: Float(threshold),
                             candidates: 0..<(T - slidingWindowSize))
        evicted += kept.reduce(0) { $0 + T - $1.count }
        seen += input.headCountKV * T
        input.keep(kept)
    }

    /// Per head `[G, n]` scores: every index outside `candidates`, and every candidate scoring at
    /// least `threshold`, ascending.
    static func kept(_ scores: [Float], heads G: Int, count n: Int, threshold: Float, candidates: Range<Int>) -> [[Int]] {
        (0..<G).map { g in (0..<n).filter { !candidates.contains($0) || scores[g * n + $0] >= threshold } }
    }
}
