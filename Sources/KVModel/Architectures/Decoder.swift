import COpenBLAS
import KVSystem

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

    /// Bytes of weights one decode token reads: every block's matrices and the output projection
    /// (the embedding gives one row, not counted).
    var weightBytesPerToken: Int {
        blocks.reduce(output.outputs * output.rowBytes) { total, b in
            (b.qkv + b.gateUp + [b.output, b.down]).reduce(total) { $0 + $1.outputs * $1.rowBytes }
        }
    }

    /// Prompts up to this many tokens attend like decode steps, all rows at once (`DecodeAttention`),
    /// longer ones by blocks of rows (`PrefillAttention`).
    static let shortPrompt = 64

    /// Runs `tokens` through the model, appending their keys and values to `cache`.
    func forward(_ tokens: [Int], cache: KVCache, hook: LayerHook?, logits request: LogitsRequest,
                 scratch: ForwardScratch, betweenLayers: (() throws -> Void)? = nil) throws -> [Float] {
        try validate(tokens, cache: cache)
        let results = try forward([BatchedSequence(tokens: tokens, cache: cache, hook: hook, logits: request)],
                                  scratch: scratch, betweenLayers: betweenLayers)
        return try results[0].get()
    }

    /// Throws what makes `tokens` impossible to run on `cache`: none, an unknown id, or more than the window holds.
    func validate(_ tokens: [Int], cache: KVCache) throws {
        let c = config
        guard !tokens.isEmpty else { throw ModelError.emptyInput }
        guard cache.nextPosition + tokens.count <= c.contextLength else {
            throw ModelError.contextOverflow(needed: cache.nextPosition + tokens.count, limit: c.contextLength)
        }
        for t in tokens where t < 0 || t >= c.vocabularySize { throw ModelError.invalidToken(t, vocabularySize: c.vocabularySize) }
    }

    /// Runs several sequences, each on its own cache, as one batch: every linear layer reads its
    /// weights once for all the batch's rows; RoPE, attention and the hook run per sequence, on
    /// its own rows and cache (a tail attends over its prefix too).
    ///
    /// Each sequence must have passed `validate`. A hook that throws fails its own sequence only
    /// (its cache keeps the layers it reached); the others run to the end. When every sequence has
    /// failed, the call throws the last error at once.
    /// - Parameter betweenLayers: called after each layer (a long prefill lets other work run there);
    ///   what it throws abandons the whole call.
    /// - Returns: per sequence, its logits (`LogitsRequest`) or its hook's error.
    func forward(_ batch: [BatchedSequence], scratch: ForwardScratch,
                 betweenLayers: (() throws -> Void)? = nil) throws -> [Result<[Float], Error>] {
        let c = config
        let T = batch.reduce(0) { $0 + $1.tokens.count }
        let d = c.embeddingLength, D = c.headDimension, H = c.headCount, G = c.headCountKV
        let ws = scratch.workspace
        // Rows are laid out shortest sequence first, so the linear layers see runs of sequences that
        // take the same path (`Linear.apply(segments:)`): a sequence's numbers never depend on the rest.
        let order = batch.indices.sorted { (batch[$0].tokens.count, $0) < (batch[$1].tokens.count, $1) }
        let segments = order.map { batch[$0].tokens.count }
        var offsets = [Int](repeating: 0, count: batch.count)
        let firsts = batch.map(\.cache.nextPosition)
        var failures = [Error?](repeating: nil, count: batch.count)
        var o = 0
        for i in order {
            offsets[i] = o
            o += batch[i].tokens.count
        }
        let x = ws.buffer(.hidden, T * d)
        for (i, s) in batch.enumerated() {
            for (t, id) in s.tokens.enumerated() { embedding.dequantizeRow(id, into: x + (offsets[i] + t) * d) }
        }
        if c.embeddingScale != 1 { FastMath.scale(x, T * d, by: c.embeddingScale) }

        let half = c.ropeDimensionCount / 2
        // One cos/sin table per distinct RoPE (Gemma 3: local and global layers; LongRoPE's two
        // factor sets), rows indexed like the batch's tokens, each at its sequence's positions.
        var distinctRopes: [RoPE] = []
        for s in batch { for r in ropes[s.cache.longRoPE ? 1 : 0] where !distinctRopes.contains(r) { distinctRopes.append(r) } }
        let tables = ws.buffer(.ropeTables, distinctRopes.count * 2 * T * half)
        for (i, r) in distinctRopes.enumerated() {
            for (j, s) in batch.enumerated() {
                let rows = offsets[j] * half
                r.tables(first: firsts[j], count: s.tokens.count, cos: tables + 2 * i * T * half + rows,
                         sin: tables + (2 * i + 1) * T * half + rows)
            }
        }

        let normed = ws.buffer(.normed, T * d)
        // Q, K and V of a token sit side by side in one row of `qkv` (one product for all three).
        let qkvWidth = (H + 2 * G) * D
        let qkv = ws.buffer(.queries, T * qkvWidth)
        // Per sequence, its rows in the [heads, n, D] layout the cache and hooks use.
        let headQ = ws.buffer(.headQueries, T * H * D)
        let headK = ws.buffer(.headKeys, T * G * D)
        let headV = ws.buffer(.headValues, T * G * D)
        let attn = ws.buffer(.attention, T * H * D)
        let projected = ws.buffer(.projected, T * d)
        // Gate and up projections side by side: row t is [gate(ff) | up(ff)].
        let ff = c.feedForwardLength
        let gateUp = ws.buffer(.gate, T * 2 * ff)

        var sharedContext: [ObjectIdentifier: (context: KVCache, asks: [SharedPrefixAttention.Ask])] = [:]
        var sharedContextOrder: [ObjectIdentifier] = []
        for (l, block) in blocks.enumerated() {
            // Attention.
            RMSNorm.apply(x, weight: block.attentionNorm, into: normed, rows: T, width: d, epsilon: c.rmsEpsilon)
            linear(block.qkv, normed, inputStride: d, qkv, outputStride: qkvWidth, segments, scratch)
            if let bias = block.qkvBias {
                bias.withUnsafeBufferPointer { b in
                    for t in 0..<T { VectorOps.axpy(1, b.baseAddress!, qkv + t * qkvWidth, count: qkvWidth) }
                }
            }
            let attentionStart = ContinuousClock.now
            for (i, s) in batch.enumerated() {
                let rope = ropes[s.cache.longRoPE ? 1 : 0][l]
                let table = tables + 2 * distinctRopes.firstIndex(of: rope)! * T * half
                let n = s.tokens.count, o = offsets[i]
                for t in o..<(o + n) {
                    let row = qkv + t * qkvWidth
                    if let qn = block.queryNorm { RMSNorm.apply(row, weight: qn, into: row, rows: H, width: D, epsilon: c.rmsEpsilon) }
                    if let kn = block.keyNorm { RMSNorm.apply(row + H * D, weight: kn, into: row + H * D, rows: G, width: D, epsilon: c.rmsEpsilon) }
                    rope.rotate(row, heads: H, stride: D, cos: table + t * half, sin: table + T * half + t * half)
                    rope.rotate(row + H * D, heads: G, stride: D, cos: table + t * half, sin: table + T * half + t * half)
                }
                let sq = headQ + o * H * D, sk = headK + o * G * D, sv = headV + o * G * D
                Self.transposeHeads(qkv + o * qkvWidth, rowStride: qkvWidth, sq, T: n, heads: H, D: D)
                Self.transposeHeads(qkv + o * qkvWidth + H * D, rowStride: qkvWidth, sk, T: n, heads: G, D: D)
                Self.transposeHeads(qkv + o * qkvWidth + (H + G) * D, rowStride: qkvWidth, sv, T: n, heads: G, D: D)
                let heads = s.cache.layers[l], prefix = s.cache.prefix?.layers[l]
                for (g, head) in heads.enumerated() {
                    head.append(keys: sk + g * n * D, values: sv + g * n * D, count: n, firstPosition: firsts[i])
                }
                var columnSums: UnsafeMutablePointer<Float>?
                let stride = (prefix?.map(\.count).max() ?? 0) + (heads.map(\.count).max() ?? 0)
                if failures[i] == nil, s.hook?.observes.contains(.columnSums) == true {
                    columnSums = ws.buffer(.attentionColumnSums, H * stride)
                }
                if n == 1, s.hook == nil, columnSums == nil, shapes[l].window == nil, let context = s.cache.prefix, prefix != nil {
                    // Decode rows of asks on one session read its context together, after this loop.
                    let key = ObjectIdentifier(context)
                    if sharedContext[key] == nil { sharedContextOrder.append(key) }
                    sharedContext[key, default: (context, [])].asks.append(SharedPrefixAttention.Ask(query: sq, cache: heads, output: attn + o * H * D))
                } else if n == 1 {
                    DecodeAttention.run(query: sq, shape: shapes[l], cache: heads, prefix: prefix, output: attn + o * H * D,
                                        workspace: ws, columnSums: columnSums, columnSumsStride: stride)
                } else if n <= Self.shortPrompt && shapes[l].window == nil && columnSums == nil {
                    // A short prompt (a question) over a long cache: every stored entry is read once,
                    // in place, for all its rows, where prefill attention would first convert them all to floats.
                    DecodeAttention.run(query: sq, rows: n, shape: shapes[l], cache: heads, prefix: prefix,
                                        output: attn + o * H * D, workspace: ws)
                } else {
                    PrefillAttention.run(queries: sq, tokenCount: n, shape: shapes[l], cache: heads, prefix: prefix,
                                         output: attn + o * H * D, workspace: ws, columnSums: columnSums, columnSumsStride: stride)
                }
                if let hook = s.hook, failures[i] == nil {
                    do {
                        try hook.afterAttention(AttentionObservation(
                            layer: l, tokenCount: n, firstPosition: firsts[i], config: c, hidden: normed + o * d,
                            queries: sq, keys: sk, values: sv, cache: heads,
                            columnSums: columnSums.map { UnsafePointer($0) }, columnSumsStride: columnSums == nil ? 0 : stride))
                    } catch {
                        failures[i] = error
                        // Nothing left to compute (a lone sequence: a load told to stop) ends the call now.
                        if !failures.contains(where: { $0 == nil }) { throw error }
                    }
                }
            }
            for key in sharedContextOrder {
                let (context, asks) = sharedContext[key]!
                let prefix = context.layers[l]
                if asks.count == 1 {
                    DecodeAttention.run(query: asks[0].query, shape: shapes[l], cache: asks[0].cache, prefix: prefix,
                                        output: asks[0].output, workspace: ws)
                } else {
                    SharedPrefixAttention.run(asks, shape: shapes[l], prefix: prefix, workspace: ws)
                }
            }
            sharedContext.removeAll(keepingCapacity: true)
            sharedContextOrder.removeAll(keepingCapacity: true)
            scratch.attentionSeconds += attentionStart.secondsElapsed
            linear([block.output], attn, inputStride: H * D, projected, outputStride: d, segments, scratch)
            if let n = block.postAttentionNorm { RMSNorm.apply(projected, weight: n, into: projected, rows: T, width: d, epsilon: c.rmsEpsilon) }
            Self.add(projected, into: x, T * d)
            // Gated feed-forward network.
            RMSNorm.apply(x, weight: block.feedForwardNorm, into: normed, rows: T, width: d, epsilon: c.rmsEpsilon)
            linear(block.gateUp, normed, inputStride: d, gateUp, outputStride: 2 * ff, segments, scratch)
            for t in 0..<T {
                let row = gateUp + t * 2 * ff
                switch c.activation {
                case .silu: FastMath.swiglu(row, row + ff, ff)
                case .geluTanh: FastMath.gegluTanh(row, row + ff, ff)
                }
            }
            linear([block.down], gateUp, inputStride: 2 * ff, projected, outputStride: d, segments, scratch)
            if let n = block.postFeedForwardNorm { RMSNorm.apply(projected, weight: n, into: projected, rows: T, width: d, epsilon: c.rmsEpsilon) }
            Self.add(projected, into: x, T * d)
            try betweenLayers?()
        }
        for (i, s) in batch.enumerated() { s.cache.nextPosition = firsts[i] + s.tokens.count }

        // The rows whose logits were asked for, normed side by side, through one output product.
        var rows: [Int] = [], logitSegments: [Int] = []
        for (i, s) in batch.enumerated() where failures[i] == nil {
            switch s.logits {
            case .none: break
            case .last: rows.append(offsets[i] + s.tokens.count - 1); logitSegments.append(1)
            case .all: rows.append(contentsOf: offsets[i]..<(offsets[i] + s.tokens.count)); logitSegments.append(s.tokens.count)
            }
        }
        let V = c.vocabularySize
        var logits = [Float](repeating: 0, count: rows.count * V)
        if !rows.isEmpty {
            for (r, t) in rows.enumerated() {
                RMSNorm.apply(x + t * d, weight: outputNorm, into: normed + r * d, rows: 1, width: d, epsilon: c.rmsEpsilon)
            }
            logits.withUnsafeMutableBufferPointer {
                linear([output], normed, inputStride: d, $0.baseAddress!, outputStride: V, logitSegments, scratch)
            }
        }
        var results: [Result<[Float], Error>] = []
        var next = 0
        for (i, s) in batch.enumerated() {
            if let failure = failures[i] { results.append(.failure(failure)); continue }
            let count: Int
            switch s.logits {
            case .none: count = 0
            case .last: count = 1
            case .all: count = s.tokens.count
            }
            results.append(.success(count == 0 ? [] : Array(logits[(next * V)..<((next + count) * V)])))
            next += count
        }
        return results
    }

    /// `y[t] = [W₀; W₁; …] · x[t]` for the rows of consecutive sequences of `segments` rows each
    /// (outputs side by side); `Linear` picks each sequence's kernel from its own rows.
    private func linear(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, inputStride: Int,
                        _ y: UnsafeMutablePointer<Float>, outputStride: Int, _ segments: [Int], _ scratch: ForwardScratch) {
        scratch.linear.apply(ws.map(\.matrix), x, inputStride: inputStride, y, outputStride: outputStride, segments: segments)
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
