// Load and ask responses carry the metrics record, so every client of the wire reads it.
@_exported import KVMetrics

/// Swift value types mirroring `Protos/kvd.proto`, field for field.
///
/// `WireCodec` converts them to and from protobuf bytes with libprotobuf-c. They are `Codable` so
/// `kvctl --json` prints exactly what travelled on the wire.

/// Sampling settings of an ask (`kvd.Sampling`). Zero values mean the defaults.
public struct WireSampling: Equatable, Sendable, Codable {
    public var temperature: Float = 0
    public var topK: UInt32 = 0
    public var topP: Float = 0
    public var repetitionPenalty: Float = 0
    public var seed: UInt64 = 0
    public init(temperature: Float = 0, topK: UInt32 = 0, topP: Float = 0, repetitionPenalty: Float = 0, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
    }
}

/// `kvd.LoadRequest`: prefill a document and compress its cache.
public struct LoadRequest: Equatable, Sendable, Codable {
    public var session: String
    public var document: String
    /// Press spec (`snapkv:ratio=0.5`); empty keeps everything.
    public var press: String = ""
    /// Model name or path; empty selects the daemon's default.
    public var model: String = ""
    public var replace: Bool = false
    /// `f16` (default when empty) or `f32`.
    public var kvStorage: String = ""
    /// Quantized cache spec (`kivi:bits=4`); empty keeps full precision.
    public var kvQuant: String = ""
    public init(session: String, document: String, press: String = "", model: String = "", replace: Bool = false,
                kvStorage: String = "", kvQuant: String = "") {
        self.session = session
        self.document = document
        self.press = press
        self.model = model
        self.replace = replace
        self.kvStorage = kvStorage
        self.kvQuant = kvQuant
    }
}

/// `kvd.AskRequest`: answer a question against a session.
public struct AskRequest: Equatable, Sendable, Codable {
    public var session: String
    public var question: String
    public var answerPrefix: String = ""
    /// 0 selects the daemon's default.
    public var maxNewTokens: UInt32 = 0
    public var sampling: WireSampling? = nil
    public var stream: Bool = true
    /// Decoding-time compression spec for this ask (`h2o:cache_budget=256`); empty = none.
    public var decoding: String = ""
    public init(session: String, question: String, answerPrefix: String = "", maxNewTokens: UInt32 = 0,
                sampling: WireSampling? = nil, stream: Bool = true, decoding: String = "") {
        self.decoding = decoding
        self.session = session
        self.question = question
        self.answerPrefix = answerPrefix
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.stream = stream
    }
}

/// `kvd.Request`: one client request with its id and optional deadline.
public struct Request: Equatable, Sendable {
    /// The operation requested (`oneof op`).
    public enum Operation: Equatable, Sendable {
        case load(LoadRequest)
        case ask(AskRequest)
        case sessions
        case info(session: String)
        case drop(session: String)
        case save(session: String)
        case restore(session: String)
        case presses
        case models
        case stats
        case health
        case cancel(targetID: UInt64)

        /// Lower-case name of the operation, as logs and telemetry write it.
        public var name: String {
            switch self {
            case .load: return "load"
            case .ask: return "ask"
            case .sessions: return "sessions"
            case .info: return "info"
            case .drop: return "drop"
            case .save: return "save"
            case .restore: return "restore"
            case .presses: return "presses"
            case .models: return "models"
            case .stats: return "stats"
            case .health: return "health"
            case .cancel: return "cancel"
            }
        }
    }

    public var id: UInt64
    /// Milliseconds the client waits; 0 = no deadline.
    public var deadlineMs: UInt32
    public var operation: Operation

    public init(id: UInt64, deadlineMs: UInt32 = 0, _ operation: Operation) {
        self.id = id
        self.deadlineMs = deadlineMs
        self.operation = operation
    }
}

/// `kvd.SessionInfo`: what the daemon holds for one session.
public struct SessionInfo: Equatable, Sendable, Codable {
    public var session: String = ""
    public var model: String = ""
    public var press: String = ""
    public var compressionRatio: Double = 0
    public var contextTokens: UInt32 = 0
    public var keptTokens: UInt32 = 0
    public var kvBytes: UInt64 = 0
    public var kvBytesUncompressed: UInt64 = 0
    /// `resident`, `saved` or `busy`.
    public var state: String = ""
    public var asks: UInt32 = 0
    public var createdUnix: Double = 0
    public var lastUsedUnix: Double = 0
    /// Quantized cache spec (`kivi:bits=4,…`); empty for full precision.
    public var kvQuant: String = ""
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case session, model, press, compressionRatio, contextTokens, keptTokens, kvBytes, kvBytesUncompressed, state, asks
        case createdUnix, lastUsedUnix, kvQuant
    }

    /// Fields missing from the JSON (a session saved by an older kvd) keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        session = try c.decodeIfPresent(String.self, forKey: .session) ?? ""
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? ""
        press = try c.decodeIfPresent(String.self, forKey: .press) ?? ""
        compressionRatio = try c.decodeIfPresent(Double.self, forKey: .compressionRatio) ?? 0
        contextTokens = try c.decodeIfPresent(UInt32.self, forKey: .contextTokens) ?? 0
        keptTokens = try c.decodeIfPresent(UInt32.self, forKey: .keptTokens) ?? 0
        kvBytes = try c.decodeIfPresent(UInt64.self, forKey: .kvBytes) ?? 0
        kvBytesUncompressed = try c.decodeIfPresent(UInt64.self, forKey: .kvBytesUncompressed) ?? 0
        state = try c.decodeIfPresent(String.self, forKey: .state) ?? ""
        asks = try c.decodeIfPresent(UInt32.self, forKey: .asks) ?? 0
        createdUnix = try c.decodeIfPresent(Double.self, forKey: .createdUnix) ?? 0
        lastUsedUnix = try c.decodeIfPresent(Double.self, forKey: .lastUsedUnix) ?? 0
        kvQuant = try c.decodeIfPresent(String.self, forKey: .kvQuant) ?? ""
    }
}

/// `kvd.LoadResponse`.
public struct LoadResult: Equatable, Sendable, Codable {
    public var session: SessionInfo
    /// What the load cost (`kvd.Metric`s by name).
    public var metrics: Metrics
    public init(session: SessionInfo, metrics: Metrics) {
        self.session = session
        self.metrics = metrics
    }
}

/// `kvd.AskToken`: one streamed token.
public struct AskToken: Equatable, Sendable, Codable {
    /// `tokenID` of a last piece that only flushes leftover bytes (no token of its own).
    public static let noToken = UInt32.max
    public var tokenID: UInt32
    /// The text this token completes (may be empty mid UTF-8 character).
    public var text: String
    public init(tokenID: UInt32, text: String) {
        self.tokenID = tokenID
        self.text = text
    }
}

/// `kvd.AskResponse`: the final message of an ask.
public struct AskResult: Equatable, Sendable, Codable {
    public var answer: String
    public var tokenIDs: [UInt32]
    /// What the ask cost (`kvd.Metric`s by name).
    public var metrics: Metrics
    /// `eos`, `max_new_tokens`, `cancelled`, `deadline`.
    public var finishReason: String
    public init(answer: String, tokenIDs: [UInt32], metrics: Metrics, finishReason: String) {
        self.answer = answer
        self.tokenIDs = tokenIDs
        self.metrics = metrics
        self.finishReason = finishReason
    }
}

/// `kvd.PressParameter`.
public struct PressParameterInfo: Equatable, Sendable, Codable {
    public var name: String
    public var defaultValue: String
    public var help: String
    public init(name: String, defaultValue: String, help: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
    }
}

/// `kvd.PressInfo`: one entry of the press catalog.
public struct PressInfo: Equatable, Sendable, Codable {
    public var name: String
    public var summary: String
    public var parameters: [PressParameterInfo]
    /// Whether it wraps inner presses (`adakv(snapkv)`).
    public var wraps: Bool
    public init(name: String, summary: String, parameters: [PressParameterInfo], wraps: Bool) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.wraps = wraps
    }
}

/// `kvd.ModelInfo`.
public struct ModelInfo: Equatable, Sendable, Codable {
    public var name: String = ""
    public var path: String = ""
    public var architecture: String = ""
    public var layers: UInt32 = 0
    public var contextLength: UInt32 = 0
    public var vocabularySize: UInt32 = 0
    public var isDefault: Bool = false
    public init() {}
}

/// `kvd.StatsResponse`: daemon-wide counters.
public struct DaemonStats: Equatable, Sendable, Codable {
    public var sessionsResident: UInt32 = 0
    public var sessionsSaved: UInt32 = 0
    public var kvBytes: UInt64 = 0
    public var memoryBudgetBytes: UInt64 = 0
    public var rssBytes: UInt64 = 0
    public var peakRssBytes: UInt64 = 0
    public var requests: UInt64 = 0
    public var errors: UInt64 = 0
    public var connections: UInt32 = 0
    public var queueDepth: UInt32 = 0
    public var uptimeS: Double = 0
    public var telemetryDir: String = ""
    public var stateDir: String = ""
    /// Forward steps the batcher ran, asks per step on average, tokens generated.
    public var steps: UInt64 = 0
    public var meanBatchSize: Double = 0
    public var generatedTokens: UInt64 = 0
    public init() {}
}

/// `kvd.Response`: one daemon message, answering the request of the same id.
public struct Response: Equatable, Sendable {
    /// The payload (`oneof body`).
    public enum Body: Equatable, Sendable {
        case error(WireError)
        case load(LoadResult)
        case token(AskToken)
        case ask(AskResult)
        case sessions([SessionInfo])
        case info(SessionInfo)
        case drop(dropped: Bool)
        case save(path: String, bytes: UInt64)
        case restore(SessionInfo)
        case presses([PressInfo])
        case models([ModelInfo])
        case stats(DaemonStats)
        case health(status: String, version: String)
        case cancel(cancelled: Bool)

        /// Whether this is the last response to its request (everything but a streamed token).
        public var isFinal: Bool {
            if case .token = self { return false }
            return true
        }
    }

    public var id: UInt64
    public var body: Body

    public init(id: UInt64, _ body: Body) {
        self.id = id
        self.body = body
    }
}
