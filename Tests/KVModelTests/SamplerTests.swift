import XCTest
import KVModel

final class SamplerTests: XCTestCase {
    func testGreedyPicksTheLargestLogit() {
        var s = Sampler(.greedy)
        var logits: [Float] = [0.1, 3, -1, 2.9]
        XCTAssertEqual(s.sample(&logits, history: []), 1)
    }

    func testTopKOneIsGreedyAtAnyTemperature() {
        var s = Sampler(SamplingParameters(temperature: 5, topK: 1, seed: 3))
        for _ in 0..<20 {
            var logits: [Float] = [0.1, 3, -1, 2.9]
            XCTAssertEqual(s.sample(&logits, history: []), 1)
        }
    }

    func testTopPKeepsOnlyTheNucleus() {
        // Probabilities ≈ [0.64, 0.24, 0.09, 0.03]: top-p 0.8 keeps the first two.
        var s = Sampler(SamplingParameters(temperature: 1, topP: 0.8, seed: 11))
        var seen = Set<Int>()
        for _ in 0..<300 {
            var logits: [Float] = [3, 2, 1, 0]
            seen.insert(s.sample(&logits, history: []))
        }
        XCTAssertEqual(seen, [0, 1])
    }

    func testRepetitionPenaltyDemotesSeenTokens() {
        var s = Sampler(SamplingParameters(repetitionPenalty: 2))
        var logits: [Float] = [1, 3, 2]
        XCTAssertEqual(s.sample(&logits, history: [1]), 2)
        XCTAssertEqual(logits[1], 1.5)
    }

    func testTemperatureSamplingFollowsTheDistribution() {
        var s = Sampler(SamplingParameters(temperature: 1, seed: 5))
        var counts = [0, 0]
        for _ in 0..<4000 {
            var logits: [Float] = [0, Float(log(3.0))]
            counts[s.sample(&logits, history: [])] += 1
        }
        XCTAssertEqual(Double(counts[1]) / 4000, 0.75, accuracy: 0.03)
    }

    func testValidation() {
        XCTAssertNil(SamplingParameters.greedy.validationError)
        XCTAssertNotNil(SamplingParameters(temperature: -1).validationError)
        XCTAssertNotNil(SamplingParameters(topP: 0).validationError)
        XCTAssertNotNil(SamplingParameters(topK: -2).validationError)
    }
}
