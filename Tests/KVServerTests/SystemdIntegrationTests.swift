import Foundation
import XCTest
@testable import KVServer
#if canImport(Glibc)
import Glibc
#endif

/// kvd under systemd's protocols without systemd running: socket activation (LISTEN_FDS, via
/// `systemd-socket-activate`) and readiness (`READY=1` / `STOPPING=1` on `$NOTIFY_SOCKET`).
final class SystemdIntegrationTests: XCTestCase {
    func testSocketActivationAndNotify() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate") else {
            XCTFail("systemd-socket-activate is not installed (scripts/install-deps installs systemd)")
            return
        }
        try EndToEndTests.requireModel()
        let kvd = try Products.path("kvd")
        let dir = URL(fileURLWithPath: "/tmp/kvd-sd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let socketPath = dir.appendingPathComponent("activated.sock").path
        let notifyPath = dir.appendingPathComponent("notify.sock").path

        // The notify socket systemd would own.
        let notify = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(notify) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in notifyPath.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(notify, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        XCTAssertEqual(bound, 0)
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(notify, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        func nextMessage() -> String {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { recv(notify, $0.baseAddress!, $0.count, 0) }
            return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
        }

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        p.arguments = ["-l", socketPath, "-E", "NOTIFY_SOCKET=\(notifyPath)", kvd,
                       "--socket", dir.appendingPathComponent("unused.sock").path,
                       "--state-dir", dir.appendingPathComponent("state").path,
                       "--telemetry-dir", dir.appendingPathComponent("telemetry").path,
                       "--model", EndToEndTests.modelPath]
        let log = dir.appendingPathComponent("kvd.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }

        // systemd-socket-activate starts kvd on the first connection.
        var client: TestClient?
        for _ in 0..<200 where client == nil {
            client = try? TestClient(socket: socketPath)
            if client == nil { Thread.sleep(forTimeInterval: 0.02) }
        }
        guard let client else { return XCTFail("the activated socket never appeared") }
        guard case .health(let status, _) = try client.call(.health).body else { return XCTFail() }
        XCTAssertEqual(status, "serving")
        let ready = nextMessage()
        XCTAssertTrue(ready.hasPrefix("READY=1"), "got '\(ready)'")
        let logText = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        XCTAssertTrue(logText.contains("socket systemd passed"), logText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("unused.sock").path))

        kill(p.processIdentifier, SIGTERM)
        XCTAssertEqual(nextMessage(), "STOPPING=1")
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }
}
