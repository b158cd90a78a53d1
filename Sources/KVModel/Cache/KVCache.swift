/// The key/value cache of a whole model: per layer, per KV head, variable length.
///
/// Each head remembers the original position of every entry it holds. `nextPosition` is the
/// position the next appended token takes: it continues after the ORIGINAL number of tokens
/// processed, not after the number kept, so a compressed context answers with the positions the
/// model expects.
public final class KVCache {
    /// `layers[l][h]` is KV head `h` of layer `l`.
    public let layers: [[HeadKVCache]]
    /// Element type of keys and values.
    public let storage: KVStorageType
    /// Width of one head.
    public let headDimension: Int
    /// Position of the next token to be appended.
    public var nextPosition: Int = 0

    /// An empty cache for `layerCount` layers of `headCountKV` heads.
    public init(layerCount: Int, headCountKV: Int, headDimension: Int, storage: KVStorageType = .f16) {
        self.storage = storage
        self.headDimension = headDimension
        layers = (0..<layerCount).map { _ in
            (0..<headCountKV).map { _ in HeadKVCache(headDimension: headDimension, storage: storage) }
        }
    }

    private init(layers: [[HeadKVCache]], storage: KVStorageType, headDimension: Int, nextPosition: Int) {
        self.layers = layers
        self.storage = storage
        self.headDimension = headDimension
        self.nextPosition = nextPosition
    }

    /// Bytes held by stored keys and values (exact, summed over every head of every layer).
    public var byteCount: Int { layers.reduce(0) { $0 + $1.reduce(0) { $0 + $1.byteCount } } }

    /// Bytes allocated, including positions and spare capacity.
    public var allocatedBytes: Int { layers.reduce(0) { $0 + $1.reduce(0) { $0 + $1.allocatedBytes } } }

    /// Total entries held over all layers and heads.
    public var entryCount: Int { layers.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } } }

    /// Bytes the same tokens would take uncompressed (`tokens` entries in every head, full key width).
    public func uncompressedByteCount(tokens: Int) -> Int {
        tokens * layers.count * (layers.first?.count ?? 0) * 2 * headDimension * storage.elementBytes
    }

    /// A record of every head's length and `nextPosition`, to roll back to later.
    public struct Checkpoint: Sendable, Equatable {
        /// `counts[l][h]`: entries head `h` of layer `l` held.
        public let counts: [[Int]]
        /// `nextPosition` at the checkpoint.
        public let nextPosition: Int
    }

    /// Records the current lengths.
    public func checkpoint() -> Checkpoint {
        Checkpoint(counts: layers.map { $0.map(\.count) }, nextPosition: nextPosition)
    }

    /// Drops everything appended since `checkpoint` (the entries before it are untouched, so this is exact).
    public func rollback(to checkpoint: Checkpoint) {
        for (l, heads) in layers.enumerated() {
            for (h, head) in heads.enumerated() { head.truncate(to: checkpoint.counts[l][h]) }
        }
        nextPosition = checkpoint.nextPosition
    }

    /// An independent deep copy.
    public func copy() -> KVCache {
        KVCache(layers: layers.map { $0.map { $0.copy() } }, storage: storage, headDimension: headDimension, nextPosition: nextPosition)
    }
}
