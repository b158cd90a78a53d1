import KVModel

/// Compression by target instead of ratio: keeps the fewest context entries that still hold
/// `target` of the model's reconstruction attention, so the session's fidelity is at least
/// `target` and the budget follows the document, per layer and per KV head.
///
/// It runs KVzip's repeat passes (``Reconstruction``), takes the entries in KVzip's order (highest
/// max-attention score first, over all layers and heads at once) and stops as soon as the kept
/// entries hold `target` of the reconstruction attention summed over every global layer and head.
/// A document whose facts draw little attention compresses far, a dense one less; a layer whose
/// heads attend narrowly keeps few entries. The share evicted is known only after the press ran:
/// ``compressionRatio`` is that share, and the load reports it as `achieved_ratio`.
///
/// Cost: as `kvzip` (roughly one to two more prefills).
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
public final class FidelityPress: ContextPress, CatalogPress {
    public let arguments: PressArguments
    /// Share of the reconstruction attention the kept entries hold.
    public let target: Double
    public let nSink: Int
    public let chunkSize: Int
    /// Share of the context's entries evicted by the last compression (0 before).
    public private(set) var compressionRatio = 0.0

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        target = arguments[.target]
        nSink = arguments[.nSink]
        chunkSize = arguments[.chunkSize]
    }

    /// Keeps everything during the prefill; the work happens in `compress(contextIDs:cache:model:)`.
    public func compress(_ input: PressInput) throws {}

    public func compress(contextIDs: [Int], cache: KVCache, model: Model) throws -> Double? {
        let T = contextIDs.count, G = model.config.headCountKV
        let r = try Reconstruction(contextIDs: contextIDs, cache: cache, model: model, nSink: nSink, chunkSize: chunkSize)
        var order: [(score: Float, layer: Int, index: Int)] = []
        order.reserveCapacity(r.layers.count * G * T)
        var total = 0.0
        for l in r.layers {
            for i in 0..<(G * T) {
                order.append((r.scores[l][i], l, i))
                total += Double(r.mass[l][i])
            }
        }
        order.sort { $0.score != $1.score ? $0.score > $1.score : ($0.layer, $0.index) < ($1.layer, $1.index) }
        var keep = [[Bool]](repeating: [Bool](repeating: false, count: G * T), count: model.config.layerCount)
        var held = 0.0, kept = 0
        for e in order where held < target * total {
            keep[e.layer][e.index] = true
            held += Double(r.mass[e.layer][e.index])
            kept += 1
        }
        for l in r.layers {
            for g in 0..<G { cache.layers[l][g].keep((0..<T).filter { keep[l][g * T + $0] }) }
        }
        compressionRatio = order.isEmpty ? 0 : 1 - Double(kept) / Double(order.count)
        return r.fidelity(of: cache)
    }
}
