import Foundation
import KVSystem
#if canImport(Glibc)
import Glibc
#endif

/// Streams completions from llama.cpp's `llama-server` (`POST /completion`, server-sent events)
/// over plain HTTP/1.1 on 127.0.0.1, for the load benchmark's side-by-side rows.
struct LlamaServerClient {
    let port: Int

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `POST /completion`'s body: greedy, streamed, reusing the cached prompt prefix.
    struct CompletionRequest: Encodable {
        let prompt: String
        let nPredict: Int
        let temperature = 0
        let topK = 1
        let cachePrompt = true
        let stream = true

        enum CodingKeys: String, CodingKey {
            case prompt, temperature, stream
            case nPredict = "n_predict", topK = "top_k", cachePrompt = "cache_prompt"
        }
    }

    /// One server-sent event of a streamed completion (only the text is read).
    struct CompletionEvent: Decodable {
        let content: String?
    }

    /// One greedy completion of `prompt` (prefix cache on), with the time to its first piece of text.
    func complete(prompt: String, maxTokens: Int) throws -> (text: String, firstToken: Double, total: Double) {
        let body = CompletionRequest(prompt: prompt, nPredict: maxTokens)
        let start = ContinuousClock.now
        var text = ""
        var first: Double?
        try request(method: "POST", path: "/completion", body: try JSONEncoder().encode(body)) { line in
            guard line.hasPrefix("data: "), let data = line.dropFirst(6).data(using: .utf8),
                  let event = try? JSONDecoder().decode(CompletionEvent.self, from: data) else { return }
            if let piece = event.content, !piece.isEmpty {
                if first == nil { first = start.secondsElapsed }
                text += piece
            }
        }
        let total = start.secondsElapsed
        return (text, first ?? total, total)
    }

    /// Whether the server answers `GET /health` with 200.
    func isHealthy() -> Bool {
        var ok = false
        do { ok = try request(method: "GET", path: "/health", body: nil) { _ in } == 200 } catch { return false }
        return ok
    }

    /// Sends a request and feeds each line of the (de-chunked) body to `onLine`.
    /// - Returns: the HTTP status.
    @discardableResult
    private func request(method: String, path: String, body: Data?, onLine: (String) -> Void) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw Failure(description: "cannot connect to llama-server on port \(port)") }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + Array(body ?? Data())
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "llama-server closed the connection while sending") }
            sent += n
        }
        // Read: headers, then the body (chunked or not), split into lines as it arrives.
        var buffer: [UInt8] = []
        var status = 0
        var chunked = false
        var headersDone = false
        var chunkLeft = 0  // bytes left in the current chunk; 0 = expecting a size line
        var body: [UInt8] = []
        func emitLines(final: Bool) {
            while let nl = body.firstIndex(of: 10) {
                onLine(String(decoding: body[..<nl], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
                body.removeSubrange(...nl)
            }
            if final && !body.isEmpty { onLine(String(decoding: body, as: UTF8.self)); body.removeAll() }
        }
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            buffer.append(contentsOf: chunk[0..<n])
            if !headersDone {
                guard let end = Self.find([13, 10, 13, 10], in: buffer) else { continue }
                let header = String(decoding: buffer[..<end], as: UTF8.self)
                status = Int(header.split(separator: " ").dropFirst().first ?? "") ?? 0
                chunked = header.lowercased().contains("transfer-encoding: chunked")
                buffer.removeSubrange(..<(end + 4))
                headersDone = true
            }
            if !chunked {
                body.append(contentsOf: buffer)
                buffer.removeAll()
            } else {
                while true {
                    if chunkLeft == 0 {
                        guard let end = Self.find([13, 10], in: buffer) else { break }
                        let size = Int(String(decoding: buffer[..<end], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) ?? 0
                        buffer.removeSubrange(..<(end + 2))
                        if size == 0 { emitLines(final: true); return status }
                        chunkLeft = size + 2  // data plus its CRLF
                    }
                    let take = min(chunkLeft, buffer.count)
                    guard take > 0 else { break }
                    let dataPart = min(take, max(0, chunkLeft - 2))
                    body.append(contentsOf: buffer[..<dataPart])
                    buffer.removeSubrange(..<take)
                    chunkLeft -= take
                }
            }
            emitLines(final: false)
        }
        emitLines(final: true)
        return status
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}

