/// Applies several presses one after another on each layer (kvpress `ComposedPress`).
///
/// Each press sees what the previous ones kept: keys, values and queries of the kept rows
/// (per KV head), with pruned key channels read as 0. The total ratio is
/// `1 − Π(1 − ratio_i)`. `adakv` inside is refused (heads of different lengths cannot be
/// rescored together), as in kvpress, and so are the presses that compress after the prefill
/// (`kvzip`, `kvcompose`, `fidelity`; kvpress does not compose them either).
///
/// Inner presses run in spec order, e.g. `composed(snapkv:ratio=0.3,think:key_channel_compression_ratio=0.25)`.
public final class ComposedPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let presses: [Press]

    /// - Throws: `PressError.innerPress` when a press inside keeps head-wise budgets or is a ``ContextPress``.
    public init(_ arguments: PressArguments, presses: [Press]) throws {
        if let bad = presses.first(where: { $0 is AdaKVPress || $0 is CriticalAdaKVPress }) {
            throw PressError.innerPress(press: "composed", reason: "cannot contain '\(bad.name)' (head-wise budgets)")
        }
        // Such a press decides after the prefill, over all layers; per layer it would keep everything.
        if let late = presses.first(where: { $0 is ContextPress }) {
            throw PressError.innerPress(press: "composed", reason: "cannot contain '\(late.name)' (it compresses after the prefill)")
        }
        self.arguments = arguments
        self.presses = presses
    }

    public var innerPresses: [Press] { presses }
    public var compressionRatio: Double { 1 - presses.reduce(1.0) { $0 * (1 - $1.compressionRatio) } }

    public func compress(_ input: PressInput) throws {
        var current = input
        for (i, press) in presses.enumerated() {
            if i > 0 {
                let rows = input.cache.map { $0.positions.map { $0 - input.firstPosition } }
                guard Set(rows.map(\.count)).count == 1 else {
                    throw PressError.innerPress(press: name, reason: "cannot run '\(press.name)' after heads kept different lengths")
                }
                current = input.rows(perHead: rows, cache: input.cache)
            }
            try press.compress(current)
        }
    }
}
