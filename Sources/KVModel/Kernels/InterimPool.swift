import Dispatch
// Interim thread pool until the kernels branch lands.
public final class ThreadPool: @unchecked Sendable {
    public static let shared = ThreadPool()
    public let threadCount = 2
    func parallelFor(_ n: Int, _ body: (Range<Int>) -> Void) {
        if n < 2 { body(0..<n); return }
        let parts = min(threadCount, n)
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            body((n * p / parts)..<(n * (p + 1) / parts))
        }
    }
}
enum Vector {
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 16 <= n {
            s0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            s1 += ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            i += 16
        }
        var s = (s0 + s1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }
}
