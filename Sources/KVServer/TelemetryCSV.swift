import KVSystem
import KVWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes telemetry rows (`TelemetryRow`, which owns the columns and the line format) as CSV files:
/// `<dir>/<session>.csv` per session plus the daemon-wide `<dir>/@kvd.csv` (`@` cannot appear in a
/// session id, so the names never collide).
///
/// Each file gets the header once (when it is created or empty); each event is one `write(2)` of
/// one line on a file opened with `O_APPEND`, so rows are flushed as they happen, `tail -f` works,
/// and a crash never leaves half a row from a buffer. Thread-safe.
public final class TelemetryCSV: @unchecked Sendable {
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
        let line = row.line(timestamp: Date())
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
        if fstat(fd, &st) == 0 && st.st_size == 0 { text = TelemetryRow.header + line }
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
        let firstLine = String(decoding: head.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self) + "\n"
        guard firstLine != TelemetryRow.header else { return }
        let previous = url.appendingPathExtension("prev")
        _ = rename(url.path, previous.path)
    }
}
