import Foundation
import XCTest

/// kvctl's help text, word for word (as swift-argument-parser's own example tests do).
/// Regenerate after an intended change: `.build/release/kvctl help ask > Tests/Golden/kvctl-ask-help.txt`.
final class KvctlHelpTests: XCTestCase {
    func testHelpTextMatchesGolden() throws {
        let kvctl = try Products.path("kvctl")
        for (args, golden) in [(["--help"], "kvctl-help.txt"), (["help", "ask"], "kvctl-ask-help.txt")] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: kvctl)
            p.arguments = args
            p.environment = ["COLUMNS": "100", "KVD_SOCKET": "/run/kvd/kvd.sock"]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let expected = try String(contentsOf: Products.repository.appendingPathComponent("Tests/Golden/\(golden)"), encoding: .utf8)
            XCTAssertEqual(text, expected, "kvctl \(args.joined(separator: " ")) changed; if intended, regenerate Tests/Golden/\(golden)")
        }
    }
}
