/// The cached keys and values of one KV head of one layer.
///
/// Entries are stored contiguously: keys `[count, keyDimension]`, values `[count, valueDimension]`,
/// and beside them the original token position of each entry. Heads are independent, so different
/// heads may hold different numbers of entries (head-wise budgets really free memory).
///
/// A head may keep only some key channels (`keyChannels`): its stored keys are then narrower and
/// attention gathers the matching query channels first.
///
/// A quantized head (`quantize(_:)`) holds its oldest `quantizedCount` entries in
/// `quantizedBlocks` and the rest, the residual window, in the f16/f32 buffers; entry indices run
/// over both, quantized first. Appends go to the residual and flush its oldest `groupSize`
/// entries into a new block whenever it reaches `residualLength + groupSize` entries.
///
/// A merged head (MiniCache, `merge(_:keyMagnitudes:valueMagnitudes:retaining:)`) holds its first
/// `mergedCount` entries as directions shared with the same head of an adjacent layer, scaled by
/// its own magnitudes (`merged`), and the rest in the f16/f32 buffers. A head is never both.
public final class HeadKVCache {
    /// Element type of the stored keys and values (of the residual window, when quantized).
    public let storage: KVStorageType
    /// Width of a full key or value vector (the model's head dimension).
    public let headDimension: Int
    /// Indices of the key channels kept, ascending; `nil` means all `headDimension` channels.
    public private(set) var keyChannels: [Int]?
    /// Number of entries held.
    public internal(set) var count: Int = 0
    /// Entries that fit in the f16/f32 buffers before they grow.
    public private(set) var capacity: Int = 0
    /// How old entries are quantized; `nil` for a plain head.
    public internal(set) var quantization: KVCacheQuantization?
    /// The quantized entries (`0..<quantizedCount`), when quantized.
    /// (Mutated in place, no observers: an observer would copy every array on each flush.)
    public internal(set) var quantizedBlocks: QuantizedKVBlocks?
    /// Entries held in quantized blocks; the f16/f32 buffers hold entries `residualStart..<count`.
    @inline(__always)
    public var quantizedCount: Int { quantizedBlocks?.rowCount ?? 0 }
    /// The merged entries (`0..<mergedCount`), when merged.
    public internal(set) var merged: MergedKVEntries?
    /// Entries read from shared directions.
    @inline(__always)
    public var mergedCount: Int { merged?.count ?? 0 }
    /// Index of the first entry in the f16/f32 buffers (after the quantized or merged entries).
    @inline(__always)
    public var residualStart: Int { quantizedCount + mergedCount }

    private(set) var keys: UnsafeMutableRawPointer?
    private(set) var values: UnsafeMutableRawPointer?
    private(set) var positionBuffer: UnsafeMutablePointer<Int32>?

    /// Width of a stored key (`keyChannels.count`, or `headDimension`).
    public var keyDimension: Int { keyChannels?.count ?? headDimension }
    /// Width of a stored value.
    public var valueDimension: Int { headDimension }
    /// Entries in the f16/f32 buffers (all of them for a plain head).
    public var residualCount: Int { count - residualStart }

    /// Creates an empty head.
    public init(headDimension: Int, storage: KVStorageType) {
        self.headDimension = headDimension
        self.storage = storage
    }

    deinit {
        keys?.deallocate()
        values?.deallocate()
        positionBuffer?.deallocate()
    }

    /// Bytes held by the stored keys and values of the `count` entries (what compression saves):
    /// `QuantizedKVBlocks.byteCount`, plus 8 bytes of magnitudes per merged entry, plus
    /// `residualCount × (keyDimension + valueDimension) × elementBytes`. Shared directions are not
    /// included: ``KVCache/byteCount`` counts them once per pair.
    public var byteCount: Int {
        (quantizedBlocks?.byteCount ?? 0) + mergedCount * MergedKVEntries.bytesPerEntry
            + residualCount * (keyDimension + valueDimension) * storage.elementBytes
    }

    /// Bytes allocated for keys, values and positions, including spare capacity (shared directions excluded).
    public var allocatedBytes: Int {
        (quantizedBlocks?.allocatedBytes ?? 0) + mergedCount * MergedKVEntries.bytesPerEntry
            + capacity * ((keyDimension + valueDimension) * storage.elementBytes + 4)
    }

    /// The original position of entry `i`.
    public func position(_ i: Int) -> Int {
        if i < quantizedCount { return Int(quantizedBlocks!.positions[i]) }
        if i < residualStart { return Int(merged!.directions.positions[i]) }
        return Int(positionBuffer![i - residualStart])
    }

    /// Original positions of all entries, in storage order.
    public var positions: [Int] { (0..<count).map(position) }

    /// Makes room for at least `needed` entries.
    public func reserve(_ needed: Int) {
        let rows = needed - residualStart
        guard rows > capacity else { return }
        reallocate(to: max(rows, capacity * 2, 64))
    }

    /// Moves the residual entries (at the current key width) into buffers of `newCapacity` entries.
    private func reallocate(to newCapacity: Int) {
        let eb = storage.elementBytes, rows = residualCount
        let newKeys = UnsafeMutableRawPointer.allocate(byteCount: newCapacity * keyDimension * eb, alignment: 64)
        let newValues = UnsafeMutableRawPointer.allocate(byteCount: newCapacity * valueDimension * eb, alignment: 64)
        let newPositions = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        if rows > 0 {
            newKeys.copyMemory(from: keys!, byteCount: rows * keyDimension * eb)
            newValues.copyMemory(from: values!, byteCount: rows * valueDimension * eb)
            newPositions.update(from: positionBuffer!, count: rows)
        }
        keys?.deallocate()
        values?.deallocate()
        positionBuffer?.deallocate()
        keys = newKeys
        values = newValues
        positionBuffer = newPositions
        capacity = newCapacity
    }

    /// Appends `n` entries.
    /// - Parameters:
    ///   - keyRows: `n × headDimension` floats (full-width keys; narrowed here if channels were pruned).
    ///   - valueRows: `n × headDimension` floats.
    ///   - firstPosition: original position of the first entry; the others follow consecutively.
    public func append(keys keyRows: UnsafePointer<Float>, values valueRows: UnsafePointer<Float>, count n: Int, firstPosition: Int) {
        reserve(count + n)
        let kd = keyDimension, hd = headDimension, base = residualCount
        for i in 0..<n {
            let src = keyRows + i * hd
            if let channels = keyChannels {
                for (j, c) in channels.enumerated() { setKey(base + i, j, src[c]) }
            } else {
                store(src, to: keys!, element: (base + i) * kd, n: hd)
            }
            store(valueRows + i * hd, to: values!, element: (base + i) * hd, n: hd)
            positionBuffer![base + i] = Int32(firstPosition + i)
        }
        count += n
        flush()
    }

    @inline(__always)
    private func store(_ src: UnsafePointer<Float>, to base: UnsafeMutableRawPointer, element: Int, n: Int) {
        switch storage {
        case .f32:
            (base.assumingMemoryBound(to: Float.self) + element).update(from: src, count: n)
        case .f16:
            Half.fromFloat(src, base + element * 2, count: n)
        }
    }

    /// Sets channel `channel` of residual row `row`.
    @inline(__always)
    private func setKey(_ row: Int, _ channel: Int, _ v: Float) {
        let i = row * keyDimension + channel
        switch storage {
        case .f32: keys!.assumingMemoryBound(to: Float.self)[i] = v
        case .f16: keys!.assumingMemoryBound(to: Float16.self)[i] = Float16(v)
        }
    }

    /// Key element `channel` (an index into the stored, possibly narrowed, key) of entry `row`.
    @inline(__always)
    public func key(_ row: Int, _ channel: Int) -> Float {
        if row < quantizedCount { return quantizedBlocks!.key(row, channel) }
        if row < residualStart { return merged!.key(row, channel) }
        let i = (row - residualStart) * keyDimension + channel
        switch storage {
        case .f32: return keys!.assumingMemoryBound(to: Float.self)[i]
        case .f16: return Float(keys!.assumingMemoryBound(to: Float16.self)[i])
        }
    }

    /// Value element `channel` of entry `row`.
    @inline(__always)
    public func value(_ row: Int, _ channel: Int) -> Float {
        if row < quantizedCount { return quantizedBlocks!.value(row, channel) }
        if row < residualStart { return merged!.value(row, channel) }
        let i = (row - residualStart) * valueDimension + channel
        switch storage {
        case .f32: return values!.assumingMemoryBound(to: Float.self)[i]
        case .f16: return Float(values!.assumingMemoryBound(to: Float16.self)[i])
        }
    }

    /// Overwrites value `row` with `valueDimension` floats (used by presses that merge evicted values).
    /// A quantized row is re-quantized per token; a merged row (shared with another layer) cannot be set.
    public func setValue(_ row: Int, _ src: UnsafePointer<Float>) {
        precondition(row < count && (row < quantizedCount || row >= residualStart), "merged entries are read-only")
        if row < quantizedCount {
            quantizedBlocks!.setValue(row, src)
        } else {
            store(src, to: values!, element: (row - residualStart) * valueDimension, n: valueDimension)
        }
    }

    /// Copies entry `row`'s key (stored width) into `dst` as floats.
    public func copyKey(_ row: Int, into dst: UnsafeMutablePointer<Float>) {
        for j in 0..<keyDimension { dst[j] = key(row, j) }
    }

    /// Copies entry `row`'s value into `dst` as floats.
    public func copyValue(_ row: Int, into dst: UnsafeMutablePointer<Float>) {
        for j in 0..<valueDimension { dst[j] = value(row, j) }
    }

    /// Keeps only the entries at `indices` (ascending, unique, each `< count`), in that order.
    /// Quantized entries keep their codes (nothing is re-quantized); merged entries keep their
    /// magnitudes (see ``MergedKVEntries/keep(_:)``).
    ///
    /// - Complexity: O(kept × dimension); memory is compacted in place and the spare capacity released.
    public func keep(_ indices: [Int]) {
        let kd = keyDimension, vd = valueDimension, eb = storage.elementBytes, q = residualStart
        let split = indices.firstIndex { $0 >= q } ?? indices.count
        if quantizedBlocks != nil { quantizedBlocks!.keep(Array(indices[..<split])) }
        if merged != nil { merged!.keep(Array(indices[..<split])) }
        var out = 0
        for i in indices[split...] {
            let r = i - q
            precondition(r >= out && i < count, "keep indices must be ascending and in range")
            if r != out {
                (keys! + out * kd * eb).copyMemory(from: keys! + r * kd * eb, byteCount: kd * eb)
                (values! + out * vd * eb).copyMemory(from: values! + r * vd * eb, byteCount: vd * eb)
                positionBuffer![out] = positionBuffer![r]
            }
            out += 1
        }
        count = residualStart + out
        shrinkToFit()
    }

    /// Keeps only the key channels at `channels` (ascending indices into the current stored key),
    /// narrowing every stored key. Later appends store only these channels too.
    public func keepKeyChannels(_ channels: [Int]) {
        precondition(merged == nil, "a merged head keeps every key channel")
        let current = keyChannels ?? Array(0..<headDimension)
        let newChannels = channels.map { current[$0] }
        let oldKD = keyDimension, newKD = channels.count, eb = storage.elementBytes
        if quantizedBlocks != nil { quantizedBlocks!.keepKeyChannels(channels) }
        if let keys {
            for row in 0..<residualCount {
                for (j, c) in channels.enumerated() {
                    (keys + (row * newKD + j) * eb).copyMemory(from: keys + (row * oldKD + c) * eb, byteCount: eb)
                }
            }
        }
        keyChannels = newChannels.count == headDimension ? nil : newChannels
        // Re-home the key buffer at the narrower width so the freed bytes return.
        shrinkToFit(oldKeyDimension: oldKD)
    }

    /// Drops entries from `newCount` on (rolls back appends). Quantized entries past `newCount`
    /// leave their blocks; see `restore(_:)` for an exact rollback across flushes.
    public func truncate(to newCount: Int) {
        precondition(newCount <= count)
        if newCount < quantizedCount { quantizedBlocks!.truncate(rows: newCount) }
        if newCount < residualStart, merged != nil { merged!.keep(Array(0..<newCount)) }
        count = newCount
    }

    /// Releases spare capacity (after compression, so freed memory really returns).
    /// - Parameter oldKeyDimension: the key width the buffers were allocated at, when keys were
    ///   just narrowed in place.
    public func shrinkToFit(oldKeyDimension: Int? = nil) {
        guard capacity > residualCount || (oldKeyDimension ?? keyDimension) != keyDimension else { return }
        reallocate(to: max(residualCount, 1))
    }

    /// An independent copy of this head.
    public func copy() -> HeadKVCache {
        let c = HeadKVCache(headDimension: headDimension, storage: storage)
        c.keyChannels = keyChannels
        c.quantization = quantization
        c.quantizedBlocks = quantizedBlocks
        c.merged = merged
        c.count = residualStart
        c.copyResidual(from: self)
        return c
    }

    /// Replaces this head's residual window (buffers, positions, count) by `other`'s.
    private func copyResidual(from other: HeadKVCache) {
        let rows = other.residualCount, eb = storage.elementBytes
        count = residualStart
        reserve(residualStart + rows)
        if rows > 0 {
            keys!.copyMemory(from: other.keys!, byteCount: rows * keyDimension * eb)
            values!.copyMemory(from: other.values!, byteCount: rows * valueDimension * eb)
            positionBuffer!.update(from: other.positionBuffer!, count: rows)
        }
        count = residualStart + rows
    }
}
