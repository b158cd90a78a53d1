import Foundation

/// metrics.json: one configuration's accuracy, per-task scores and timings. Written last, so a
/// directory holding it is a finished configuration; read back to reuse one.
public struct MetricsFile: Codable, Equatable, Sendable {
    /// Mean score in [0, 1] over the scored questions.
    public var accuracy: Double
    /// Questions scored.
    public var n: Int
    /// Questions without references (not scored).
    public var unscored: Int
    /// Questions that could not be answered.
    public var errors: Int
    /// The scorers used, comma-separated (`string_match_all`).
    public var metric: String
    /// Per task (`niah_single_1`, `hotpotqa`, …).
    public var tasks: [String: TaskScore]
    public var timing: RunTiming
    public var wallSeconds: Double
    /// The press spec run, or `none`.
    public var press: String
    public var compressionRatio: Double

    enum CodingKeys: String, CodingKey {
        case accuracy, n, unscored, errors, metric, tasks, timing, press
        case wallSeconds = "wall_seconds"
        case compressionRatio = "compression_ratio"
    }

    /// One task's mean score, its count, and the score in percent under the scorer's name
    /// (kvpress reports `string_match` etc. × 100), or under `score_percent` when scorers were mixed.
    public struct TaskScore: Codable, Equatable, Sendable {
        public var score: Double
        public var n: Int
        /// The key of `percent`: the scorer's name, or `score_percent`.
        public var percentKey: String
        public var percent: Double

        public init(score: Double, n: Int, percentKey: String, percent: Double) {
            self.score = score
            self.n = n
            self.percentKey = percentKey
            self.percent = percent
        }

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ name: String) { stringValue = name }
            init(stringValue: String) { self.init(stringValue) }
            init?(intValue: Int) { nil }
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            score = try c.decode(Double.self, forKey: Key("score"))
            n = try c.decode(Int.self, forKey: Key("n"))
            guard let key = c.allKeys.first(where: { $0.stringValue != "score" && $0.stringValue != "n" }) else {
                throw DecodingError.keyNotFound(Key("score_percent"), .init(codingPath: c.codingPath, debugDescription: "no score in percent"))
            }
            percentKey = key.stringValue
            percent = try c.decode(Double.self, forKey: key)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(score, forKey: Key("score"))
            try c.encode(n, forKey: Key("n"))
            try c.encode(percent, forKey: Key(percentKey))
        }
    }

    /// metrics.json's `timing`: the run's headline figures, then every metric's mean per loaded
    /// context and per answer (by its snake_case name).
    public struct RunTiming: Codable, Equatable, Sendable {
        public var wallSeconds: Double
        public var prefillSeconds: Double
        public var compressSeconds: Double
        public var ttftSecondsTotal: Double
        /// Decoded tokens (after each answer's first) per second of decoding.
        public var decodeTokS: Double
        public var meanContextTokens: Int
        public var meanKeptTokens: Int
        public var meanKVBytes: Int
        public var meanKVBytesUncompressed: Int
        public var contexts: Int
        public var decodingCompressions: Int
        public var decodingCompressSeconds: Double
        public var meanKVBytesAfterAnswer: Int
        public var peakRssBytes: Int
        public var meanPerContext: [String: Double]
        public var meanPerAnswer: [String: Double]

        enum CodingKeys: String, CodingKey {
            case contexts
            case wallSeconds = "wall_seconds", prefillSeconds = "prefill_seconds", compressSeconds = "compress_seconds"
            case ttftSecondsTotal = "ttft_seconds_total", decodeTokS = "decode_tok_s"
            case meanContextTokens = "mean_context_tokens", meanKeptTokens = "mean_kept_tokens", meanKVBytes = "mean_kv_bytes"
            case meanKVBytesUncompressed = "mean_kv_bytes_uncompressed", decodingCompressions = "decoding_compressions"
            case decodingCompressSeconds = "decoding_compress_seconds", meanKVBytesAfterAnswer = "mean_kv_bytes_after_answer"
            case peakRssBytes = "peak_rss_bytes", meanPerContext = "mean_per_context", meanPerAnswer = "mean_per_answer"
        }
    }
}

extension MetricsFile {
    /// The file for a run's predictions and timings with `press`; figures are rounded to 4 places.
    public init(_ predictions: [Prediction], timing: EvalRunner.Timing, press: PressChoice) {
        let summary = EvalMetrics(predictions)
        accuracy = round4(summary.accuracy)
        n = summary.n
        unscored = summary.unscored
        errors = summary.errors
        metric = summary.metricNames.joined(separator: ",")
        tasks = summary.tasks
        self.timing = timing.summary
        wallSeconds = round4(timing.wallSeconds)
        self.press = press.spec
        compressionRatio = press.ratio
    }
}
