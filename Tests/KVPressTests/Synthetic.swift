import KVModel
import XCTest
import KVPress

/// A tiny synthetic layer: `H = 4` query heads over `G = 2` KV heads of width `D = 8`, `d = 16`.
///
/// Tensors start as small deterministic noise; tests overwrite rows to build the case they need,
/// then call `input()` which fills fresh cache heads with the keys and values.
final class Synthetic {
    let T: Int, H = 4, G = 2, D = 8, d = 16
    var layer = 0, layerCount = 1
    var hidden: [Float], queries: [Float], keys: [Float], values: [Float]
    private(set) var heads: [HeadKVCache] = []

    init(tokens T: Int, seed: UInt64 = 1) {
        self.T = T
        var state = seed
        func noise() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
        hidden = (0..<(T * 16)).map { _ in noise() }
        queries = (0..<(4 * T * 8)).map { _ in noise() * 0.1 }
        keys = (0..<(2 * T * 8)).map { _ in noise() }
        values = (0..<(2 * T * 8)).map { _ in noise() }
    }

    var geometry: PressGeometry {
        PressGeometry(layer: layer, layerCount: layerCount, headCount: H, headCountKV: G, headDimension: D, embeddingLength: d)
    }

    func setKey(_ g: Int, _ t: Int, _ v: [Float]) { for c in 0..<D { keys[(g * T + t) * D + c] = v[c] } }
    func setValue(_ g: Int, _ t: Int, _ v: [Float]) { for c in 0..<D { values[(g * T + t) * D + c] = v[c] } }
    func setQuery(_ h: Int, _ t: Int, _ v: [Float]) { for c in 0..<D { queries[(h * T + t) * D + c] = v[c] } }

    /// Runs `press` on fresh heads (f32 storage) and returns them.
    @discardableResult
    func run(_ press: Press, storage: KVStorageType = .f32) throws -> [HeadKVCache] {
        heads = (0..<G).map { _ in HeadKVCache(headDimension: D, storage: storage) }
        for g in 0..<G {
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    heads[g].append(keys: k.baseAddress! + g * T * D, values: v.baseAddress! + g * T * D, count: T, firstPosition: 0)
                }
            }
        }
        try hidden.withUnsafeBufferPointer { h in
            try queries.withUnsafeBufferPointer { q in
                try keys.withUnsafeBufferPointer { k in
                    try values.withUnsafeBufferPointer { v in
                        let input = PressInput(geometry: geometry, tokenCount: T, hidden: h.baseAddress!, queries: q.baseAddress!,
                                               keys: k.baseAddress!, values: v.baseAddress!, cache: heads)
                        try press.compress(input)
                    }
                }
            }
        }
        return heads
    }

    /// Scores of a scorer press on this input, `[G, T]`, or on the view `view` of it (`[G, view.count]`).
    func scores(_ press: ScorerPress, firstPosition: Int = 0, view: Range<Int>? = nil) throws -> [Float] {
        try hidden.withUnsafeBufferPointer { h in
            try queries.withUnsafeBufferPointer { q in
                try keys.withUnsafeBufferPointer { k in
                    try values.withUnsafeBufferPointer { v in
                        let input = PressInput(geometry: geometry, tokenCount: T, firstPosition: firstPosition, hidden: h.baseAddress!,
                                               queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!, cache: [])
                        return try press.score(view.map { input.rows($0) } ?? input)
                    }
                }
            }
        }
    }
}

/// A unit vector along channel `c`, times `scale`.
func axis(_ c: Int, _ scale: Float = 1, width: Int = 8) -> [Float] {
    (0..<width).map { $0 == c ? scale : 0 }
}

extension Synthetic {
    /// A copy holding only rows `range` of every tensor.
    func slice(_ range: Range<Int>) -> Synthetic {
        let s = Synthetic(tokens: range.count)
        func rows(_ x: [Float], heads: Int, width: Int) -> [Float] {
            var out: [Float] = []
            for h in 0..<heads {
                for t in range { out += x[((h * T + t) * width)..<((h * T + t + 1) * width)] }
            }
            return out
        }
        s.hidden = rows(hidden, heads: 1, width: d)
        s.queries = rows(queries, heads: H, width: D)
        s.keys = rows(keys, heads: G, width: D)
        s.values = rows(values, heads: G, width: D)
        return s
    }
}

/// The press `spec` describes, as `P`: tests build presses from specs, as users do.
func press<P>(_ spec: String, as type: P.Type = P.self) throws -> P {
    try XCTUnwrap(PressSpec.parse(spec) as? P, spec)
}

/// The error `PressSpec.parse(spec)` throws, as text (empty when it builds).
func specError(_ spec: String) -> String {
    do { _ = try PressSpec.parse(spec); return "" } catch { return "\(error)" }
}
