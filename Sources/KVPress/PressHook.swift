import KVModel
import KVSystem

/// Applies a press to the context prefill: after each layer's attention, the press compresses
/// that layer's cache.
///
/// As in kvpress's pipeline, only a prefill that starts on an empty cache is compressed (the
/// context); later forward calls (question, answer) pass through untouched, and their positions
/// continue after the ORIGINAL context length (`KVCache.nextPosition`).
///
/// The local layers of a model that interleaves sliding-window and global layers (Gemma 3) are
/// left alone, as kvpress does: they keep their window, and the press compresses the global layers.
///
/// ```swift
/// let cache = model.makeCache()
/// let hook = PressHook(try PressSpec.parse("snapkv:ratio=0.5"), model: model)
/// _ = try model.forward(contextIDs, cache: cache, hook: hook, logits: .none)
/// ```
public final class PressHook: LayerHook {
    /// The press applied.
    public let press: Press
    /// The model, for presses that read weights (`criticalkv`).
    public let model: Model?
    /// Seconds spent inside `press.compress`, summed over layers.
    public private(set) var compressionSeconds: Double = 0
    /// Layers compressed so far.
    public private(set) var layersCompressed = 0
    /// The compressed context's fidelity (``Reconstruction``), set by `finish` when the press
    /// measured it (`kvzip`, `fidelity`); `nil` otherwise.
    public private(set) var fidelity: Double?

    public init(_ press: Press, model: Model? = nil) {
        self.press = press
        self.model = model
    }

    /// What the press needs from the attention (``Press/observes``).
    public var observes: AttentionOutputs { press.observes }

    public func afterAttention(_ o: AttentionObservation) throws {
        if o.layer == 0, Self.rerotates(press), o.config.slidingLayers.contains(true) {
            // Local layers keep their keys at the original positions; moving the positions that
            // follow would put every later query before them.
            throw PressError.unsupportedModel(press: press.name, reason: "it re-rotates keys to new positions, and "
                + "\(o.config.architecture)'s sliding-window layers keep theirs; use the press without key re-rotation")
        }
        // Only a prefill over an empty cache is a context (kvpress's `is_prefilling`).
        guard o.cache.allSatisfy({ $0.count == o.tokenCount }), !o.config.isLocalLayer(o.layer) else { return }
        try apply(PressInput(o, model: model))
    }

    /// Call after the context prefill with the context's ids (`nil` only when the caller has
    /// none; a ``ContextPress`` then throws). Runs a ``ContextPress``, which needs the whole
    /// uncompressed context and may run extra forward passes (`kvzip`), counting its time as
    /// compression, and records the ``fidelity`` it measured. When the press re-rotated keys to consecutive positions (`key_rerotation`),
    /// later tokens continue after the kept entries, as in kvpress's pipeline; otherwise
    /// `cache.nextPosition` (the original context length) is left as it is.
    /// - Throws: `PressError` from the press (e.g. `contextRequired` without ids), `ModelError`.
    public func finish(_ cache: KVCache, contextIDs: [Int]?) throws {
        if let press = press as? ContextPress {
            guard let model else { throw PressError.modelRequired(press: press.name) }
            guard let contextIDs else { throw PressError.contextRequired(press: press.name) }
            fidelity = try timed { try press.compress(contextIDs: contextIDs, cache: cache, model: model) }
        }
        if Self.rerotates(press) {
            cache.nextPosition = cache.layers.flatMap { $0 }.map(\.count).max() ?? cache.nextPosition
        }
    }

    /// Whether `press` moves kept keys to consecutive positions (`key_rerotation`, `finch` with
    /// `rerotate_keys`), so later tokens continue after the kept entries.
    public static func rerotates(_ press: Press) -> Bool {
        press is KeyRerotationPress || (press as? FinchPress)?.rerotateKeys == true
            || press.innerPresses.contains { rerotates($0) }
    }

    /// Compresses one layer described by `input` (used by `afterAttention`; callable directly to
    /// compress a copy of a layer).
    public func apply(_ input: PressInput) throws {
        try timed { try press.compress(input) }
        layersCompressed += 1
    }

    /// Runs `work`, adding its time to `compressionSeconds`.
    private func timed<T>(_ work: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer { compressionSeconds += start.secondsElapsed }
        return try work()
    }
}
