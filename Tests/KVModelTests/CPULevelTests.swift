import XCTest
@testable import KVModel

/// `KVD_CPU`: a level the CPU has, `auto` or unset run; anything else is refused by name.
final class CPULevelTests: XCTestCase {
    func testTheSwitchNamesWhatItRefuses() {
        XCTAssertNil(CPULevel.resolve(nil).level)
        XCTAssertNil(CPULevel.resolve("auto").problem)
        XCTAssertEqual(CPULevel.resolve("avx2").level, .avx2)
        XCTAssertEqual(CPULevel.resolve("avx512").problem, "KVD_CPU='avx512' is not a level: expected avx2, avx512vnni or auto")
        if CPULevel.best == .avx512vnni {
            XCTAssertEqual(CPULevel.resolve("avx512vnni").level, .avx512vnni)
        } else {
            XCTAssertEqual(CPULevel.resolve("avx512vnni").problem,
                           "KVD_CPU=avx512vnni, but this CPU lacks AVX-512 F/BW/VL with VNNI (it runs avx2)")
        }
    }
}
