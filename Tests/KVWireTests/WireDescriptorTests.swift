import CKVProto
import CProtobufC
import Foundation
import KVWire
import XCTest

/// Every field of every message of `Protos/kvd.proto`, through `WireCodec` both ways, found by
/// walking protobuf-c's descriptors rather than listed by hand: a field the codec does not map, or
/// maps to another, fails here by name.
///
/// For each operation of `kvd.Request` and each body of `kvd.Response`, a C message is built with
/// every field (nested messages' too) set to a value of its own, not the default; it is packed,
/// decoded by `WireCodec` into the Swift types, encoded again by `WireCodec`, unpacked, and
/// compared field by field with what was sent.
final class WireDescriptorTests: XCTestCase {
    /// The proto's messages and their fields (name and number), read from the descriptors of the
    /// committed protoc-c code, are the ones `Protos/kvd.proto` declares: the C code is current and
    /// every message is reachable from `Request` or `Response`.
    func testTheDescriptorsAreThoseOfTheProto() throws {
        let declared = try ProtoFile.messages()
        var walked: [String: Set<String>] = [:]
        func walk(_ d: UnsafePointer<ProtobufCMessageDescriptor>) {
            let name = String(cString: d.pointee.short_name)
            guard walked[name] == nil else { return }
            walked[name] = Set(d.fields.map { "\($0.fieldName) = \($0.id)" })
            for f in d.fields where f.type == PROTOBUF_C_TYPE_MESSAGE { walk(f.messageDescriptor) }
        }
        walk(Descriptors.request)
        walk(Descriptors.response)
        XCTAssertEqual(Set(walked.keys), Set(declared.keys), "messages of Protos/kvd.proto vs the descriptors (run scripts/generate-proto)")
        for (message, fields) in declared {
            XCTAssertEqual(walked[message], fields, "fields of kvd.\(message) (run scripts/generate-proto)")
        }
    }

    func testEveryFieldOfEveryRequestRoundTrips() throws {
        try assertEveryMemberRoundTrips(Descriptors.request, members: 12, path: "kvd.Request") {
            WireCodec.encode(try WireCodec.decodeRequest($0))
        }
    }

    func testEveryFieldOfEveryResponseRoundTrips() throws {
        try assertEveryMemberRoundTrips(Descriptors.response, members: 14, path: "kvd.Response") {
            WireCodec.encode(try WireCodec.decodeResponse($0))
        }
    }

    /// The test itself notices a field the codec drops: a response whose stats lose `job_s` on
    /// the way differs from what was sent, and the difference names the field.
    func testADroppedFieldIsNamed() throws {
        let d = Descriptors.response
        let stats = try XCTUnwrap(d.fields.first { $0.fieldName == "stats" })
        let arena = CMessages()
        let sent = arena.filled(d, oneof: stats.id)
        let decoded = try WireCodec.decodeResponse(arena.packed(sent))
        guard case .stats(var s) = decoded.body else { return XCTFail("not stats: \(decoded.body)") }
        s.jobS = 0
        let back = WireCodec.encode(Response(id: decoded.id, .stats(s)))
        let differences = try CMessages.differences(sent, back, d, path: "kvd.Response")
        XCTAssertEqual(differences.count, 1, "\(differences)")
        XCTAssertTrue(differences.first?.hasPrefix("kvd.Response.stats.job_s: ") == true, "\(differences)")
    }

    /// For each member of `d`'s oneof, a filled message through `roundTrip` (decode, then encode)
    /// comes back as it was sent.
    private func assertEveryMemberRoundTrips(_ d: UnsafePointer<ProtobufCMessageDescriptor>, members: Int, path: String,
                                             _ roundTrip: ([UInt8]) throws -> [UInt8]) throws {
        let oneof = d.fields.filter(\.isOneofMember)
        XCTAssertEqual(oneof.count, members)
        for member in oneof {
            let arena = CMessages()
            let sent = arena.filled(d, oneof: member.id)
            for difference in try CMessages.differences(sent, try roundTrip(arena.packed(sent)), d, path: path) {
                XCTFail("\(difference) (the \(member.fieldName) member)")
            }
        }
    }
}

/// The descriptors of the two top-level messages, at their real addresses (those the nested
/// descriptors point to), read from initialised messages.
private enum Descriptors {
    static let request: UnsafePointer<ProtobufCMessageDescriptor> = {
        var m = Kvd__Request()
        kvd__request__init(&m)
        return m.base.descriptor
    }()
    static let response: UnsafePointer<ProtobufCMessageDescriptor> = {
        var m = Kvd__Response()
        kvd__response__init(&m)
        return m.base.descriptor
    }()
}

extension UnsafePointer where Pointee == ProtobufCMessageDescriptor {
    fileprivate var fields: [ProtobufCFieldDescriptor] {
        (0..<Int(pointee.n_fields)).map { pointee.fields[$0] }
    }
}

extension ProtobufCFieldDescriptor {
    fileprivate var fieldName: String { String(cString: name) }
    fileprivate var isOneofMember: Bool { flags & PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue != 0 }
    fileprivate var isRepeated: Bool { label == PROTOBUF_C_LABEL_REPEATED }
    fileprivate var messageDescriptor: UnsafePointer<ProtobufCMessageDescriptor> {
        descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
    }
}

/// C messages built field by field from their descriptors, freed with the arena.
private final class CMessages {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit { blocks.forEach { free($0) } }

    private func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        let p = calloc(1, max(bytes, 1))!
        blocks.append(p)
        return p
    }

    /// A message of `d` with every field set to its own value (`oneof`: the member to set).
    func filled(_ d: UnsafePointer<ProtobufCMessageDescriptor>, oneof: UInt32? = nil, index: Int = 0) -> UnsafeMutableRawPointer {
        let m = allocate(d.pointee.sizeof_message)
        protobuf_c_message_init(d, m)
        let message = String(cString: d.pointee.short_name)
        for f in d.fields {
            if f.isOneofMember {
                guard f.id == oneof else { continue }
                m.storeBytes(of: f.id, toByteOffset: Int(f.quantifier_offset), as: UInt32.self)
            }
            if f.isRepeated {
                let count = 2
                let size = Self.size(of: f)
                let items = allocate(size * count)
                for i in 0..<count { store(value(f, message: message, index: i), at: items + i * size, f) }
                m.storeBytes(of: count, toByteOffset: Int(f.quantifier_offset), as: Int.self)
                m.storeBytes(of: items, toByteOffset: Int(f.offset), as: UnsafeMutableRawPointer.self)
            } else {
                store(value(f, message: message, index: index), at: m + Int(f.offset), f)
            }
        }
        return m
    }

    /// Protobuf bytes of the message at `m`.
    func packed(_ m: UnsafeMutableRawPointer) -> [UInt8] {
        let message = m.assumingMemoryBound(to: ProtobufCMessage.self)
        let n = protobuf_c_message_get_packed_size(message)
        var bytes = [UInt8](repeating: 0, count: n)
        _ = bytes.withUnsafeMutableBufferPointer { protobuf_c_message_pack(message, $0.baseAddress!) }
        return bytes
    }

    private enum Value {
        case integer(UInt64), real(Double), text(String), message(UnsafeMutableRawPointer)
    }

    /// The value a field gets: distinct within its message, never the default, and valid where
    /// the Swift side reads more than bytes (enum words, metric names, whole counts).
    private func value(_ f: ProtobufCFieldDescriptor, message: String, index: Int) -> Value {
        switch (message, f.fieldName) {
        case ("Metric", "name"): return .text(Metrics.names[index])
        case ("Metric", "value"): return .real(Double(index + 1))
        case ("AskResponse", "finish_reason"): return .text(FinishReason.maxNewTokens.rawValue)
        case ("SessionInfo", "state"): return .text(SessionState.busy.rawValue)
        default: break
        }
        switch f.type {
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_UINT64: return .integer(UInt64(1000 + 10 * f.id) + UInt64(index))
        case PROTOBUF_C_TYPE_BOOL: return .integer(1)
        case PROTOBUF_C_TYPE_ENUM:
            let e = f.descriptor.assumingMemoryBound(to: ProtobufCEnumDescriptor.self).pointee
            return .integer(UInt64(e.values[Int(e.n_values) - 1].value))
        case PROTOBUF_C_TYPE_DOUBLE, PROTOBUF_C_TYPE_FLOAT: return .real(Double(f.id) + 0.25 + Double(index))
        case PROTOBUF_C_TYPE_STRING: return .text("\(message).\(f.fieldName)#\(index)")
        case PROTOBUF_C_TYPE_MESSAGE: return .message(filled(f.messageDescriptor, index: index))
        default: preconditionFailure("kvd.\(message).\(f.fieldName): this test does not fill protobuf type \(f.type.rawValue); teach it")
        }
    }

    private func store(_ v: Value, at p: UnsafeMutableRawPointer, _ f: ProtobufCFieldDescriptor) {
        switch (v, f.type) {
        case (.integer(let n), PROTOBUF_C_TYPE_UINT64): p.storeBytes(of: n, as: UInt64.self)
        case (.integer(let n), PROTOBUF_C_TYPE_UINT32), (.integer(let n), PROTOBUF_C_TYPE_ENUM): p.storeBytes(of: UInt32(n), as: UInt32.self)
        case (.integer(let n), PROTOBUF_C_TYPE_BOOL): p.storeBytes(of: Int32(n), as: Int32.self)
        case (.real(let x), PROTOBUF_C_TYPE_DOUBLE): p.storeBytes(of: x, as: Double.self)
        case (.real(let x), PROTOBUF_C_TYPE_FLOAT): p.storeBytes(of: Float(x), as: Float.self)
        case (.text(let s), _):
            let bytes = Array(s.utf8CString)
            let c = allocate(bytes.count)
            c.copyMemory(from: bytes, byteCount: bytes.count)
            p.storeBytes(of: c, as: UnsafeMutableRawPointer.self)
        case (.message(let m), _): p.storeBytes(of: m, as: UnsafeMutableRawPointer.self)
        default: preconditionFailure("kvd field \(f.fieldName): value \(v) does not fit type \(f.type.rawValue)")
        }
    }

    /// Bytes one element of field `f` takes in a C array or struct.
    private static func size(of f: ProtobufCFieldDescriptor) -> Int {
        switch f.type {
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_DOUBLE: return 8
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_TYPE_BOOL, PROTOBUF_C_TYPE_ENUM: return 4
        default: return MemoryLayout<UnsafeRawPointer>.size
        }
    }

    /// A field's value read back, as text to compare and to print.
    private static func read(_ p: UnsafeRawPointer, _ f: ProtobufCFieldDescriptor) -> String {
        switch f.type {
        case PROTOBUF_C_TYPE_UINT64: return String(p.load(as: UInt64.self))
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_ENUM: return String(p.load(as: UInt32.self))
        case PROTOBUF_C_TYPE_BOOL: return String(p.load(as: Int32.self))
        case PROTOBUF_C_TYPE_DOUBLE: return String(p.load(as: Double.self))
        case PROTOBUF_C_TYPE_FLOAT: return String(p.load(as: Float.self))
        case PROTOBUF_C_TYPE_STRING:
            return p.load(as: UnsafePointer<CChar>?.self).map { "'" + String(cString: $0) + "'" } ?? "(null)"
        default: preconditionFailure("not a scalar: \(f.fieldName)")
        }
    }

    /// Every field of `sent` (a message of `d`) whose value differs in the message `back` holds,
    /// as `path.field: sent X, got Y`.
    static func differences(_ sent: UnsafeRawPointer, _ back: [UInt8], _ d: UnsafePointer<ProtobufCMessageDescriptor>,
                            path: String) throws -> [String] {
        guard let m = back.withUnsafeBufferPointer({ protobuf_c_message_unpack(d, nil, $0.count, $0.baseAddress) }) else {
            throw ProtocolError.malformedMessage(bytes: back.count)
        }
        defer { protobuf_c_message_free_unpacked(m, nil) }
        return differences(sent, UnsafeRawPointer(m), d, path: path)
    }

    private static func differences(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ d: UnsafePointer<ProtobufCMessageDescriptor>,
                                    path: String) -> [String] {
        var out: [String] = []
        for f in d.fields {
            let here = "\(path).\(f.fieldName)"
            if f.isOneofMember {
                let (ca, cb) = (a.load(fromByteOffset: Int(f.quantifier_offset), as: UInt32.self),
                                b.load(fromByteOffset: Int(f.quantifier_offset), as: UInt32.self))
                if ca != f.id && cb != f.id { continue }
                if ca != cb { out.append("\(here): sent as the oneof member \(ca == f.id), got back \(cb == f.id)"); continue }
            }
            let (pa, pb) = (a + Int(f.offset), b + Int(f.offset))
            if f.isRepeated {
                let (na, nb) = (a.load(fromByteOffset: Int(f.quantifier_offset), as: Int.self),
                                b.load(fromByteOffset: Int(f.quantifier_offset), as: Int.self))
                let (ia, ib) = (pa.load(as: UnsafeRawPointer?.self), pb.load(as: UnsafeRawPointer?.self))
                if f.type == PROTOBUF_C_TYPE_MESSAGE && String(cString: f.messageDescriptor.pointee.short_name) == "Metric" {
                    // Metrics travel as the whole record by name: what was sent must come back, beside zeros.
                    let (sa, sb) = (metrics(ia, na), metrics(ib, nb).filter { $0.value != 0 })
                    if sa != sb { out.append("\(here): sent \(sa.sorted { $0.key < $1.key }), got back \(sb.sorted { $0.key < $1.key })") }
                    continue
                }
                guard na == nb else { out.append("\(here): sent \(na) items, got back \(nb)"); continue }
                for i in 0..<na {
                    if f.type == PROTOBUF_C_TYPE_MESSAGE {
                        let (ea, eb) = (ia!.load(fromByteOffset: i * 8, as: UnsafeRawPointer.self), ib!.load(fromByteOffset: i * 8, as: UnsafeRawPointer.self))
                        out += differences(ea, eb, f.messageDescriptor, path: "\(here)[\(i)]")
                    } else {
                        let size = Self.size(of: f)
                        let (va, vb) = (read(ia! + i * size, f), read(ib! + i * size, f))
                        if va != vb { out.append("\(here)[\(i)]: sent \(va), got back \(vb)") }
                    }
                }
            } else if f.type == PROTOBUF_C_TYPE_MESSAGE {
                switch (pa.load(as: UnsafeRawPointer?.self), pb.load(as: UnsafeRawPointer?.self)) {
                case (let ma?, let mb?): out += differences(ma, mb, f.messageDescriptor, path: here)
                case (nil, nil): break
                case (let ma, _): out.append("\(here): sent \(ma == nil ? "no" : "a") message, got back \(ma == nil ? "one" : "none")")
                }
            } else {
                let (va, vb) = (read(pa, f), read(pb, f))
                if va != vb { out.append("\(here): sent \(va), got back \(vb)") }
            }
        }
        return out
    }

    /// `kvd.Metric` items as name → value.
    private static func metrics(_ items: UnsafeRawPointer?, _ count: Int) -> [String: Double] {
        var out: [String: Double] = [:]
        for i in 0..<count {
            let m = items!.load(fromByteOffset: i * 8, as: UnsafePointer<Kvd__Metric>.self).pointee
            out[String(cString: m.name)] = m.value
        }
        return out
    }
}

/// The messages `Protos/kvd.proto` declares, each with its fields as `name = number`.
private enum ProtoFile {
    static func messages() throws -> [String: Set<String>] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Protos/kvd.proto")
        let text = try String(contentsOf: url, encoding: .utf8)
        let messageLine = try NSRegularExpression(pattern: #"^message\s+(\w+)\s*\{"#)
        let fieldLine = try NSRegularExpression(pattern: #"^\s*(?:repeated\s+)?[\w.]+\s+(\w+)\s*=\s*(\d+)\s*;"#)
        var out: [String: Set<String>] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let code = line.components(separatedBy: "//")[0]
            let range = NSRange(code.startIndex..., in: code)
            if let m = messageLine.firstMatch(in: code, range: range) {
                current = String(code[Range(m.range(at: 1), in: code)!])
                out[current!] = []
            } else if code.hasPrefix("}") {
                current = nil
            } else if let current, let m = fieldLine.firstMatch(in: code, range: range) {
                out[current]!.insert("\(code[Range(m.range(at: 1), in: code)!]) = \(code[Range(m.range(at: 2), in: code)!])")
            }
        }
        return out
    }
}
