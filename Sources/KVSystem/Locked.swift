import Foundation

/// A value several threads read and update under one lock (client threads of a benchmark or a test
/// collecting their results).
public final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T

    public init(_ value: T) { stored = value }

    /// A copy of the current value.
    public var value: T { lock.withLock { stored } }

    /// Changes the value while holding the lock.
    public func update(_ change: (inout T) -> Void) { lock.withLock { change(&stored) } }
}
