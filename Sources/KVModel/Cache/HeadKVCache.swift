/// The cached keys and values of one KV head of one layer.
///
/// Entries are stored contiguously: keys `[count, keyDimension]`, values `[count, valueDimension]`,
/// and beside them the original token position of each entry. Heads are independent, so different
/// heads may hold different numbers of entries (head-wise budgets really free memory).
///
/// A head may keep only some key channels (`keyChannels`): its stored keys are then narrower and
/// attention gathers the matching query channels first.
public final class HeadKVCache {
    /// Element type of the stored keys and values.
    public let storage: KVStorageType
    /// Width of a full key or value vector (the model's head dimension).
    public let headDimension: Int
    /// Indices of the key channels kept, ascending; `nil` means all `headDimension` channels.
    public private(set) var keyChannels: [Int]?
    /// Number of entries held.
    public private(set) var count: Int = 0
    /// Entries that fit before the buffers grow.
    public private(set) var capacity: Int = 0

    private(set) var keys: UnsafeMutableRawPointer?
    private(set) var values: UnsafeMutableRawPointer?
    private(set) var positionBuffer: UnsafeMutablePointer<Int32>?

    /// Width of a stored key (`keyChannels.count`, or `headDimension`).
    public var keyDimension: Int { keyChannels?.count ?? headDimension }
    /// Width of a stored value.
    public var valueDimension: Int { headDimension }

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

    /// Bytes held by the stored keys and values of the `count` entries (what compression saves).
    public var byteCount: Int { count * (keyDimension + valueDimension) * storage.elementBytes }

    /// Bytes allocated for keys, values and positions, including spare capacity.
    public var allocatedBytes: Int { capacity * ((keyDimension + valueDimension) * storage.elementBytes + 4) }

    /// The original position of entry `i`.
    public func position(_ i: Int) -> Int { Int(positionBuffer![i]) }

    /// Original positions of all entries, in storage order.
    public var positions: [Int] { (0..<count).map { Int(positionBuffer![$0]) } }

    /// Makes room for at least `needed` entries.
    public func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        reallocate(to: max(needed, capacity * 2, 64))
    }

    /// Moves the `count` entries (at the current key width) into buffers of `newCapacity` entries.
    private func reallocate(to newCapacity: Int) {
        let eb = storage.elementBytes
        let newKeys = UnsafeMutableRawPointer.allocate(byteCount: newCapacity * keyDimension * eb, alignment: 64)
        let newValues = UnsafeMutableRawPointer.allocate(byteCount: newCapacity * valueDimension * eb, alignment: 64)
        let newPositions = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        if count > 0 {
            newKeys.copyMemory(from: keys!, byteCount: count * keyDimension * eb)
            newValues.copyMemory(from: values!, byteCount: count * valueDimension * eb)
            newPositions.update(from: positionBuffer!, count: count)
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
        let kd = keyDimension, hd = headDimension
        for i in 0..<n {
            let src = keyRows + i * hd
            if let channels = keyChannels {
                for (j, c) in channels.enumerated() { setKey(count + i, j, src[c]) }
            } else {
                store(src, to: keys!, element: (count + i) * kd, n: hd)
            }
            store(valueRows + i * hd, to: values!, element: (count + i) * hd, n: hd)
            positionBuffer![count + i] = Int32(firstPosition + i)
        }
        count += n
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
        let i = row * keyDimension + channel
        switch storage {
        case .f32: return keys!.assumingMemoryBound(to: Float.self)[i]
        case .f16: return Float(keys!.assumingMemoryBound(to: Float16.self)[i])
        }
    }

    /// Value element `channel` of entry `row`.
    @inline(__always)
    public func value(_ row: Int, _ channel: Int) -> Float {
        let i = row * valueDimension + channel
        switch storage {
        case .f32: return values!.assumingMemoryBound(to: Float.self)[i]
        case .f16: return Float(values!.assumingMemoryBound(to: Float16.self)[i])
        }
    }

    /// Overwrites value `row` with `valueDimension` floats (used by presses that merge evicted values).
    public func setValue(_ row: Int, _ src: UnsafePointer<Float>) {
        precondition(row < count)
        store(src, to: values!, element: row * valueDimension, n: valueDimension)
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
    ///
    /// - Complexity: O(kept × dimension); memory is compacted in place and the spare capacity released.
    public func keep(_ indices: [Int]) {
        let kd = keyDimension, vd = valueDimension, eb = storage.elementBytes
        var out = 0
        for i in indices {
            precondition(i >= out && i < count, "keep indices must be ascending and in range")
            if i != out {
                (keys! + out * kd * eb).copyMemory(from: keys! + i * kd * eb, byteCount: kd * eb)
                (values! + out * vd * eb).copyMemory(from: values! + i * vd * eb, byteCount: vd * eb)
                positionBuffer![out] = positionBuffer![i]
            }
            out += 1
        }
        count = out
        shrinkToFit()
    }

    /// Keeps only the key channels at `channels` (ascending indices into the current stored key),
    /// narrowing every stored key. Later appends store only these channels too.
    public func keepKeyChannels(_ channels: [Int]) {
        let current = keyChannels ?? Array(0..<headDimension)
        let newChannels = channels.map { current[$0] }
        let oldKD = keyDimension, newKD = channels.count, eb = storage.elementBytes
        if let keys {
            for row in 0..<count {
                for (j, c) in channels.enumerated() {
                    (keys + (row * newKD + j) * eb).copyMemory(from: keys + (row * oldKD + c) * eb, byteCount: eb)
                }
            }
        }
        keyChannels = newChannels.count == headDimension ? nil : newChannels
        // Re-home the key buffer at the narrower width so the freed bytes return.
        shrinkToFit(oldKeyDimension: oldKD)
    }

    /// Drops entries from `newCount` on (rolls back appends).
    public func truncate(to newCount: Int) {
        precondition(newCount <= count)
        count = newCount
    }

    /// Releases spare capacity (after compression, so freed memory really returns).
    /// - Parameter oldKeyDimension: the key width the buffers were allocated at, when keys were
    ///   just narrowed in place.
    public func shrinkToFit(oldKeyDimension: Int? = nil) {
        guard capacity > count || (oldKeyDimension ?? keyDimension) != keyDimension else { return }
        reallocate(to: max(count, 1))
    }

    /// An independent copy of this head.
    public func copy() -> HeadKVCache {
        let c = HeadKVCache(headDimension: headDimension, storage: storage)
        c.keyChannels = keyChannels
        c.reserve(count)
        let eb = storage.elementBytes
        if count > 0 {
            c.keys!.copyMemory(from: keys!, byteCount: count * keyDimension * eb)
            c.values!.copyMemory(from: values!, byteCount: count * valueDimension * eb)
            c.positionBuffer!.update(from: positionBuffer!, count: count)
        }
        c.count = count
        return c
    }
}
