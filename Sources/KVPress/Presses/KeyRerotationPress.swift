import KVModel

/// After the inner scorer chooses, the kept keys are re-rotated to consecutive positions
/// `0..<n_kept`, as if the pruned tokens had never been there (kvpress `KeyRerotationPress`).
///
/// The cache's heads then hold positions `0..<n_kept`; call `PressHook.finish(_:contextIDs:)` after the
/// prefill so later tokens continue at `n_kept` (kvpress's pipeline does the same).
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Used by StreamingLLM (https://arxiv.org/abs/2309.17453) and FINCH.
public final class KeyRerotationPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let press: ScorerPress

    public init(_ arguments: PressArguments, press: ScorerPress) {
        self.arguments = arguments
        self.press = press
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }

    public func compress(_ input: PressInput) throws {
        guard press.compressionRatio > 0 else { return }
        let scores = try press.score(input)
        Self.rerotate(input, kept: TopK.perHead(scores, heads: input.headCountKV, count: input.tokenCount,
                                                keep: press.keptCount(input.tokenCount)))
    }

    /// Keeps rows `kept[g]` (ascending) of each head, re-rotated to positions `0..<kept[g].count`.
    static func rerotate(_ input: PressInput, kept: [[Int]]) {
        let G = input.headCountKV, D = input.headDimension
        let rope = input.geometry.rope
        let half = input.geometry.ropeDimensionCount / 2
        for g in 0..<G {
            let n = kept[g].count
            var keys = [Float](repeating: 0, count: max(n * D, 1)), values = keys
            for (i, t) in kept[g].enumerated() {
                for c in 0..<D { keys[i * D + c] = input.key(g, t)[c]; values[i * D + c] = input.value(g, t)[c] }
                // Rotate by (new − old) position: RoPE rotations compose additively.
                let delta = Float(i - input.position(t))
                for p in 0..<half {
                    let angle = delta * rope.inverseFrequencies[p]
                    let cs = cosf(angle), sn = sinf(angle)
                    let (ci, cj) = rope.pair(p)
                    let a = keys[i * D + ci], b = keys[i * D + cj]
                    keys[i * D + ci] = a * cs - b * sn
                    keys[i * D + cj] = a * sn + b * cs
                }
            }
            let head = input.cache[g]
            head.truncate(to: 0)
            head.append(keys: keys, values: values, count: n, firstPosition: 0)
            head.shrinkToFit()
        }
    }
}

import Foundation
