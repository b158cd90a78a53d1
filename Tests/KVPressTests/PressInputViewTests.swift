import KVModel
@testable import KVPress
import XCTest

/// A view of consecutive rows (`PressInput.rows(_:)` with a range) reads the parent's buffers in
/// place and must score exactly like an input that holds only those rows, at their true positions.
final class PressInputViewTests: XCTestCase {
    func testViewScoresEqualAnInputOfJustThoseRows() throws {
        let full = Synthetic(tokens: 40, seed: 7)
        let range = 8..<36
        let part = full.slice(range)
        let presses: [ScorerPress] = [
            try press("knorm:ratio=0.5"),
            try press("non_causal_attn:ratio=0.5,chunk_size=8"),
            // Position-dependent: undo RoPE at the rows' true positions.
            try press("leverage:ratio=0.5,sketch_dimension=4,seed=3"),
            try press("expected_attention:ratio=0.5"),
        ]
        for press in presses {
            let viewed = try full.scores(press, firstPosition: 100, view: range)
            let sliced = try part.scores(press, firstPosition: 100 + range.lowerBound)
            XCTAssertEqual(viewed.count, full.G * range.count, press.name)
            for (a, b) in zip(viewed, sliced) { XCTAssertEqual(a, b, accuracy: 1e-5, press.name) }
        }
    }

    func testViewRowsAndPositionFollowTheParent() {
        let full = Synthetic(tokens: 12)
        full.hidden.withUnsafeBufferPointer { h in
            full.queries.withUnsafeBufferPointer { q in
                full.keys.withUnsafeBufferPointer { k in
                    full.values.withUnsafeBufferPointer { v in
                        let input = PressInput(geometry: full.geometry, tokenCount: 12, firstPosition: 5, hidden: h.baseAddress!,
                                               queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!, cache: [])
                        let view = input.rows(3..<10)
                        XCTAssertEqual(view.tokenCount, 7)
                        XCTAssertEqual(view.firstPosition, 8)
                        XCTAssertEqual(view.headRows, 12)
                        XCTAssertNil(view.columnSums)
                        XCTAssertEqual(view.query(2, 0), input.query(2, 3))
                        XCTAssertEqual(view.key(1, 6), input.key(1, 9))
                        XCTAssertEqual(view.value(1, 0), input.value(1, 3))
                        XCTAssertEqual(view.hidden, input.hidden + 3 * full.d)
                    }
                }
            }
        }
    }
}
