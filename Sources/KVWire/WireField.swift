import CKVProto
import CProtobufC

/// One property of `Value` and the protobuf-c field that carries it, named as in
/// `Protos/kvd.proto`: declared once, it serves encoding and decoding. The field is found by name
/// in the message's descriptor (`WireDescriptorTests` round-trips every field of every message).
struct WireField<Value> {
    /// The field's name in the proto.
    let name: String
    /// Its protobuf type, checked against the descriptor's.
    let type: ProtobufCType
    /// Stores the property into the C message (the arena owns what it allocates).
    let write: (Value, UnsafeMutableRawPointer, ProtobufCFieldDescriptor, CArena) -> Void
    /// Sets the property from the C message.
    let read: (inout Value, UnsafeRawPointer, ProtobufCFieldDescriptor) throws -> Void

    /// A `uint32`, `uint64`, `double` or `float`, as the Swift type of the same width.
    static func number<T: WireNumber>(_ name: String, _ key: WritableKeyPath<Value, T>) -> Self {
        Self(name: name, type: T.protobufType,
             write: { v, m, f, _ in m.storeBytes(of: v[keyPath: key], toByteOffset: Int(f.offset), as: T.self) },
             read: { v, m, f in v[keyPath: key] = m.load(fromByteOffset: Int(f.offset), as: T.self) })
    }

    /// A `bool` (protobuf-c's `protobuf_c_boolean`, an `int`).
    static func bool(_ name: String, _ key: WritableKeyPath<Value, Bool>) -> Self {
        Self(name: name, type: PROTOBUF_C_TYPE_BOOL,
             write: { v, m, f, _ in m.storeBytes(of: v[keyPath: key] ? 1 : 0, toByteOffset: Int(f.offset), as: protobuf_c_boolean.self) },
             read: { v, m, f in v[keyPath: key] = m.load(fromByteOffset: Int(f.offset), as: protobuf_c_boolean.self) != 0 })
    }

    /// A name, id, path or spec kvd writes (no NUL: ids are validated), read as a C string.
    static func name(_ name: String, _ key: WritableKeyPath<Value, String>) -> Self {
        text(name, { $0[keyPath: key] }, { v, p in v[keyPath: key] = WireCodec.str(p) })
    }

    /// An enum sent as its raw value (`state`).
    /// - Throws: `ProtocolError.unknownValue` on reading text that is none of its raw values.
    static func word<E: RawRepresentable>(_ name: String, _ key: WritableKeyPath<Value, E>) -> Self where E.RawValue == String {
        text(name, { $0[keyPath: key].rawValue }, { v, p in v[keyPath: key] = try WireCodec.value(p, name) })
    }

    /// A string field: `get` gives its text, written through `CArena.string`; `set` reads its `char *`.
    private static func text(_ name: String, _ get: @escaping (Value) -> String,
                             _ set: @escaping (inout Value, UnsafeMutablePointer<CChar>?) throws -> Void) -> Self {
        Self(name: name, type: PROTOBUF_C_TYPE_STRING,
             write: { v, m, f, a in
                 let c = a.string(get(v), name, of: m.assumingMemoryBound(to: ProtobufCMessage.self))
                 m.storeBytes(of: c, toByteOffset: Int(f.offset), as: UnsafeMutablePointer<CChar>.self)
             },
             read: { v, m, f in try set(&v, m.load(fromByteOffset: Int(f.offset), as: UnsafeMutablePointer<CChar>?.self)) })
    }

    /// The metrics record as `repeated Metric` (see `WireCodec.metrics`).
    static func metrics(_ name: String, _ key: WritableKeyPath<Value, Metrics>) -> Self {
        Self(name: name, type: PROTOBUF_C_TYPE_MESSAGE,
             write: { v, m, f, a in
                 let (count, items) = WireCodec.metrics(v[keyPath: key], a)
                 m.storeBytes(of: count, toByteOffset: Int(f.quantifier_offset), as: Int.self)
                 m.storeBytes(of: items, toByteOffset: Int(f.offset), as: UnsafeMutablePointer<UnsafeMutablePointer<Kvd__Metric>?>.self)
             },
             read: { v, m, f in
                 v[keyPath: key] = WireCodec.metrics(m.load(fromByteOffset: Int(f.quantifier_offset), as: Int.self),
                                                     m.load(fromByteOffset: Int(f.offset), as: UnsafeMutablePointer<UnsafeMutablePointer<Kvd__Metric>?>?.self))
             })
    }
}

/// A message's fields as one table: each field named once, for `WireCodec`'s encoding and decoding.
struct WireFields<Value> {
    let fields: [WireField<Value>]

    init(_ fields: [WireField<Value>]) {
        self.fields = fields
    }

    /// Writes `value` into the C message at `m`.
    func write(_ value: Value, to m: UnsafeMutableRawPointer, _ a: CArena) {
        for (field, f) in zip(fields, descriptors(m)) { field.write(value, m, f, a) }
    }

    /// Sets `value`'s properties from the C message at `m`.
    func read(_ m: UnsafeRawPointer, into value: inout Value) throws {
        for (field, f) in zip(fields, descriptors(m)) { try field.read(&value, m, f) }
    }

    /// The protobuf-c descriptor of each field, found by name in the message's descriptor.
    private func descriptors(_ m: UnsafeRawPointer) -> [ProtobufCFieldDescriptor] {
        let d = m.assumingMemoryBound(to: ProtobufCMessage.self).pointee.descriptor!
        return fields.map { field in
            // A programming error, the same for every message: the first encode fails every test.
            guard let f = protobuf_c_message_descriptor_get_field_by_name(d, field.name), f.pointee.type == field.type else {
                preconditionFailure("\(String(cString: d.pointee.name)) has no \(field.type) field '\(field.name)' (see Protos/kvd.proto)")
            }
            return f.pointee
        }
    }
}

/// A Swift number stored as it is in a protobuf-c field of `protobufType`.
protocol WireNumber {
    static var protobufType: ProtobufCType { get }
}

extension UInt32: WireNumber { static var protobufType: ProtobufCType { PROTOBUF_C_TYPE_UINT32 } }
extension UInt64: WireNumber { static var protobufType: ProtobufCType { PROTOBUF_C_TYPE_UINT64 } }
extension Double: WireNumber { static var protobufType: ProtobufCType { PROTOBUF_C_TYPE_DOUBLE } }
extension Float: WireNumber { static var protobufType: ProtobufCType { PROTOBUF_C_TYPE_FLOAT } }
