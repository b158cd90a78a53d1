import KVSpec
import XCTest

/// "No compression" has one definition, `PressSpec.isNone`, which kvd (`parseUnlessNone`), kvctl
/// (before it checks a spec) and kvbench (`PressChoice`) all ask: `none`, or kvpress's `no_press`.
final class NoPressSpellingTests: XCTestCase {
    func testNoneAndKVPressNoPressMeanNoCompression() {
        for spec in ["", " ", "none", " none ", "no_press", "\tno_press "] {
            XCTAssertTrue(PressSpec.isNone(spec), "'\(spec)'")
        }
        for spec in ["knorm", "nonesuch", "no_pressure", "no press", "none:ratio=0.5", "no_press:ratio=0.5", "adakv(no_press)"] {
            XCTAssertFalse(PressSpec.isNone(spec), "'\(spec)'")
        }
    }

    /// `no_press` is no catalog press: a spec that names it as a press still fails with the valid names.
    func testNoPressIsNotACatalogPress() {
        XCTAssertNil(PressCatalog.entry(PressSpec.kvpressNone))
        XCTAssertThrowsError(try PressCatalog.parse("adakv(no_press)")) { error in
            guard case PressError.unknownPress("no_press", let valid)? = error as? PressError else { return XCTFail("\(error)") }
            XCTAssertEqual(valid, PressCatalog.names)
        }
    }
}
