import COpenBLAS
import Foundation
import KVModel

/// Query-agnostic compression by context reconstruction (kvpress `KVzipPress`).
///
/// After the context is prefilled (uncompressed), the model is asked to repeat it: for each chunk
/// of `chunk_size` context tokens, one extra forward pass over
/// `"\n\nRepeat the previous context exactly."` (later chunks: `"…, starting with"` plus the
/// previous chunk's last 8 tokens), the template's end of user turn and assistant opening, then
/// the chunk itself, on top of the full context cache. In every layer each query of that pass
/// attends (causally, softmax over the keys below only) to the first `n_sink` context entries,
/// the chunk's own context entries and the pass's tokens; a context entry's score is the MAX
/// attention it receives over the pass's queries and the query heads of its KV head. The first
/// `n_sink` entries score 1, the template prefix before the context 0. Then the lowest-scoring
/// `Int(L·G·T·compression_ratio)` entries over ALL layers and heads are evicted (`layerwise=false`),
/// or the lowest `Int(G·T·compression_ratio)` of each layer (`layerwise=true`): heads and layers
/// keep different lengths and the memory really drops. The extra passes are rolled back.
/// Local layers of an interleaved sliding-window model (Gemma 3) are neither scored nor counted
/// in the budget: they keep their window, as with every press.
///
/// Cost: the extra passes process about as many tokens as the context, each attending to the
/// whole context, plus the scoring attention — roughly one to two more prefills.
/// kvpress's `kvzip_plus_normalization` is not offered.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on KVzip, https://arxiv.org/abs/2505.23416.
public final class KVzipPress: ContextPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let layerwise: Bool
    public let nSink: Int
    public let chunkSize: Int

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments.ratio()
        layerwise = arguments.bool("layerwise")
        nSink = arguments.int("n_sink")
        chunkSize = arguments.int("chunk_size")
    }

    /// Keeps everything during the prefill; the work happens in `compress(contextIDs:cache:model:)`.
    public func compress(_ input: PressInput) throws {}

    public func compress(contextIDs: [Int], cache: KVCache, model: Model) throws {
        guard compressionRatio > 0 else { return }
        let scores = try self.scores(contextIDs: contextIDs, cache: cache, model: model)
        let layers = (0..<model.config.layerCount).filter { !model.config.isLocalLayer($0) }
        apply(scores, cache: cache, tokens: contextIDs.count, layers: layers)
    }

    /// Reconstruction scores `[L][G·T]` of the context held (uncompressed) by `cache`; the cache is
    /// left as it was.
    public func scores(contextIDs: [Int], cache: KVCache, model: Model) throws -> [[Float]] {
        let T = contextIDs.count, c = model.config
        let L = c.layerCount, G = c.headCountKV
        let tokenizer = model.tokenizer
        var prefixLength = 0
        var suffix = tokenizer.encode("\n")
        if let affixes = try? model.promptFormat().userTurnAffixes() {
            prefixLength = min(tokenizer.encode(affixes.prefix).count, T)
            suffix = tokenizer.encode(affixes.suffix)
        }
        var scores = [[Float]](repeating: [Float](repeating: 0, count: G * T), count: L)
        for l in 0..<L { for g in 0..<G { for j in 0..<min(nSink, T) { scores[l][g * T + j] = 1 } } }
        let checkpoint = cache.checkpoint()
        defer { cache.rollback(to: checkpoint) }
        var start = prefixLength
        var previous: ArraySlice<Int> = []
        while start < T {
            let end = min(start + chunkSize, T)
            let chunk = contextIDs[start..<end]
            var prompt = previous.isEmpty
                ? tokenizer.encode("\n\nRepeat the previous context exactly.")
                : tokenizer.encode("\n\nRepeat the part of the previous context exactly, starting with") + previous.suffix(8)
            prompt += suffix
            let hook = ReconstructionHook(chunk: start..<end, sinks: min(nSink, start), contextLength: T, scores: scores)
            _ = try model.forward(prompt + Array(chunk), cache: cache, hook: hook, logits: .none)
            scores = hook.scores
            cache.rollback(to: checkpoint)
            previous = chunk
            start = end
        }
        return scores
    }

    /// Evicts the lowest scores of `layers` (globally or per layer) and compacts their heads.
    func apply(_ scores: [[Float]], cache: KVCache, tokens T: Int, layers: [Int]) {
        let L = scores.count, G = scores.first.map { $0.count / max(T, 1) } ?? 0
        var evict = [[Bool]](repeating: [Bool](repeating: false, count: G * T), count: L)
        if layerwise {
            let n = Int(Double(G * T) * compressionRatio)
            for l in layers {
                for i in Self.lowest(scores[l].indices.map { (scores[l][$0], $0) }, n) { evict[l][i] = true }
            }
        } else {
            let n = Int(Double(layers.count * G * T) * compressionRatio)
            var all: [(Float, Int)] = []
            all.reserveCapacity(layers.count * G * T)
            for l in layers { for i in 0..<(G * T) { all.append((scores[l][i], l * G * T + i)) } }
            for i in Self.lowest(all, n) { evict[i / (G * T)][i % (G * T)] = true }
        }
        for l in layers {
            for g in 0..<G {
                cache.layers[l][g].keep((0..<T).filter { !evict[l][g * T + $0] })
            }
        }
    }

    /// The `n` items with the lowest scores (ties: lower index first).
    static func lowest(_ items: [(Float, Int)], _ n: Int) -> [Int] {
        guard n > 0 else { return [] }
        return items.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.prefix(n).map(\.1)
    }
}

/// Scores one chunk during a repeat pass: max attention of the pass's queries on the chunk's entries.
private final class ReconstructionHook: LayerHook {
    let chunk: Range<Int>
    let sinks: Int
    let contextLength: Int
    var scores: [[Float]]

    init(chunk: Range<Int>, sinks: Int, contextLength: Int, scores: [[Float]]) {
        self.chunk = chunk
        self.sinks = sinks
        self.contextLength = contextLength
        self.scores = scores
    }

    func afterAttention(_ o: AttentionObservation) throws {
        guard !o.config.isLocalLayer(o.layer) else { return }
        let q = o.tokenCount, D = o.config.headDimension, group = o.config.groupSize, T = contextLength
        let n = chunk.count, S = sinks + n + q
        let keys = UnsafeMutablePointer<Float>.allocate(capacity: S * D)
        defer { keys.deallocate() }
        let block = 128
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: block * S)
        defer { rows.deallocate() }
        let scale = 1 / Float(D).squareRoot()
        for (g, head) in o.cache.enumerated() {
            for j in 0..<sinks { head.copyKey(j, into: keys + j * D) }
            for (i, j) in chunk.enumerated() { head.copyKey(j, into: keys + (sinks + i) * D) }
            (keys + (sinks + n) * D).update(from: o.keys + g * q * D, count: q * D)
            var best = [Float](repeating: 0, count: n)
            for h in (g * group)..<((g + 1) * group) {
                var i0 = 0
                while i0 < q {
                    let m = min(block, q - i0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(S), Int32(D), scale,
                                o.queries + (h * q + i0) * D, Int32(D), keys, Int32(D), 0, rows, Int32(S))
                    for r in 0..<m {
                        let row = rows + r * S
                        let visible = sinks + n + i0 + r + 1
                        FastMath.softmax(row, visible)
                        best.withUnsafeMutableBufferPointer { Vectorised.maximum(row + sinks, into: $0.baseAddress!, n) }
                    }
                    i0 += m
                }
            }
            for (i, j) in chunk.enumerated() { scores[o.layer][g * T + j] = best[i] }
        }
    }
}

extension Vectorised {
    /// `acc[i] = max(acc[i], x[i])` for `n` floats.
    @inline(__always)
    static func maximum(_ x: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Float>, _ n: Int) {
        let rx = UnsafeRawPointer(x), ra = UnsafeMutableRawPointer(acc)
        var i = 0
        while i + 8 <= n {
            let a = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let b = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            ra.storeBytes(of: pointwiseMax(a, b), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { acc[i] = Swift.max(acc[i], x[i]); i += 1 }
    }
}
