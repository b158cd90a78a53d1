/// Reusable scratch buffers for forward passes, grown on demand and never shrunk,
/// so a decode step allocates nothing once the first step has sized them.
final class Workspace {
    enum Slot: Int, CaseIterable {
        case hidden, normed, queries, keys, values, headQueries, headKeys, headValues, attention, projected
        case gate, ropeTables, logits
        case attentionKeys, attentionValues, attentionScores, attentionQuery, attentionPartial
        case attentionColumnSums, attentionOnes
    }

    private var buffers: [UnsafeMutablePointer<Float>?] = Array(repeating: nil, count: Slot.allCases.count)
    private var capacities = [Int](repeating: 0, count: Slot.allCases.count)

    /// A buffer of at least `count` floats for `slot`. Contents are unspecified.
    func buffer(_ slot: Slot, _ count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if capacities[i] < count {
            buffers[i]?.deallocate()
            let n = max(count, capacities[i] * 3 / 2)
            buffers[i] = .allocate(capacity: n)
            capacities[i] = n
        }
        return buffers[i]!
    }

    /// Frees every buffer (they grow again on demand).
    func release() {
        for i in buffers.indices { buffers[i]?.deallocate(); buffers[i] = nil; capacities[i] = 0 }
    }

    /// Bytes currently allocated.
    var byteCount: Int { capacities.reduce(0, +) * 4 }

    deinit { buffers.forEach { $0?.deallocate() } }
}
