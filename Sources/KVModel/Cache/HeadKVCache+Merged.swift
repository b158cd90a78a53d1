/// A head's merged entries (MiniCache): entry `j` is row `j` of directions shared with the same
/// head of an adjacent layer, scaled by this head's own key and value magnitudes.
public struct MergedKVEntries {
    /// The shared unit directions (rows `0..<count` are this head's entries).
    public private(set) var directions: SharedKVDirections
    /// This head's key magnitude per entry.
    public private(set) var keyMagnitudes: [Float]
    /// This head's value magnitude per entry.
    public private(set) var valueMagnitudes: [Float]

    /// Bytes a head holds per merged entry: its key and value magnitudes (f32).
    public static let bytesPerEntry = 8

    /// Entries held.
    public var count: Int { keyMagnitudes.count }

    @inline(__always)
    func key(_ row: Int, _ channel: Int) -> Float { keyMagnitudes[row] * directions.key(row, channel) }

    @inline(__always)
    func value(_ row: Int, _ channel: Int) -> Float { valueMagnitudes[row] * directions.value(row, channel) }

    /// Keeps the entries at `indices` (ascending, each `< count`). A prefix only shortens the
    /// magnitudes; any other choice copies the kept rows into directions of this head's own
    /// (the other layer still reads the shared ones).
    mutating func keep(_ indices: [Int]) {
        precondition(indices.last.map { $0 < count } ?? true, "keep indices must be in range")
        keyMagnitudes = indices.map { keyMagnitudes[$0] }
        valueMagnitudes = indices.map { valueMagnitudes[$0] }
        if indices != Array(0..<indices.count) { directions = directions.selecting(indices) }
    }
}

extension HeadKVCache {
    /// Replaces this head's entries by `directions.count` merged entries followed by its entries
    /// at `retaining` (ascending indices into its current entries), kept exact.
    ///
    /// The caller (the `minicache` press) computed the directions from this head and the same
    /// head of the adjacent layer, which it merges the same way.
    /// - Parameters:
    ///   - directions: the shared unit directions, one row per merged entry (full head width).
    ///   - keyMagnitudes: this head's key norm for each row of `directions`.
    ///   - valueMagnitudes: this head's value norm for each row.
    ///   - retaining: entries kept unmerged, in this head's own buffers.
    public func merge(_ directions: SharedKVDirections, keyMagnitudes: [Float], valueMagnitudes: [Float], retaining: [Int]) {
        precondition(quantization == nil && merged == nil && keyChannels == nil, "only a plain full-width head can be merged")
        precondition(directions.width == headDimension && keyMagnitudes.count == directions.count
                     && valueMagnitudes.count == directions.count, "one magnitude per shared row")
        keep(retaining)
        merged = MergedKVEntries(directions: directions, keyMagnitudes: keyMagnitudes, valueMagnitudes: valueMagnitudes)
        count += directions.count
    }

    /// Makes this empty head a merged head whose entries are the first `keyMagnitudes.count` rows
    /// of `directions` (restoring a saved cache); the residual is appended afterwards.
    /// - Throws: `KVCacheSnapshotError.corrupt` when the entries do not fit the head.
    func restoreMerged(_ directions: SharedKVDirections, keyMagnitudes: [Float], valueMagnitudes: [Float]) throws {
        guard count == 0, quantization == nil, keyChannels == nil, directions.width == headDimension,
              keyMagnitudes.count <= directions.count, valueMagnitudes.count == keyMagnitudes.count else {
            throw KVCacheSnapshotError.corrupt(reason: "merged entries do not fit their head")
        }
        merged = MergedKVEntries(directions: directions, keyMagnitudes: keyMagnitudes, valueMagnitudes: valueMagnitudes)
        count = keyMagnitudes.count
    }
}
