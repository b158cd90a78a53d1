import KVModel
import Synchronization

/// The rate at which this machine streams memory to the compute threads: the roofline a decode's
/// `decode_gb_s` is measured against (a token reads every weight once).
enum MemoryReadBandwidth {
    /// GB/s for reading a 512 MB buffer (far past any cache) on `pool`'s threads, best of five.
    static func measure(pool: ThreadPool, bytes: Int = 512 << 20) -> Double {
        let lanes = bytes / 32
        let buffer = UnsafeMutablePointer<SIMD8<Int32>>.allocate(capacity: lanes)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: SIMD8(repeating: 1), count: lanes)
        var best = 0.0
        for _ in 0..<5 {
            let total = Atomic<Int>(0)
            let seconds = time {
                pool.parallelFor(lanes, grain: 1 << 16) { range in
                    var a = SIMD8<Int32>(), b = SIMD8<Int32>(), c = SIMD8<Int32>(), d = SIMD8<Int32>()
                    var i = range.lowerBound
                    while i + 4 <= range.upperBound {
                        a &+= buffer[i]; b &+= buffer[i + 1]; c &+= buffer[i + 2]; d &+= buffer[i + 3]
                        i += 4
                    }
                    total.add(Int((a &+ b &+ c &+ d).wrappedSum()), ordering: .relaxed)  // kept, so the loads are not dropped
                }
            }
            precondition(total.load(ordering: .relaxed) > 0)
            best = max(best, Double(bytes) / seconds / 1e9)
        }
        return best
    }
}
