import CProtobufC
#if canImport(Glibc)
import Glibc
#endif

/// Reads string fields with their real length.
///
/// libprotobuf-c unpacks a `string` field into a NUL-terminated `char *` and drops its length, so
/// `"Alice.\0 Correction: Bob"` would arrive as `"Alice."`. This walks the message's own bytes
/// (already validated by protobuf-c) to the field and returns every byte of it, as official
/// runtimes do, and rejects text that is not UTF-8.
struct WireText {
    private let field: ArraySlice<UInt8>?
    private let descriptor: UnsafePointer<ProtobufCMessageDescriptor>

    /// The string fields of the oneof member `member` (its field number, which protobuf-c uses as
    /// the oneof's case value) of the top-level message `bytes`; `descriptor` is the member's.
    ///
    /// protobuf-c keeps only the last occurrence of a oneof member (it does not merge repeated
    /// ones as the specification says), and so does this, to agree with every other field it decoded.
    init(_ bytes: [UInt8], member: UInt32, descriptor: UnsafePointer<ProtobufCMessageDescriptor>) throws {
        field = try Self.fields(bytes[...]).last { $0.0 == member }?.1
        self.descriptor = descriptor
    }

    /// The exact text of the field `name`, whose protobuf-c value is `c`.
    /// - Throws: `ProtocolError.invalidUTF8` when the bytes are not UTF-8;
    ///   `.malformedMessage` when they disagree with what protobuf-c decoded.
    func callAsFunction(_ c: UnsafePointer<CChar>?, _ name: String) throws -> String {
        guard let f = protobuf_c_message_descriptor_get_field_by_name(descriptor, name) else {
            throw ProtocolError.malformedMessage(bytes: 0)
        }
        var raw: ArraySlice<UInt8> = []
        if let field {
            for (number, value) in try Self.fields(field) where number == f.pointee.id {
                raw = value ?? []  // the last occurrence wins
            }
        }
        let decoded = UnsafeBufferPointer(start: UnsafeRawPointer(c)?.assumingMemoryBound(to: UInt8.self), count: c.map { strlen($0) } ?? 0)
        guard raw.prefix(while: { $0 != 0 }).elementsEqual(decoded) else {
            throw ProtocolError.malformedMessage(bytes: raw.count)
        }
        guard let text = String(validating: raw, as: UTF8.self) else { throw ProtocolError.invalidUTF8(field: name) }
        return text
    }

    /// The fields of one message level: number and, for length-delimited ones, the value's bytes.
    private static func fields(_ bytes: ArraySlice<UInt8>) throws -> [(UInt32, ArraySlice<UInt8>?)] {
        var out: [(UInt32, ArraySlice<UInt8>?)] = []
        var i = bytes.startIndex
        func varint() throws -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < bytes.endIndex, shift < 64 {
                let b = bytes[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
            throw ProtocolError.malformedMessage(bytes: bytes.count)
        }
        while i < bytes.endIndex {
            let tag = try varint()
            let number = UInt32(truncatingIfNeeded: tag >> 3)
            switch tag & 7 {
            case 0: _ = try varint(); out.append((number, nil))
            case 1, 5:
                let n = tag & 7 == 1 ? 8 : 4
                guard bytes.endIndex - i >= n else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
                i += n
                out.append((number, nil))
            case 2:
                let n = try varint()
                guard n <= UInt64(bytes.endIndex - i) else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
                out.append((number, bytes[i..<i + Int(n)]))
                i += Int(n)
            default: throw ProtocolError.malformedMessage(bytes: bytes.count)
            }
        }
        return out
    }
}
