import KVWire
import XCTest

/// The one session-id rule (`SessionID`), which kvctl, kvd and the engine all apply.
final class SessionIDTests: XCTestCase {
    private static let rule = "use 1 to 64 characters from A-Z a-z 0-9 . _ - (not starting with '.')"

    func testAcceptsTheDocumentedAlphabet() throws {
        for id in ["doc1", "a", "Report_2024-11.v2", String(repeating: "x", count: 64), "a..", "a.b.", "-", "_x", "0"] {
            XCTAssertEqual(try SessionID(id).rawValue, id)
        }
    }

    func testRefusesALeadingDot() {
        for id in [".", "..", "..a", ".hidden", "...", ".kvd"] { assertRefused(id) }
    }

    func testRefusesSlashesAndOtherPathCharacters() {
        for id in ["../../etc", "a/b", "/etc/passwd", "a\\b", "a b", "~root", "a:b", "@kvd", "a\nb", "a\0b"] { assertRefused(id) }
    }

    func testRefusesLengthsOutside1To64() {
        for id in ["", String(repeating: "x", count: 65), String(repeating: "x", count: 1000)] { assertRefused(id) }
    }

    /// The length is counted in bytes and the alphabet is ASCII: letters and digits from other
    /// scripts, combining marks and emoji are refused, whatever their length.
    func testRefusesUnicode() {
        for id in ["naïve", "nai\u{0308}ve", "ｆｕｌｌ", "１２３", "Ωmega", "doc🙂", "\u{200B}x"] { assertRefused(id) }
    }

    func testAnIdWithANULSaysSoAndShowsItEscaped() {
        XCTAssertThrowsError(try SessionID("nul\0../../etc/x")) {
            XCTAssertEqual("\($0)", "invalid session id 'nul\\0../../etc/x' (it contains a NUL character): " + Self.rule)
        }
    }

    /// kvd answers the refusal with INVALID_ARGUMENT and the same sentence kvctl prints.
    func testTheWireErrorIsInvalidArgumentWithTheSentence() {
        XCTAssertEqual(InvalidSessionID(id: ".x").wireError, WireError(.invalidArgument, "invalid session id '.x': " + Self.rule))
    }

    private func assertRefused(_ id: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SessionID(id), "'\(id)' must be refused", file: file, line: line) { error in
            XCTAssertEqual(error as? InvalidSessionID, InvalidSessionID(id: id), file: file, line: line)
            XCTAssertTrue("\(error)".hasSuffix(": " + Self.rule), "\(error)", file: file, line: line)
        }
    }
}
