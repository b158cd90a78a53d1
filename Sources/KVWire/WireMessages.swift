// Load and ask responses carry the metrics record, so every client of the wire reads it.
@_exported import KVMetrics

/// Swift value types mirroring `Protos/kvd.proto`, field for field.
///
/// `WireCodec` converts them to and from protobuf bytes with libprotobuf-c. They are `Codable` so
/// `kvctl --json` prints exactly what travelled on the wire.

/// Sampling settings of an ask (`kvd.Sampling`). Zero values mean the defaults.
public struct WireSampling: Equatable, Sendable, Codable {
    /// Softmax temperature (`temperature`); 0 decodes greedily and ignores the other settings but
    /// the repetition penalty.
    public var temperature: Float = 0
    /// Sample among the `topK` most likely tokens only (`top_k`); 0 = no limit.
    public var topK: UInt32 = 0
    /// Sample among the most likely tokens whose probabilities add up to `topP` (`top_p`);
    /// 0 or 1 = no limit.
    public var topP: Float = 0
    /// Penalty on tokens already seen, as in llama.cpp: positive logits are divided by it,
    /// negative ones multiplied (`repetition_penalty`); 0 or 1 = off.
    public var repetitionPenalty: Float = 0
    /// Seed of the sampler's random generator (`seed`): sampling is reproducible for a given
    /// seed and settings.
    public var seed: UInt64 = 0
    /// Settings as the properties describe; all zeros is greedy decoding. kvd checks them: values
    /// out of range fail the ask with `INVALID_ARGUMENT`.
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
    /// Id of the session to create, `[A-Za-z0-9._-]{1,64}` (`session`); an id not of that form
    /// fails with `INVALID_ARGUMENT`.
    public var session: String
    /// The text to prefill and compress (`document`); an empty one, or one too long for the
    /// model's context, fails with `INVALID_ARGUMENT`.
    public var document: String
    /// Press spec (`snapkv:ratio=0.5`); empty keeps everything.
    public var press: String = ""
    /// Model name or path; empty selects the daemon's default.
    public var model: String = ""
    /// Replace an existing session of the same id instead of failing with `ALREADY_EXISTS`
    /// (`replace`).
    public var replace: Bool = false
    /// `f16` (default when empty) or `f32`.
    public var kvStorage: String = ""
    /// Quantized cache spec (`kivi:bits=4`); empty keeps full precision.
    public var kvQuant: String = ""
    /// kvpress's query-aware mode: the question compressed with the document (`question`); an ask
    /// with an empty question then answers it. Empty for a query-agnostic session.
    public var question: String = ""
    /// Answer once the session is published to the shared store (`shared`); its
    /// `SessionInfo.sharedUnix` then says when the other replicas could see it.
    public var shared: Bool = false
    /// A load of `document` into the new session `session`; by default with no press, on the
    /// default model, in f16, unquantized, and failing if the session exists.
    public init(session: String, document: String, press: String = "", model: String = "", replace: Bool = false,
                kvStorage: String = "", kvQuant: String = "", question: String = "", shared: Bool = false) {
        self.shared = shared
        self.session = session
        self.document = document
        self.press = press
        self.model = model
        self.replace = replace
        self.kvStorage = kvStorage
        self.kvQuant = kvQuant
        self.question = question
    }
}

/// `kvd.AskRequest`: answer a question against a session.
public struct AskRequest: Equatable, Sendable, Codable {
    /// The session to answer against (`session`); `NOT_FOUND` when kvd has none of that id.
    public var session: String
    /// The question (`question`); an empty one fails with `INVALID_ARGUMENT`.
    public var question: String
    /// Text the answer is forced to start with, as kvpress's `answer_prefix`; it ends the prompt and
    /// is not repeated in `AskResult.answer`. Empty = none.
    public var answerPrefix: String = ""
    /// 0 selects the daemon's default.
    public var maxNewTokens: UInt32 = 0
    /// Sampling settings (`sampling`); `nil` sends none, which decodes greedily.
    public var sampling: WireSampling? = nil
    /// Whether kvd sends each token as a `Response.Body.token` before the final `ask` response
    /// (`stream`); `false` sends the final one only. `true` here, unlike proto3's default.
    public var stream: Bool = true
    /// Decoding-time compression spec for this ask (`h2o:cache_budget=256`); empty = none.
    public var decoding: String = ""
    /// An ask of `question` on `session`; by default streamed, greedy, with the daemon's token
    /// budget and no decoding-time compression.
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
        /// Prefill a document into a new session and compress it; answered by `Response.Body.load`.
        case load(LoadRequest)
        /// Answer a question against a session; answered by `token`s when streaming, then one `ask`.
        case ask(AskRequest)
        /// List every session, resident or saved; answered by `sessions`.
        case sessions
        /// Describe one session; answered by `info`.
        case info(session: String)
        /// Forget a session and delete its saved file, if any; answered by `drop`.
        case drop(session: String)
        /// Write a session's cache to kvd's state directory (it stays resident); answered by `save`.
        case save(session: String)
        /// Bring a saved session back into memory; answered by `restore`.
        case restore(session: String)
        /// The press catalog; answered by `presses`.
        case presses
        /// The models kvd serves; answered by `models`.
        case models
        /// Daemon-wide counters; answered by `stats`.
        case stats
        /// Whether kvd is serving or stopping, and its version; answered by `health`.
        case health
        /// Stop the request of id `targetID` in flight on this connection (typically an ask); answered
        /// by `cancel`, and the stopped request ends with a `CANCELLED` error.
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

    /// Client-chosen id, echoed by every response to this request (`id`); it must be unique among
    /// the connection's requests in flight. `DaemonClient` numbers its requests 1, 2, …
    public var id: UInt64
    /// Milliseconds the client waits; 0 = no deadline.
    public var deadlineMs: UInt32
    /// What to do (`oneof op`).
    public var operation: Operation

    /// A request of `operation` with id `id`; `deadlineMs` 0 means no deadline.
    public init(id: UInt64, deadlineMs: UInt32 = 0, _ operation: Operation) {
        self.id = id
        self.deadlineMs = deadlineMs
        self.operation = operation
    }
}

/// `kvd.SessionInfo`: what the daemon holds for one session.
public struct SessionInfo: Equatable, Sendable, Codable {
    /// The session's id.
    public var session: String = ""
    /// Name of the model the session was loaded on.
    public var model: String = ""
    /// The press spec as the press prints it, defaults filled in; `none` without compression.
    public var press: String = ""
    /// The press's `compression_ratio`: the fraction of the context's KV pairs it removes on
    /// average; 0 without compression.
    public var compressionRatio: Double = 0
    /// Tokens of the context (chat-template prefix + document), before compression.
    public var contextTokens: UInt32 = 0
    /// Entries kept per KV head after compression, averaged over layers and heads.
    public var keptTokens: UInt32 = 0
    /// Bytes the session's KV cache holds.
    public var kvBytes: UInt64 = 0
    /// Bytes the same context would hold uncompressed.
    public var kvBytesUncompressed: UInt64 = 0
    /// Where it stands: resident, saved, busy, damaged or (with a shared store) shared.
    public var state: SessionState = .resident
    /// Asks answered on this session so far (an `AskResponse` sent).
    public var asks: UInt32 = 0
    /// Asks started on this session that ended without an answer: cancelled, past their deadline,
    /// their client gone, kvd stopping, or failed (`failed_asks`; not in `asks`).
    public var failedAsks: UInt32 = 0
    /// When the session was loaded, in seconds since 1970-01-01 UTC.
    public var createdUnix: Double = 0
    /// When the session was last used (loaded, asked, saved or restored), in seconds since 1970-01-01 UTC.
    public var lastUsedUnix: Double = 0
    /// Quantized cache spec (`kivi:bits=4,…`); empty for full precision.
    public var kvQuant: String = ""
    /// What loading measured (`load_metrics`): among them `fidelity` and `achieved_ratio`.
    public var loadMetrics = Metrics()
    /// Its version in the shared store (`store_version`); 0 when it is not there. A `state` of
    /// `shared` means the store holds it and this replica does not (yet).
    public var storeVersion: UInt64 = 0
    /// When that version became visible in the store (`shared_unix`), in seconds since 1970-01-01 UTC.
    public var sharedUnix: Double = 0
    /// An empty description: every string empty, every number 0, resident.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case session, model, press, compressionRatio, contextTokens, keptTokens, kvBytes, kvBytesUncompressed, state, asks
        case createdUnix, lastUsedUnix, kvQuant, loadMetrics, failedAsks, storeVersion, sharedUnix
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
        state = try c.decodeIfPresent(SessionState.self, forKey: .state) ?? .resident
        asks = try c.decodeIfPresent(UInt32.self, forKey: .asks) ?? 0
        createdUnix = try c.decodeIfPresent(Double.self, forKey: .createdUnix) ?? 0
        lastUsedUnix = try c.decodeIfPresent(Double.self, forKey: .lastUsedUnix) ?? 0
        kvQuant = try c.decodeIfPresent(String.self, forKey: .kvQuant) ?? ""
        loadMetrics = try c.decodeIfPresent(Metrics.self, forKey: .loadMetrics) ?? Metrics()
        failedAsks = try c.decodeIfPresent(UInt32.self, forKey: .failedAsks) ?? 0
        storeVersion = try c.decodeIfPresent(UInt64.self, forKey: .storeVersion) ?? 0
        sharedUnix = try c.decodeIfPresent(Double.self, forKey: .sharedUnix) ?? 0
    }
}

/// `kvd.LoadResponse`.
public struct LoadResult: Equatable, Sendable, Codable {
    /// The new session (`session`).
    public var session: SessionInfo
    /// What the load cost (`kvd.Metric`s by name).
    public var metrics: Metrics
    /// A load's answer.
    public init(session: SessionInfo, metrics: Metrics) {
        self.session = session
        self.metrics = metrics
    }
}

/// `kvd.AskToken`: one streamed token.
public struct AskToken: Equatable, Sendable, Codable {
    /// `tokenID` of a last piece that only flushes leftover bytes (no token of its own).
    public static let noToken = UInt32.max
    /// The generated token's id in the model's vocabulary (`token_id`), or `AskToken.noToken`.
    public var tokenID: UInt32
    /// The text this token completes (may be empty mid UTF-8 character).
    public var text: String
    /// One streamed piece.
    public init(tokenID: UInt32, text: String) {
        self.tokenID = tokenID
        self.text = text
    }
}

/// `kvd.AskResponse`: the final message of an ask.
public struct AskResult: Equatable, Sendable, Codable {
    /// The generated text, whole (the answer prefix not included).
    public var answer: String
    /// Ids of the generated tokens in order (`token_ids`), a final stop token included.
    public var tokenIDs: [UInt32]
    /// What the ask cost (`kvd.Metric`s by name).
    public var metrics: Metrics
    /// Why generation ended (`finish_reason`).
    public var finishReason: FinishReason
    /// An ask's final answer.
    public init(answer: String, tokenIDs: [UInt32], metrics: Metrics, finishReason: FinishReason) {
        self.answer = answer
        self.tokenIDs = tokenIDs
        self.metrics = metrics
        self.finishReason = finishReason
    }
}

/// `kvd.PressParameter`.
public struct PressParameterInfo: Equatable, Sendable, Codable {
    /// The parameter's name in a press spec, as in kvpress (`compression_ratio`).
    public var name: String
    /// Its default as spec text (`0.0`, `64`, `none`) (`default_value`); empty when the
    /// parameter is required.
    public var defaultValue: String
    /// One line: its meaning, then its valid range where it has one.
    public var help: String
    /// A catalog parameter.
    public init(name: String, defaultValue: String, help: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
    }
}

/// `kvd.PressInfo`: one entry of the press catalog.
public struct PressInfo: Equatable, Sendable, Codable {
    /// The press's name in a spec (`snapkv`).
    public var name: String
    /// One line on what the press does.
    public var summary: String
    /// The parameters it takes, in catalog order.
    public var parameters: [PressParameterInfo]
    /// Whether it wraps inner presses (`adakv(snapkv)`).
    public var wraps: Bool
    /// When it runs: `prefill` (at load), `decoding` (while generating), or both; empty for a
    /// catalog entry that is not a press (a quantization method).
    public var phases: [String]
    /// A catalog entry.
    public init(name: String, summary: String, parameters: [PressParameterInfo], wraps: Bool, phases: [String] = []) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.wraps = wraps
        self.phases = phases
    }
}

/// `kvd.ModelInfo`.
public struct ModelInfo: Equatable, Sendable, Codable {
    /// The name a load's `model` field selects it by.
    public var name: String = ""
    /// The GGUF file it was loaded from.
    public var path: String = ""
    /// The file's `general.architecture` (`llama`, `qwen2`, …).
    public var architecture: String = ""
    /// Decoder layers.
    public var layers: UInt32 = 0
    /// The context length in tokens the model was trained for (`<architecture>.context_length`).
    public var contextLength: UInt32 = 0
    /// Tokens in the vocabulary.
    public var vocabularySize: UInt32 = 0
    /// Whether a load with an empty `model` uses it (kvd's first model).
    public var isDefault: Bool = false
    /// An empty description: every string empty, every number 0.
    public init() {}
}

/// `kvd.StatsResponse`: daemon-wide counters.
public struct DaemonStats: Equatable, Sendable, Codable {
    /// Sessions whose cache is in memory.
    public var sessionsResident: UInt32 = 0
    /// Sessions on disk only, restored on their next use.
    public var sessionsSaved: UInt32 = 0
    /// Bytes of KV cache the resident sessions hold together.
    public var kvBytes: UInt64 = 0
    /// kvd.conf's `memory_budget`: bytes of KV cache resident sessions may hold together;
    /// 0 = unlimited.
    public var memoryBudgetBytes: UInt64 = 0
    /// kvd's resident set size now, in bytes.
    public var rssBytes: UInt64 = 0
    /// kvd's largest resident set size since it started, in bytes.
    public var peakRssBytes: UInt64 = 0
    /// Frames received since kvd started, well-formed or not (each is a request or an attempt at one).
    public var requests: UInt64 = 0
    /// Error responses sent since kvd started (a malformed frame counts here and in `requests`).
    public var errors: UInt64 = 0
    /// Client connections open now.
    public var connections: UInt32 = 0
    /// Jobs waiting for the worker, plus the one running, plus asks in flight.
    public var queueDepth: UInt32 = 0
    /// Seconds since kvd started.
    public var uptimeS: Double = 0
    /// Where kvd writes its telemetry CSV files (`kvctl telemetry` reads them).
    public var telemetryDir: String = ""
    /// Where kvd writes saved sessions.
    public var stateDir: String = ""
    /// Forward steps the continuous batcher has run since kvd started.
    public var steps: UInt64 = 0
    /// Asks per forward step, on average.
    public var meanBatchSize: Double = 0
    /// Tokens generated, over every ask.
    public var generatedTokens: UInt64 = 0
    /// The shared store (`kvd --store`), its password hidden; empty without one.
    public var store: String = ""
    /// Asks and restores the store answered with a session this replica did not hold.
    public var storeHits: UInt64 = 0
    /// Asks and restores for a session the store did not hold either.
    public var storeMisses: UInt64 = 0
    /// Bytes fetched from the store.
    public var storeBytesIn: UInt64 = 0
    /// Bytes sent to the store.
    public var storeBytesOut: UInt64 = 0
    /// Store operations that failed (unreachable, refused, damaged).
    public var storeErrors: UInt64 = 0
    /// Publishes and drops waiting for the store to answer again.
    public var storePending: UInt32 = 0
    /// Worker seconds in jobs: loads (without the asks stepped between their layers), saves,
    /// restores, drops and ask starts.
    public var jobS: Double = 0
    /// Worker seconds in steps that ran at least one question prompt.
    public var promptStepS: Double = 0
    /// Worker seconds in steps of decode rows only.
    public var decodeStepS: Double = 0
    /// Of the steps' seconds, those in attention (RoPE, cache appends, attention).
    public var stepAttentionS: Double = 0
    /// Seconds the worker was busy (not idle): `jobS + promptStepS + decodeStepS`.
    public var busyS: Double { jobS + promptStepS + decodeStepS }
    /// All counters 0, both directories empty.
    public init() {}
}

/// `kvd.Response`: one daemon message, answering the request of the same id.
public struct Response: Equatable, Sendable {
    /// The payload (`oneof body`).
    public enum Body: Equatable, Sendable {
        /// The request failed and ends here; `WireError.code` says how.
        case error(WireError)
        /// A load's answer: the new session and what the load cost.
        case load(LoadResult)
        /// One streamed token of an ask; more responses follow.
        case token(AskToken)
        /// An ask's final answer: the text, its tokens and what it cost.
        case ask(AskResult)
        /// Every session kvd knows, resident, saved, busy or damaged, sorted by id.
        case sessions([SessionInfo])
        /// The session asked about.
        case info(SessionInfo)
        /// Whether the session was removed (`false` when another request dropped it first).
        case drop(dropped: Bool)
        /// The saved file's path and its size in bytes.
        case save(path: String, bytes: UInt64)
        /// The session, now resident.
        case restore(SessionInfo)
        /// The press catalog, one entry per press.
        case presses([PressInfo])
        /// The models kvd serves, the default first.
        case models([ModelInfo])
        /// Daemon-wide counters.
        case stats(DaemonStats)
        /// `status` is `serving` or `stopping`; `version` is kvd's version.
        case health(status: String, version: String)
        /// Whether a request of that id was in flight on this connection and was told to stop.
        case cancel(cancelled: Bool)

        /// Whether this is the last response to its request (everything but a streamed token).
        public var isFinal: Bool {
            if case .token = self { return false }
            return true
        }
    }

    /// The id of the request answered; 0 for an error about the connection itself (a refused
    /// peer, an oversized frame, a reused id).
    public var id: UInt64
    /// The payload (`oneof body`).
    public var body: Body

    /// A response to the request `id`.
    public init(id: UInt64, _ body: Body) {
        self.id = id
        self.body = body
    }
}
