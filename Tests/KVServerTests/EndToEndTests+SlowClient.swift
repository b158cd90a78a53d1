import Foundation
import XCTest
@testable import KVServer
#if canImport(Glibc)
import Glibc
#endif

/// A real kvd and a client that sends `presses` requests in a loop and never reads (issue 15,
/// item 3: kvd grew by 417 MB in 4 s): kvd stops reading it, its memory stays bounded, and other
/// clients are served.
extension EndToEndTests {
    func testAClientThatNeverReadsLeavesKvdBounded() throws {
        try requireModel()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let conf = dir.appendingPathComponent("kvd.conf")
        try "max_output = 1M\n".write(to: conf, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath, "--config", conf.path])
        defer { daemon.terminate() }
        let other = try daemon.client()
        guard case .stats(let before) = try other.call(.stats).body else { return XCTFail(daemon.log) }

        let flood = try daemon.client()
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(flood.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let batch = Array(repeating: FrameEncoder.frame(WireCodec.encode(Request(id: 1, .presses))), count: 1000).flatMap { $0 }
        let deadline = Date().addingTimeInterval(10)
        var sent = 0
        while Date() < deadline {
            let n = batch.withUnsafeBytes { Glibc.send(flood.fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        XCTAssertLessThan(Date(), deadline, "kvd kept reading a client that never reads (\(sent) bytes sent)")
        guard case .stats(let after) = try other.call(.stats).body else { return XCTFail(daemon.log) }
        XCTAssertLessThan(after.rssBytes, before.rssBytes + (64 << 20), "RSS \(before.rssBytes >> 20) → \(after.rssBytes >> 20) MiB")
        XCTAssertEqual(try other.call(.health).body, .health(status: "serving", version: Server.version))
        XCTAssertTrue(daemon.log.contains("bytes of answers unread"), daemon.log)
    }
}
