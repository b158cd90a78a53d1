import Foundation

/// Hyperparameters of a decoder, read from GGUF metadata (none are hard-coded).
///
/// The common keys are read here; what an architecture adds (windows, scales, RoPE layout) is set
/// by its `Architecture.configure`.
public struct ModelConfig: Sendable, Equatable, Codable {
    /// `general.architecture` (e.g. `llama`).
    public var architecture: String
    /// Model name from `general.name`, if present.
    public var name: String
    /// Number of vocabulary entries (rows of the embedding matrix).
    public var vocabularySize: Int
    /// Maximum context the model was trained for (`context_length`).
    public var contextLength: Int
    /// Width of the residual stream, `d`.
    public var embeddingLength: Int
    /// Number of transformer blocks.
    public var layerCount: Int
    /// Hidden width of the gated feed-forward network.
    public var feedForwardLength: Int
    /// Query heads per layer.
    public var headCount: Int
    /// Key/value heads per layer (grouped-query attention: `headCount / headCountKV` queries share one KV head).
    public var headCountKV: Int
    /// Width of one attention head.
    public var headDimension: Int
    /// Epsilon of RMSNorm.
    public var rmsEpsilon: Float
    /// RoPE base frequency θ (of the global layers).
    public var ropeFrequencyBase: Float
    /// Number of leading channels of each head that RoPE rotates.
    public var ropeDimensionCount: Int
    /// Linear RoPE scaling factor (1 when absent), on the global layers.
    public var ropeScale: Float
    /// RoPE channel-pair layout of the architecture.
    public var ropeStyle: RoPE.Style = .interleaved
    /// RoPE base of the sliding-window layers when it differs from the global one (Gemma 3's local layers).
    public var ropeFrequencyBaseSliding: Float?
    /// Per-pair RoPE frequency factors (Phi-3's LongRoPE) for sequences within
    /// `ropeOriginalContextLength`; nil when the file has none.
    public var ropeFactorsShort: [Float]?
    /// LongRoPE factors for sequences beyond `ropeOriginalContextLength`.
    public var ropeFactorsLong: [Float]?
    /// The context length the model was pre-trained with, before LongRoPE extended it.
    public var ropeOriginalContextLength: Int?
    /// Factor on RoPE's cos and sin (LongRoPE's attention factor), 1 when absent.
    public var ropeMagnitude: Float = 1
    /// Multiplier of `q·k` before the softmax.
    public var attentionScale: Float
    /// Tokens a sliding-window layer attends to (its own included); nil when no layer has a window.
    public var slidingWindow: Int?
    /// Per layer, whether it attends through `slidingWindow` (empty when no layer does).
    public var slidingLayers: [Bool] = []
    /// Multiplier of the token embeddings (Gemma: √d).
    public var embeddingScale: Float = 1
    /// The activation of the feed-forward gate.
    public var activation: FeedForwardActivation = .silu
    /// Whether the output projection reuses the token embedding matrix.
    public var tiedEmbeddings: Bool

    /// Query heads per KV head.
    public var groupSize: Int { headCount / headCountKV }
    /// Width of all query heads together (`headCount * headDimension`).
    public var queryWidth: Int { headCount * headDimension }
    /// Width of all KV heads together (`headCountKV * headDimension`).
    public var kvWidth: Int { headCountKV * headDimension }

    /// The sliding window layer `l` attends through, or nil when it sees the whole cache.
    public func window(layer l: Int) -> Int? {
        l < slidingLayers.count && slidingLayers[l] ? slidingWindow : nil
    }

    /// Whether layer `l` is a local layer of a model that interleaves local and global layers
    /// (Gemma 3). Presses leave such layers alone, as kvpress does: they keep their window.
    public func isLocalLayer(_ l: Int) -> Bool {
        window(layer: l) != nil && slidingLayers.contains(false)
    }

    /// Whether a sequence of up to `tokens` positions uses LongRoPE's long factors. The choice is
    /// made once per cache (keys keep the rotation they were stored with), as llama.cpp makes it
    /// once per context from its size; transformers switches per forward call on the current
    /// length, which agrees for every sequence that stays on one side of the original length.
    public func usesLongRoPE(tokens: Int) -> Bool {
        ropeFactorsLong != nil && tokens > (ropeOriginalContextLength ?? contextLength)
    }

    /// The rotary embedding of layer `l`: local layers with their own base are not scaled; `long`
    /// picks LongRoPE's long factors (see `usesLongRoPE`).
    public func rope(layer l: Int, long: Bool = false) -> RoPE {
        if window(layer: l) != nil, let base = ropeFrequencyBaseSliding {
            return RoPE(headDimension: headDimension, dimensionCount: ropeDimensionCount, base: base, style: ropeStyle)
        }
        return RoPE(headDimension: headDimension, dimensionCount: ropeDimensionCount, base: ropeFrequencyBase,
                    scale: ropeScale, style: ropeStyle, factors: long ? ropeFactorsLong : ropeFactorsShort,
                    magnitude: ropeMagnitude)
    }

    /// Reads the hyperparameters of the architecture named in `general.architecture`.
    /// - Throws: `GGUFError` when the architecture is not supported or a key is missing or inconsistent.
    public init(gguf: GGUFFile) throws {
        let arch = try gguf.string(GGUFKeys.architecture)
        guard let family = Architecture.named(arch) else {
            throw GGUFError(path: gguf.path, .unsupportedArchitecture(arch))
        }
        architecture = arch
        name = gguf.metadata[GGUFKeys.name]?.string ?? arch
        embeddingLength = try gguf.int(GGUFKeys.embeddingLength(arch))
        layerCount = try gguf.int(GGUFKeys.blockCount(arch))
        feedForwardLength = try gguf.int(GGUFKeys.feedForwardLength(arch))
        headCount = try gguf.int(GGUFKeys.headCount(arch))
        headCountKV = gguf.metadata[GGUFKeys.headCountKV(arch)]?.int ?? headCount
        contextLength = try gguf.int(GGUFKeys.contextLength(arch))
        rmsEpsilon = Float(try gguf.double(GGUFKeys.rmsEpsilon(arch)))
        ropeFrequencyBase = Float(gguf.metadata[GGUFKeys.ropeFreqBase(arch)]?.double ?? 10_000)
        guard headCount > 0, headCountKV > 0, headCount % headCountKV == 0 else {
            throw GGUFError(path: gguf.path, .invalid("inconsistent head counts: \(headCount) query heads, \(headCountKV) KV heads"))
        }
        guard gguf.metadata[GGUFKeys.keyLength(arch)] != nil || embeddingLength % headCount == 0 else {
            throw GGUFError(path: gguf.path, .invalid("width \(embeddingLength) is not a multiple of \(headCount) heads and \(GGUFKeys.keyLength(arch)) is missing"))
        }
        headDimension = gguf.metadata[GGUFKeys.keyLength(arch)]?.int ?? embeddingLength / headCount
        if let valueLength = gguf.metadata[GGUFKeys.valueLength(arch)]?.int, valueLength != headDimension {
            throw GGUFError(path: gguf.path, .invalid("value heads of \(valueLength) differ from key heads of \(headDimension); kvd needs them equal"))
        }
        ropeDimensionCount = gguf.metadata[GGUFKeys.ropeDimensionCount(arch)]?.int ?? headDimension
        if gguf.metadata[GGUFKeys.ropeScalingType(arch)]?.string == "linear",
           let f = gguf.metadata[GGUFKeys.ropeScalingFactor(arch)]?.double, f > 0 {
            ropeScale = Float(f)
        } else {
            ropeScale = 1
        }
        attentionScale = 1 / Float(headDimension).squareRoot()
        let embedding = try gguf.tensor(GGUFKeys.tokenEmbedding)
        vocabularySize = embedding.rowCount
        tiedEmbeddings = gguf.tensorsByName[GGUFKeys.output] == nil
        guard embedding.rowLength == embeddingLength, headDimension % 2 == 0, ropeDimensionCount % 2 == 0,
              ropeDimensionCount <= headDimension, layerCount > 0, contextLength > 0
        else {
            throw GGUFError(path: gguf.path, .invalid("inconsistent hyperparameters (embedding \(embedding.shape), head dimension \(headDimension), RoPE dimensions \(ropeDimensionCount))"))
        }
        try family.configure(&self, gguf)
        if let w = slidingWindow, w <= 0 || slidingLayers.count != layerCount {
            throw GGUFError(path: gguf.path, .invalid("sliding window \(w) over \(slidingLayers.count) of \(layerCount) layers"))
        }
    }

    /// Sets `slidingWindow` from `<arch>.attention.sliding_window` when the file has a positive one,
    /// with `isSliding(layer)` choosing the layers that use it.
    mutating func readSlidingWindow(_ gguf: GGUFFile, isSliding: (Int) -> Bool) {
        guard let w = gguf.metadata[GGUFKeys.slidingWindow(architecture)]?.int, w > 0 else { return }
        slidingWindow = w
        slidingLayers = (0..<layerCount).map(isSliding)
    }

    /// Architectures whose forward pass kvd implements.
    public static var supportedArchitectures: [String] { Architecture.all.map(\.name) }
}

/// The activation applied to the gate of a gated feed-forward network (`act(gate) · up`).
public enum FeedForwardActivation: String, Codable, Sendable {
    /// SiLU (SwiGLU): llama, qwen, phi3.
    case silu
    /// GELU with the tanh approximation (GeGLU): gemma.
    case geluTanh
}
