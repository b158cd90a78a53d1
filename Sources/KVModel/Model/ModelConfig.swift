/// Hyperparameters of a llama-family decoder, read from GGUF metadata (none are hard-coded).
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
    /// Hidden width of the SwiGLU feed-forward network.
    public var feedForwardLength: Int
    /// Query heads per layer.
    public var headCount: Int
    /// Key/value heads per layer (grouped-query attention: `headCount / headCountKV` queries share one KV head).
    public var headCountKV: Int
    /// Width of one attention head.
    public var headDimension: Int
    /// Epsilon of RMSNorm.
    public var rmsEpsilon: Float
    /// RoPE base frequency θ.
    public var ropeFrequencyBase: Float
    /// Number of leading channels of each head that RoPE rotates.
    public var ropeDimensionCount: Int
    /// Linear RoPE scaling factor (1 when absent).
    public var ropeScale: Float
    /// Whether the output projection reuses the token embedding matrix.
    public var tiedEmbeddings: Bool

    /// Query heads per KV head.
    public var groupSize: Int { headCount / headCountKV }
    /// Width of all query heads together (`headCount * headDimension`).
    public var queryWidth: Int { headCount * headDimension }
    /// Width of all KV heads together (`headCountKV * headDimension`).
    public var kvWidth: Int { headCountKV * headDimension }

    /// Reads the hyperparameters of the architecture named in `general.architecture`.
    /// - Throws: `GGUFError` when the architecture is not supported or a key is missing or inconsistent.
    public init(gguf: GGUFFile) throws {
        let arch = try gguf.string(GGUFKeys.architecture)
        guard ModelConfig.supportedArchitectures.contains(arch) else {
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
        guard headCount > 0, headCountKV > 0, headCount % headCountKV == 0, embeddingLength % headCount == 0 else {
            throw GGUFError(path: gguf.path, .invalid("inconsistent head counts: \(headCount) query heads, \(headCountKV) KV heads, width \(embeddingLength)"))
        }
        headDimension = gguf.metadata[GGUFKeys.keyLength(arch)]?.int ?? embeddingLength / headCount
        ropeDimensionCount = gguf.metadata[GGUFKeys.ropeDimensionCount(arch)]?.int ?? headDimension
        if gguf.metadata[GGUFKeys.ropeScalingType(arch)]?.string == "linear",
           let f = gguf.metadata[GGUFKeys.ropeScalingFactor(arch)]?.double, f > 0 {
            ropeScale = Float(f)
        } else {
            ropeScale = 1
        }
        let embedding = try gguf.tensor(GGUFKeys.tokenEmbedding)
        vocabularySize = embedding.rowCount
        tiedEmbeddings = gguf.tensorsByName[GGUFKeys.output] == nil
        guard embedding.rowLength == embeddingLength, headDimension % 2 == 0, ropeDimensionCount <= headDimension,
              layerCount > 0, contextLength > 0
        else {
            throw GGUFError(path: gguf.path, .invalid("inconsistent hyperparameters (embedding \(embedding.shape), head dimension \(headDimension))"))
        }
    }

    /// Architectures whose forward pass kvd implements.
    public static let supportedArchitectures: Set<String> = ["llama"]
}
