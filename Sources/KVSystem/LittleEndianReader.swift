/// A bounds-checked little-endian reader over bytes kvd did not write itself in this run (GGUF
/// files, saved sessions): every read checks the remaining length first and returns `nil` instead
/// of reading past the end, so the caller throws its own error and a cut-off or corrupt file can
/// never crash the process.
public struct LittleEndianReader {
    public let bytes: UnsafeRawBufferPointer
    /// Where the next read starts; callers may move it (within `0...bytes.count`).
    public var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Bytes left after `offset`.
    @inlinable public var remaining: Int { bytes.count - offset }

    /// Whether `n` more bytes can be read.
    @inlinable public func has(_ n: Int) -> Bool { n >= 0 && n <= remaining }

    /// The next `n` bytes (advancing past them), or `nil` when fewer remain.
    @inlinable public mutating func take(_ n: Int) -> UnsafeRawBufferPointer? {
        guard has(n) else { return nil }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }

    /// The next little-endian integer, or `nil` when too few bytes remain.
    @inlinable public mutating func read<T: FixedWidthInteger>(_: T.Type) -> T? {
        guard let p = take(MemoryLayout<T>.size) else { return nil }
        return T(littleEndian: p.loadUnaligned(as: T.self))
    }
}
