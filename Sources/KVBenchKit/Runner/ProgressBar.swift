import Foundation
import KVSystem

/// A one-line progress bar with elapsed time and ETA, redrawn in place on stderr.
public final class ProgressBar {
    private let label: String
    private let width: Int
    private let start = ContinuousClock.now
    private let output: FileHandle
    private let enabled: Bool

    public init(label: String, width: Int = 30, output: FileHandle = .standardError, enabled: Bool = true) {
        self.label = label
        self.width = width
        self.output = output
        self.enabled = enabled
    }

    /// The line for `done` of `total` after `elapsed` seconds (ETA from the mean pace so far).
    public static func line(label: String, done: Int, total: Int, elapsed: Double, width: Int = 30) -> String {
        let share = total > 0 ? Double(done) / Double(total) : 1
        let filled = min(width, Int(share * Double(width)))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : .nan
        return "\(label) [\(bar)] \(done)/\(total)  \(clock(elapsed)) elapsed  ETA \(eta.isNaN ? "--:--" : clock(eta))"
    }

    /// `m:ss` or `h:mm:ss`.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// Redraws the bar.
    public func update(_ done: Int, _ total: Int) {
        guard enabled else { return }
        let elapsed = start.secondsElapsed
        output.write(Data(("\r" + Self.line(label: label, done: done, total: total, elapsed: elapsed, width: width)).utf8))
        if done >= total { output.write(Data("\n".utf8)) }
    }
}
