import KVModel
import KVSystem

/// Runs one step of many asks as one forward pass per model (continuous batching).
///
/// Asks join and leave between steps: an ask's first step prefills its question part, the next
/// ones decode a token each; a finished ask simply drops out. The caller chooses which asks share
/// a step (to bound its rows) and owns the scratch memory.
public enum AskBatch {
    /// Steps every unfinished ask in `asks` once.
    ///
    /// Asks whose `shouldStop` says so end first; an ask whose tokens no longer fit its context
    /// window, or whose decoding compression throws, fails alone. Each model's asks run as one
    /// `Model.forward(batch:scratch:)`.
    /// - Parameter scratch: the scratch to run a model's batch on, or `nil` for the model's own
    ///   (shared with `Model.forward`, so serialised with it).
    /// - Returns: the number of asks that ran.
    @discardableResult
    public static func step(_ asks: [SessionAsk], scratch: (Model) -> ForwardScratch? = { _ in nil }) -> Int {
        var byModel: [ObjectIdentifier: [(SessionAsk, BatchedSequence)]] = [:]
        var order: [ObjectIdentifier] = []
        for ask in asks {
            guard let sequence = ask.nextStep() else { continue }
            let key = ObjectIdentifier(ask.session.model)
            if byModel[key] == nil { order.append(key) }
            byModel[key, default: []].append((ask, sequence))
        }
        var ran = 0
        for key in order {
            let group = byModel[key]!
            let model = group[0].0.session.model
            let start = ContinuousClock.now
            let results: [Result<[Float], Error>]
            do {
                results = try model.forward(batch: group.map(\.1), scratch: scratch(model))
            } catch {
                results = group.map { _ in .failure(error) }
            }
            let seconds = start.secondsElapsed
            for (i, (ask, _)) in group.enumerated() { ask.finishStep(results[i], seconds: seconds, batchSize: group.count) }
            ran += group.count
        }
        return ran
    }
}
