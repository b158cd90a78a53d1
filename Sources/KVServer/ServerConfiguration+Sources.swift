import Foundation

/// Where settings come from: the environment, the config file and the flags, each read through
/// the rows of `ServerConfiguration.settings`, so a value means the same and a bad one gets the
/// same sentence from all three.
extension ServerConfiguration {
    /// Why a config file could not be read.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// The defaults, then the environment variables of the settings that have one, then the config
    /// file's text, then the flags: each source overrides the ones before it.
    /// - Throws: `SettingError` (environment, flags) or `ParseError` (config file).
    public init(environment: [String: String], configText: String?, flags: [String]) throws {
        self.init()
        try apply(environment: environment)
        if let configText { try apply(configText: configText) }
        try apply(flags: flags)
    }

    /// Applies the settings' environment variables (`KVD_MODEL`, `KVD_THREADS`) found in `environment`.
    /// - Throws: `SettingError` starting with the variable's name.
    public mutating func apply(environment: [String: String]) throws {
        for s in Self.settings {
            guard let name = s.environment, let value = environment[name], !value.isEmpty else { continue }
            s.clear(&self)
            if let e = s.read(value, &self) { throw SettingError("$\(name): \(e)") }
        }
    }

    /// Applies the settings of a config file's text on top of `self`: `key = value` lines, `#`
    /// starts a comment, blank lines are ignored; a list key may repeat.
    /// - Throws: `ParseError` with the line.
    public mutating func apply(configText text: String) throws {
        var listed: Set<String> = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ParseError(line: n + 1, message: "expected 'key = value', got '\(line)'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard let s = Self.settings.first(where: { $0.key == key }) else {
                throw ParseError(line: n + 1, message: "unknown key '\(key)'; valid keys: \(Self.settings.map(\.key).joined(separator: ", "))")
            }
            if listed.insert(key).inserted { s.clear(&self) }
            if let e = s.read(value, &self) { throw ParseError(line: n + 1, message: e.description) }
        }
    }

    /// Applies flags (`--max-batch 8` or `--max-batch=8`; a list flag may repeat) on top of `self`.
    /// - Throws: `SettingError`: a bad value (the config file's sentence), an unknown flag, a missing value.
    public mutating func apply(flags: [String]) throws {
        var listed: Set<String> = []
        var i = 0
        while i < flags.count {
            let arg = flags[i]
            guard arg.hasPrefix("--"), arg.count > 2 else { throw SettingError("unexpected argument '\(arg)'") }
            var name = String(arg.dropFirst(2)), value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let s = Self.settings.first(where: { $0.flag == name }) else {
                throw SettingError("unknown option '--\(name)'; see kvd --help")
            }
            if value == nil {
                i += 1
                guard i < flags.count else { throw SettingError("missing value for '--\(name) <\(s.valueName)>'") }
                value = flags[i]
            }
            if listed.insert(s.key).inserted { s.clear(&self) }
            if let e = s.read(value ?? "", &self) { throw e }
            i += 1
        }
    }

    /// The settings as `kvd --help` lists them, each with its flag, help, key and default (and
    /// environment variable), wrapped to fit 79 columns.
    public static var settingsHelp: String {
        let defaults = ServerConfiguration()
        let labelWidth = 24, width = 79 - 2 - labelWidth
        return settings.map { s in
            let label = "--\(s.flag) <\(s.valueName)>"
            let value = s.text(defaults)
            var text = s.help + (s.isList ? " Repeatable." : "") + " kvd.conf: " + (value.isEmpty ? "\(s.key) (unset)" : "\(s.key) = \(value)")
            if let env = s.environment { text += "; environment: \(env)" }
            text += "."
            let lines = wrap(text, to: width)
            let head = label.count <= labelWidth - 2
                ? "  " + label.padding(toLength: labelWidth, withPad: " ", startingAt: 0) + lines[0]
                : "  " + label + "\n" + String(repeating: " ", count: 2 + labelWidth) + lines[0]
            return ([head] + lines.dropFirst().map { String(repeating: " ", count: 2 + labelWidth) + $0 }).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Words of `text` in lines of at most `width` characters (a longer word gets a line of its own).
    private static func wrap(_ text: String, to width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        return lines + [line]
    }
}
