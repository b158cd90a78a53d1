import Foundation
import XCTest
@testable import KVModel

final class ThreadPoolTests: XCTestCase {
    /// Every index is covered exactly once, for many sizes, grains and thread counts.
    func testCoversEveryIndexOnce() {
        for threads in [1, 2, 3, 4] {
            let pool = ThreadPool(threadCount: threads)
            for n in [0, 1, 2, 3, 5, 16, 17, 100, 1001] {
                for grain in [1, 4, 16] {
                    let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(1, n))
                    hits.initialize(repeating: 0, count: max(1, n))
                    pool.parallelFor(n, grain: grain) { r in
                        XCTAssertTrue(r.lowerBound % grain == 0 && !r.isEmpty)
                        for i in r { hits[i] += 1 }
                    }
                    for i in 0..<n { XCTAssertEqual(hits[i], 1, "threads \(threads) n \(n) grain \(grain) index \(i)") }
                    hits.deallocate()
                }
            }
        }
    }

    /// Thousands of back-to-back regions (the decode pattern) complete and see each other's writes.
    func testManyRegionsInARow() {
        let pool = ThreadPool(threadCount: 2)
        let n = 64
        let data = UnsafeMutablePointer<Int>.allocate(capacity: n)
        defer { data.deallocate() }
        data.initialize(repeating: 0, count: n)
        for _ in 0..<20_000 {
            pool.parallelFor(n) { r in for i in r { data[i] &+= 1 } }
        }
        for i in 0..<n { XCTAssertEqual(data[i], 20_000) }
    }

    /// Workers that went to sleep (spin time elapsed) wake up for the next region.
    func testWakesAfterBlocking() {
        let pool = ThreadPool(threadCount: 2, spinMicroseconds: 10)
        let seen = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { seen.deallocate() }
        for _ in 0..<20 {
            seen.initialize(repeating: 0, count: 2)
            usleep(2_000)
            pool.parallelFor(2) { r in seen[r.lowerBound] = 1 }
            XCTAssertEqual(seen[0] + seen[1], 2)
        }
    }

    /// A region issued from inside a region, or from two threads at once, runs correctly (serially).
    func testNestedAndConcurrentCallersAreSafe() {
        let pool = ThreadPool(threadCount: 2)
        let total = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { total.deallocate() }
        total.initialize(repeating: 0, count: 2)
        pool.parallelFor(2) { outer in
            var local = 0
            pool.parallelFor(10) { inner in local += inner.count }
            total[outer.lowerBound] = local
        }
        XCTAssertEqual(total[0] + total[1], 20)

        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 2 * 1000)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: 2000)
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            for _ in 0..<2000 {
                pool.parallelFor(1000) { r in for i in r { counts[caller * 1000 + i] &+= 1 } }
            }
        }
        for i in 0..<2000 { XCTAssertEqual(counts[i], 2000) }
    }

    /// Nobody sized the shared pool here (only kvd does), so it has the default; once made, its size stays.
    func testSharedPoolDefaults() {
        XCTAssertGreaterThanOrEqual(ThreadPool.shared.threadCount, 1)
        XCTAssertEqual(ThreadPool.shared.threadCount, ThreadPool.defaultThreadCount)
        XCTAssertFalse(ThreadPool.useSharedThreadCount(ThreadPool.shared.threadCount + 1))
        XCTAssertEqual(ThreadPool.shared.threadCount, ThreadPool.defaultThreadCount)
    }
}
