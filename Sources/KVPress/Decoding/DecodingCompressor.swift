import Dispatch
import KVModel

/// Applies a ``DecodingPress`` while the model generates: a layer hook for the question prefill
/// and every decode step.
///
/// Per layer it remembers what the scorer reads (recent queries, accumulated attention; see
/// ``DecodingLayer``). After every `compression_interval` decode steps (forward calls of one
/// token) it cuts each head of the layer that holds more than the target down to the target:
/// the scorer ranks the entries, the newest entry always stays, and ``DecodingLayer/keep(_:_:)``
/// frees the rest. The question prefill is not a decode step, but its tokens can be evicted.
///
/// Use one compressor per generation (it counts that generation's work):
/// ```swift
/// let compressor = DecodingCompressor(try DecodingSpec.parse("h2o:cache_budget=256,compression_interval=16"))
/// var iterator = TokenIterator(model: model, cache: cache, prompt: ids, parameters: params, hook: compressor)
/// ```
public final class DecodingCompressor: LayerHook {
    /// The press applied.
    public let press: DecodingPress
    /// Decode steps seen (forward calls of one token).
    public private(set) var decodeSteps = 0
    /// Steps at which at least one head was compressed.
    public private(set) var compressions = 0
    /// Seconds spent scoring and evicting, summed over every layer and compression.
    public private(set) var compressionSeconds: Double = 0
    /// Entries evicted, summed over every head of every layer.
    public private(set) var entriesEvicted = 0

    private var layers: [DecodingLayer?] = []
    private var lastCompressedStep = -1

    public init(_ press: DecodingPress) { self.press = press }

    /// What the scorer reads from every step's attention.
    public var observes: AttentionOutputs { press.isActive ? press.scorer.observes : [] }

    public func afterAttention(_ o: AttentionObservation) throws {
        guard press.isActive else { return }
        if o.tokenCount == 1 && o.layer == 0 { decodeSteps += 1 }
        // Local layers of an interleaved sliding-window model (Gemma 3) keep their window, as with presses.
        guard !o.config.isLocalLayer(o.layer) else { return }
        if o.layer >= layers.count { layers += [DecodingLayer?](repeating: nil, count: o.layer + 1 - layers.count) }
        let layer = layers[o.layer] ?? DecodingLayer(
            geometry: PressGeometry(config: o.config, layer: o.layer), heads: o.cache,
            queryCapacity: press.scorer.queryWindow, accumulates: press.scorer.observes.contains(.columnSums))
        layers[o.layer] = layer
        layer.record(o)
        guard o.tokenCount == 1 else { return }
        guard decodeSteps % press.compressionInterval == 0 else { return }
        compress(layer, target: press.targetSize(tokensSeen: o.firstPosition + o.tokenCount))
    }

    /// Cuts every head of `layer` longer than `target` down to `target` entries.
    func compress(_ layer: DecodingLayer, target: Int) {
        let over = layer.heads.indices.filter { layer.heads[$0].count > target }
        guard !over.isEmpty else { return }
        let start = DispatchTime.now()
        var kept = [[Int]](repeating: [], count: layer.heads.count)
        let scorer = press.scorer
        kept.withUnsafeMutableBufferPointer { out in
            // Heads are scored independently (read-only); one per thread.
            ThreadPool.shared.parallelFor(over.count) { range in
                for i in range {
                    let g = over[i]
                    var scores = scorer.score(layer, head: g)
                    protectNewest(&scores, count: 1)
                    out[g] = scores.withUnsafeBufferPointer { TopK.indices($0.baseAddress!, count: $0.count, keep: target) }
                }
            }
        }
        for g in over {
            entriesEvicted += layer.heads[g].count - kept[g].count
            layer.keep(g, kept[g])
        }
        compressionSeconds += Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        if lastCompressedStep != decodeSteps {
            lastCompressedStep = decodeSteps
            compressions += 1
        }
    }
}
