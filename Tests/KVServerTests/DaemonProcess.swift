import Foundation
import XCTest
@testable import KVServer
#if canImport(Glibc)
import Glibc
#endif

/// The built executables next to the test bundle (`swift test` builds them too).
enum Products {
    static var directory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    static func path(_ name: String) throws -> String {
        for dir in [directory, directory.deletingLastPathComponent()] {
            let p = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        XCTFail("\(name) is not built next to the tests (\(directory.path)); run swift build -c release first")
        throw CocoaError(.fileNoSuchFile)
    }

    /// The repository root (for the sample document and the systemd units).
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}

/// A real kvd process on a temporary socket.
final class DaemonProcess {
    let directory: URL
    let socket: String
    let process = Process()
    let logURL: URL

    var stateDir: String { directory.appendingPathComponent("state").path }
    var telemetryDir: String { directory.appendingPathComponent("telemetry").path }

    /// Starts kvd and waits until it answers `health`.
    /// - Parameter launcher: a command kvd runs under (`ip netns exec NS`), which must exec it.
    init(directory: URL, extraArguments: [String] = [], launcher: [String] = []) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socket = directory.appendingPathComponent("kvd.sock").path
        logURL = directory.appendingPathComponent("kvd-\(UUID().uuidString.prefix(6)).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let arguments = ["--socket", socket, "--state-dir", stateDir, "--telemetry-dir", telemetryDir, "--log-level", "debug"] + extraArguments
        if let tool = launcher.first {
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = Array(launcher.dropFirst()) + [try Products.path("kvd")] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: try Products.path("kvd"))
            process.arguments = arguments
        }
        process.standardError = try FileHandle(forWritingTo: logURL)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !process.isRunning { throw DaemonFailed(log: log) }
            if let c = try? TestClient(socket: socket), (try? c.call(.health)) != nil { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw DaemonFailed(log: "kvd did not become ready in 60 s\n" + log)
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits for the exit status.
    @discardableResult
    func terminate(timeout: TimeInterval = 60) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit(); return -1 }
        return process.terminationStatus
    }

    func client() throws -> TestClient { try TestClient(socket: socket) }

    /// Rows of a telemetry CSV as dictionaries.
    func telemetry(_ session: String) throws -> [[String: String]] {
        TelemetryRow.records(try String(contentsOfFile: telemetryDir + "/" + session + ".csv", encoding: .utf8))
    }

    struct DaemonFailed: Error, CustomStringConvertible {
        let log: String
        var description: String { "kvd failed to start:\n\(log)" }
    }
}

/// A blocking socket client for tests.
final class TestClient {
    let fd: Int32
    private var decoder = FrameDecoder(maxFrameSize: 1 << 30)
    private var nextID: UInt64 = 1

    init(socket path: String) throws {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
        guard ok else { Glibc.close(fd); throw WireError(.unavailable, "cannot connect to \(path)") }
    }

    deinit { Glibc.close(fd) }

    func close() { shutdown(fd, Int32(SHUT_RDWR)) }

    func writeRaw(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            done += n
        }
    }

    @discardableResult
    func send(_ op: Request.Operation, id: UInt64? = nil, deadlineMs: UInt32 = 0) -> UInt64 {
        let rid = id ?? nextID
        nextID = max(nextID, rid) + 1
        writeRaw(FrameEncoder.frame(WireCodec.encode(Request(id: rid, deadlineMs: deadlineMs, op))))
        return rid
    }

    /// The next response, or nil when the daemon closed the connection.
    func receive() throws -> Response? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let p = try decoder.next() { return try WireCodec.decodeResponse(p) }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Sends and waits for the final answer; streamed tokens are collected with their arrival times.
    func call(_ op: Request.Operation, deadlineMs: UInt32 = 0) throws -> (body: Response.Body, tokens: [(AskToken, Date)], finalAt: Date) {
        let id = send(op, deadlineMs: deadlineMs)
        var tokens: [(AskToken, Date)] = []
        while let r = try receive() {
            guard r.id == id else { continue }
            if case .token(let t) = r.body { tokens.append((t, Date())); continue }
            return (r.body, tokens, Date())
        }
        throw WireError(.unavailable, "connection closed")
    }
}

extension Response.Body {
    var errorCode: WireCode? {
        if case .error(let e) = self { return e.code }
        return nil
    }
    var errorMessage: String {
        if case .error(let e) = self { return e.message }
        return ""
    }
}
