/// How the float attention loops read one stored row: f16, f32, or packed quantized codes
/// (`KVCodeUnpacker`). A static type, so each format gets its own specialised loop.
protocol KVRowFormat {
    /// Eight consecutive elements from channel `c` (a multiple of 8) of the row at `row`.
    static func load8(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float>
    /// Element `c` of the row at `row`.
    static func load1(_ row: UnsafeRawPointer, _ c: Int) -> Float
}

enum F16Rows: KVRowFormat {
    @inline(__always)
    static func load8(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float> { Half.load8(row, c &* 2) }

    @inline(__always)
    static func load1(_ row: UnsafeRawPointer, _ c: Int) -> Float { Half.load(row, c &* 2) }
}

enum F32Rows: KVRowFormat {
    @inline(__always)
    static func load8(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float> {
        row.loadUnaligned(fromByteOffset: c &* 4, as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load1(_ row: UnsafeRawPointer, _ c: Int) -> Float { row.loadUnaligned(fromByteOffset: c &* 4, as: Float.self) }
}
