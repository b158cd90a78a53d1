import XCTest
@testable import KVModel

/// `Q8Vector`'s two-part quantization against its definition, element by element (the SIMD
/// packing must not reorder or saturate anything): d = max|x|/127, s = x/d,
/// q = round(s), r = clamp(round((s − q)·256), ±127), both rounding half to even.
final class Q8VectorTests: XCTestCase {
    func testBlocksMatchTheDefinitionExactly() {
        var rng = TestRandom(7)
        var x = rng.floats(32 * 40, scale: 3)
        x.replaceSubrange(0..<32, with: [Float](repeating: 0, count: 32))             // an all-zero block
        for i in 32..<64 { x[i] = Float(i - 48) / 8 }                                  // halves: ties to even
        x[70] = -1e-30; x[71] = 1e30                                                   // extremes in one block
        let n = x.count - 5                                                            // a partial last block
        let v = Q8Vector(capacity: x.count)
        x.withUnsafeBufferPointer { v.quantize($0.baseAddress!, count: n) }
        let padded = Array(x[0..<n]) + [Float](repeating: 0, count: 5)
        for b in 0..<(padded.count / 32) {
            let block = padded[(b * 32)..<(b * 32 + 32)]
            let d = block.map(abs).max()! / 127
            let id: Float = d > 0 ? 1 / d : 0
            XCTAssertEqual(v.scales[b], d / 256, "block \(b) scale")
            for (j, value) in block.enumerated() {
                let s = value * id
                let q = s.rounded(.toNearestOrEven)
                let r = max(-127, min(127, ((s - q) * 256).rounded(.toNearestOrEven)))
                XCTAssertEqual(Int(v.qs[b * 32 + j]), Int(q), "block \(b) element \(j) code")
                XCTAssertEqual(Int(v.residuals[b * 32 + j]), Int(r), "block \(b) element \(j) residual")
            }
        }
    }
}
