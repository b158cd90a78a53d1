import Foundation
import XCTest
@testable import KVServer

final class PersistenceTests: XCTestCase {
    func testRoundTripAndCorruptionIsDetected() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvd-snap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("s.kvds")
        let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let n = try SnapshotFile.write(to: url, header: Data("{\"a\":1}".utf8), payload: payload)
        XCTAssertEqual(n, try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        let (h, p) = try SnapshotFile.read(from: url)
        XCTAssertEqual(String(decoding: h, as: UTF8.self), "{\"a\":1}")
        XCTAssertEqual(p, payload)
        XCTAssertEqual(try SnapshotFile.readHeader(from: url), h)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["s.kvds"], "no temporary file left")

        var bytes = try Data(contentsOf: url)
        bytes[5000] ^= 0x01
        try bytes.write(to: url)
        XCTAssertThrowsError(try SnapshotFile.read(from: url)) {
            XCTAssertEqual($0 as? PersistenceError, .corrupt(path: url.path, reason: "checksum mismatch"))
        }
        try bytes.prefix(100).write(to: url)
        XCTAssertThrowsError(try SnapshotFile.read(from: url))
        try Data("hello".utf8).write(to: url)
        XCTAssertThrowsError(try SnapshotFile.readHeader(from: url))
    }

    func testFingerprintDifferencesAreNamed() {
        let a = ModelFingerprint(architecture: "llama", vocabularyFingerprint: 1, vocabularySize: 100, layers: 30, headsKV: 3,
                                 headDimension: 64, contextLength: 8192, ropeFrequencyBase: 10000, ropeDimensionCount: 64,
                                 ropeScale: 1, kvStorage: "f16", press: "none")
        var b = a
        b.vocabularyFingerprint = 2
        b.ropeFrequencyBase = 100000
        b.press = "knorm"
        XCTAssertEqual(a.differences(from: a), [])
        XCTAssertEqual(a.differences(from: b).count, 2)
        XCTAssertTrue(a.differences(from: b)[0].contains("vocabulary fingerprint"))
    }

    func testConfigFile() throws {
        var c = ServerConfiguration()
        try c.apply(configText: """
        # comment
        socket = /tmp/k.sock   # trailing comment
        memory_budget = 512M
        max_frame = 1M
        model = /a.gguf
        model = /b.gguf
        allow_gids = 100, 200
        socket_mode = 0600
        """)
        XCTAssertEqual(c.socketPath, "/tmp/k.sock")
        XCTAssertEqual(c.memoryBudget, 512 << 20)
        XCTAssertEqual(c.maxFrame, 1 << 20)
        XCTAssertEqual(c.modelPaths, ["/a.gguf", "/b.gguf"])
        XCTAssertEqual(c.allowGIDs, [100, 200])
        XCTAssertEqual(c.socketMode, 0o600)
        XCTAssertThrowsError(try c.apply(configText: "\nbogus = 1")) {
            XCTAssertEqual(($0 as? ServerConfiguration.ParseError)?.line, 2)
        }
        XCTAssertThrowsError(try c.apply(configText: "memory_budget = lots"))
        XCTAssertTrue(c.allows(PeerCredentials(pid: 1, uid: 5, gid: 200), ownUID: 9))
        XCTAssertFalse(c.allows(PeerCredentials(pid: 1, uid: 5, gid: 300), ownUID: 9))
        XCTAssertTrue(c.allows(PeerCredentials(pid: 1, uid: 9, gid: 300), ownUID: 9))
    }

    func testTelemetryFileWithOtherColumnsIsSetAside() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvd-telemetry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let old = "timestamp,session,event\n2026-01-01T00:00:00Z,s,load\n"
        try old.write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        var row = TelemetryRow(event: .ask, session: "s")
        row.kvQuant = "kivi:bits=4"
        row.metrics.decodingCompressions = 3
        TelemetryCSV(directory: dir).record(row)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("s.csv.prev"), encoding: .utf8), old)
        let text = try String(contentsOf: dir.appendingPathComponent("s.csv"), encoding: .utf8)
        XCTAssertEqual(CSVText.records(text).first, TelemetryRow.columns)
        let rows = TelemetryRow.records(text)
        XCTAssertEqual(rows.map(\.count), [TelemetryRow.columns.count])
        XCTAssertEqual(rows.first?["kv_quant"], "kivi:bits=4")
        XCTAssertEqual(rows.first?["decoding_compressions"], "3")
    }
}
