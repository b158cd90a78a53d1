#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A persistent pool of worker threads for fork-join loops with microsecond overhead.
///
/// A decode step runs a few hundred parallel regions per token, so the workers spin between
/// regions (`spinMicroseconds`, default 300 µs) and only then block on a condition variable.
/// A region's range is cut into chunks that the caller and the workers claim from one atomic
/// ticket; the caller claims too, so a worker that is descheduled (the cores are shared) only
/// delays the chunk it actually holds, never the whole region.
/// Regions are not reentrant: a `parallelFor` issued while another is running (from another
/// thread, or nested inside a body) runs serially on its caller, which is correct, just slower.
public final class ThreadPool: @unchecked Sendable {
    /// Threads that run a region, including the caller (≥ 1).
    public let threadCount: Int
    /// How long an idle worker spins before it blocks.
    public let spinMicroseconds: Int

    /// The process-wide pool, made on first use: `useSharedThreadCount`'s count if a program set
    /// one (kvd's `threads` setting), else `defaultThreadCount`.
    public static let shared = ThreadPool(threadCount: sharedSize.withLock { size in
        size.made = true
        return size.requested ?? defaultThreadCount
    })

    /// The count `shared` is to be made with, and whether it has been.
    private static let sharedSize = Mutex<(requested: Int?, made: Bool)>((nil, false))

    /// Makes `shared` run `threadCount` threads; call before anything computes.
    /// - Returns: false when `shared` already exists (its count is then unchanged).
    @discardableResult
    public static func useSharedThreadCount(_ threadCount: Int) -> Bool {
        sharedSize.withLock { size in
            guard !size.made else { return false }
            size.requested = threadCount
            return true
        }
    }

    /// `KVD_THREADS`, or min(2, active processors).
    public static var defaultThreadCount: Int {
        if let s = getenv("KVD_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
        return max(1, min(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }

    // `ticket` = generation << 40 | chunk count << 20 | next chunk to claim. Claiming with a compare-exchange
    // that checks the generation means a late worker can never take a chunk of a newer region
    // with a stale body: a successful claim proves its region is still open.
    private let ticket = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)      // chunks of the current region completed
    private let sleepers = Atomic<Int>(0)      // workers blocked on `cond`
    private let busy = Atomic<Bool>(false)     // a region is running
    private let stopping = Atomic<Bool>(false)
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var threads: [pthread_t] = []
    // The open region; written by the caller before `ticket` is published (release), read by a
    // thread only after it claimed a chunk (acquire).
    private var body: ((Range<Int>) -> Void)?
    private var units = 0
    private var itemCount = 0
    private var grain = 1

    /// Creates a pool running regions on `threadCount` threads (the caller plus `threadCount − 1` workers).
    public init(threadCount: Int, spinMicroseconds: Int = 300) {
        self.threadCount = max(1, threadCount)
        self.spinMicroseconds = spinMicroseconds
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        for _ in 1..<self.threadCount {
            let box = Unmanaged.passRetained(WorkerStart(pool: self))
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { arg in
                let start = Unmanaged<WorkerStart>.fromOpaque(arg!).takeRetainedValue()
                start.pool.workerLoop()
                return nil
            }, box.toOpaque())
            if rc == 0 { threads.append(tid) } else { box.release() }
        }
        // A failed pthread_create leaves fewer workers; the caller claims their chunks.
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        ticket.add(1 << 40, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    private final class WorkerStart {
        let pool: ThreadPool
        init(pool: ThreadPool) { self.pool = pool }
    }

    /// Runs `body` over 0..<n cut into contiguous, non-empty ranges run concurrently on the
    /// pool's threads, and returns when all have finished.
    ///
    /// - Parameters:
    ///   - n: number of items (nothing runs if n ≤ 0).
    ///   - grain: ranges are whole multiples of `grain` items (except the last); a region with
    ///     fewer than `2·grain` items runs on the caller alone.
    ///   - body: called once per range (a few ranges per thread); must be safe to call
    ///     concurrently on disjoint ranges.
    public func parallelFor(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard n > 0 else { return }
        let g = max(1, grain)
        let units = (n &+ g &- 1) / g
        // Two chunks per thread: enough to rebalance when a thread is late, few enough to keep claims cheap.
        let chunks = min(units, 2 &* threadCount)
        if chunks <= 1 || threads.isEmpty || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            body(0..<n)
            return
        }
        withoutActuallyEscaping(body) { escaping in
            self.body = escaping  // no wrapper closure: that would be a heap allocation per region
            self.itemCount = n
            self.grain = g
            self.units = units
            finished.store(0, ordering: .relaxed)
            let gen = (ticket.load(ordering: .relaxed) >> 40) &+ 1
            ticket.store(gen << 40 | chunks << 20, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&cond)
                pthread_mutex_unlock(&mutex)
            }
            work(gen)
            var spins = 0
            while finished.load(ordering: .acquiring) != chunks {
                spins &+= 1
                if spins & 255 == 0 { sched_yield() }  // the holder of the last chunk may need our core
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims and runs chunks of region `gen` until none are left.
    private func work(_ gen: Int) {
        var t = ticket.load(ordering: .acquiring)
        while t >> 40 == gen {
            let c = t & 0xF_FFFF, total = (t >> 20) & 0xF_FFFF
            if c >= total { return }
            let (exchanged, current) = ticket.compareExchange(expected: t, desired: t &+ 1, ordering: .acquiringAndReleasing)
            if exchanged {
                let lo = units &* c / total &* grain, hi = units &* (c &+ 1) / total &* grain
                body!(min(itemCount, lo)..<min(itemCount, hi))
                finished.add(1, ordering: .releasing)
                t = ticket.load(ordering: .acquiring)
            } else {
                t = current
            }
        }
    }

    private static func nowMicroseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec &* 1_000_000 &+ ts.tv_nsec / 1000
    }

    private func workerLoop() {
        var seen = 0  // generation at init: a region may open before this thread first runs
        while true {
            // Wait for the next region: spin first, then block.
            var gen = ticket.load(ordering: .acquiring) >> 40
            if gen == seen {
                let deadline = ThreadPool.nowMicroseconds() &+ spinMicroseconds
                var spins = 0
                while gen == seen {
                    spins &+= 1
                    if spins & 255 == 0, ThreadPool.nowMicroseconds() > deadline {
                        pthread_mutex_lock(&mutex)
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while ticket.load(ordering: .sequentiallyConsistent) >> 40 == seen {
                            pthread_cond_wait(&cond, &mutex)
                        }
                        sleepers.subtract(1, ordering: .sequentiallyConsistent)
                        pthread_mutex_unlock(&mutex)
                        spins = 0
                    }
                    gen = ticket.load(ordering: .acquiring) >> 40
                }
            }
            seen = gen
            if stopping.load(ordering: .acquiring) { return }
            work(gen)
        }
    }
}
