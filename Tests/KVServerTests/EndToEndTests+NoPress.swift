import Foundation
import XCTest
@testable import KVServer

/// `none` is accepted wherever a press is (issue 15, item 10): sessions report `press: "none"`,
/// and `--press none` was refused (kvctl exited 64, kvd answered INVALID_ARGUMENT).
extension EndToEndTests {
    func testNoneIsAPressEverywhere() throws {
        try requireModel()
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        defer { daemon.terminate() }
        let text = "The Sorrel Ledge is a reef a mile south-west of Kestrel Point."
        let client = try daemon.client()
        guard case .load(let plain) = try client.call(.load(LoadRequest(session: "plain", document: text))).body else { return XCTFail(daemon.log) }
        XCTAssertEqual(plain.session.press, "none")
        // The press a session reports loads again, and gives the same session.
        let again = try client.call(.load(LoadRequest(session: "plain", document: text, press: plain.session.press, replace: true)))
        guard case .load(let l) = again.body else { return XCTFail("\(again.body)") }
        XCTAssertEqual(l.session.keptTokens, plain.session.keptTokens)
        XCTAssertEqual(l.session.press, "none")
        let ask = try client.call(.ask(AskRequest(session: "plain", question: "Where is the reef?", maxNewTokens: 4, decoding: "none")))
        guard case .ask = ask.body else { return XCTFail("\(ask.body)") }

        let kvctl = try Products.path("kvctl")
        let file = dir.appendingPathComponent("doc.txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let loaded = try run(kvctl, ["load", "k", file.path, "--press", "none", "--socket", daemon.socket])
        XCTAssertEqual(loaded.status, 0, loaded.stderr)
        let asked = try run(kvctl, ["ask", "--session", "k", "--decoding", "none", "--max-new-tokens", "2", "Where?", "--socket", daemon.socket])
        XCTAssertEqual(asked.status, 0, asked.stderr)
        let ratio = try run(kvctl, ["load", "k", file.path, "--press", "none", "--ratio", "0.5", "--socket", daemon.socket])
        XCTAssertEqual(ratio.status, 64, "a ratio of no press is a command-line mistake")
        XCTAssertTrue(ratio.stderr.contains("--ratio needs --press"), ratio.stderr)
    }
}
