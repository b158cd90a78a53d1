import Foundation
import KVModel

/// The machine a benchmark ran on, as its results name it.
enum MachineDescription {
    /// The CPU's model name as `lscpu` shows it (`model name` in /proc/cpuinfo), or "unknown CPU".
    static var cpuModelName: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                let name = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if !name.isEmpty { return name }
            }
        }
        return "unknown CPU"
    }

    /// One line: CPU, cores and the kernel level (`AMD EPYC, 2 cores, kernels avx512vnni`).
    static var summary: String {
        "\(cpuModelName), \(ProcessInfo.processInfo.activeProcessorCount) cores, kernels \(CPULevel.current.rawValue)"
    }
}
