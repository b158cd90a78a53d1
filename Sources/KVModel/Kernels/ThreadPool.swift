#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A persistent pool of worker threads for fork-join loops with microsecond overhead.
///
/// A decode step runs a few hundred parallel regions per token, so the workers spin on a
/// generation counter between regions (`spinMicroseconds`, default 300 µs) and only then
/// block on a condition variable; the calling thread always takes the first share of the work.
/// Regions are not reentrant: a `parallelFor` issued while another is running (from another
/// thread, or nested inside a body) runs serially on its caller, which is correct, just slower.
public final class ThreadPool: @unchecked Sendable {
    /// Threads that run a region, including the caller (≥ 1).
    public let threadCount: Int
    /// How long an idle worker spins before it blocks.
    public let spinMicroseconds: Int

    /// The process-wide pool: `KVD_THREADS` if set to a positive integer, otherwise min(2, active processors).
    public static let shared = ThreadPool(threadCount: defaultThreadCount)

    /// `KVD_THREADS`, or min(2, active processors).
    public static var defaultThreadCount: Int {
        if let s = getenv("KVD_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
        return max(1, min(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }

    private let generation = Atomic<Int>(0)    // bumped once per region; workers wait for a change
    private let remaining = Atomic<Int>(0)     // workers still inside the current region
    private let sleepers = Atomic<Int>(0)      // workers blocked on `cond`
    private let busy = Atomic<Bool>(false)     // a region is running
    private let stopping = Atomic<Bool>(false)
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var threads: [pthread_t] = []
    // The current region; written by the caller before `generation` is bumped (release),
    // read by workers after they observe the bump (acquire).
    private var body: ((Range<Int>) -> Void)?
    private var count = 0
    private var parts = 1

    /// Creates a pool running regions on `threadCount` threads (the caller plus `threadCount − 1` workers).
    public init(threadCount: Int, spinMicroseconds: Int = 300) {
        self.threadCount = max(1, threadCount)
        self.spinMicroseconds = spinMicroseconds
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        for i in 1..<self.threadCount {
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: i))
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { arg in
                let start = Unmanaged<WorkerStart>.fromOpaque(arg!).takeRetainedValue()
                start.pool.workerLoop(start.index)
                return nil
            }, box.toOpaque())
            if rc == 0 { threads.append(tid) } else { box.release() }
        }
        // A failed pthread_create leaves fewer workers; regions still run, the caller covers for them.
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    private final class WorkerStart {
        let pool: ThreadPool
        let index: Int
        init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
    }

    /// The `part`-th of `parts` contiguous, nearly equal slices of 0..<n.
    @inline(__always)
    static func slice(_ part: Int, of parts: Int, _ n: Int) -> Range<Int> {
        (n &* part / parts)..<(n &* (part &+ 1) / parts)
    }

    /// Runs `body` over 0..<n split into at most `threadCount` contiguous, non-empty ranges,
    /// one per thread, and returns when all have finished.
    ///
    /// - Parameters:
    ///   - n: number of items (nothing runs if n ≤ 0).
    ///   - grain: ranges are whole multiples of `grain` items (except the last), and a region with
    ///     fewer than `2·grain` items runs on the caller alone.
    ///   - body: called once per range; must be safe to call concurrently on disjoint ranges.
    public func parallelFor(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard n > 0 else { return }
        let g = max(1, grain)
        let units = (n &+ g &- 1) / g
        let parts = min(threads.count &+ 1, units)
        if parts <= 1 || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            body(0..<n)
            return
        }
        withoutActuallyEscaping(body) { escaping in
            self.body = { range in
                escaping(min(n, range.lowerBound &* g)..<min(n, range.upperBound &* g))
            }
            self.count = units
            self.parts = parts
            remaining.store(threads.count, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&cond)
                pthread_mutex_unlock(&mutex)
            }
            escaping(0..<min(n, ThreadPool.slice(0, of: parts, units).upperBound &* g))
            var spins = 0
            while remaining.load(ordering: .acquiring) != 0 {
                spins &+= 1
                if spins & 1023 == 0 { sched_yield() } else { ThreadPool.pause() }
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    // No `pause` instruction: `_mm_pause` is a clang builtin Swift cannot call (it links as an undefined symbol).
    @inline(__always)
    static func pause() {}

    private static func nowMicroseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec &* 1_000_000 &+ ts.tv_nsec / 1000
    }

    private func workerLoop(_ index: Int) {
        var seen = generation.load(ordering: .acquiring)
        while true {
            // Wait for the next region: spin first, then block.
            var g = generation.load(ordering: .acquiring)
            if g == seen {
                let deadline = ThreadPool.nowMicroseconds() &+ spinMicroseconds
                var spins = 0
                while g == seen {
                    ThreadPool.pause()
                    spins &+= 1
                    if spins & 255 == 0, ThreadPool.nowMicroseconds() > deadline {
                        pthread_mutex_lock(&mutex)
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while generation.load(ordering: .sequentiallyConsistent) == seen {
                            pthread_cond_wait(&cond, &mutex)
                        }
                        sleepers.subtract(1, ordering: .sequentiallyConsistent)
                        pthread_mutex_unlock(&mutex)
                    }
                    g = generation.load(ordering: .acquiring)
                }
            }
            seen = g
            if stopping.load(ordering: .acquiring) { return }
            if index < parts, let body {
                body(ThreadPool.slice(index, of: parts, count))
            }
            remaining.subtract(1, ordering: .releasing)
        }
    }
}
