import KVModel

/// Lets a load stop between layers of its prefill (a cancel or a deadline): `interrupt` runs
/// before each layer's press and throws to abandon the forward pass; a document prefills in one
/// pass, so layers are the points where it can stop.
final class InterruptibleHook: LayerHook {
    private let inner: LayerHook?
    private let interrupt: () throws -> Void

    init(_ inner: LayerHook?, interrupt: @escaping () throws -> Void) {
        self.inner = inner
        self.interrupt = interrupt
    }

    var observes: AttentionOutputs { inner?.observes ?? [] }

    func afterAttention(_ observation: AttentionObservation) throws {
        try interrupt()
        try inner?.afterAttention(observation)
    }
}
