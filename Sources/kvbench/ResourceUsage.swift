#if canImport(Glibc)
import Glibc
#endif

/// Process memory figures from the kernel.
enum ResourceUsage {
    /// Peak resident set size in bytes (getrusage's ru_maxrss, KiB on Linux).
    static var peakRSSBytes: Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
