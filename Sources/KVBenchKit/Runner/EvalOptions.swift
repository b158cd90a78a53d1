import KVModel
import KVPress

/// Settings of one evaluation run (one dataset, one press, one ratio).
public struct EvalOptions: Sendable {
    /// Answer at most this many questions (in file order, whole contexts first).
    public var samples: Int?
    /// Keep a seeded random share of the contexts, in (0, 1].
    public var fraction: Double?
    /// Truncate every context to its first this-many tokens.
    public var maxContextLength: Int?
    /// Overrides each question's own token budget.
    public var maxNewTokens: Int?
    /// Budget for questions that set none.
    public var defaultMaxNewTokens = 128
    /// Seed for sampling the dataset and for generators.
    public var seed: UInt64 = 42
    /// KV cache element type.
    public var storage: KVStorageType = .f16
    /// Stores each compressed context in 8/4/2 bits (`nil`: full precision).
    public var quantization: KVCacheQuantization?
    /// Compresses the cache while each answer is generated (`nil`: never).
    public var decoding: DecodingPress?
    /// kvpress's query-aware mode: each question is compressed with its document.
    public var queryAware = false

    public init(samples: Int? = nil, fraction: Double? = nil, maxContextLength: Int? = nil, maxNewTokens: Int? = nil,
                seed: UInt64 = 42, storage: KVStorageType = .f16) {
        self.samples = samples
        self.fraction = fraction
        self.maxContextLength = maxContextLength
        self.maxNewTokens = maxNewTokens
        self.seed = seed
        self.storage = storage
    }

    /// The settings as config.json writes them; unset ones are left out.
    public struct Record: Codable, Sendable, Equatable {
        public var seed: UInt64
        public var kvStorage: String
        public var defaultMaxNewTokens: Int
        public var samples: Int?
        public var fraction: Double?
        public var maxContextLength: Int?
        public var maxNewTokens: Int?
        public var kvQuant: String?
        public var decoding: String?
        /// Written only when set.
        public var queryAware: Bool?

        enum CodingKeys: String, CodingKey {
            case seed, samples, fraction, decoding
            case kvStorage = "kv_storage", defaultMaxNewTokens = "default_max_new_tokens", maxContextLength = "max_context_length"
            case maxNewTokens = "max_new_tokens", kvQuant = "kv_quant", queryAware = "query_aware"
        }
    }

    /// The settings as config.json writes them.
    public var record: Record {
        Record(seed: seed, kvStorage: storage.rawValue, defaultMaxNewTokens: defaultMaxNewTokens, samples: samples, fraction: fraction,
               maxContextLength: maxContextLength, maxNewTokens: maxNewTokens, kvQuant: quantization?.description,
               decoding: decoding?.description, queryAware: queryAware ? true : nil)
    }

    /// Appended to the press's directory name so quantized or decoding-compressed runs of the
    /// same press keep their own results: `+kivi_bits-4_…`, `+dec-h2o_cache_budget-256_…`, `+query_aware`.
    public var directorySuffix: String {
        func clean(_ spec: String) -> String {
            String(spec.map { ":,".contains($0) ? "_" : $0 == "=" ? "-" : "/\\ ()".contains($0) ? "_" : $0 })
        }
        return (quantization.map { "+" + clean($0.description) } ?? "") + (decoding.map { "+dec-" + clean($0.description) } ?? "")
            + (queryAware ? "+query_aware" : "")
    }

    /// The dataset cut down as `samples` and `fraction` ask (one question per context when `queryAware`).
    public func select(_ dataset: EvalDataset) -> EvalDataset {
        var d = dataset
        if let fraction { d = d.sampled(fraction: fraction, seed: seed) }
        if let samples { d = d.limited(toQuestions: samples) }
        return queryAware ? d.questionsInContext() : d
    }
}
