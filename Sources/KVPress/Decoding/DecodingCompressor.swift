import KVModel
import KVSystem

/// Applies a ``DecodingPress`` while the model generates: a layer hook for the question prefill
/// and every decode step.
///
/// Per layer it remembers what the scorer reads (recent queries, accumulated attention; see
/// ``DecodingLayer``). After every `compression_interval` decode steps (forward calls of one
/// token) it cuts each head of the layer that holds more than the target down to the target:
/// the scorer press ranks the head's entries (``DecodingLayer/input(head:)``, its ratio set so
/// that kvpress's rule keeps exactly the target), the newest entry always stays, and
/// ``DecodingLayer/keep(_:_:)`` frees the rest. A head too short for the scorer (fewer entries
/// than its window) keeps its newest entries. The question prefill is not a decode step, but its
/// tokens can be evicted.
///
/// Use one compressor per generation (it counts that generation's work):
/// ```swift
/// let compressor = DecodingCompressor(try DecodingSpec.parse("h2o:cache_budget=256,compression_interval=16"))
/// var iterator = TokenIterator(model: model, cache: cache, prompt: ids, parameters: params, hook: compressor)
/// ```
public final class DecodingCompressor: LayerHook {
    /// The press applied.
    public let press: DecodingPress
    /// This generation's scorer (its ratio changes at every compression).
    public let scorer: ScorerPress
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

    public init(_ press: DecodingPress) {
        self.press = press
        scorer = press.makeScorer()
    }

    /// What the scorer reads from every step's attention.
    public var observes: AttentionOutputs { press.isActive ? scorer.observes : [] }

    public func afterAttention(_ o: AttentionObservation) throws {
        guard press.isActive else { return }
        if o.tokenCount == 1 && o.layer == 0 { decodeSteps += 1 }
        // Local layers of an interleaved sliding-window model (Gemma 3) keep their window, as with presses.
        guard !o.config.isLocalLayer(o.layer) else { return }
        if o.layer >= layers.count { layers += [DecodingLayer?](repeating: nil, count: o.layer + 1 - layers.count) }
        let layer = layers[o.layer] ?? DecodingLayer(
            geometry: PressGeometry(config: o.config, layer: o.layer), heads: o.cache,
            queryCapacity: min(scorer.recentQueriesRead ?? press.queryBuffer, press.queryBuffer),
            accumulates: scorer.observes.contains(.columnSums))
        layers[o.layer] = layer
        layer.record(o)
        guard o.tokenCount == 1 else { return }
        guard decodeSteps % press.compressionInterval == 0 else { return }
        if let threshold = press.threshold {
            try judge(layer, threshold: Float(threshold))
        } else {
            try compress(layer, target: press.targetSize(tokensSeen: o.firstPosition + o.tokenCount))
        }
    }

    /// Cuts every head of `layer` longer than `target` down to `target` entries.
    func compress(_ layer: DecodingLayer, target: Int) throws {
        let over = layer.heads.indices.filter { layer.heads[$0].count > target }
        guard !over.isEmpty else { return }
        let start = ContinuousClock.now
        // Heads one after another: the scorer is shared and parallelises inside.
        for g in over {
            let n = layer.heads[g].count
            scorer.compressionRatio = DecodingPress.ratio(keeping: target, of: n)
            var scores: [Float]
            do {
                scores = try scorer.score(layer.input(head: g))
            } catch PressError.contextTooShort {
                scores = (0..<n).map(Float.init)
            }
            Self.protectNewest(&scores, count: 1)
            let kept = scores.withUnsafeBufferPointer { TopK.indices($0.baseAddress!, count: $0.count, keep: target) }
            entriesEvicted += n - kept.count
            layer.keep(g, kept)
        }
        compressionSeconds += start.secondsElapsed
        if lastCompressedStep != decodeSteps {
            lastCompressedStep = decodeSteps
            compressions += 1
        }
    }

    /// `dms`: in every head, judges the entries that left the newest `sliding_window_size` (and
    /// are not the newest entry) since the last judgment, and evicts those scoring below `threshold`.
    func judge(_ layer: DecodingLayer, threshold: Float) throws {
        let start = ContinuousClock.now
        var judged = false
        for g in layer.heads.indices {
            let head = layer.heads[g], n = head.count
            let outside = min(n - press.slidingWindowSize, n - 1)
            guard outside > 0 else { continue }
            let positions = head.positions, last = layer.judgedThrough[g]
            let candidates = (0..<outside).filter { positions[$0] > last }
            guard !candidates.isEmpty else { continue }
            layer.judgedThrough[g] = (0..<outside).map { positions[$0] }.max()!
            scorer.compressionRatio = 0
            let scores: [Float]
            do {
                scores = try scorer.score(layer.input(head: g))
            } catch PressError.contextTooShort {
                continue
            }
            let evict = Set(candidates.filter { scores[$0] < threshold })
            guard !evict.isEmpty else { continue }
            entriesEvicted += evict.count
            layer.keep(g, (0..<n).filter { !evict.contains($0) })
            judged = true
        }
        compressionSeconds += start.secondsElapsed
        if judged, lastCompressedStep != decodeSteps {
            lastCompressedStep = decodeSteps
            compressions += 1
        }
    }

    /// Scores above every other score for the last `count` of `scores` (the newest entries stay).
    static func protectNewest(_ scores: inout [Float], count: Int) {
        let n = scores.count, w = min(count, n)
        guard w > 0 else { return }
        let top = scores[0..<(n - w)].reduce(-Float.infinity) { max($0, $1) }
        let keep = top.isFinite ? top + 1 : 1
        for j in (n - w)..<n { scores[j] = keep }
    }
}
