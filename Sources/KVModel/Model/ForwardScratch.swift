/// The scratch memory of one forward pass in flight: activations and attention buffers
/// (`Workspace`) and the linear layers' packed inputs and weight panels (`Linear`).
///
/// Grown on demand and kept, so repeated calls allocate nothing. Not thread-safe: a forward pass
/// that may run while another is in progress (a batch of asks stepped between the layers of a
/// long prefill) needs its own.
public final class ForwardScratch: @unchecked Sendable {
    let workspace = Workspace()
    let linear = Linear()

    /// Seconds the passes run on this scratch spent in attention (for the daemon's operator view:
    /// the asks' scratch tells how much of a step is attention). Written by the pass's thread.
    public internal(set) var attentionSeconds = 0.0

    /// Empty scratch; it grows to what the passes run on it need.
    public init() {}

    /// Frees every buffer; the next pass grows them again to what it needs.
    public func release() {
        workspace.release()
        linear.releaseScratch()
    }

    /// Bytes of activation and attention buffers held.
    public var byteCount: Int { workspace.byteCount }
}
