import CKVKernels
#if canImport(Glibc)
import Glibc
#endif

/// Which kernels this process runs, chosen once at run time (never at build time): the AVX2
/// kernels every x86-64-v3 machine runs, or AVX-512 VNNI kernels (`CKVKernels`) for the packed
/// q8_0, q5_0 and q4_1 layouts where the CPU has AVX-512 F/BW/VL and VNNI.
///
/// `KVD_CPU=avx2|avx512vnni|auto` forces a level (the test suite runs under each level a machine
/// has); unset or `auto` takes the best the CPU runs. One level per process: a step's numbers
/// never mix levels, so an ask answers the same alone or among others.
public enum CPULevel: String, Sendable, CaseIterable {
    case avx2
    case avx512vnni

    /// The level this process runs.
    public static let current: CPULevel = resolve(getenv("KVD_CPU").map { String(cString: $0) }).level ?? best

    /// The best level this CPU runs.
    public static let best: CPULevel = {
        #if arch(x86_64)
        return kvk_cpu_has_avx512vnni() != 0 ? .avx512vnni : .avx2
        #else
        return .avx2
        #endif
    }()

    /// What is wrong with `KVD_CPU` (an unknown value, or a level this CPU lacks), for kvd and
    /// kvbench to refuse at start; `nil` when it is fine.
    public static var problem: String? { resolve(getenv("KVD_CPU").map { String(cString: $0) }).problem }

    /// Exits with status 64 and `problem` on standard error when `KVD_CPU` cannot be honoured
    /// (kvd's and kvbench's first step, so a forced level is never silently another).
    public static func exitIfMisconfigured(program: String) {
        guard let problem else { return }
        fputs("\(program): \(problem)\n", stderr)
        exit(64)
    }

    /// The level a `KVD_CPU` value asks for (`nil`: the best), or why it cannot be had.
    static func resolve(_ value: String?) -> (level: CPULevel?, problem: String?) {
        guard let value, !value.isEmpty, value != "auto" else { return (nil, nil) }
        guard let level = CPULevel(rawValue: value) else {
            return (nil, "KVD_CPU='\(value)' is not a level: expected avx2, avx512vnni or auto")
        }
        if level == .avx512vnni && best != .avx512vnni {
            return (nil, "KVD_CPU=avx512vnni, but this CPU lacks AVX-512 F/BW/VL with VNNI (it runs avx2)")
        }
        return (level, nil)
    }
}
