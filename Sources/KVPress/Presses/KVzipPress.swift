import KVModel

/// Query-agnostic compression by context reconstruction (kvpress `KVzipPress`).
///
/// After the context is prefilled (uncompressed), the model is asked to repeat it, chunk by chunk
/// of `chunk_size` tokens (``Reconstruction``); a context entry's score is the MAX attention it
/// receives over a repeat pass's queries and the query heads of its KV head. The first `n_sink`
/// entries score 1, the template prefix before the context 0. Then the lowest-scoring
/// `Int(L·G·T·compression_ratio)` entries over ALL layers and heads are evicted (`layerwise=false`),
/// or the lowest `Int(G·T·compression_ratio)` of each layer (`layerwise=true`): heads and layers
/// keep different lengths and the memory really drops. The extra passes are rolled back. The load
/// reports the share of the reconstruction attention the kept entries hold as its fidelity.
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
        compressionRatio = arguments[.compressionRatio]
        layerwise = arguments[.layerwise]
        nSink = arguments[.nSink]
        chunkSize = arguments[.chunkSize]
    }

    /// Keeps everything during the prefill; the work happens in `compress(contextIDs:cache:model:)`.
    public func compress(_ input: PressInput) throws {}

    public func compress(contextIDs: [Int], cache: KVCache, model: Model) throws -> Double? {
        guard compressionRatio > 0 else { return nil }
        let r = try Reconstruction(contextIDs: contextIDs, cache: cache, model: model, nSink: nSink, chunkSize: chunkSize)
        apply(r.scores, cache: cache, tokens: contextIDs.count, layers: r.layers)
        return r.fidelity(of: cache)
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
