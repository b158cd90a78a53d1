/// A decoder family kvd runs, keyed by `general.architecture`.
///
/// Every family kvd supports is a pre-norm transformer with grouped-query attention and a gated
/// feed-forward network; they differ in a few optional pieces (`Parts`) and in what their metadata
/// means (`configure`: RoPE layout, windows, scales). The forward pass is shared (`Decoder`); each
/// family is declared in its own file, headed by the references it matches.
struct Architecture: Sendable {
    /// Optional pieces of a block.
    struct Parts: OptionSet, Sendable {
        let rawValue: Int
        /// Biases on the q, k and v projections (qwen2).
        static let qkvBias = Parts(rawValue: 1 << 0)
        /// Per-head RMSNorm of queries and keys before RoPE (qwen3, gemma3).
        static let qkNorm = Parts(rawValue: 1 << 1)
        /// RMSNorm after attention and after the feed-forward network, before each residual add (gemma3).
        static let postNorms = Parts(rawValue: 1 << 2)
        /// One `[q | k | v]` matrix instead of three (phi3).
        static let fusedQKV = Parts(rawValue: 1 << 3)
        /// One `[gate | up]` matrix in `ffn_up` instead of two (phi3).
        static let fusedGateUp = Parts(rawValue: 1 << 4)
    }

    /// `general.architecture`.
    let name: String
    /// The optional pieces every block of the family has.
    let parts: Parts
    /// Sets the hyperparameters the common metadata reader does not know.
    let configure: @Sendable (inout ModelConfig, GGUFFile) throws -> Void

    /// Every family kvd runs.
    static let all: [Architecture] = [.llama, .qwen2, .qwen3, .gemma3, .phi3]

    /// The family named `name`, or nil when kvd does not run it.
    static func named(_ name: String) -> Architecture? { all.first { $0.name == name } }
}
