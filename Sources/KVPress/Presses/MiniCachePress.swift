import Foundation
import KVModel

/// MiniCache: merges the KV cache of adjacent layers in the depth dimension, from the middle of
/// the model on, after the context prefill.
///
/// Layers pair as `(L/2, L/2+1)`, `(L/2+2, L/2+3)`, … (the paper starts merging at the middle
/// layer; with an odd count of layers after it, the last stays alone). For each pair, KV head and
/// context token, the two layers' key vectors are split into magnitude and unit direction
/// (`norm` clamped at 1e-6), and the directions merge by SLERP:
/// `sin((1-t)θ)/sin θ · previous + sin(tθ)/sin θ · current`, θ the angle between them (its cosine
/// clamped to `±(1 - 1e-6)`; linear interpolation when `sin θ ≤ 1e-6`), renormalised; values the same
/// way. Each layer keeps its own key and value magnitudes, so a merged entry reads as
/// `magnitude × shared direction`. The `⌈T·retention_ratio⌉` tokens whose KEY directions lie
/// furthest apart (angular distance θ/π; ties to the earlier token) are retained unmerged in both
/// layers, keys and values exact: one retained set for keys and values, as the seed's runtime pair
/// store does. No entry is evicted.
///
/// Real bytes: the pair's merged entries are stored once (``SharedKVDirections``, one f16 key and
/// value direction per token and KV head, read in place by attention) plus 8 bytes of magnitudes
/// per entry and layer; retained entries stay in each layer's own buffers. A merged pair of f16
/// layers with head width 64 holds `(T-r)·(256 + 16) + r·512` bytes per KV head instead of `T·512`:
/// about 47% less at the default retention, so roughly a quarter of the whole cache when half the
/// layers merge. `kv_bytes` reports it; snapshots keep the shared form (cache format 3). A merged
/// cache cannot also be quantized (`kv_quant`), and models with sliding-window layers are refused.
///
/// It only suits models whose adjacent deep layers hold similar states, MiniCache's premise. On
/// SmolLM2-135M they are about orthogonal per head (mean angular distance ≈ 0.5 at layers 15/16),
/// and the golden needle is lost even at `retention_ratio=0.9`; see `docs/presses.md` for measures.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on MiniCache, https://arxiv.org/abs/2405.14366, as KVCache-Factory's
/// `pyramidkv/minicache.py` (`interpolation` 0.6, `retention_ratio` 0.05).
public final class MiniCachePress: ContextPress, CatalogPress {
    public let arguments: PressArguments
    /// SLERP's `t`: 0 keeps the earlier layer's direction, 1 the later one's.
    public let interpolation: Double
    /// Share of each pair's tokens retained unmerged.
    public let retentionRatio: Double
    /// No entry is removed (the saving is in bytes per entry, reported by `kv_bytes`).
    public let compressionRatio = 0.0

    /// Directions closer than this are interpolated linearly; norms are clamped at it (the seed's `eps`).
    static let epsilon: Float = 1e-6

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        interpolation = arguments[.interpolation]
        retentionRatio = arguments[.retentionRatio]
    }

    /// Keeps everything during the prefill; the work happens in `compress(contextIDs:cache:model:)`.
    public func compress(_ input: PressInput) throws {}

    public func compress(contextIDs: [Int], cache: KVCache, model: Model) throws -> Double? {
        if model.config.slidingLayers.contains(true) {
            throw PressError.unsupportedModel(press: name, reason: "its sliding-window layers keep their own window and "
                + "cannot share entries with the next layer")
        }
        for (previous, current) in Self.pairs(layerCount: cache.layers.count) {
            for (p, c) in zip(cache.layers[previous], cache.layers[current]) {
                guard p.count == c.count, p.positions == c.positions, p.quantization == nil, c.quantization == nil,
                      p.merged == nil, c.merged == nil, p.keyChannels == nil, c.keyChannels == nil else {
                    throw PressError.innerPress(press: name, reason: "merges layers \(previous) and \(current) only when both "
                        + "hold the same full-width f16/f32 entries; use it alone, on the whole context")
                }
                merge(previous: p, current: c)
            }
        }
        return nil
    }

    /// The merged layer pairs of an `L`-layer model: `(L/2, L/2+1)`, `(L/2+2, L/2+3)`, …
    public static func pairs(layerCount L: Int) -> [(previous: Int, current: Int)] {
        stride(from: L / 2, to: L - 1, by: 2).map { ($0, $0 + 1) }
    }

    /// Merges one KV head of two adjacent layers (same entries, plain, full width): both end up
    /// reading one ``SharedKVDirections`` with their own magnitudes, plus their retained entries.
    public func merge(previous: HeadKVCache, current: HeadKVCache) {
        let T = previous.count, d = previous.headDimension
        var keys = Self.slerp(previous, current, keys: true, t: Float(interpolation))
        var values = Self.slerp(previous, current, keys: false, t: Float(interpolation))
        let retained = Self.retained(angles: keys.angles, count: Int((Double(T) * retentionRatio).rounded(.up)))
        var isRetained = [Bool](repeating: false, count: T)
        for i in retained { isRetained[i] = true }
        let merged = (0..<T).filter { !isRetained[$0] }
        keys.select(merged, width: d)
        values.select(merged, width: d)
        let shared = SharedKVDirections(storage: previous.storage, width: d, keys: keys.directions, values: values.directions,
                                        positions: merged.map { Int32(previous.position($0)) })
        previous.merge(shared, keyMagnitudes: keys.previousMagnitudes, valueMagnitudes: values.previousMagnitudes,
                       retaining: retained)
        current.merge(shared, keyMagnitudes: keys.currentMagnitudes, valueMagnitudes: values.currentMagnitudes,
                      retaining: retained)
    }

    /// The tokens retained unmerged: the `count` largest angles (ties to the earlier token), ascending.
    static func retained(angles: [Float], count: Int) -> [Int] {
        angles.indices.sorted { angles[$0] != angles[$1] ? angles[$0] > angles[$1] : $0 < $1 }
            .prefix(min(count, angles.count)).sorted()
    }

    /// SLERP of the two heads' keys (or values), token by token.
    struct Merge {
        /// `[T, d]` shared unit directions.
        var directions: [Float]
        var previousMagnitudes: [Float]
        var currentMagnitudes: [Float]
        /// Angle between the two directions per token, in radians.
        var angles: [Float]

        /// Keeps the tokens at `rows` (directions and magnitudes; angles are not needed after).
        mutating func select(_ rows: [Int], width d: Int) {
            directions = rows.flatMap { directions[($0 * d)..<($0 * d + d)] }
            previousMagnitudes = rows.map { previousMagnitudes[$0] }
            currentMagnitudes = rows.map { currentMagnitudes[$0] }
        }
    }

    static func slerp(_ previous: HeadKVCache, _ current: HeadKVCache, keys: Bool, t: Float) -> Merge {
        let T = previous.count, d = previous.headDimension, eps = epsilon
        var out = Merge(directions: [Float](repeating: 0, count: T * d), previousMagnitudes: [], currentMagnitudes: [], angles: [])
        var p = [Float](repeating: 0, count: d), c = [Float](repeating: 0, count: d)
        for i in 0..<T {
            if keys {
                previous.copyKey(i, into: &p)
                current.copyKey(i, into: &c)
            } else {
                previous.copyValue(i, into: &p)
                current.copyValue(i, into: &c)
            }
            let pm = max(norm(p), eps), cm = max(norm(c), eps)
            var cosine: Float = 0
            for j in 0..<d { cosine += (p[j] / pm) * (c[j] / cm) }
            let angle = acos(min(max(cosine, -1 + eps), 1 - eps)), s = sin(angle)
            let (wp, wc) = abs(s) > eps ? (sin((1 - t) * angle) / s, sin(t * angle) / s) : (1 - t, t)
            var shared = (0..<d).map { wp * p[$0] / pm + wc * c[$0] / cm }
            let sm = max(norm(shared), eps)
            for j in 0..<d { shared[j] /= sm }
            out.directions.replaceSubrange((i * d)..<(i * d + d), with: shared)
            out.previousMagnitudes.append(pm)
            out.currentMagnitudes.append(cm)
            out.angles.append(angle)
        }
        return out
    }

    private static func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}
