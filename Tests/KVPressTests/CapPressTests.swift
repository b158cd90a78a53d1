import Foundation
import KVModel
import KVPress
import XCTest

/// `cap` (kvpress `CapPress`) against a plain double-precision computation of CAPKV's definition,
/// its sinks, its distinctive preference for unique value directions, and its errors.
final class CapPressTests: XCTestCase {
    /// A synthetic layer whose queries are the interleaved-RoPE rotation of known pre-RoPE queries
    /// `pre` (so the reference never undoes RoPE), at positions `first + t`.
    private func layer(tokens T: Int, first: Int, seed: UInt64) -> (Synthetic, pre: [Double]) {
        let s = Synthetic(tokens: T, seed: seed)
        let D = s.D, base = 10_000.0
        let pre = s.queries.map { Double($0) * 10 }
        for h in 0..<s.H {
            for t in 0..<T {
                for i in 0..<(D / 2) {
                    let angle = Double(first + t) * pow(base, -Double(2 * i) / Double(D))
                    let a = pre[(h * T + t) * D + 2 * i], b = pre[(h * T + t) * D + 2 * i + 1]
                    s.queries[(h * T + t) * D + 2 * i] = Float(a * cos(angle) - b * sin(angle))
                    s.queries[(h * T + t) * D + 2 * i + 1] = Float(a * sin(angle) + b * cos(angle))
                }
            }
        }
        return (s, pre)
    }

    /// CAPKV's scores `[G, T]` computed from the definition: anchor = averaged future rotation of
    /// the mean pre-RoPE query, weights from the clamped cosine, `A = I + Σ (w+ε) v vᵀ` solved by
    /// Gaussian elimination, mean over the GQA group, sinks padded with max + 1.
    private func reference(_ s: Synthetic, pre: [Double], first: Int, tau: Double, future: Int, sink: Int, epsilon: Double) -> [Double] {
        let T = s.T, H = s.H, G = s.G, D = s.D, n = T - sink, group = H / G
        var perHead = [[Double]](repeating: [Double](repeating: 0, count: n), count: H)
        for h in 0..<H {
            let g = h / group
            var mu = [Double](repeating: 0, count: D)
            for t in sink..<T { for c in 0..<D { mu[c] += pre[(h * T + t) * D + c] / Double(n) } }
            var anchor = mu
            for i in 0..<(D / 2) {
                var cm = 0.0, sm = 0.0
                for p in (first + T)..<(first + T + future) {
                    let angle = Double(p) * pow(10_000.0, -Double(2 * i) / Double(D))
                    cm += cos(angle) / Double(future); sm += sin(angle) / Double(future)
                }
                anchor[2 * i] = cm * mu[2 * i] - sm * mu[2 * i + 1]
                anchor[2 * i + 1] = sm * mu[2 * i] + cm * mu[2 * i + 1]
            }
            let an = sqrt(anchor.reduce(0) { $0 + $1 * $1 })
            var logits = [Double](repeating: 0, count: n)
            var v = [[Double]](repeating: [], count: n)
            for j in 0..<n {
                let k = (0..<D).map { Double(s.keys[(g * T + sink + j) * D + $0]) }
                let kn = sqrt(k.reduce(0) { $0 + $1 * $1 })
                let cosine = zip(anchor, k).reduce(0) { $0 + $1.0 * $1.1 } / (an * kn)
                logits[j] = tau * min(max(cosine, -1), 1)
                v[j] = (0..<D).map { Double(s.values[(g * T + sink + j) * D + $0]) }
            }
            let top = logits.max()!
            let w = logits.map { exp($0 - top) }
            var A = [[Double]](repeating: [Double](repeating: 0, count: D), count: D)
            for r in 0..<D {
                A[r][r] = 1
                for c in 0..<D { for j in 0..<n { A[r][c] += (w[j] + epsilon) * v[j][r] * v[j][c] } }
            }
            for j in 0..<n {
                let x = solve(A, v[j])
                perHead[h][j] = w[j] * zip(v[j], x).reduce(0) { $0 + $1.0 * $1.1 }
            }
        }
        var scores = [Double](repeating: 0, count: G * T)
        for g in 0..<G {
            for j in 0..<n { scores[g * T + sink + j] = (0..<group).reduce(0) { $0 + perHead[g * group + $1][j] } / Double(group) }
        }
        let top = (0..<G).flatMap { g in (sink..<T).map { scores[g * T + $0] } }.max()! + 1
        for g in 0..<G { for j in 0..<sink { scores[g * T + j] = top } }
        return scores
    }

    /// `A x = b` by Gaussian elimination with partial pivoting.
    private func solve(_ a: [[Double]], _ b: [Double]) -> [Double] {
        var m = a, y = b
        let n = b.count
        for col in 0..<n {
            let pivot = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }!
            m.swapAt(col, pivot); y.swapAt(col, pivot)
            for r in (col + 1)..<n {
                let f = m[r][col] / m[col][col]
                for c in col..<n { m[r][c] -= f * m[col][c] }
                y[r] -= f * y[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            x[r] = (y[r] - ((r + 1)..<n).reduce(0) { $0 + m[r][$1] * x[$1] }) / m[r][r]
        }
        return x
    }

    func testScoresMatchTheDefinition() throws {
        for (first, tau, future, sink, epsilon) in [(0, 5.0, 512, 4, 1e-6), (7, 2.0, 16, 0, 0.5), (3, 0.0, 1, 2, 0.0)] {
            let (s, pre) = layer(tokens: 40, first: first, seed: 7 + UInt64(first))
            let cap: CapPress = try press("cap:ratio=0.5,tau=\(tau),n_future_positions=\(future),n_sink=\(sink),epsilon=\(epsilon)")
            let got = try s.scores(cap, firstPosition: first)
            let want = reference(s, pre: pre, first: first, tau: tau, future: future, sink: sink, epsilon: epsilon)
            XCTAssertEqual(got.count, want.count)
            let scale = (0..<s.G).flatMap { g in (sink..<s.T).map { abs(want[g * s.T + $0]) } }.max()!
            for i in got.indices {
                XCTAssertEqual(Double(got[i]), want[i], accuracy: 1e-4 * scale, "first \(first) tau \(tau): score \(i)")
            }
        }
    }

    /// A view of consecutive rows (how chunked wrappers read a layer) scores as an input holding
    /// only those rows, at their true positions.
    func testViewScoresAsAnInputOfItsRows() throws {
        let full = Synthetic(tokens: 40, seed: 9)
        let range = 8..<36
        let cap: CapPress = try press("cap:ratio=0.5")
        let viewed = try full.scores(cap, firstPosition: 100, view: range)
        let sliced = try full.slice(range).scores(cap, firstPosition: 100 + range.lowerBound)
        XCTAssertEqual(viewed.count, full.G * range.count)
        for (a, b) in zip(viewed, sliced) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    /// The capacity matrix rewards a value direction no other entry spans: among many entries
    /// with the same value, the one with a new direction stays, and the sinks stay.
    func testKeepsTheUniqueValueDirectionAndTheSinks() throws {
        let s = Synthetic(tokens: 24)
        for g in 0..<2 {
            for t in 0..<24 { s.setKey(g, t, axis(0)); s.setValue(g, t, axis(2)) }
            s.setValue(g, 13, axis(5))
        }
        let heads = try s.run(press("cap:ratio=0.75,n_sink=2"))
        for h in heads {
            XCTAssertEqual(h.count, 6, "Int(24 · 0.25)")
            XCTAssertTrue(h.positions.contains(13), "the unique value direction stays: \(h.positions)")
            XCTAssertTrue([0, 1].allSatisfy(h.positions.contains), "the sinks stay: \(h.positions)")
        }
    }

    func testContextNoLongerThanTheSinksIsRefused() {
        XCTAssertThrowsError(try Synthetic(tokens: 4).run(press("cap:ratio=0.5"))) {
            XCTAssertEqual("\($0)", "press 'cap' needs a context of at least 5 tokens, got 4; use a longer context or smaller window parameters")
        }
        XCTAssertNoThrow(try Synthetic(tokens: 5).run(press("cap:ratio=0.5")))
    }

    func testSpecRoundTripAndBadParameters() throws {
        let cap = try PressSpec.parse("cap:ratio=0.25,tau=2,epsilon=1e-3,gqa_score_agg=max")
        XCTAssertEqual(cap.description, "cap:compression_ratio=0.25,tau=2.0,n_future_positions=512,n_sink=4,epsilon=0.001,gqa_score_agg=max")
        XCTAssertEqual(try PressSpec.parse(cap.description).description, cap.description)
        XCTAssertEqual(try PressSpec.parse("cap").description,
                       "cap:compression_ratio=0.0,tau=5.0,n_future_positions=512,n_sink=4,epsilon=1e-06,gqa_score_agg=mean")
        XCTAssertEqual(specError("cap:tau=-1"), "invalid value '-1' for cap.tau; expected a number ≥ 0.0")
        XCTAssertEqual(specError("cap:epsilon=-0.1"), "invalid value '-0.1' for cap.epsilon; expected a number ≥ 0.0")
        XCTAssertEqual(specError("cap:n_future_positions=0"), "invalid value '0' for cap.n_future_positions; expected an integer ≥ 1")
        XCTAssertEqual(specError("cap:n_sink=-1"), "invalid value '-1' for cap.n_sink; expected an integer ≥ 0")
        XCTAssertEqual(specError("cap(knorm)"), "press 'cap' takes no inner press; write it without parentheses")
    }
}
