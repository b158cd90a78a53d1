import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Listens on the store's events channel on its own thread and connection, reconnecting with
/// backoff when the store goes away. A message missed while disconnected is harmless: every ask
/// start checks its session's version.
final class StoreSubscriber: @unchecked Sendable {
    private let url: StoreURL
    private let channel: String
    private let onEvent: (StoreEvent) -> Void
    private let lock = NSLock()
    private var stopped = false
    private var connection: RedisConnection?

    init(url: StoreURL, channel: String, timeout: Double, onEvent: @escaping (StoreEvent) -> Void) {
        self.url = url
        self.channel = channel
        self.onEvent = onEvent
        let thread = Thread { [self] in run(timeout: timeout) }
        thread.name = "kvd-store-events"
        thread.start()
    }

    /// Ends the thread (wakes its blocking read by shutting the socket down).
    func stop() {
        lock.withLock {
            stopped = true
            if let fd = connection?.fileDescriptor, fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func run(timeout: Double) {
        StoreLane.blockBrokenPipeSignal()
        var backoff = 0.1
        while !lock.withLock({ stopped }) {
            do {
                let c = try RedisConnection(url: url, timeout: timeout)
                let ok = lock.withLock { () -> Bool in
                    if stopped { return false }
                    connection = c
                    return true
                }
                guard ok else { break }
                guard case .array = try c.command(["SUBSCRIBE", channel]) else { throw StoreError.refused("SUBSCRIBE \(channel)") }
                c.blockWithoutTimeout()
                backoff = 0.1
                while true {
                    guard case .array(let parts) = try c.reply(), parts.count == 3, parts[0].text == "message",
                          let text = parts[2].text else { continue }
                    if let event = StoreEvent(text) { onEvent(event) }
                }
            } catch {
                lock.withLock { connection = nil }
                if lock.withLock({ stopped }) { break }
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
            }
        }
        lock.withLock { connection = nil }
    }
}
