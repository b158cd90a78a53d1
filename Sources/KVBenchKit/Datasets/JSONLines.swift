import Foundation

/// Reading JSON Lines files: one JSON object per non-empty line.
public enum JSONLines {
    /// The objects of a `.jsonl` file, with their 1-based line numbers.
    /// - Throws: `DatasetError.cannotRead`, `.badRecord` for a line that is not a JSON object,
    ///   `.empty` for a file without records.
    public static func read(_ path: String) throws -> [(line: Int, record: [String: Any])] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError.cannotRead(path: path) }
        var out: [(Int, [String: Any])] = []
        for (i, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                throw DatasetError.badRecord(path: path, line: i + 1, reason: "not a JSON object")
            }
            out.append((i + 1, object))
        }
        guard !out.isEmpty else { throw DatasetError.empty(path: path) }
        return out
    }
}

/// Typed access to a JSON record's fields.
struct Record {
    let fields: [String: Any]
    let path: String
    let line: Int

    func string(_ key: String) -> String? {
        switch fields[key] {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: return nil
        }
    }

    func require(_ key: String) throws -> String {
        guard let s = string(key) else { throw DatasetError.badRecord(path: path, line: line, reason: "missing text field '\(key)'") }
        return s
    }

    /// A string or a list of strings/numbers (answers are either), as a list.
    func strings(_ key: String) -> [String]? {
        switch fields[key] {
        case let s as String: return [s]
        case let a as [Any]: return a.compactMap { ($0 as? String) ?? ($0 as? NSNumber)?.stringValue }
        case let n as NSNumber: return [n.stringValue]
        default: return nil
        }
    }

    func int(_ key: String) -> Int? { (fields[key] as? NSNumber)?.intValue ?? string(key).flatMap { Int($0) } }

    func bool(_ key: String) -> Bool? {
        if let b = fields[key] as? Bool { return b }
        if let s = string(key)?.lowercased() { return s == "true" ? true : s == "false" ? false : nil }
        return nil
    }

    func object(_ key: String) -> Record? {
        (fields[key] as? [String: Any]).map { Record(fields: $0, path: path, line: line) }
    }
}
