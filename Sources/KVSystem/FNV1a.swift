/// 64-bit FNV-1a, a small stable hash (the same on every platform and run): the tokenizer's
/// fingerprint and the checksum of saved-session files.
public struct FNV1a {
    /// The hash of everything added so far.
    public var value: UInt64 { state }
    @usableFromInline var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// The hash of `bytes`.
    @inlinable public static func hash<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        var h = FNV1a()
        h.add(bytes)
        return h.value
    }

    /// Adds `bytes` (inlinable, so hashing a whole saved session runs as a tight loop).
    @inlinable public mutating func add<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes {
            state ^= UInt64(b)
            state &*= 0x0000_0100_0000_01B3
        }
    }

    /// Adds the string's UTF-8 and a separator, so `"ab","c"` and `"a","bc"` hash differently.
    public mutating func add(_ string: String) {
        add(string.utf8)
        add(CollectionOfOne(0xFF))  // separator that never occurs in UTF-8
    }

    /// Adds the integer as 8 little-endian bytes.
    public mutating func add(_ int: Int) {
        withUnsafeBytes(of: Int64(int).littleEndian) { add($0) }
    }
}
