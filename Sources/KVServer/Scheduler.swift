import KVWire
import Foundation

/// Runs inference jobs one at a time on a dedicated worker thread.
///
/// One job at a time uses both cores (the model's kernels are multi-threaded), so jobs queue
/// in FIFO order; this also serialises asks on one session. A job reports back by posting
/// closures to the loop (`LoopExecutor.execute`), never by touching connections itself.
///
/// The queue's steps:
/// 1. `submit` appends a job (refused when `maxQueue` jobs wait or after `shutdown`).
/// 2. The worker takes the oldest job; a job whose token already says stop is still run, so
///    it can answer with the right error (it should check its token first).
/// 3. `drain` runs a last job after the queue empties and ends the thread.
public final class Scheduler: @unchecked Sendable {
    /// A unit of work for the worker thread.
    public struct Job {
        /// What it is, for logs.
        public let label: String
        /// The work; runs on the worker thread.
        public let run: () -> Void
        public init(label: String, run: @escaping () -> Void) {
            self.label = label
            self.run = run
        }
    }

    /// Jobs that may wait at once.
    public let maxQueue: Int
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var running: String?
    private var accepting = true
    private var finished = false
    private var thread: Thread?

    public init(maxQueue: Int = 1024) {
        self.maxQueue = maxQueue
        let t = Thread { self.workerLoop() }  // the worker keeps the scheduler alive until `drain`
        t.name = "kvd-worker"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Jobs waiting plus the one running.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count + (running == nil ? 0 : 1)
    }

    /// Queues a job.
    /// - Throws: `ServerError.queueFull` or `.stopping`.
    public func submit(_ job: Job) throws {
        condition.lock()
        defer { condition.unlock() }
        guard accepting else { throw ServerError.stopping }
        guard queue.count < maxQueue else { throw ServerError.queueFull(limit: maxQueue) }
        queue.append(job)
        condition.signal()
    }

    /// Stops accepting jobs; runs the ones queued, then `last`, then ends the worker.
    public func drain(then last: Job) {
        condition.lock()
        accepting = false
        queue.append(last)
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// Blocks until the worker thread has ended (after `drain`).
    public func waitUntilFinished(timeout: TimeInterval = 600) {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        while thread != nil && Date() < deadline { _ = condition.wait(until: deadline) }
        condition.unlock()
    }

    private func workerLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !finished { condition.wait() }
            if queue.isEmpty && finished {
                thread = nil
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = queue.removeFirst()
            running = job.label
            condition.unlock()
            job.run()
            condition.lock()
            running = nil
            condition.unlock()
        }
    }
}
