import KVSystem

/// A bounds-checked little-endian reader over the mapped bytes of a GGUF file.
///
/// Every read checks the remaining length first and throws `truncated` instead of reading past the end,
/// so a corrupt or cut-off file can never crash the process.
struct GGUFCursor {
    let base: UnsafeRawPointer
    let path: String
    private var reader: LittleEndianReader

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base
        self.path = path
        reader = LittleEndianReader(UnsafeRawBufferPointer(start: base, count: count))
    }

    var count: Int { reader.bytes.count }
    var offset: Int { reader.offset }
    var remaining: Int { reader.remaining }

    private mutating func take(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawPointer {
        guard let bytes = reader.take(n) else { throw GGUFError(path: path, .truncated(what())) }
        return bytes.baseAddress ?? base
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        guard let value = reader.read(T.self) else { throw GGUFError(path: path, .truncated(what())) }
        return value
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// Reads a count and checks that at least `count * minElementBytes` bytes remain,
    /// so a corrupt count cannot trigger a huge allocation.
    mutating func readCount(minElementBytes: Int, _ what: @autoclosure () -> String) throws -> Int {
        let raw = try read(UInt64.self, what())
        guard raw <= UInt64(Int.max / max(minElementBytes, 1)),
              Int(raw) * minElementBytes <= remaining
        else { throw GGUFError(path: path, .truncated(what())) }
        return Int(raw)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let n = try readCount(minElementBytes: 1, what())
        let p = try take(n, what())
        let bytes = UnsafeRawBufferPointer(start: p, count: n)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads `count` fixed-width values in one pass.
    mutating func readArray<T: FixedWidthInteger>(_: T.Type, count: Int, _ what: @autoclosure () -> String) throws -> [T] {
        let size = MemoryLayout<T>.size
        let p = try take(count * size, what())
        return (0..<count).map { T(littleEndian: p.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
    }

    mutating func align(to alignment: Int) throws {
        let padded = (offset + alignment - 1) / alignment * alignment
        guard padded <= count else { throw GGUFError(path: path, .truncated("the padding before tensor data")) }
        reader.offset = padded
    }
}
