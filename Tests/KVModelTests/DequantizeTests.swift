import XCTest
@testable import KVModel
import KVTestSupport

final class DequantizeTests: XCTestCase {
    /// Every type: blocks written by the test quantizer dequantize to exactly the values their
    /// integers encode, and the round trip stays within the type's step size.
    func testAllTypesAgainstReferenceQuantizer() {
        var rng = TestRandom(7)
        for type in GGMLType.allCases {
            let count = type.blockSize == 1 ? 100 : type.blockSize * 3
            var x = rng.floats(count, scale: 2)
            if type.blockSize == 32 { for i in 32..<64 { x[i] = 0 } }  // an all-zero block (d = 0)
            let ref = ReferenceQuantizer.quantize(type, x)
            XCTAssertEqual(ref.bytes.count, type.rowBytes(count), "\(type.name) row bytes")
            var out = [Float](repeating: .nan, count: count)
            ref.bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { Dequantize.row(type, from: src.baseAddress!, to: $0.baseAddress!, count: count) }
            }
            var worstExact: Float = 0, worstRoundTrip: Float = 0
            for i in 0..<count {
                worstExact = max(worstExact, abs(out[i] - ref.expected[i]))
                worstRoundTrip = max(worstRoundTrip, abs(out[i] - x[i]))
            }
            XCTAssertLessThanOrEqual(worstExact, 2e-6, "\(type.name): dequantized values differ from the encoded ones")
            let step: Float
            switch type {
            case .f32: step = 0
            case .f16: step = 2e-3
            case .bf16: step = 2e-2
            case .q8_0: step = 2.0 / 127
            case .q6_K: step = 2.0 / 32 * 1.2
            case .q5_0, .q5_1, .q5_K: step = 4.0 / 31 * 1.1
            default: step = 4.0 / 15 * 1.1
            }
            XCTAssertLessThanOrEqual(worstRoundTrip, step, "\(type.name): round-trip error too large")
        }
    }

    /// Hand-built blocks with known values, one per legacy type.
    func testHandBuiltBlocks() {
        // q4_0: d = 0.5, byte j = (j%16) | ((15 − j%16) << 4)  ⇒  x[j] = 0.5·(j − 8), x[j+16] = 0.5·(7 − j).
        var b = [UInt8](repeating: 0, count: 18)
        b[0] = 0x00; b[1] = 0x38  // f16 0.5
        for j in 0..<16 { b[2 + j] = UInt8(j) | UInt8(15 - j) << 4 }
        let q40 = dequant(.q4_0, b, 32)
        for j in 0..<16 {
            XCTAssertEqual(q40[j], 0.5 * Float(j - 8))
            XCTAssertEqual(q40[j + 16], 0.5 * Float(7 - j))
        }
        // q4_1: d = 2, m = −1  ⇒  x = 2q − 1.
        b = [UInt8](repeating: 0, count: 20)
        b[0] = 0x00; b[1] = 0x40; b[2] = 0x00; b[3] = 0xBC  // f16 2.0, −1.0
        for j in 0..<16 { b[4 + j] = UInt8(j) | UInt8(15 - j) << 4 }
        let q41 = dequant(.q4_1, b, 32)
        for j in 0..<16 {
            XCTAssertEqual(q41[j], 2 * Float(j) - 1)
            XCTAssertEqual(q41[j + 16], 2 * Float(15 - j) - 1)
        }
        // q5_0: d = 1, all nibbles 0, qh = 0xFFFF0000 ⇒ first half −16, second half 0.
        b = [UInt8](repeating: 0, count: 22)
        b[1] = 0x3C; b[4] = 0xFF; b[5] = 0xFF
        let q50 = dequant(.q5_0, b, 32)
        XCTAssertEqual(q50[0], -16); XCTAssertEqual(q50[15], -16); XCTAssertEqual(q50[16], 0); XCTAssertEqual(q50[31], 0)
        // q5_1: d = 1, m = 0.5, nibbles 0x21, qh bit 0 and bit 17 ⇒ x[0] = 17.5, x[16] = 18.5, x[1] = 1.5.
        b = [UInt8](repeating: 0, count: 24)
        b[1] = 0x3C; b[3] = 0x38; b[4] = 0x01; b[6] = 0x02
        for j in 0..<16 { b[8 + j] = 0x21 }
        let q51 = dequant(.q5_1, b, 32)
        XCTAssertEqual(q51[0], 17.5); XCTAssertEqual(q51[1], 1.5); XCTAssertEqual(q51[16], 2.5); XCTAssertEqual(q51[17], 18.5)
        // q8_0: d = 0.25, q = j − 16.
        b = [UInt8](repeating: 0, count: 34)
        b[1] = 0x34
        for j in 0..<32 { b[2 + j] = UInt8(bitPattern: Int8(j - 16)) }
        let q80 = dequant(.q8_0, b, 32)
        for j in 0..<32 { XCTAssertEqual(q80[j], 0.25 * Float(j - 16)) }
        // bf16 and f16 of 1.5.
        XCTAssertEqual(dequant(.bf16, [0xC0, 0x3F], 1)[0], 1.5)
        XCTAssertEqual(dequant(.f16, [0x00, 0x3E], 1)[0], 1.5)
    }

    /// The packed 6-bit scales/mins of the k-quants, all four bit positions exercised.
    func testScaleMinK4() {
        var s = [UInt8](repeating: 0, count: 12)
        let sc = [1, 62, 33, 7, 63, 48, 17, 40], mn = [60, 2, 31, 45, 5, 63, 32, 16]
        for j in 0..<8 {
            if j < 4 { s[j] |= UInt8(sc[j]); s[j + 4] |= UInt8(mn[j]) } else {
                s[j + 4] |= UInt8(sc[j] & 0xF) | UInt8(mn[j] & 0xF) << 4
                s[j - 4] |= UInt8(sc[j] >> 4) << 6
                s[j] |= UInt8(mn[j] >> 4) << 6
            }
        }
        s.withUnsafeBytes { p in
            for j in 0..<8 {
                let (a, b) = Dequantize.scaleMinK4(j, p.baseAddress!)
                XCTAssertEqual(a, Float(sc[j]), "scale \(j)")
                XCTAssertEqual(b, Float(mn[j]), "min \(j)")
            }
        }
    }

    func testTensorHelperMatchesRowsOnAnyThreadCount() {
        var rng = TestRandom(11)
        let rows = 37, cols = 96
        let ref = ReferenceQuantizer.quantize(.q4_1, rng.floats(rows * cols))
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threadCount: threads)
            var out = [Float](repeating: .nan, count: rows * cols)
            ref.bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer {
                    Dequantize.tensor(.q4_1, from: src.baseAddress!, to: $0.baseAddress!, rows: rows, rowLength: cols, pool: pool)
                }
            }
            for i in 0..<(rows * cols) { XCTAssertEqual(out[i], ref.expected[i], accuracy: 1e-6) }
        }
    }

    // MARK: the default model

    func testModelEmbeddingRowIsFiniteAndMatchesScalarDecode() throws {
        let f = try TestModel.gguf()
        let info = try f.tensor("token_embd.weight")
        XCTAssertEqual(info.type, .q8_0)
        var row = [Float](repeating: .nan, count: info.rowLength)
        let src = f.data(of: info)
        row.withUnsafeMutableBufferPointer { Dequantize.row(.q8_0, from: src, to: $0.baseAddress!, count: info.rowLength) }
        XCTAssertTrue(row.allSatisfy { $0.isFinite })
        XCTAssertTrue(row.contains { $0 != 0 })
        for i in 0..<info.rowLength {  // scalar decode of block i/32
            let blk = src + (i / 32) * 34
            let d = Float(blk.loadUnaligned(as: Float16.self))
            XCTAssertEqual(row[i], d * Float(blk.load(fromByteOffset: 2 + i % 32, as: Int8.self)))
        }
    }

    func testModelQ4_1RowMatchesScalarDecode() throws {
        let f = try TestModel.gguf()
        let info = try f.tensor("blk.0.attn_q.weight")
        XCTAssertEqual(info.type, .q4_1)
        let rowBytes = info.type.rowBytes(info.rowLength)!
        var row = [Float](repeating: .nan, count: info.rowLength)
        let src = f.data(of: info) + 5 * rowBytes
        row.withUnsafeMutableBufferPointer { Dequantize.row(.q4_1, from: src, to: $0.baseAddress!, count: info.rowLength) }
        for i in 0..<info.rowLength {
            let blk = src + (i / 32) * 20
            let d = Float(blk.loadUnaligned(as: Float16.self)), m = Float(blk.loadUnaligned(fromByteOffset: 2, as: Float16.self))
            let byte = blk.load(fromByteOffset: 4 + (i % 32) % 16, as: UInt8.self)
            let q = i % 32 < 16 ? byte & 0xF : byte >> 4
            XCTAssertEqual(row[i], d * Float(q) + m, accuracy: 1e-7)
        }
    }

    func testModelNormsAreF32Passthrough() throws {
        let f = try TestModel.gguf()
        let info = try f.tensor("blk.0.attn_norm.weight")
        XCTAssertEqual(info.type, .f32)
        let out = Dequantize.tensor(info, in: f)
        let raw = f.data(of: info)
        for i in 0..<info.elementCount { XCTAssertEqual(out[i], raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)) }
    }

    func dequant(_ type: GGMLType, _ bytes: [UInt8], _ count: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer { Dequantize.row(type, from: src.baseAddress!, to: $0.baseAddress!, count: count) }
        }
        return out
    }
}
