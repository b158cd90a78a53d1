import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Resident memory of this process (what asks report and the daemon's telemetry writes).
public enum ResourceUsage {
    /// Current resident set size in bytes (`VmRSS` of /proc/self/status; 0 where there is no /proc).
    public static var rssBytes: Int { statusField("VmRSS:") ?? 0 }

    /// Peak resident set size in bytes (`VmHWM` of /proc/self/status, else getrusage's `ru_maxrss`).
    public static var peakRSSBytes: Int {
        if let peak = statusField("VmHWM:") { return peak }
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024  // KiB on Linux
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)  // bytes on macOS
        #endif
    }

    /// Hands memory the allocator holds free back to the system (glibc's `malloc_trim`): freed
    /// caches and scratch otherwise stay in the process's resident set.
    public static func returnFreedMemory() {
        #if canImport(Glibc)
        // Looked up at run time: Swift's Glibc module does not import <malloc.h>.
        guard let symbol = mallocTrim else { return }
        _ = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)(0)
        #endif
    }

    #if canImport(Glibc)
    private static let mallocTrim = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim")
    #endif

    private static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return (line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0) * 1024
        }
        return nil
    }
}
