import COpenBLAS

// The forward pass shared by every family in `Architecture.all`: a pre-norm transformer with
// grouped-query attention and a gated feed-forward network. Each family's file says which optional
// pieces it has and which references it matches. Order: attention → MLP → block → model.

/// Which logits a forward pass returns.
public enum LogitsRequest: Sendable {
    /// None (a context prefill that only fills the cache).
    case none
    /// The last token's logits, `[V]`.
    case last
    /// Every token's logits, `[T, V]` row-major.
    case all
}

/// The decoder forward pass: embedding (scaled), per block RMSNorm → q/k/v (+bias) → per-head
/// q/k norm → RoPE → attention (windowed on sliding layers) → output projection (+post-norm) →
/// residual, RMSNorm → gate·up → SiLU/GELU gating → down (+post-norm) → residual; final RMSNorm
/// and the output projection (tied or separate).
///
/// A forward call runs LAYER BY LAYER over all its tokens (not token by token), so a layer hook sees
/// the whole batch's queries, keys and values at once — what a press needs to score a context.
/// `Linear` chooses per product: the quantized rows directly for a token or a short batch (each
/// weight block read once for all its tokens), dequantize + sgemm for long ones.
final class Decoder {
    let config: ModelConfig
    let blocks: [DecoderBlock]
    let embedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: UnsafePointer<Float>
    /// Each layer's rotary embedding, `[long ? 1 : 0][layer]` (LongRoPE's two factor sets; both
    /// rows equal otherwise); layers sharing one share its tables within a forward call.
    let ropes: [[RoPE]]
    /// Each layer's attention: scale, and window on sliding-window layers.
    let shapes: [AttentionShape]
    private let workspace = Workspace()
    /// Runs the linear layers (mat-vec, batched integer or dequantize + sgemm by batch size).
    private let linearLayer = Linear()

    init(gguf: GGUFFile, config c: ModelConfig, architecture: Architecture) throws {
        config = c
        blocks = try (0..<c.layerCount).map { try DecoderBlock(gguf, index: $0, config: c, parts: architecture.parts) }
        embedding = try WeightMatrix(gguf, GGUFKeys.tokenEmbedding, outputs: c.vocabularySize, inputs: c.embeddingLength,
                                     repack: c.tiedEmbeddings)
        output = c.tiedEmbeddings ? embedding
            : try WeightMatrix(gguf, GGUFKeys.output, outputs: c.vocabularySize, inputs: c.embeddingLength, repack: true)
        outputNorm = try DecoderBlock.floats(gguf, GGUFKeys.outputNorm, count: c.embeddingLength)
        shapes = (0..<c.layerCount).map { AttentionShape(config: c, layer: $0) }
        ropes = [false, true].map { long in (0..<c.layerCount).map { c.rope(layer: $0, long: long) } }
    }

    /// Bytes of scratch memory held between calls.
    var workspaceBytes: Int { workspace.byteCount }

    /// Runs `tokens` through the model, appending their keys and values to `cache`.
    func forward(_ tokens: [Int], cache: KVCache, hook: LayerHook?, logits request: LogitsRequest) throws -> [Float] {
        let c = config
        let T = tokens.count
        guard T > 0 else { throw ModelError.emptyInput }
        guard cache.nextPosition + T <= c.contextLength else {
            throw ModelError.contextOverflow(needed: cache.nextPosition + T, limit: c.contextLength)
        }
        for t in tokens where t < 0 || t >= c.vocabularySize { throw ModelError.invalidToken(t, vocabularySize: c.vocabularySize) }
        let d = c.embeddingLength, D = c.headDimension, H = c.headCount, G = c.headCountKV
        let ws = workspace
        let x = ws.buffer(.hidden, T * d)
        for (t, id) in tokens.enumerated() { embedding.dequantizeRow(id, into: x + t * d) }
        if c.embeddingScale != 1 { FastMath.scale(x, T * d, by: c.embeddingScale) }

        let first = cache.nextPosition
        let half = c.ropeDimensionCount / 2
        // One cos/sin table per distinct RoPE (Gemma 3: local and global layers).
        let layerRopes = ropes[cache.longRoPE ? 1 : 0]
        var distinctRopes: [RoPE] = []
        for r in layerRopes where !distinctRopes.contains(r) { distinctRopes.append(r) }
        let tables = ws.buffer(.ropeTables, distinctRopes.count * 2 * T * half)
        for (i, r) in distinctRopes.enumerated() {
            r.tables(first: first, count: T, cos: tables + 2 * i * T * half, sin: tables + (2 * i + 1) * T * half)
        }

        let normed = ws.buffer(.normed, T * d)
        // Q, K and V of a token sit side by side in one row of `qkv` (one sgemm for all three).
        let qkvWidth = (H + 2 * G) * D
        let qkv = ws.buffer(.queries, T * qkvWidth)
        let q = qkv, k = qkv + H * D, v = qkv + (H + G) * D
        let headQ = ws.buffer(.headQueries, T * H * D)
        let headK = ws.buffer(.headKeys, T * G * D)
        let headV = ws.buffer(.headValues, T * G * D)
        let attn = ws.buffer(.attention, T * H * D)
        let projected = ws.buffer(.projected, T * d)
        // Gate and up projections side by side: row t is [gate(ff) | up(ff)].
        let ff = c.feedForwardLength
        let gateUp = ws.buffer(.gate, T * 2 * ff)
        let wantsColumnSums = hook?.observes.contains(.columnSums) ?? false

        for (l, block) in blocks.enumerated() {
            let heads = cache.layers[l]
            let rope = layerRopes[l]
            let table = tables + 2 * distinctRopes.firstIndex(of: rope)! * T * half
            let cosT = table, sinT = table + T * half
            // Attention.
            RMSNorm.apply(x, weight: block.attentionNorm, into: normed, rows: T, width: d, epsilon: c.rmsEpsilon)
            linear(block.qkv, normed, inputStride: d, qkv, outputStride: qkvWidth, T)
            if let bias = block.qkvBias {
                bias.withUnsafeBufferPointer { b in
                    for t in 0..<T { VectorOps.axpy(1, b.baseAddress!, qkv + t * qkvWidth, count: qkvWidth) }
                }
            }
            for t in 0..<T {
                let row = qkv + t * qkvWidth
                if let qn = block.queryNorm { RMSNorm.apply(row, weight: qn, into: row, rows: H, width: D, epsilon: c.rmsEpsilon) }
                if let kn = block.keyNorm { RMSNorm.apply(row + H * D, weight: kn, into: row + H * D, rows: G, width: D, epsilon: c.rmsEpsilon) }
                rope.rotate(q + t * qkvWidth, heads: H, stride: D, cos: cosT + t * half, sin: sinT + t * half)
                rope.rotate(k + t * qkvWidth, heads: G, stride: D, cos: cosT + t * half, sin: sinT + t * half)
            }
            // [T, heads, D] → [heads, T, D], the layout the cache and hooks use.
            Self.transposeHeads(q, rowStride: qkvWidth, headQ, T: T, heads: H, D: D)
            Self.transposeHeads(k, rowStride: qkvWidth, headK, T: T, heads: G, D: D)
            Self.transposeHeads(v, rowStride: qkvWidth, headV, T: T, heads: G, D: D)
            for (g, head) in heads.enumerated() {
                head.append(keys: headK + g * T * D, values: headV + g * T * D, count: T, firstPosition: first)
            }
            var columnSums: UnsafeMutablePointer<Float>?
            let stride = heads.map(\.count).max() ?? 0
            if wantsColumnSums { columnSums = ws.buffer(.attentionColumnSums, H * stride) }
            if T == 1 {
                DecodeAttention.run(query: headQ, shape: shapes[l], cache: heads, output: attn, workspace: ws,
                                    columnSums: columnSums, columnSumsStride: stride)
            } else {
                PrefillAttention.run(queries: headQ, tokenCount: T, shape: shapes[l], cache: heads, output: attn, workspace: ws,
                                     columnSums: columnSums, columnSumsStride: stride)
            }
            if let hook {
                try hook.afterAttention(AttentionObservation(
                    layer: l, tokenCount: T, firstPosition: first, config: c, hidden: normed,
                    queries: headQ, keys: headK, values: headV, cache: heads,
                    columnSums: columnSums.map { UnsafePointer($0) }, columnSumsStride: columnSums == nil ? 0 : stride))
            }
            linear([block.output], attn, inputStride: H * D, projected, outputStride: d, T)
            if let n = block.postAttentionNorm { RMSNorm.apply(projected, weight: n, into: projected, rows: T, width: d, epsilon: c.rmsEpsilon) }
            Self.add(projected, into: x, T * d)
            // Gated feed-forward network.
            RMSNorm.apply(x, weight: block.feedForwardNorm, into: normed, rows: T, width: d, epsilon: c.rmsEpsilon)
            linear(block.gateUp, normed, inputStride: d, gateUp, outputStride: 2 * ff, T)
            for t in 0..<T {
                let row = gateUp + t * 2 * ff
                switch c.activation {
                case .silu: FastMath.swiglu(row, row + ff, ff)
                case .geluTanh: FastMath.gegluTanh(row, row + ff, ff)
                }
            }
            linear([block.down], gateUp, inputStride: 2 * ff, projected, outputStride: d, T)
            if let n = block.postFeedForwardNorm { RMSNorm.apply(projected, weight: n, into: projected, rows: T, width: d, epsilon: c.rmsEpsilon) }
            Self.add(projected, into: x, T * d)
        }
        cache.nextPosition = first + T

        switch request {
        case .none:
            return []
        case .last:
            RMSNorm.apply(x + (T - 1) * d, weight: outputNorm, into: normed, rows: 1, width: d, epsilon: c.rmsEpsilon)
            var logits = [Float](repeating: 0, count: c.vocabularySize)
            logits.withUnsafeMutableBufferPointer {
                linear([output], normed, inputStride: d, $0.baseAddress!, outputStride: c.vocabularySize, 1)
            }
            return logits
        case .all:
            RMSNorm.apply(x, weight: outputNorm, into: normed, rows: T, width: d, epsilon: c.rmsEpsilon)
            var logits = [Float](repeating: 0, count: T * c.vocabularySize)
            logits.withUnsafeMutableBufferPointer {
                linear([output], normed, inputStride: d, $0.baseAddress!, outputStride: c.vocabularySize, T)
            }
            return logits
        }
    }

    /// `y[t] = [W₀; W₁; …] · x[t]` for `T` rows (outputs side by side); `Linear` picks the kernel.
    private func linear(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, inputStride: Int,
                        _ y: UnsafeMutablePointer<Float>, outputStride: Int, _ T: Int) {
        linearLayer.apply(ws.map(\.matrix), x, inputStride: inputStride, y, outputStride: outputStride, rows: T)
    }

    /// Copies `[T, heads, D]` rows (at `rowStride` floats apart) into `[heads, T, D]`.
    private static func transposeHeads(_ src: UnsafePointer<Float>, rowStride: Int, _ dst: UnsafeMutablePointer<Float>,
                                       T: Int, heads: Int, D: Int) {
        for t in 0..<T {
            for h in 0..<heads { (dst + (h * T + t) * D).update(from: src + t * rowStride + h * D, count: D) }
        }
    }

    private static func add(_ a: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { x[i] += a[i] }
    }
}
