import DequeModule
import Foundation
import KVSystem
import KVWire

/// Runs inference on one worker thread: jobs in FIFO order, and every started ask stepped in
/// shared batches (continuous batching).
///
/// A job is short work that touches caches (start an ask, save, restore, drop) or a load. Asks a
/// job starts join `active` and advance one token per step, together: one forward pass per step
/// for all of them (`InferenceBackend.step`), whatever their sessions. A load runs as one job, but
/// hands the machine to the asks between its layers (`serveAsksDuringLoad`), so asks keep
/// streaming, and new ones start, while a long document loads. A job reports back by posting
/// closures to the loop (`LoopExecutor.execute`), never by touching connections itself.
///
/// The worker's loop:
/// 1. `submit` appends a job (refused when `maxQueue` jobs and asks wait or after `shutdown`).
/// 2. The worker runs the oldest job (and every job right behind it that only starts an ask),
///    then one step of the active asks: at most `maxBatch` asks
///    (the longest-waiting first), and the question prompts of asks that have not started only
///    while the step stays within `maxStepRows` rows. A job whose token already says stop is still
///    run, so it can answer with the right error (it should check its token first).
/// 3. `drain` runs a last job after the queue and the asks are done and ends the thread.
///
/// A job that cannot have the memory it needs until asks end (a restore or load that only busy
/// sessions keep out of the budget) calls `waitForRoom` and returns: it is set aside, and run
/// again, oldest first, whenever an ask ends or another job has run (a drop, a load that gave
/// back its reservation). Meanwhile the queue and the asks go on, so a waiting job holds up nothing
/// behind it. A waiting job whose request stopped (`Job.isStopped`: deadline, cancel, disconnect,
/// shutdown) is run at the next turn, so it answers its error. During a load only waiting ask
/// starts are retried (a load never runs inside another).
public final class Scheduler: @unchecked Sendable {
    /// A unit of work for the worker thread.
    public struct Job {
        /// What it is, for logs.
        public let label: String
        /// Whether the job only starts an ask (it may run between the layers of a load).
        public let startsAsk: Bool
        /// Whether its request has stopped (a job waiting for room then runs, to answer its error).
        public let isStopped: () -> Bool
        /// The work; runs on the worker thread.
        public let run: () -> Void
        public init(label: String, startsAsk: Bool = false, isStopped: @escaping () -> Bool = { false },
                    run: @escaping () -> Void) {
            self.label = label
            self.startsAsk = startsAsk
            self.isStopped = isStopped
            self.run = run
        }
    }

    /// An ask in flight and what to do when it ends.
    private struct Active {
        let ask: BackendAsk
        let finished: () -> Void
    }

    /// Jobs and asks that may wait at once (`max_queue`).
    public let maxQueue: Int
    /// Asks stepped together at most; the others wait their turn, oldest first (`max_batch`).
    public let maxBatch: Int
    /// Rows a step may hold: question prompts join a step only while it stays within this.
    public let maxStepRows: Int
    private let backend: InferenceBackend
    private let condition = NSCondition()
    private var queue: Deque<Job> = []
    private var running: String?
    private var accepting = true
    private var finished = false
    private var thread: Thread?
    /// Started asks, oldest first. Worker thread only.
    private var active: [Active] = []
    /// `active.count`, readable from any thread.
    private var activeCount = 0
    /// Jobs waiting for memory, oldest first (`waitForRoom`). Worker thread only.
    private var waiting: Deque<Job> = []
    /// `waiting.count`, readable from any thread.
    private var waitingCount = 0
    /// Set by `waitForRoom` while a job runs (worker thread only).
    private var waitRequested = false
    /// Steps run and asks stepped, for `stats`.
    private var counters = (steps: 0, asks: 0, tokens: 0)
    /// Where the worker's time went, for `stats`.
    private var time = WorkerTime()
    /// When the load in progress last handed over to the asks (worker thread only).
    private var loadResumed: ContinuousClock.Instant?

    /// - Parameters:
    ///   - maxQueue, maxBatch: the `max_queue` and `max_batch` settings, as `ServerConfiguration` checked them.
    public init(backend: InferenceBackend, maxQueue: Int, maxBatch: Int, maxStepRows: Int = 512) {
        self.backend = backend
        self.maxQueue = maxQueue
        self.maxBatch = maxBatch
        self.maxStepRows = max(1, maxStepRows)
        let t = Thread { self.workerLoop() }  // the worker keeps the scheduler alive until `drain`
        t.name = "kvd-worker"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Jobs waiting (in the queue or for memory), plus the one running, plus asks in flight.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count + waitingCount + (running == nil ? 0 : 1) + activeCount
    }

    /// Jobs waiting for memory (`waitForRoom`).
    public var waitingForRoom: Int { condition.withLock { waitingCount } }

    /// What the batcher has done so far: steps run, mean asks per step, tokens generated per second of uptime.
    public var batching: (steps: Int, meanBatchSize: Double, tokens: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (counters.steps, counters.steps == 0 ? 0 : Double(counters.asks) / Double(counters.steps), counters.tokens)
    }

    /// Where the worker's time went so far (busy time, not uptime).
    public var workerTime: WorkerTime { condition.withLock { time } }

    /// Queues a job.
    /// - Throws: `ServerError.queueFull` or `.stopping`.
    public func submit(_ job: Job) throws {
        condition.lock()
        defer { condition.unlock() }
        guard accepting else { throw ServerError.stopping }
        guard queue.count + waitingCount + activeCount < maxQueue else { throw ServerError.queueFull(limit: maxQueue) }
        queue.append(job)
        condition.signal()
    }

    /// Adds a started ask to the batch; `finished` runs on the worker once it has ended. Worker thread only.
    public func add(_ ask: BackendAsk, finished: @escaping () -> Void) {
        active.append(Active(ask: ask, finished: finished))
        condition.withLock { activeCount = active.count }
    }

    /// Called by the job running (worker thread) when it cannot have the memory it needs until asks
    /// in flight end: once it returns, it is set aside and run again when an ask ends or another
    /// job has run, or as soon as its request stops.
    public func waitForRoom() {
        waitRequested = true
    }

    /// One step of the asks in flight, starting none (worker thread: a load whose session needs
    /// room that busy sessions hold steps them until it frees; since no ask starts, it does).
    /// - Returns: false when no ask is in flight.
    public func stepActiveAsks() -> Bool {
        answerStoppedWaiting()
        guard !active.isEmpty else { return false }
        step()
        return true
    }

    /// Stops accepting jobs; runs the ones queued and the asks in flight, then `last`, then ends the worker.
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

    /// Called by a load between its layers (worker thread): starts the asks queued meanwhile and
    /// steps the active ones for as long as the load has just run, so a load and the asks share
    /// the machine half and half and an ask's first token never waits for a whole prefill.
    public func serveAsksDuringLoad() {
        let now = ContinuousClock.now
        let loadSlice = loadResumed.map { now - $0 } ?? .zero
        var served = Duration.zero
        while true {
            answerStoppedWaiting()
            while let job = takeAskStart() { run(job) }
            guard !active.isEmpty && (served == .zero || served < loadSlice) else { break }
            if step() { retryWaiting(asksOnly: true) }
            served = ContinuousClock.now - now
        }
        loadResumed = ContinuousClock.now
    }

    private func workerLoop() {
        // Whether a job other than an ask start ran since the worker was last idle.
        var memoryMayBeFree = false
        while true {
            condition.lock()
            if memoryMayBeFree && queue.isEmpty && active.isEmpty && waiting.isEmpty && !finished {
                // Idle after a load, drop, eviction or restore: a long prefill's scratch and the
                // caches of dropped sessions go back to the system (kvd's RSS falls back).
                condition.unlock()
                memoryMayBeFree = false
                backend.releaseIdleMemory()
                continue
            }
            while queue.isEmpty && active.isEmpty && waiting.isEmpty && !finished { condition.wait() }
            if queue.isEmpty && active.isEmpty && waiting.isEmpty && finished {
                thread = nil
                condition.broadcast()
                condition.unlock()
                return
            }
            // The drain's last job waits for the asks in flight and the jobs waiting for room.
            let job = queue.isEmpty || (finished && queue.count == 1 && !(active.isEmpty && waiting.isEmpty)) ? nil : queue.removeFirst()
            condition.unlock()
            answerStoppedWaiting()
            if let job {
                run(job)
                if !job.startsAsk {
                    memoryMayBeFree = true
                    // A drop, an eviction or a load's reservation given back may have made room.
                    retryWaiting()
                }
            }
            // Asks that arrived together start together (starting one is cheap), so their
            // prompts share the next step instead of joining one step each.
            while let next = takeAskStart() { run(next) }
            if !active.isEmpty {
                if step() { retryWaiting() }
            } else if job == nil && !waiting.isEmpty {
                // Nothing runs that could free room: nothing is busy, so the waiting jobs now fit
                // or fail. Should one wait again, look again shortly (or when a job arrives).
                retryWaiting()
                if !waiting.isEmpty { condition.withLock { _ = condition.wait(until: Date().addingTimeInterval(0.05)) } }
            }
        }
    }

    /// The job at the head of the queue, if it starts an ask (jobs keep their order: an ask never
    /// overtakes a drop or load of its session sent before it).
    private func takeAskStart() -> Job? {
        condition.withLock {
            guard queue.first?.startsAsk == true else { return nil }
            return queue.removeFirst()
        }
    }

    private func run(_ job: Job) {
        // An ask may start while a load runs (`serveAsksDuringLoad`): the load stays the job running.
        let outer = condition.withLock { () -> String? in
            let outer = running
            running = running ?? job.label
            return outer
        }
        let outerWaits = waitRequested
        waitRequested = false
        let started = ContinuousClock.now, stepsBefore = condition.withLock { time.promptSteps + time.decodeSteps }
        if job.startsAsk {
            job.run()
        } else {
            loadResumed = ContinuousClock.now
            job.run()
            loadResumed = nil
        }
        // A load's time without the asks stepped between its layers (those count as steps).
        let seconds = started.secondsElapsed
        condition.withLock { time.jobs += max(0, seconds - (time.promptSteps + time.decodeSteps - stepsBefore)) }
        if waitRequested { setAside(job) }
        waitRequested = outerWaits
        condition.withLock { running = outer }
    }

    /// Puts a job aside until room may have freed (worker thread).
    private func setAside(_ job: Job) {
        waiting.append(job)
        condition.withLock { waitingCount = waiting.count }
    }

    /// Runs the jobs waiting for room again, oldest first; those that still cannot have it wait
    /// again. During a load (`asksOnly`) only ask starts are retried.
    private func retryWaiting(asksOnly: Bool = false) {
        guard !waiting.isEmpty else { return }
        let jobs = waiting
        waiting = []
        var kept: Deque<Job> = []
        for job in jobs {
            if asksOnly && !job.startsAsk { kept.append(job) } else { run(job) }
        }
        waiting = kept + waiting
        condition.withLock { waitingCount = waiting.count }
    }

    /// Runs the waiting jobs whose request has stopped, so that they answer its error.
    private func answerStoppedWaiting() {
        guard !waiting.isEmpty else { return }
        var stopped: [Job] = []
        waiting.removeAll { job in
            guard job.isStopped() else { return false }
            stopped.append(job)
            return true
        }
        condition.withLock { waitingCount = waiting.count }
        for job in stopped { run(job) }
    }

    /// One step of up to `maxBatch` active asks, oldest first; prompts only within `maxStepRows`.
    /// - Returns: whether an ask ended.
    @discardableResult
    private func step() -> Bool {
        var chosen: [BackendAsk] = []
        var rows = 0
        for a in active where chosen.count < maxBatch {
            let r = a.ask.nextRows
            // A prompt that does not fit waits (alone, it always fits: the first ask is never skipped).
            if !chosen.isEmpty && rows + r > maxStepRows { continue }
            chosen.append(a.ask)
            rows += r
        }
        let tokensBefore = chosen.reduce(0) { $0 + $1.generatedTokens }
        let prompts = chosen.contains { $0.nextRows > 1 || $0.generatedTokens == 0 }
        let attentionBefore = backend.stepAttentionSeconds, started = ContinuousClock.now
        backend.step(chosen)
        let seconds = started.secondsElapsed
        let attention = backend.stepAttentionSeconds - attentionBefore
        let generated = chosen.reduce(0) { $0 + $1.generatedTokens } - tokensBefore
        var ended: [Active] = []
        active.removeAll { a in
            guard a.ask.isFinished else { return false }
            ended.append(a)
            return true
        }
        condition.withLock {
            activeCount = active.count
            counters.steps += 1
            counters.asks += chosen.count
            counters.tokens += generated
            if prompts { time.promptSteps += seconds } else { time.decodeSteps += seconds }
            time.stepAttention += attention
        }
        for a in ended { a.finished() }
        return !ended.isEmpty
    }
}

/// Where the worker's time went: what an operator reads to see why kvd is slow.
public struct WorkerTime: Equatable, Sendable {
    /// Jobs: loads (without the asks stepped between their layers), saves, restores, drops, ask starts.
    public var jobs = 0.0
    /// Steps that ran at least one ask's question prompt (decode rows of other asks beside it).
    public var promptSteps = 0.0
    /// Steps of decode rows only.
    public var decodeSteps = 0.0
    /// Of all steps: attention (RoPE, cache appends and attention over the sessions' caches).
    public var stepAttention = 0.0

    /// Seconds the worker was busy.
    public var busy: Double { jobs + promptSteps + decodeSteps }
}
