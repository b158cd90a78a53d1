/// Timings as the figures report them, read from the monotonic `ContinuousClock`:
/// `let start = ContinuousClock.now` … `start.secondsElapsed`.
extension Duration {
    /// The duration in seconds.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

extension ContinuousClock.Instant {
    /// Seconds from this instant until now.
    public var secondsElapsed: Double { (ContinuousClock.now - self).inSeconds }
}
