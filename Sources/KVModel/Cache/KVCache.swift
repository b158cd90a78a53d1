import KVSpec

/// The key/value cache of a whole model: per layer, per KV head, variable length.
///
/// A cache may be the private TAIL of another (`tail()`): attention then reads the `prefix`
/// cache's entries followed by the tail's own, and appends go to the tail only. Many asks on one
/// compressed context each get a tail, so they run at once without copying or changing it.
///
/// Each head remembers the original position of every entry it holds. `nextPosition` is the
/// position the next appended token takes: it continues after the ORIGINAL number of tokens
/// processed, not after the number kept, so a compressed context answers with the positions the
/// model expects.
public final class KVCache {
    /// `layers[l][h]` is KV head `h` of layer `l`.
    public let layers: [[HeadKVCache]]
    /// Element type of keys and values (of the f16 residual window, when quantized).
    public let storage: KVStorageType
    /// Width of one head.
    public let headDimension: Int
    /// Position of the next token to be appended.
    public var nextPosition: Int = 0
    /// Whether keys are rotated with LongRoPE's long factors (`ModelConfig.usesLongRoPE`); every
    /// token appended later must be rotated the same way.
    public var longRoPE = false
    /// How the cache quantizes old entries; `nil` until `quantize(_:)` (every head shares it).
    public var quantization: KVCacheQuantization? { layers.first?.first?.quantization }

    /// The read-only cache whose entries come before this one's (`tail()`), or `nil`.
    public let prefix: KVCache?

    /// An empty cache for `layerCount` layers of `headCountKV` heads.
    public init(layerCount: Int, headCountKV: Int, headDimension: Int, storage: KVStorageType = .f16) {
        self.storage = storage
        self.headDimension = headDimension
        prefix = nil
        layers = (0..<layerCount).map { _ in
            (0..<headCountKV).map { _ in HeadKVCache(headDimension: headDimension, storage: storage) }
        }
    }

    private init(layers: [[HeadKVCache]], storage: KVStorageType, headDimension: Int, nextPosition: Int, longRoPE: Bool,
                 prefix: KVCache? = nil) {
        self.layers = layers
        self.storage = storage
        self.headDimension = headDimension
        self.nextPosition = nextPosition
        self.longRoPE = longRoPE
        self.prefix = prefix
    }

    /// An empty private tail over this cache: forward passes on it attend over this cache's
    /// entries, then the tail's, and append to the tail only (same positions, key channels,
    /// storage and RoPE factors). This cache must not change while the tail is in use; a tail of a
    /// tail is not supported.
    public func tail() -> KVCache {
        precondition(prefix == nil, "a tail of a tail is not supported")
        let heads = layers.map { $0.map { head -> HeadKVCache in
            let t = HeadKVCache(headDimension: headDimension, storage: storage)
            if let channels = head.keyChannels { t.keepKeyChannels(channels) }
            return t
        } }
        return KVCache(layers: heads, storage: storage, headDimension: headDimension, nextPosition: nextPosition,
                       longRoPE: longRoPE, prefix: self)
    }

    /// Bytes held by stored keys and values (exact, summed over every head of every layer; each
    /// set of shared directions of merged heads counted once).
    public var byteCount: Int { layers.reduce(0) { $0 + $1.reduce(0) { $0 + $1.byteCount } } + sharedDirectionBytes }

    /// Bytes allocated, including positions and spare capacity.
    public var allocatedBytes: Int {
        layers.reduce(0) { $0 + $1.reduce(0) { $0 + $1.allocatedBytes } }
            + sharedDirections.reduce(0) { $0 + $1.byteCount + $1.count * 4 }
    }

    /// Every distinct set of shared directions the merged heads read, in layer and head order.
    public var sharedDirections: [SharedKVDirections] {
        var seen = Set<ObjectIdentifier>()
        return layers.joined().compactMap(\.merged?.directions).filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// Bytes of the shared direction rows, once per set.
    private var sharedDirectionBytes: Int { sharedDirections.reduce(0) { $0 + $1.byteCount } }

    /// Total entries held over all layers and heads.
    public var entryCount: Int { layers.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } } }

    /// Entries per head, averaged over every layer and KV head and rounded (what reports call kept tokens).
    public var meanEntriesPerHead: Int {
        let heads = layers.reduce(0) { $0 + $1.count }
        return heads == 0 ? 0 : Int((Double(entryCount) / Double(heads)).rounded())
    }

    /// Bytes the same tokens would take uncompressed (`tokens` entries in every head, full key width).
    public func uncompressedByteCount(tokens: Int) -> Int {
        tokens * layers.count * (layers.first?.count ?? 0) * 2 * headDimension * storage.elementBytes
    }

    /// Quantizes every head's entries except its residual window (heads compressed by a press,
    /// of any length or key width, included); later appends flush into blocks as they grow.
    /// - Throws: `KVQuantizationError.invalid` when the cache is already quantized or the group
    ///   size does not divide the head dimension.
    public func quantize(_ scheme: KVCacheQuantization) throws {
        if let quantization {
            throw KVQuantizationError.invalid("the cache is already quantized (\(quantization)); quantize an f16 cache")
        }
        if layers.joined().contains(where: { $0.merged != nil }) {
            throw KVQuantizationError.invalid("the cache holds merged layers (minicache); quantize a cache without them")
        }
        try scheme.validate(headDimension: headDimension)
        let heads = layers.flatMap { $0 }
        ThreadPool.shared.parallelFor(heads.count) { range in
            for i in range { heads[i].quantize(scheme) }
        }
    }

    /// A record of every head's state and `nextPosition`, to roll back to later.
    public struct Checkpoint: Sendable, Equatable {
        /// `heads[l][h]`: what head `h` of layer `l` held.
        public let heads: [[HeadKVCache.Mark]]
        /// `nextPosition` at the checkpoint.
        public let nextPosition: Int

        /// `counts[l][h]`: entries head `h` of layer `l` held.
        public var counts: [[Int]] { heads.map { $0.map(\.count) } }
    }

    /// Records the current state (for a quantized cache this copies each head's residual window).
    public func checkpoint() -> Checkpoint {
        Checkpoint(heads: layers.map { $0.map { $0.mark() } }, nextPosition: nextPosition)
    }

    /// Drops everything appended since `checkpoint`, bit-exactly (also when appends flushed
    /// residual entries into new quantized blocks).
    public func rollback(to checkpoint: Checkpoint) {
        for (l, heads) in layers.enumerated() {
            for (h, head) in heads.enumerated() { head.restore(checkpoint.heads[l][h]) }
        }
        nextPosition = checkpoint.nextPosition
    }

    /// An independent deep copy.
    public func copy() -> KVCache {
        KVCache(layers: layers.map { $0.map { $0.copy() } }, storage: storage, headDimension: headDimension,
                nextPosition: nextPosition, longRoPE: longRoPE)
    }
}
