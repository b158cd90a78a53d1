/// Unit key and value directions that one KV head of two adjacent layers share (MiniCache's merged
/// entries): each of the two heads keeps only its own key and value magnitude per entry and reads
/// its merged entry `j` as `magnitude × direction j`.
///
/// Rows are stored as the cache stores keys and values (f16 or f32), `width` channels each, with
/// the original position of each row. Immutable once made, so heads, copies and snapshots share it;
/// ``KVCache/byteCount`` counts it once however many heads read it.
public final class SharedKVDirections {
    /// Element type of the stored rows.
    public let storage: KVStorageType
    /// Channels per row (the model's head dimension: merged heads keep every key channel).
    public let width: Int
    /// Rows held.
    public let count: Int
    /// Original position of each row.
    public let positions: [Int32]
    let keys: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer

    /// Stores `count` rows of key and value directions.
    /// - Parameters:
    ///   - keys: `[count, width]` floats (unit vectors; stored as given).
    ///   - values: `[count, width]` floats.
    ///   - positions: the original position of each row.
    public init(storage: KVStorageType, width: Int, keys keyRows: [Float], values valueRows: [Float], positions: [Int32]) {
        precondition(keyRows.count == positions.count * width && valueRows.count == keyRows.count, "rows must be [count, width]")
        self.storage = storage
        self.width = width
        count = positions.count
        self.positions = positions
        let bytes = max(count * width * storage.elementBytes, 1)
        keys = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        values = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        for (rows, base) in [(keyRows, keys), (valueRows, values)] {
            rows.withUnsafeBufferPointer { src in
                switch storage {
                case .f32: base.copyMemory(from: src.baseAddress!, byteCount: src.count * 4)
                case .f16: if !src.isEmpty { Half.fromFloat(src.baseAddress!, base, count: src.count) }
                }
            }
        }
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes held by the key and value rows.
    public var byteCount: Int { count * 2 * width * storage.elementBytes }

    /// A new set of the rows at `indices` (in that order).
    func selecting(_ indices: [Int]) -> SharedKVDirections {
        var k = [Float](), v = [Float]()
        k.reserveCapacity(indices.count * width)
        v.reserveCapacity(indices.count * width)
        for i in indices {
            for c in 0..<width { k.append(key(i, c)); v.append(value(i, c)) }
        }
        return SharedKVDirections(storage: storage, width: width, keys: k, values: v, positions: indices.map { positions[$0] })
    }

    /// Channel `channel` of key direction `row`.
    @inline(__always)
    public func key(_ row: Int, _ channel: Int) -> Float { element(keys, row * width + channel) }

    /// Channel `channel` of value direction `row`.
    @inline(__always)
    public func value(_ row: Int, _ channel: Int) -> Float { element(values, row * width + channel) }

    @inline(__always)
    private func element(_ base: UnsafeMutableRawPointer, _ i: Int) -> Float {
        switch storage {
        case .f32: return base.assumingMemoryBound(to: Float.self)[i]
        case .f16: return Float(base.assumingMemoryBound(to: Float16.self)[i])
        }
    }
}
