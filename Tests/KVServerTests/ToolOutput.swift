import Foundation
import KVSystem
#if canImport(Glibc)
import Glibc
#endif

/// What a helper command of the tests (redis-cli, ip) printed and how it ended.
struct ToolOutput {
    let status: Int32
    let stdout: String
    let stderr: String
    /// True when the command outlived its timeout and was killed.
    let timedOut: Bool

    /// stdout without the surrounding newlines redis-cli and ip print.
    var trimmed: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Everything the command said, for failure messages.
    var transcript: String {
        "exit \(status)\(timedOut ? " (killed after its timeout)" : "")\nstdout: \(stdout)\nstderr: \(stderr)"
    }
}

extension Process {
    /// Runs this (not yet started) process to its end and returns its output. stderr is drained on
    /// another thread so a chatty child cannot fill one pipe and stall; past `timeout` the child is
    /// killed, so a test never hangs on a client waiting for an address that does not answer.
    func runCapturingOutput(timeout: TimeInterval = 30) throws -> ToolOutput {
        let out = Pipe(), err = Pipe()
        standardOutput = out
        standardError = err
        standardInput = FileHandle.nullDevice
        try run()
        let pid = processIdentifier
        let killed = Locked(false)
        let timer = DispatchWorkItem { [weak self] in
            guard let self, self.isRunning else { return }
            killed.update { $0 = true }
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
        let errData = Locked(Data())
        let drained = DispatchGroup()
        DispatchQueue.global().async(group: drained) {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            errData.update { $0 = data }
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        waitUntilExit()
        timer.cancel()
        return ToolOutput(status: terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData.value, as: UTF8.self), timedOut: killed.value)
    }
}
