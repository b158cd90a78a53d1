import XCTest
import KVEngine

final class SessionIDTests: XCTestCase {
    func testAcceptsTheDocumentedAlphabet() throws {
        for id in ["doc1", "a", "Report_2024-11.v2", String(repeating: "x", count: 64), "a..", "a.b."] {
            XCTAssertEqual(try SessionID(id).rawValue, id)
        }
    }

    func testRejectsAnythingThatCouldBecomeAPath() {
        for id in ["", ".", "..", "..a", ".hidden", "...", "../../etc", "a/b", "/etc/passwd", "a b", "naïve", String(repeating: "x", count: 65), "a\0b", "~root"] {
            XCTAssertThrowsError(try SessionID(id), "'\(id)' must be rejected") { error in
                XCTAssertEqual(error as? SessionError, .invalidSessionID(id))
                XCTAssertTrue("\(error)".contains("use 1 to 64 characters from A-Z a-z 0-9 . _ - (not starting with '.')"))
            }
        }
    }

    func testAnIdWithANULSaysSoAndShowsItEscaped() {
        XCTAssertThrowsError(try SessionID("nul\0../../etc/x")) {
            XCTAssertTrue("\($0)".hasPrefix("invalid session id 'nul\\0../../etc/x' (it contains a NUL character): use"), "\($0)")
        }
    }
}
