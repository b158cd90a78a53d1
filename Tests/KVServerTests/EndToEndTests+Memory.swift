import Foundation
import XCTest
@testable import KVServer

/// kvd gives memory back once the work that needed it is done (reliability issue, part two, item
/// 8: after three long loads and their drops, kvd stayed at 664 MB with no session, 222 MB at start).
extension EndToEndTests {
    func testKvdGivesBackALoadsScratchAndDroppedSessions() throws {
        try requireModel()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        defer { daemon.terminate() }
        let client = try daemon.client()
        func rss() throws -> Int {
            guard case .stats(let s) = try client.call(.stats).body else { XCTFail("no stats"); return 0 }
            return Int(s.rssBytes)
        }
        let atStart = try rss()
        // About 2500 tokens each: a prefill scratch of ~40 MB per thousand tokens, ~29 MB of cache each.
        let long = String(repeating: try Self.document + "\n", count: 3)
        for i in 0..<2 {
            guard case .load(let info) = try client.call(.load(LoadRequest(session: "long\(i)", document: long))).body else {
                return XCTFail(daemon.log)
            }
            XCTAssertGreaterThan(info.metrics.contextTokens, 2000)
        }
        let loaded = try rss()
        for i in 0..<2 { _ = try client.call(.drop(session: "long\(i)")) }
        // The worker gives memory back when it goes idle after the drops.
        var after = try rss()
        let deadline = Date().addingTimeInterval(5)
        while after > atStart + (40 << 20) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            after = try rss()
        }
        XCTAssertLessThan(after, atStart + (40 << 20),
                          "RSS \(after >> 20) MB with no session (\(atStart >> 20) MB at start, \(loaded >> 20) MB with two sessions)")
    }
}
