#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one tensor lives inside a GGUF file.
public struct GGUFTensorInfo: Sendable {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// Dimensions in ggml order: `shape[0]` is the length of a row (the contiguous dimension).
    public let shape: [Int]
    /// Element type.
    public let type: GGMLType
    /// Byte offset of the data from the start of the file.
    public let fileOffset: Int
    /// Bytes of data.
    public let byteCount: Int

    /// Total number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
    /// Elements per row (`shape[0]`).
    public var rowLength: Int { shape[0] }
    /// Number of rows (product of the other dimensions).
    public var rowCount: Int { shape.dropFirst().reduce(1, *) }
}

/// A memory-mapped GGUF file (versions 2 and 3): its metadata and its tensors.
///
/// The whole file is mapped read-only; tensor data is used in place, never copied.
/// Opening validates the header, every metadata value, every tensor info, and that every
/// tensor lies inside the file, so later code can trust the offsets.
public final class GGUFFile: @unchecked Sendable {
    /// The path the file was opened from (used in error messages).
    public let path: String
    /// GGUF format version (2 or 3).
    public let version: UInt32
    /// All metadata key/value pairs.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// Tensor infos by name.
    public let tensorsByName: [String: GGUFTensorInfo]
    /// Alignment of the tensor data section (`general.alignment`, default 32).
    public let alignment: Int
    /// Size of the file in bytes.
    public let fileSize: Int

    private let mapping: UnsafeMutableRawPointer?

    /// Start of the mapped file.
    public var baseAddress: UnsafeRawPointer { UnsafeRawPointer(mapping!) }

    /// Opens and validates a GGUF file.
    /// - Parameter path: path to a `.gguf` file.
    /// - Throws: `GGUFError` naming the file and the problem.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError(path: path, .cannotOpen(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError(path: path, .cannotOpen(String(cString: strerror(errno)))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw GGUFError(path: path, .cannotOpen("not a regular file")) }
        let size = Int(st.st_size)
        guard size >= 4 else { throw GGUFError(path: path, .truncated("the header")) }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw GGUFError(path: path, .cannotOpen("mmap failed: \(String(cString: strerror(errno)))"))
        }
        self.mapping = map
        self.fileSize = size
        do {
            let parsed = try GGUFFile.parse(base: UnsafeRawPointer(map), size: size, path: path)
            version = parsed.version
            metadata = parsed.metadata
            metadataKeys = parsed.keys
            tensors = parsed.tensors
            alignment = parsed.alignment
            tensorsByName = Dictionary(parsed.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            munmap(map, size)
            throw error
        }
    }

    deinit {
        if let mapping { munmap(mapping, fileSize) }
    }

    /// Pointer to a tensor's data inside the mapping.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        baseAddress + tensor.fileOffset
    }

    /// The tensor named `name`, or a `missingTensor` error.
    public func tensor(_ name: String) throws -> GGUFTensorInfo {
        guard let t = tensorsByName[name] else { throw GGUFError(path: path, .missingTensor("'\(name)' is missing")) }
        return t
    }

    // MARK: - Typed metadata access

    /// Integer metadata, or a `missingKey` error.
    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key]?.int else { throw GGUFError(path: path, .missingKey(key)) }
        return v
    }

    /// Floating-point metadata, or a `missingKey` error.
    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key]?.double else { throw GGUFError(path: path, .missingKey(key)) }
        return v
    }

    /// String metadata, or a `missingKey` error.
    public func string(_ key: String) throws -> String {
        guard let v = metadata[key]?.string else { throw GGUFError(path: path, .missingKey(key)) }
        return v
    }

    /// Array metadata, or a `missingKey` error.
    public func array(_ key: String) throws -> GGUFArray {
        guard let v = metadata[key]?.array else { throw GGUFError(path: path, .missingKey(key)) }
        return v
    }

    // MARK: - Parsing

    private struct Parsed {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var keys: [String]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
    }

    private static func parse(base: UnsafeRawPointer, size: Int, path: String) throws -> Parsed {
        var c = GGUFCursor(base: base, count: size, path: path)
        let magic = try c.read(UInt32.self, "the header")
        guard magic == 0x4655_4747 else { throw GGUFError(path: path, .badMagic) }  // "GGUF" little-endian
        let version = try c.read(UInt32.self, "the header")
        guard version == 2 || version == 3 else { throw GGUFError(path: path, .unsupportedVersion(version)) }
        // A tensor info takes at least 8+4+8+4+8 bytes, a key/value pair at least 8+4+1.
        let tensorCount = try c.readCount(minElementBytes: 32, "the header")
        let kvCount = try c.readCount(minElementBytes: 13, "the header")

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(kvCount)
        for i in 0..<kvCount {
            let key = try c.readString("metadata key #\(i)")
            let type = try c.read(UInt32.self, "metadata key '\(key)'")
            let value = try readValue(&c, type: type, key: key, depth: 0)
            if metadata.updateValue(value, forKey: key) == nil { keys.append(key) }
        }

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.int, v > 0, v & (v - 1) == 0 else {
                throw GGUFError(path: path, .invalid("general.alignment must be a power of two"))
            }
            alignment = v
        }

        struct RawInfo { var name: String; var shape: [Int]; var type: GGMLType; var offset: Int }
        var raw: [RawInfo] = []
        raw.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try c.readString("tensor info #\(i)")
            let nDims = Int(try c.read(UInt32.self, "tensor info '\(name)'"))
            guard (1...4).contains(nDims) else {
                throw GGUFError(path: path, .badTensorShape("tensor '\(name)' has \(nDims) dimensions (1 to 4 allowed)"))
            }
            let dims = try c.readArray(UInt64.self, count: nDims, "tensor info '\(name)'")
            guard dims.allSatisfy({ $0 > 0 && $0 < (1 << 40) }) else {
                throw GGUFError(path: path, .badTensorShape("tensor '\(name)' has dimensions \(dims)"))
            }
            let typeCode = try c.read(UInt32.self, "tensor info '\(name)'")
            guard let type = GGMLType(rawValue: typeCode) else {
                throw GGUFError(path: path, .unsupportedTensorType(typeCode, tensor: name))
            }
            let offset = try c.read(UInt64.self, "tensor info '\(name)'")
            guard offset < UInt64(size) else { throw GGUFError(path: path, .tensorOutOfBounds(name)) }
            raw.append(RawInfo(name: name, shape: dims.map { Int($0) }, type: type, offset: Int(offset)))
        }
        try c.align(to: alignment)
        let dataStart = c.offset

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(raw.count)
        for r in raw {
            let rowLen = r.shape[0]
            guard let rowBytes = r.type.rowBytes(rowLen) else {
                throw GGUFError(path: path, .badTensorShape(
                    "tensor '\(r.name)' has rows of \(rowLen) elements, not a multiple of the \(r.type.name) block size \(r.type.blockSize)"))
            }
            let rows = r.shape.dropFirst().reduce(1, *)
            let (bytes, overflow) = rowBytes.multipliedReportingOverflow(by: rows)
            let start = dataStart + r.offset
            guard !overflow, start <= size, bytes <= size - start else {
                throw GGUFError(path: path, .tensorOutOfBounds(r.name))
            }
            tensors.append(GGUFTensorInfo(name: r.name, shape: r.shape, type: r.type, fileOffset: start, byteCount: bytes))
        }
        return Parsed(version: version, metadata: metadata, keys: keys, tensors: tensors, alignment: alignment)
    }

    private static func readValue(_ c: inout GGUFCursor, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        let what = "metadata value '\(key)'"
        switch type {
        case 0: return .uint8(try c.read(UInt8.self, what))
        case 1: return .int8(try c.read(Int8.self, what))
        case 2: return .uint16(try c.read(UInt16.self, what))
        case 3: return .int16(try c.read(Int16.self, what))
        case 4: return .uint32(try c.read(UInt32.self, what))
        case 5: return .int32(try c.read(Int32.self, what))
        case 6: return .float32(try c.readFloat(what))
        case 7: return .bool(try c.read(UInt8.self, what) != 0)
        case 8: return .string(try c.readString(what))
        case 9: return .array(try readArray(&c, key: key, depth: depth))
        case 10: return .uint64(try c.read(UInt64.self, what))
        case 11: return .int64(try c.read(Int64.self, what))
        case 12: return .float64(try c.readDouble(what))
        default: throw GGUFError(path: c.path, .unknownValueType(type, key: key))
        }
    }

    private static func readArray(_ c: inout GGUFCursor, key: String, depth: Int) throws -> GGUFArray {
        let what = "metadata array '\(key)'"
        guard depth < 4 else { throw GGUFError(path: c.path, .invalid("metadata array '\(key)' is nested too deeply")) }
        let elementType = try c.read(UInt32.self, what)
        let elementBytes: Int
        switch elementType {
        case 0, 1, 7: elementBytes = 1
        case 2, 3: elementBytes = 2
        case 4, 5, 6: elementBytes = 4
        case 8, 10, 11, 12: elementBytes = 8
        case 9: elementBytes = 12
        default: throw GGUFError(path: c.path, .unknownValueType(elementType, key: key))
        }
        let n = try c.readCount(minElementBytes: elementBytes, what)
        switch elementType {
        case 0: return .uint8(try c.readArray(UInt8.self, count: n, what))
        case 1: return .int8(try c.readArray(Int8.self, count: n, what))
        case 2: return .uint16(try c.readArray(UInt16.self, count: n, what))
        case 3: return .int16(try c.readArray(Int16.self, count: n, what))
        case 4: return .uint32(try c.readArray(UInt32.self, count: n, what))
        case 5: return .int32(try c.readArray(Int32.self, count: n, what))
        case 6: return .float32(try c.readArray(UInt32.self, count: n, what).map(Float.init(bitPattern:)))
        case 7: return .bool(try c.readArray(UInt8.self, count: n, what).map { $0 != 0 })
        case 8:
            var out: [String] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try c.readString(what)) }
            return .string(out)
        case 9:
            var out: [GGUFArray] = []
            for _ in 0..<n { out.append(try readArray(&c, key: key, depth: depth + 1)) }
            return .array(out)
        case 10: return .uint64(try c.readArray(UInt64.self, count: n, what))
        case 11: return .int64(try c.readArray(Int64.self, count: n, what))
        default: return .float64(try c.readArray(UInt64.self, count: n, what).map(Double.init(bitPattern:)))
        }
    }
}
