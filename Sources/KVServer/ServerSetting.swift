import Foundation

/// One daemon setting, declared once as a row of `ServerConfiguration.settings`: its `kvd.conf`
/// key, its `kvd` flag, its environment variable, how a value is read and checked, and its help.
/// Its default is the initial value of its `ServerConfiguration` property. The config file, the
/// environment, the flags, `kvd --help` and the error messages all read the row.
public struct ServerSetting: @unchecked Sendable {  // immutable: lets and pure closures
    /// The `kvd.conf` key (`max_batch`), also the name error messages give.
    public let key: String
    /// The flag without `--` (`max-batch`; `allow-uid` for `allow_uids`).
    public let flag: String
    /// The environment variable read below the config file, if there is one.
    public let environment: String?
    /// What a value is, for help (`n`, `bytes`, `path`).
    public let valueName: String
    /// What it does, for `kvd --help`.
    public let help: String
    /// Whether each occurrence adds to a list (`model`, `allow_uids`). The occurrences of one
    /// source (environment, file, flags) replace the list of the source below.
    public let isList: Bool
    /// Reads one value into a configuration (a list appends); nil when the value is valid.
    let read: (_ value: String, _ c: inout ServerConfiguration) -> SettingError?
    /// Empties a list (before the first occurrence of a source).
    let clear: (_ c: inout ServerConfiguration) -> Void
    /// The setting's value in a configuration, as the config file writes it (`4G`, `0660`).
    public let text: (_ c: ServerConfiguration) -> String
}

/// A value a setting refuses, or a flag kvd does not have: one sentence, the same whether the value
/// came from the config file (which adds its line), a flag or the environment.
public struct SettingError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// `invalid value 'x' for key: expected …`.
    static func invalid(_ value: String, for key: String, expected: String) -> SettingError {
        SettingError("invalid value '\(value)' for \(key): expected \(expected)")
    }
}

extension ServerSetting {
    /// A setting holding one value. `parse` returns nil for a value that is not `expected`, or
    /// throws an error whose description replaces the whole sentence (`StoreURL`'s, which hides a password).
    static func one<T>(_ key: String, _ path: WritableKeyPath<ServerConfiguration, T>, flag: String? = nil,
                       environment: String? = nil, valueName: String, expected: String, help: String,
                       parse: @escaping (String) throws -> T?, text: @escaping (T) -> String) -> ServerSetting {
        ServerSetting(key: key, flag: flag ?? key.replacingOccurrences(of: "_", with: "-"), environment: environment,
                      valueName: valueName, help: help, isList: false,
                      read: { value, c in
                          do {
                              guard let v = try parse(value) else { return .invalid(value, for: key, expected: expected) }
                              c[keyPath: path] = v
                              return nil
                          } catch {
                              return SettingError("\(error)")
                          }
                      },
                      clear: { _ in },
                      text: { text($0[keyPath: path]) })
    }

    /// A setting holding a list: each occurrence adds the items `parse` reads from it (none for an
    /// empty value), nil when the value is not `expected`.
    static func list<T>(_ key: String, _ path: WritableKeyPath<ServerConfiguration, [T]>, flag: String,
                        environment: String? = nil, valueName: String, expected: String, help: String,
                        parse: @escaping (String) -> [T]?, text: @escaping (T) -> String) -> ServerSetting {
        ServerSetting(key: key, flag: flag, environment: environment, valueName: valueName, help: help, isList: true,
                      read: { value, c in
                          guard let items = value.isEmpty ? [] : parse(value) else { return .invalid(value, for: key, expected: expected) }
                          c[keyPath: path] += items
                          return nil
                      },
                      clear: { $0[keyPath: path] = [] },
                      text: { $0[keyPath: path].map(text).joined(separator: ", ") })
    }
}

/// The value parsers and printers the rows share.
enum SettingValue {
    /// A file name: not empty, no NUL.
    static func path(_ s: String) -> String? { s.isEmpty || s.contains("\0") ? nil : s }

    /// An optional file name: empty = none.
    static func optionalPath(_ s: String) -> String?? { s.isEmpty ? .some(nil) : path(s).map { .some($0) } }

    /// An integer within `range`.
    static func integer(in range: ClosedRange<Int>) -> (String) -> Int? {
        { Int($0).flatMap { range.contains($0) ? $0 : nil } }
    }

    /// Bytes (`bytes`), at least `minimum`.
    static func size(atLeast minimum: Int) -> (String) -> Int? {
        { bytes($0).flatMap { $0 >= minimum ? $0 : nil } }
    }

    /// `123`, `4K`, `512M`, `4G` (also `KB`, `KiB`; powers of 1024) → bytes (nil beyond 2^62: a size, not an overflow).
    static func bytes(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        for (u, m) in units where t.hasSuffix(u) || t.hasSuffix(u + "B") || t.hasSuffix(u + "IB") {
            let digits = t.replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "").dropLast()
            guard let v = Double(digits), v >= 0, v * Double(m) < 0x1p62 else { return nil }
            return Int(v * Double(m))
        }
        return Int(t).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Bytes the shortest way: `4G`, `512M`, `1000`.
    static func sizeText(_ bytes: Int) -> String {
        for (unit, factor) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where bytes > 0 && bytes % factor == 0 {
            return "\(bytes / factor)\(unit)"
        }
        return "\(bytes)"
    }

    /// Comma-separated uids or gids.
    static func ids(_ s: String) -> [UInt32]? {
        let parts = s.split(separator: ",").map { UInt32($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(where: { $0 == nil }) ? nil : parts.compactMap { $0 }
    }

    /// Octal file permissions.
    static func mode(_ s: String) -> UInt32? { UInt32(s, radix: 8).flatMap { $0 <= 0o777 ? $0 : nil } }

    static func modeText(_ m: UInt32) -> String { "0" + String(m, radix: 8) }
}
