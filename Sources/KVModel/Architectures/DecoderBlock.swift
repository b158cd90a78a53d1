/// The weights of one transformer block, used in place from the GGUF mapping.
///
/// Projections whose outputs sit side by side in one row are kept as lists: `qkv` holds one fused
/// `[q | k | v]` matrix or the three separate ones, `gateUp` one fused `[gate | up]` or two. The
/// forward pass multiplies the list as one stacked matrix, so both layouts run the same code.
struct DecoderBlock {
    let attentionNorm: UnsafePointer<Float>
    let qkv: [WeightMatrix]
    /// `[q | k | v]` biases, when the family has them.
    let qkvBias: [Float]?
    /// Per-head RMSNorm weights of queries and keys (`[headDimension]` each).
    let queryNorm: UnsafePointer<Float>?
    let keyNorm: UnsafePointer<Float>?
    let output: WeightMatrix
    let postAttentionNorm: UnsafePointer<Float>?
    let feedForwardNorm: UnsafePointer<Float>
    let gateUp: [WeightMatrix]
    let down: WeightMatrix
    let postFeedForwardNorm: UnsafePointer<Float>?

    init(_ gguf: GGUFFile, index i: Int, config c: ModelConfig, parts: Architecture.Parts) throws {
        let d = c.embeddingLength, D = c.headDimension
        func norm(_ t: GGUFKeys.Block, _ width: Int) throws -> UnsafePointer<Float> {
            try Self.floats(gguf, GGUFKeys.block(i, t), count: width)
        }
        func matrix(_ t: GGUFKeys.Block, outputs: Int, inputs: Int) throws -> WeightMatrix {
            try WeightMatrix(gguf, GGUFKeys.block(i, t), outputs: outputs, inputs: inputs, repack: true)
        }
        attentionNorm = try norm(.attnNorm, d)
        if parts.contains(.fusedQKV) {
            qkv = [try matrix(.attnQKV, outputs: c.queryWidth + 2 * c.kvWidth, inputs: d)]
        } else {
            qkv = [try matrix(.attnQ, outputs: c.queryWidth, inputs: d), try matrix(.attnK, outputs: c.kvWidth, inputs: d),
                   try matrix(.attnV, outputs: c.kvWidth, inputs: d)]
        }
        if parts.contains(.qkvBias) {
            var bias: [Float] = []
            for (t, width) in [(GGUFKeys.Block.attnQ, c.queryWidth), (.attnK, c.kvWidth), (.attnV, c.kvWidth)] {
                bias.append(contentsOf: UnsafeBufferPointer(start: try Self.floats(gguf, GGUFKeys.blockBias(i, t), count: width),
                                                            count: width))
            }
            qkvBias = bias
        } else {
            qkvBias = nil
        }
        queryNorm = parts.contains(.qkNorm) ? try norm(.attnQNorm, D) : nil
        keyNorm = parts.contains(.qkNorm) ? try norm(.attnKNorm, D) : nil
        output = try matrix(.attnOutput, outputs: d, inputs: c.queryWidth)
        postAttentionNorm = parts.contains(.postNorms) ? try norm(.attnPostNorm, d) : nil
        feedForwardNorm = try norm(.ffnNorm, d)
        let ff = c.feedForwardLength
        if parts.contains(.fusedGateUp) {
            gateUp = [try matrix(.ffnUp, outputs: 2 * ff, inputs: d)]
        } else {
            gateUp = [try matrix(.ffnGate, outputs: ff, inputs: d), try matrix(.ffnUp, outputs: ff, inputs: d)]
        }
        down = try matrix(.ffnDown, outputs: d, inputs: ff)
        postFeedForwardNorm = parts.contains(.postNorms) ? try norm(.ffnPostNorm, d) : nil
    }

    /// An f32 tensor of exactly `count` elements (norm weights, biases, RoPE factors), in place.
    static func floats(_ gguf: GGUFFile, _ name: String, count: Int) throws -> UnsafePointer<Float> {
        let info = try gguf.tensor(name)
        guard info.type == .f32, info.elementCount == count else {
            throw GGUFError(path: gguf.path, .missingTensor("'\(name)' must be f32 with \(count) elements, found \(info.type.name) \(info.shape)"))
        }
        return gguf.data(of: info).assumingMemoryBound(to: Float.self)
    }
}
