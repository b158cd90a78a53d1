import Foundation
import KVModel

/// Writes small GGUF files for tests: metadata of any type and tensors with given bytes.
struct GGUFBuilder {
    enum Meta {
        case u32(UInt32), i32(Int32), f32(Float), bool(Bool), string(String), u64(UInt64), f64(Double)
        case u8(UInt8), i8(Int8), u16(UInt16), i16(Int16), i64(Int64)
        case strings([String]), i32s([Int32]), f32s([Float])
        /// A raw type code with no payload (for corrupt files).
        case rawType(UInt32)
    }

    var version: UInt32 = 3
    var magic: [UInt8] = Array("GGUF".utf8)
    var metadata: [(String, Meta)] = []
    var tensors: [(name: String, shape: [UInt64], type: UInt32, data: [UInt8])] = []
    var alignment = 32

    private var out = Data()

    private mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    private mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    private mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }

    private mutating func value(_ m: Meta) {
        switch m {
        case .u8(let v): u32(0); out.append(v)
        case .i8(let v): u32(1); out.append(UInt8(bitPattern: v))
        case .u16(let v): u32(2); withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        case .i16(let v): u32(3); withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        case .u32(let v): u32(4); u32(v)
        case .i32(let v): u32(5); u32(UInt32(bitPattern: v))
        case .f32(let v): u32(6); u32(v.bitPattern)
        case .bool(let v): u32(7); out.append(v ? 1 : 0)
        case .string(let s): u32(8); str(s)
        case .u64(let v): u32(10); u64(v)
        case .i64(let v): u32(11); u64(UInt64(bitPattern: v))
        case .f64(let v): u32(12); u64(v.bitPattern)
        case .strings(let a): u32(9); u32(8); u64(UInt64(a.count)); a.forEach { str($0) }
        case .i32s(let a): u32(9); u32(5); u64(UInt64(a.count)); a.forEach { u32(UInt32(bitPattern: $0)) }
        case .f32s(let a): u32(9); u32(6); u64(UInt64(a.count)); a.forEach { u32($0.bitPattern) }
        case .rawType(let t): u32(t)
        }
    }

    /// The file's bytes.
    mutating func build() -> Data {
        out = Data(magic)
        u32(version)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (k, v) in metadata { str(k); value(v) }
        var offset: UInt64 = 0
        var offsets: [UInt64] = []
        for t in tensors {
            offsets.append(offset)
            offset += UInt64((t.data.count + alignment - 1) / alignment * alignment)
        }
        for (i, t) in tensors.enumerated() {
            str(t.name)
            u32(UInt32(t.shape.count))
            t.shape.forEach { u64($0) }
            u32(t.type)
            u64(offsets[i])
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out.append(contentsOf: t.data)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// Writes the file to a fresh temporary path and returns it.
    mutating func write(_ data: Data? = nil) throws -> String {
        let path = NSTemporaryDirectory() + "kvd-test-\(UUID().uuidString).gguf"
        try (data ?? build()).write(to: URL(fileURLWithPath: path))
        return path
    }
}

extension GGUFBuilder {
    /// A copy of `file` (metadata in file order, every tensor's bytes) with `extra` keys appended,
    /// e.g. a key the converter does not write.
    init(copying file: GGUFFile, adding extra: [(String, Meta)]) {
        func meta(_ v: GGUFValue) -> Meta {
            switch v {
            case .uint8(let x): return .u8(x)
            case .int8(let x): return .i8(x)
            case .uint16(let x): return .u16(x)
            case .int16(let x): return .i16(x)
            case .uint32(let x): return .u32(x)
            case .int32(let x): return .i32(x)
            case .uint64(let x): return .u64(x)
            case .int64(let x): return .i64(x)
            case .float32(let x): return .f32(x)
            case .float64(let x): return .f64(x)
            case .bool(let x): return .bool(x)
            case .string(let x): return .string(x)
            case .array(.string(let a)): return .strings(a)
            case .array(.float32(let a)): return .f32s(a)
            case .array(let a): return .i32s((a.ints ?? []).map { Int32(truncatingIfNeeded: $0) })
            }
        }
        self.init()
        alignment = file.alignment
        metadata = file.metadataKeys.compactMap { k in file.metadata[k].map { (k, meta($0)) } } + extra
        tensors = file.tensors.map { t in
            (t.name, t.shape.map(UInt64.init), t.type.rawValue,
             Array(UnsafeRawBufferPointer(start: file.data(of: t), count: t.byteCount)))
        }
    }
}
