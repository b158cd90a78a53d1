/// One GGUF metadata value.
///
/// Arrays keep their element type so that large ones (a 49k-token vocabulary) stay compact.
public enum GGUFValue: Sendable, Equatable {
    /// 8- and 16-bit integers (GGUF value types 0–3).
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    /// 32- and 64-bit integers (types 4, 5, 10, 11).
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    /// 32- and 64-bit floats (types 6 and 12).
    case float32(Float), float64(Double)
    /// A bool (type 7).
    case bool(Bool)
    /// A UTF-8 string (type 8).
    case string(String)
    /// An array (type 9) of one element type.
    case array(GGUFArray)

    /// The value as an integer, if it is one of the integer types (or a bool).
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }

    /// The value as a floating-point number, if it is numeric.
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    /// The value as a string, if it is one.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value as a bool, if it is one.
    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The value as an array, if it is one.
    public var array: GGUFArray? {
        if case .array(let a) = self { return a }
        return nil
    }
}

/// A typed GGUF metadata array.
public enum GGUFArray: Sendable, Equatable {
    /// Arrays of 8- and 16-bit integers.
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16])
    /// Arrays of 32- and 64-bit integers.
    case uint32([UInt32]), int32([Int32]), uint64([UInt64]), int64([Int64])
    /// Arrays of 32- and 64-bit floats.
    case float32([Float]), float64([Double])
    /// An array of bools.
    case bool([Bool])
    /// An array of strings (a vocabulary, its merges).
    case string([String])
    /// Arrays of arrays (allowed by the format, unused by known models).
    case array([GGUFArray])

    /// Number of elements.
    public var count: Int {
        switch self {
        case .uint8(let a): return a.count
        case .int8(let a): return a.count
        case .uint16(let a): return a.count
        case .int16(let a): return a.count
        case .uint32(let a): return a.count
        case .int32(let a): return a.count
        case .uint64(let a): return a.count
        case .int64(let a): return a.count
        case .float32(let a): return a.count
        case .float64(let a): return a.count
        case .bool(let a): return a.count
        case .string(let a): return a.count
        case .array(let a): return a.count
        }
    }

    /// The elements as strings, if this is a string array.
    public var strings: [String]? {
        if case .string(let a) = self { return a }
        return nil
    }

    /// The elements as integers, if this is an integer array.
    public var ints: [Int]? {
        switch self {
        case .uint8(let a): return a.map { Int($0) }
        case .int8(let a): return a.map { Int($0) }
        case .uint16(let a): return a.map { Int($0) }
        case .int16(let a): return a.map { Int($0) }
        case .uint32(let a): return a.map { Int($0) }
        case .int32(let a): return a.map { Int($0) }
        case .uint64(let a): return a.map { Int(truncatingIfNeeded: $0) }
        case .int64(let a): return a.map { Int($0) }
        case .bool(let a): return a.map { $0 ? 1 : 0 }
        default: return nil
        }
    }

    /// The elements as floats, if this is a numeric array.
    public var floats: [Float]? {
        switch self {
        case .float32(let a): return a
        case .float64(let a): return a.map { Float($0) }
        default: return ints?.map { Float($0) }
        }
    }
}
