import Foundation


/// One telemetry event: a row of kvd's per-session and daemon-wide CSV files, which `kvctl
/// telemetry` reads back. `columns` is the one list of the files' columns; `line` writes a row and
/// `records` reads rows, both through `CSVText`.
public struct TelemetryRow: Sendable {
    /// The columns, in order: what the event is about, its metrics (`Metrics.names`), how it ended.
    public static let columns = ["timestamp", "session", "event", "model", "press", "compression_ratio", "kv_quant", "decoding"]
        + Metrics.names + ["finish_reason", "error_code", "detail"]

    public var event: TelemetryEvent
    public var session: String = ""
    public var model: String = ""
    public var press: String = ""
    public var compressionRatio: Double = 0
    /// Quantized cache spec of the session (`kivi:bits=4,…`), empty for full precision.
    public var kvQuant: String = ""
    /// Asks: the decoding-time compression spec, empty for none.
    public var decoding: String = ""
    /// The event's figures, one column each (`rss_bytes` and `peak_rss_bytes` are measured when it is written).
    public var metrics = Metrics()
    /// Asks: why generation ended; empty for other events.
    public var finishReason: FinishReason?
    /// Wire code of an error event.
    public var errorCode: String = ""
    /// Free text (error message, file path).
    public var detail: String = ""
    /// Write only to the daemon-wide file (e.g. errors about sessions that do not exist).
    public var daemonOnly = false

    public init(event: TelemetryEvent, session: String = "") {
        self.event = event
        self.session = session
    }

    /// Fills the session-describing columns from `info`.
    public mutating func describe(_ info: SessionInfo) {
        session = info.session
        model = info.model
        press = info.press
        compressionRatio = info.compressionRatio
        metrics.contextTokens = Int(info.contextTokens)
        metrics.keptTokens = Int(info.keptTokens)
        metrics.kvBytes = Int(info.kvBytes)
        metrics.kvBytesUncompressed = Int(info.kvBytesUncompressed)
        kvQuant = info.kvQuant
    }

    /// The row as one CSV line (with its newline), one field per column of `columns`.
    public func line(timestamp: Date) -> String {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let fields = [iso.string(from: timestamp), session, event.rawValue, model, press, Self.format(compressionRatio, digits: 4),
                      kvQuant, decoding]
            + metrics.fields.map { Self.format($0.value, digits: $0.isCount ? 0 : 3) }
            + [finishReason?.rawValue ?? "", errorCode, detail]
        return CSVText.line(fields)
    }

    /// The header line of a telemetry file.
    public static var header: String { CSVText.line(columns) }

    /// The rows of a telemetry file's `text` (its first record is the header), each keyed by column.
    public static func records(_ text: String) -> [[String: String]] {
        var reader = Reader()
        return reader.feed(text)
    }

    /// Rows of a file read as it grows (`kvctl telemetry --follow`): text that stops inside a
    /// record is kept until the rest arrives.
    public struct Reader {
        private var pending = ""
        private var header: [String]?

        public init() {}

        /// The rows completed by `text`, keyed by the header's columns.
        public mutating func feed(_ text: String) -> [[String: String]] {
            pending += text
            guard CSVText.endsBetweenRecords(pending[...]) else { return [] }
            var records = CSVText.records(pending)[...]
            pending = ""
            if header == nil { header = records.popFirst() }
            return records.map { Dictionary(zip(header ?? [], $0), uniquingKeysWith: { a, _ in a }) }
        }
    }

    /// `v` with `digits` decimals (0 for a value that is not a number).
    static func format(_ v: Double, digits: Int) -> String {
        guard v.isFinite else { return "0" }
        return String(format: "%.\(digits)f", v)
    }
}
