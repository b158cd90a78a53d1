/// One repeat of the replicas benchmark (`kvbench serve-bench --replicas N`) for one document and
/// one replica k ≥ 2: the first ask of a session replica 1 loaded and shared (k fetches it from the
/// store, restores it and answers), against replica k loading the same document itself and asking
/// the same question.
public struct ReplicaSample: Sendable {
    /// Seconds from sending the first ask on replica k to its answer: fetch, restore and answer.
    public var remoteAsk: Double
    /// Seconds from that ask to its first streamed piece of text.
    public var remoteFirstToken: Double
    /// The ask's `store_ms` (the fetch) and `store_bytes` (what it fetched).
    public var storeMs: Double
    public var storeBytes: Int
    /// Seconds replica k took to load the document itself (the client's wall time).
    public var localLoad: Double
    /// Seconds of the first ask of that local session, and to its first piece of text.
    public var localAsk: Double
    public var localFirstToken: Double
    /// Seconds replica 1 took to load and publish the document (`shared`), and the publish's
    /// `store_ms` and `store_bytes`.
    public var sharedLoad: Double
    public var publishMs: Double
    public var publishBytes: Int
    /// Whether the two answers are the same tokens.
    public var identical: Bool
    /// Whether each answer gives the question's fact.
    public var remoteCorrect: Bool
    public var localCorrect: Bool

    public init(remoteAsk: Double, remoteFirstToken: Double, storeMs: Double, storeBytes: Int, localLoad: Double,
                localAsk: Double, localFirstToken: Double, sharedLoad: Double, publishMs: Double, publishBytes: Int,
                identical: Bool, remoteCorrect: Bool, localCorrect: Bool) {
        self.remoteAsk = remoteAsk
        self.remoteFirstToken = remoteFirstToken
        self.storeMs = storeMs
        self.storeBytes = storeBytes
        self.localLoad = localLoad
        self.localAsk = localAsk
        self.localFirstToken = localFirstToken
        self.sharedLoad = sharedLoad
        self.publishMs = publishMs
        self.publishBytes = publishBytes
        self.identical = identical
        self.remoteCorrect = remoteCorrect
        self.localCorrect = localCorrect
    }
}

/// The repeats of one document on one replica, summed up by their medians.
public struct ReplicaSummary: Sendable {
    /// Index into the workload's documents, and the replica (2…N) that asked.
    public var document: Int
    public var replica: Int
    /// Context tokens of the document and entries kept per KV head (the load's session info).
    public var contextTokens: Int
    public var keptTokens: Int
    public var samples: [ReplicaSample]

    public init(document: Int, replica: Int, contextTokens: Int, keptTokens: Int, samples: [ReplicaSample]) {
        self.document = document
        self.replica = replica
        self.contextTokens = contextTokens
        self.keptTokens = keptTokens
        self.samples = samples
    }

    /// The median of one measurement over the repeats.
    public func median(_ value: (ReplicaSample) -> Double) -> Double { Self.median(samples.map(value)) }

    /// The median remote first ask over the median local load: what the target (≤ 0.1) bounds.
    public var ratio: Double {
        let load = median(\.localLoad)
        return load > 0 ? median(\.remoteAsk) / load : 0
    }

    /// Repeats whose two answers were the same tokens.
    public var identicalCount: Int { samples.filter(\.identical).count }

    /// The median of `values` (the mean of the middle two for an even count); 0 for none.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
