import Foundation
import KVTestSupport

extension TestModel {
    /// A golden fixture from this test target's `Fixtures/golden/`.
    static func golden(_ name: String) throws -> Any { try golden(name, in: .module) }
}
