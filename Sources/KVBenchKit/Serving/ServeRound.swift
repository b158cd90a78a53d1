/// One ask of a load-benchmark round, as a client saw it.
public struct ServeAsk: Sendable {
    /// Seconds from sending the ask to its first streamed piece of text (or to the answer, without one).
    public var firstToken: Double
    /// Seconds from sending the ask to its complete answer.
    public var latency: Double
    public var correct: Bool
    /// Tokens the answer generated (0 when not known).
    public var tokens: Int
    /// The error it got instead of an answer, if any.
    public var error: String?

    public init(firstToken: Double, latency: Double, correct: Bool, tokens: Int = 0, error: String? = nil) {
        self.firstToken = firstToken
        self.latency = latency
        self.correct = correct
        self.tokens = tokens
        self.error = error
    }
}

/// A round of the load benchmark: `clients` clients asking at once, and what they measured.
public struct ServeRound: Sendable {
    /// `kvd` or `llama-server`.
    public var server: String
    public var clients: Int
    /// Seconds from the first ask sent to the last answer received.
    public var wall: Double
    public var asks: [ServeAsk]
    /// The server's resident set size after the round, when known.
    public var rssBytes: Int?

    public init(server: String, clients: Int, wall: Double, asks: [ServeAsk], rssBytes: Int? = nil) {
        self.server = server
        self.clients = clients
        self.wall = wall
        self.asks = asks
        self.rssBytes = rssBytes
    }

    /// Wall seconds per ask (what batching divides).
    public var secondsPerAsk: Double { asks.isEmpty ? 0 : wall / Double(asks.count) }
    public var asksPerSecond: Double { wall > 0 ? Double(asks.count) / wall : 0 }
    /// Generated tokens per answer, on average.
    public var meanTokens: Double { asks.isEmpty ? 0 : Double(asks.reduce(0) { $0 + $1.tokens }) / Double(asks.count) }
    public var errors: Int { asks.filter { $0.error != nil }.count }
    /// Share of asks answered correctly.
    public var accuracy: Double { asks.isEmpty ? 0 : Double(asks.filter(\.correct).count) / Double(asks.count) }
    public func latency(_ percentile: Double) -> Double { Self.percentile(asks.map(\.latency), percentile) }
    public func firstToken(_ percentile: Double) -> Double { Self.percentile(asks.map(\.firstToken), percentile) }

    /// Nearest-rank percentile (`p` in 0...100) of `values`; 0 for none.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }
}
