import CSV
import Foundation

/// RFC 4180 text, read and written by yaslab/CSV.swift: the one CSV reader and writer of kvd
/// (telemetry files, `kvctl telemetry`, kvbench's sweep report).
///
/// A field holding a comma, a quote or a line break is quoted, its quotes doubled; such a field
/// may span lines, so records are never found by splitting on newlines.
public enum CSVText {
    /// `fields` as one record, ending with a newline.
    public static func line(_ fields: [String]) -> String {
        let stream = OutputStream.toMemory()
        // Writing to memory fails only when memory does.
        guard let writer = try? CSVWriter(stream: stream), (try? writer.write(row: fields)) != nil else { return "\n" }
        stream.close()
        let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The records of `text`, each a list of fields; blank lines are skipped.
    public static func records(_ text: String) -> [[String]] {
        guard let reader = try? CSVReader(string: text) else { return [] }
        var out: [[String]] = []
        while let record = reader.next() {
            if record != [""] { out.append(record) }
        }
        return out
    }

    /// Whether `text` ends between records: after a line break outside any quoted field. Text read
    /// from a file still being appended to is parsed only up to such a point.
    public static func endsBetweenRecords(_ text: Substring) -> Bool {
        // Quotes come in pairs in whole records (opening and closing, or doubled inside a field),
        // so an odd count means a quoted field is still open.
        text.utf8.last == UInt8(ascii: "\n") && text.utf8.reduce(0) { $1 == UInt8(ascii: "\"") ? $0 + 1 : $0 } % 2 == 0
    }
}
