/// How a KV cache stores key and value elements.
public enum KVStorageType: String, Sendable, Codable, CaseIterable {
    /// IEEE half precision: half the memory and bandwidth of `f32` (the default).
    case f16
    /// IEEE single precision.
    case f32

    /// Bytes per stored element.
    public var elementBytes: Int { self == .f16 ? 2 : 4 }
}
