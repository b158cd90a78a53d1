import Foundation
import XCTest
@testable import KVServer

/// kvd's and kvctl's command lines, where no model is needed: values refused before anything
/// starts, and telemetry read back from a CSV file.
extension EndToEndTests {
    /// `--log-level bogus` is refused by the flag with the config file's own words (and kvd never
    /// gets as far as opening a model).
    func testKvdRefusesAnUnknownLogLevelLikeItsConfigFile() throws {
        let message = "invalid value 'bogus' for log_level: expected trace, debug, info, notice, warning, error or critical"
        var c = ServerConfiguration()
        XCTAssertThrowsError(try c.apply(configText: "log_level = bogus")) { XCTAssertEqual("\($0)", "line 1: " + message) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Everything else is valid but the model, which kvd opens only after its settings are accepted.
        let rest = ["--socket", dir.appendingPathComponent("kvd.sock").path, "--state-dir", dir.appendingPathComponent("state").path,
                    "--telemetry-dir", dir.appendingPathComponent("telemetry").path,
                    "--model", dir.appendingPathComponent("no-such-model.gguf").path]
        let r = try run(try Products.path("kvd"), ["--log-level", "bogus"] + rest)
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains(message), r.stderr)
        let ok = try run(try Products.path("kvd"), ["--log-level", "warning"] + rest)
        XCTAssertTrue(ok.stderr.contains("no-such-model.gguf"), "a valid level passes, up to the missing model: \(ok.stderr)")
    }

    /// `kvd --help` lists every setting's flag, and a flag kvd gained from the table (`--max-batch`)
    /// refuses a bad value with the config file's sentence, before any model is opened.
    func testKvdHelpListsEverySettingAndItsFlagsRefuseLikeTheFile() throws {
        let help = try run(try Products.path("kvd"), ["--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        for s in ServerConfiguration.settings {
            XCTAssertTrue(help.stdout.contains("  --\(s.flag) <\(s.valueName)>"), "--\(s.flag) missing from:\n\(help.stdout)")
        }
        XCTAssertTrue(help.stdout.contains(ServerConfiguration.settingsHelp), "the table's lines, as they are:\n\(help.stdout)")
        var c = ServerConfiguration()
        var message = ""
        XCTAssertThrowsError(try c.apply(configText: "max_batch = 300")) { message = ($0 as? ServerConfiguration.ParseError)?.message ?? "" }
        XCTAssertEqual(message, "invalid value '300' for max_batch: expected a number of asks from 1 to 256")
        let r = try run(try Products.path("kvd"), ["--max-batch=300", "--model", dir.appendingPathComponent("no-such-model.gguf").path])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains(message), r.stderr)
    }

    /// `--threads` sizes kvd's compute pool (passed to the pool, no environment variable), and a
    /// flag kvd gained from the table takes effect: `--max-new-tokens=3` bounds an answer that sets none.
    func testKvdPassesItsThreadsAndLimitsFromFlags() throws {
        try requireModel()
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath, "--threads", "3", "--max-new-tokens=3"])
        defer { daemon.terminate() }
        XCTAssertTrue(daemon.log.contains(", 3 threads, kernels"), daemon.log)
        XCTAssertFalse(daemon.log.contains("ignored"), daemon.log)
        let c = try daemon.client()
        guard case .load = try c.call(.load(LoadRequest(session: "s", document: try Self.document))).body else { return XCTFail(daemon.log) }
        let r = try c.call(.ask(AskRequest(session: "s", question: Self.questions[0])))
        guard case .ask(let answer) = r.body else { return XCTFail("\(r.body)") }
        XCTAssertEqual(answer.tokenIDs.count, 3)
        XCTAssertEqual(answer.finishReason, .maxNewTokens)
    }

    /// A negative `--target-fidelity` or `--ratio` is a value out of range, not a missing one.
    func testKvctlNamesTheRangeOfANegativeTargetOrRatio() throws {
        let kvctl = try Products.path("kvctl")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let doc = dir.appendingPathComponent("doc.txt")
        try "some words".write(to: doc, atomically: true, encoding: .utf8)
        for (args, message) in [(["--target-fidelity", "-0.5"], "--target-fidelity must be in (0, 1], got -0.5"),
                                (["--target-fidelity", "1.5"], "--target-fidelity must be in (0, 1], got 1.5"),
                                (["--press", "knorm", "--ratio", "-0.5"], "--ratio must be in [0, 1), got -0.5"),
                                (["--press", "knorm", "--ratio", "1"], "--ratio must be in [0, 1), got 1.0")] {
            let r = try run(kvctl, ["load", "s", doc.path, "--socket", dir.appendingPathComponent("none.sock").path] + args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }

    /// A telemetry row whose detail holds a newline, a comma and quotes (a spec a raw client sent)
    /// is one row in `kvctl telemetry --json`, its detail whole, and the next row is intact.
    func testKvctlTelemetryJSONKeepsADetailWithANewline() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let telemetry = TelemetryCSV(directory: dir)
        var failed = TelemetryRow(event: .error, session: "s")
        failed.errorCode = "INVALID_ARGUMENT"
        failed.detail = "unknown press 'knorm\nsnapkv', \"quoted\"\r\nend"
        telemetry.record(failed)
        var load = TelemetryRow(event: .load, session: "s")
        load.press = "snapkv:ratio=0.5,window_size=64"
        telemetry.record(load)
        let r = try run(try Products.path("kvctl"), ["telemetry", "s", "--telemetry-dir", dir.path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let rows = try XCTUnwrap(json["rows"] as? [[String: String]], r.stdout)
        XCTAssertEqual(rows.map { $0["event"] }, ["error", "load"])
        XCTAssertEqual(rows.first?["detail"], failed.detail)
        XCTAssertEqual(rows.last?["press"], load.press)
        XCTAssertEqual(rows.map(\.count), [TelemetryRow.columns.count, TelemetryRow.columns.count])
    }
}
