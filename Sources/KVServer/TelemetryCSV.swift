import KVSystem
import KVWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One telemetry event: a row of the per-session and daemon-wide CSV files.
public struct TelemetryRow: Sendable {
    /// `load`, `ask`, `save`, `restore`, `drop`, `evict`, `error`, `start`, `stop`; with a shared
    /// store also `publish`, `fetch` and `unload` (a copy another replica dropped or replaced).
    public var event: String
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
    /// `eos`, `max_new_tokens`, … for asks.
    public var finishReason: String = ""
    /// Wire code of an error event.
    public var errorCode: String = ""
    /// Free text (error message, file path).
    public var detail: String = ""
    /// Write only to the daemon-wide file (e.g. errors about sessions that do not exist).
    public var daemonOnly = false

    public init(event: String, session: String = "") {
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
}

/// Writes telemetry as CSV: `<dir>/<session>.csv` per session plus the daemon-wide `<dir>/@kvd.csv`
/// (`@` cannot appear in a session id, so the names never collide).
///
/// Each file gets the header once (when it is created or empty); each event is one `write(2)` of
/// one line on a file opened with `O_APPEND`, so rows are flushed as they happen, `tail -f` works,
/// and a crash never leaves half a row from a buffer. Thread-safe.
public final class TelemetryCSV: @unchecked Sendable {
    /// The columns, in order: what the event is about, its metrics (`Metrics.names`), how it ended.
    public static let columns = ["timestamp", "session", "event", "model", "press", "compression_ratio", "kv_quant", "decoding"]
        + Metrics.names + ["finish_reason", "error_code", "detail"]
    /// File name of the daemon-wide CSV.
    public static let daemonFileName = "@kvd.csv"

    /// The directory written to (`nil` disables telemetry).
    public let directory: URL?
    private let lock = NSLock()
    /// Files whose header this process has checked.
    private var checked: Set<String> = []

    public init(directory: URL?) {
        self.directory = directory
    }

    /// The CSV path of `session`.
    public func url(session: String) -> URL? {
        directory?.appendingPathComponent(session + ".csv")
    }

    /// Records `row` in its session's file (if it names one) and in the daemon-wide file.
    public func record(_ row: TelemetryRow) {
        guard let directory else { return }
        var row = row
        row.metrics.rssBytes = ResourceUsage.rssBytes
        row.metrics.peakRssBytes = ResourceUsage.peakRSSBytes
        let line = TelemetryCSV.format(row, timestamp: Date())
        lock.lock()
        defer { lock.unlock() }
        if !row.session.isEmpty && !row.daemonOnly { append(line, to: directory.appendingPathComponent(row.session + ".csv")) }
        append(line, to: directory.appendingPathComponent(TelemetryCSV.daemonFileName))
    }

    private func append(_ line: String, to url: URL) {
        if checked.insert(url.path).inserted { setAsideIfOtherColumns(url) }
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var st = stat()
        var text = line
        if fstat(fd, &st) == 0 && st.st_size == 0 { text = TelemetryCSV.columns.joined(separator: ",") + "\n" + line }
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
    }

    /// A file written by a kvd with other columns is renamed to `<name>.prev` (replacing an older
    /// one), so every file's rows match its header.
    private func setAsideIfOtherColumns(_ url: URL) {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return }
        let head = (try? handle.read(upToCount: 4096)) ?? Data()
        try? handle.close()
        guard !head.isEmpty else { return }
        let firstLine = String(decoding: head.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        guard firstLine != TelemetryCSV.columns.joined(separator: ",") else { return }
        let previous = url.appendingPathExtension("prev")
        _ = rename(url.path, previous.path)
    }

    /// One CSV line (with newline) for `row`.
    static func format(_ r: TelemetryRow, timestamp: Date) -> String {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let fields = [iso.string(from: timestamp), r.session, r.event, r.model, r.press, format(r.compressionRatio, digits: 4),
                      r.kvQuant, r.decoding]
            + r.metrics.fields.map { format($0.value, digits: $0.isCount ? 0 : 3) }
            + [r.finishReason, r.errorCode, r.detail]
        return fields.map(escape).joined(separator: ",") + "\n"
    }

    /// `v` with `digits` decimals (0 for a value that is not a number).
    static func format(_ v: Double, digits: Int) -> String {
        guard v.isFinite else { return "0" }
        return String(format: "%.\(digits)f", v)
    }

    /// RFC 4180 quoting for fields with commas, quotes or line breaks (press specs have commas).
    static func escape(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
