import Foundation
import XCTest
@testable import KVServer

/// The settings table: every setting reads the same from the config file, the flags and its
/// environment variable, refuses a bad value with the same sentence, and the sources override
/// each other in order. Walks `ServerConfiguration.settings`, so a new row is tested too.
final class ServerConfigurationTests: XCTestCase {
    /// For each key, a valid value other than the default and a value it refuses. A row without a
    /// sample fails `testEverySettingHasSamples`.
    static let samples: [String: (good: String, bad: String)] = [
        "socket": ("/tmp/k.sock", ""),
        "socket_mode": ("0600", "0999"),
        "allow_uids": ("5, 6", "5,x"),
        "allow_gids": ("100", "-1"),
        "state_dir": ("/tmp/state", ""),
        "telemetry_dir": ("/tmp/telemetry", ""),
        "model": ("/m/a.gguf", "/m/a\u{0}.gguf"),
        "threads": ("3", "-1"),
        "memory_budget": ("512M", "lots"),
        "max_frame": ("1M", "512"),
        "max_output": ("1M", "1K"),
        "max_new_tokens": ("32", "0"),
        "max_queue": ("8", "0"),
        "max_batch": ("4", "257"),
        "log_level": ("debug", "bogus"),
        "store": ("redis://10.1.2.3:6379", "redis://nohost"),
        "store_prefix": ("team-a", "has space"),
        "store_password_file": ("/etc/kvd/pw", "/etc/kvd/p\u{0}w"),
    ]

    func testEverySettingHasSamples() {
        XCTAssertEqual(Set(Self.samples.keys), Set(ServerConfiguration.settings.map(\.key)))
    }

    /// Keys, flags and environment variables name one setting each.
    func testNamesAreUnique() {
        let s = ServerConfiguration.settings
        XCTAssertEqual(Set(s.map(\.key)).count, s.count)
        XCTAssertEqual(Set(s.map(\.flag)).count, s.count)
        XCTAssertEqual(Set(s.compactMap(\.environment)).count, s.filter { $0.environment != nil }.count)
    }

    func testFileFlagsAndEnvironmentAgreeOnEverySetting() throws {
        let defaults = ServerConfiguration()
        for s in ServerConfiguration.settings {
            let good = try XCTUnwrap(Self.samples[s.key]?.good, s.key)
            var file = ServerConfiguration(), spaced = ServerConfiguration(), joined = ServerConfiguration()
            try file.apply(configText: "\(s.key) = \(good)")
            try spaced.apply(flags: ["--\(s.flag)", good])
            try joined.apply(flags: ["--\(s.flag)=\(good)"])
            XCTAssertNotEqual(file, defaults, "\(s.key) = \(good) changes nothing")
            XCTAssertEqual(file, spaced, s.key)
            XCTAssertEqual(file, joined, s.key)
            XCTAssertEqual(s.text(file).replacingOccurrences(of: " ", with: ""), good.replacingOccurrences(of: " ", with: ""),
                           "\(s.key) prints back as written")
            if let name = s.environment {
                var env = ServerConfiguration()
                try env.apply(environment: [name: good])
                XCTAssertEqual(env, file, name)
            }
        }
    }

    func testABadValueGetsTheSameSentenceFromEverySource() throws {
        for s in ServerConfiguration.settings {
            let bad = try XCTUnwrap(Self.samples[s.key]?.bad, s.key)
            var c = ServerConfiguration()
            var flagError = ""
            XCTAssertThrowsError(try c.apply(flags: ["--\(s.flag)", bad]), s.key) { flagError = "\($0)" }
            XCTAssertTrue(flagError.contains(s.key), "\(s.key): \(flagError)")
            XCTAssertThrowsError(try c.apply(configText: "# settings\n\(s.key) = \(bad)"), s.key) {
                XCTAssertEqual($0 as? ServerConfiguration.ParseError, ServerConfiguration.ParseError(line: 2, message: flagError))
            }
            if let name = s.environment {
                XCTAssertThrowsError(try c.apply(environment: [name: bad]), name) { XCTAssertEqual("\($0)", "$\(name): \(flagError)") }
            }
            XCTAssertEqual(c, ServerConfiguration(), "\(s.key): a refused value changes nothing")
        }
        XCTAssertThrowsError(try ServerConfiguration().applying(flags: ["--log-level", "bogus"])) {
            XCTAssertEqual("\($0)", "invalid value 'bogus' for log_level: expected trace, debug, info, notice, warning, error or critical")
        }
        XCTAssertThrowsError(try ServerConfiguration().applying(flags: ["--max-batch", "0"])) {
            XCTAssertEqual("\($0)", "invalid value '0' for max_batch: expected a number of asks from 1 to 256")
        }
    }

    func testUnknownNamesAndMissingValuesAreRefused() {
        var c = ServerConfiguration()
        XCTAssertThrowsError(try c.apply(flags: ["--max-batches", "4"])) { XCTAssertEqual("\($0)", "unknown option '--max-batches'; see kvd --help") }
        XCTAssertThrowsError(try c.apply(flags: ["--max-batch"])) { XCTAssertEqual("\($0)", "missing value for '--max-batch <n>'") }
        XCTAssertThrowsError(try c.apply(flags: ["4"])) { XCTAssertEqual("\($0)", "unexpected argument '4'") }
        XCTAssertThrowsError(try c.apply(configText: "\nmax_batches = 4")) {
            XCTAssertEqual(($0 as? ServerConfiguration.ParseError)?.line, 2)
            XCTAssertTrue("\($0)".contains("unknown key 'max_batches'; valid keys: socket, socket_mode"), "\($0)")
        }
        XCTAssertThrowsError(try c.apply(configText: "max_batch 4")) { XCTAssertEqual("\($0)", "line 1: expected 'key = value', got 'max_batch 4'") }
        XCTAssertThrowsError(try c.apply(flags: ["--memory-budget", "99999999999G"]), "a size that overflows is refused, not a crash")
    }

    /// Defaults, then the environment, then the file, then the flags, whatever the flags' order.
    func testEachSourceOverridesTheOnesBefore() throws {
        let env = ["KVD_THREADS": "3", "KVD_MODEL": "/env.gguf"]
        let file = "threads = 5\nmax_batch = 8\nmodel = /file-a.gguf\nmodel = /file-b.gguf\nallow_uids = 7"
        let c = try ServerConfiguration(environment: env, configText: file,
                                        flags: ["--max-batch", "2", "--allow-uid", "8", "--allow-uid=9,10"])
        XCTAssertEqual(c.threads, 5, "the file over the environment")
        XCTAssertEqual(c.maxBatch, 2, "a flag over the file")
        XCTAssertEqual(c.modelPaths, ["/file-a.gguf", "/file-b.gguf"], "a list from the file replaces the environment's")
        XCTAssertEqual(c.allowUIDs, [8, 9, 10], "a list from the flags replaces the file's")
        XCTAssertEqual(c.maxQueue, 1024, "the default")
        let envOnly = try ServerConfiguration(environment: env, configText: "# nothing", flags: [])
        XCTAssertEqual(envOnly.threads, 3)
        XCTAssertEqual(envOnly.modelPaths, ["/env.gguf"])
        let cleared = try ServerConfiguration(environment: [:], configText: "allow_gids = 1\nallow_gids =", flags: [])
        XCTAssertEqual(cleared.allowGIDs, [1], "an empty value adds nothing")
    }

    /// `systemd/kvd.conf` names every key, and the values it shows are the defaults (but `model`,
    /// which it points at the installed model).
    func testTheShippedConfigFileShowsEveryKeyWithItsDefault() throws {
        let text = try String(contentsOf: Products.repository.appendingPathComponent("systemd/kvd.conf"), encoding: .utf8)
        var shipped = try ServerConfiguration(environment: [:], configText: text, flags: [])
        shipped.modelPaths = []
        XCTAssertEqual(shipped, ServerConfiguration())
        let lines = text.split(separator: "\n").map { $0.hasPrefix("#") ? $0.dropFirst() : $0 }
        for s in ServerConfiguration.settings {
            XCTAssertTrue(lines.contains { $0.hasPrefix("\(s.key) =") }, "systemd/kvd.conf does not show \(s.key)")
        }
    }

    /// The user documentation (README.md and docs/) names every key and flag, so its settings
    /// table stays true when a row is added.
    func testTheDocumentationNamesEverySetting() throws {
        let root = Products.repository
        let docs = try FileManager.default.subpathsOfDirectory(atPath: root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.map { "docs/" + $0 }
        let text = try (["README.md"] + docs).map { try String(contentsOf: root.appendingPathComponent($0), encoding: .utf8) }.joined()
        for s in ServerConfiguration.settings {
            XCTAssertTrue(text.contains("`\(s.key)`"), "README.md and docs/ do not document \(s.key)")
            XCTAssertTrue(text.contains("`--\(s.flag) "), "README.md and docs/ do not document --\(s.flag)")
        }
    }

    /// `kvd --help` lists every flag with its key and default, in lines that fit 79 columns (so
    /// the argument parser keeps them as they are).
    func testTheHelpListsEverySetting() {
        let help = ServerConfiguration.settingsHelp
        let words = help.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        let defaults = ServerConfiguration()
        for s in ServerConfiguration.settings {
            XCTAssertTrue(help.contains("  --\(s.flag) <\(s.valueName)>"), s.flag)
            let value = s.text(defaults)
            XCTAssertTrue(words.contains(value.isEmpty ? "kvd.conf: \(s.key) (unset)" : "kvd.conf: \(s.key) = \(value)"), "\(s.key): \(help)")
        }
        XCTAssertTrue(words.contains("threads = 0; environment: KVD_THREADS."), help)
        for line in help.split(separator: "\n") { XCTAssertLessThanOrEqual(line.count, 79, String(line)) }
    }
}

extension ServerConfiguration {
    /// A copy with `flags` applied.
    func applying(flags: [String]) throws -> ServerConfiguration {
        var c = self
        try c.apply(flags: flags)
        return c
    }
}
