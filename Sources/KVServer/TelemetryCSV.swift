import KVSystem
import KVWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One telemetry event: a row of the per-session and daemon-wide CSV files.
public struct TelemetryRow: Sendable {
    /// `load`, `ask`, `save`, `restore`, `drop`, `evict`, `error`, `start`, `stop`.
    public var event: String
    public var session: String = ""
    public var model: String = ""
    public var press: String = ""
    public var compressionRatio: Double = 0
    public var contextTokens: Int = 0
    public var keptTokens: Int = 0
    public var questionTokens: Int = 0
    public var generatedTokens: Int = 0
    public var prefillMs: Double = 0
    public var compressMs: Double = 0
    public var ttftMs: Double = 0
    public var decodeMs: Double = 0
    public var decodeTokS: Double = 0
    public var kvBytes: Int = 0
    public var kvBytesUncompressed: Int = 0
    /// Quantized cache spec of the session (`kivi:bits=4,…`), empty for full precision.
    public var kvQuant: String = ""
    /// Asks: the decoding-time compression spec, empty for none.
    public var decoding: String = ""
    /// Asks: KV bytes when the ask started (`kvBytes` is then the bytes at its end: the context plus its question and answer).
    public var kvBytesBefore: Int = 0
    /// Asks: decoding-time compressions and their summed milliseconds.
    public var decodingCompressions: Int = 0
    public var decodingCompressMs: Double = 0
    /// Asks: entries per KV head at the end of the answer (context plus question and answer).
    public var finalCacheTokens: Int = 0
    /// Milliseconds of file I/O (save/restore/evict).
    public var ioMs: Double = 0
    /// Milliseconds from the request's arrival to its answer (queueing included).
    public var requestMs: Double = 0
    /// Asks: milliseconds from arrival to the first step that ran it.
    public var queueMs: Double = 0
    /// Asks: asks per forward step, averaged over the steps this ask took part in.
    public var meanBatchSize: Double = 0
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
        contextTokens = Int(info.contextTokens)
        keptTokens = Int(info.keptTokens)
        kvBytes = Int(info.kvBytes)
        kvBytesUncompressed = Int(info.kvBytesUncompressed)
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
    /// The columns, in order.
    public static let columns = [
        "timestamp", "session", "event", "model", "press", "compression_ratio", "context_tokens", "kept_tokens",
        "question_tokens", "generated_tokens", "prefill_ms", "compress_ms", "ttft_ms", "decode_ms", "decode_tok_s",
        "kv_bytes", "kv_bytes_uncompressed", "kv_quant", "decoding", "kv_bytes_before", "decoding_compressions",
        "decoding_compress_ms", "final_cache_tokens", "rss_bytes", "peak_rss_bytes", "io_ms", "request_ms", "queue_ms", "mean_batch_size", "finish_reason",
        "error_code", "detail",
    ]
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
        let line = TelemetryCSV.format(row, timestamp: Date(), rss: ResourceUsage.rssBytes, peak: ResourceUsage.peakRSSBytes)
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
    static func format(_ r: TelemetryRow, timestamp: Date, rss: Int, peak: Int) -> String {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let fields: [String] = [
            iso.string(from: timestamp), r.session, r.event, r.model, r.press, num(r.compressionRatio, 4),
            String(r.contextTokens), String(r.keptTokens), String(r.questionTokens), String(r.generatedTokens),
            num(r.prefillMs, 3), num(r.compressMs, 3), num(r.ttftMs, 3), num(r.decodeMs, 3), num(r.decodeTokS, 2),
            String(r.kvBytes), String(r.kvBytesUncompressed), r.kvQuant, r.decoding, String(r.kvBytesBefore),
            String(r.decodingCompressions), num(r.decodingCompressMs, 3), String(r.finalCacheTokens), String(rss), String(peak), num(r.ioMs, 3), num(r.requestMs, 3),
            num(r.queueMs, 3), num(r.meanBatchSize, 2), r.finishReason, r.errorCode, r.detail,
        ]
        return fields.map(escape).joined(separator: ",") + "\n"
    }

    static func num(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "0" }
        return String(format: "%.\(digits)f", v)
    }

    /// RFC 4180 quoting for fields with commas, quotes or line breaks (press specs have commas).
    static func escape(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
