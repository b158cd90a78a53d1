import Foundation
import XCTest
import KVModel

final class FastMathTests: XCTestCase {
    func testExpMatchesLibmAcrossTheRange() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let got = FastMath.exp(x), want = Foundation.exp(x)
            worst = max(worst, abs(got - want) / want)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertEqual(FastMath.exp(-200), 0)
        XCTAssertEqual(FastMath.exp(0), 1, accuracy: 1e-7)
    }

    func testSoftmaxSumsToOneAndKeepsOrder() {
        var v: [Float] = (0..<37).map { Float($0 % 7) - 3.5 }
        v.withUnsafeMutableBufferPointer { FastMath.softmax($0.baseAddress!, $0.count) }
        XCTAssertEqual(v.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertGreaterThan(v[6], v[5])
        XCTAssertEqual(v[0], v[7], accuracy: 1e-7)
    }
}
