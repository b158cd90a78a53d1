/// 64-bit FNV-1a, a small stable hash (the same on every platform and run).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes {
            value ^= UInt64(b)
            value &*= 0x0000_0100_0000_01B3
        }
    }

    mutating func add(_ string: String) {
        add(string.utf8)
        add(CollectionOfOne(0xFF))  // separator that never occurs in UTF-8
    }

    mutating func add(_ int: Int) {
        withUnsafeBytes(of: Int64(int).littleEndian) { add($0) }
    }
}
