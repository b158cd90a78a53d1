import Foundation
import KVEngine
import KVModel
import KVPress
import KVSystem
import KVWire

/// Runs a whole grid of presses over a dataset with one prefill per context
/// (`FanOutPressHook`): each prefill press's cache is compressed from the same forward pass, then
/// every configuration using that press answers the context's questions, each with its own
/// decoding press (an ask compressing while it answers works on its own copy of the cache). Per
/// configuration it yields the same predictions as separate `EvalRunner` runs; the prefill time
/// is shared and reported as such.
public struct SharedPrefillSweep {
    public let model: Model
    public let configurations: [Sweep.Configuration]
    public let options: EvalOptions

    /// - Parameter options: the settings every configuration shares; each configuration's decoding
    ///   choice replaces `options.decoding`.
    public init(model: Model, configurations: [Sweep.Configuration], options: EvalOptions) {
        self.model = model
        self.configurations = configurations
        self.options = options
    }

    /// Predictions and timings per configuration (same order as `configurations`).
    /// - Parameter progress: (contexts done, total contexts).
    /// - Parameter partial: after each context, the predictions so far per configuration (for a
    ///   running tally that survives an interrupted sweep).
    public func run(_ dataset: EvalDataset, progress: (Int, Int) -> Void = { _, _ in },
                    partial: ([[Prediction]]) -> Void = { _ in }) throws -> [([Prediction], EvalRunner.Timing)] {
        var results = configurations.map { _ in ([Prediction](), EvalRunner.Timing()) }
        let runners = configurations.map { EvalRunner(model: model, press: $0.press, options: $0.options(options)) }
        guard let runner = runners.first else { return [] }
        // Each prefill press compresses once per context, whatever decodes after it.
        var choices: [PressChoice] = []
        let prefillOf = configurations.map { c -> Int in
            if let i = choices.firstIndex(of: c.press) { return i }
            choices.append(c.press)
            return choices.count - 1
        }
        var sharedPrefill = 0.0
        for (ci, context) in dataset.contexts.enumerated() {
            let document = runner.truncated(context.context)
            var sessions: [Session?] = choices.map { _ in nil }
            var loadError: String?
            do {
                let text = Session.contextText(document: document, question: context.compressedQuestion)
                let ids = try Session.loadableTokens(model: model, document: text)  // as Session.load checks it
                let pressed = choices.enumerated().filter { !$0.element.isNone }
                let hook = FanOutPressHook(presses: try pressed.map { try $0.element.makePress()! }, model: model, storage: options.storage)
                let cache = Session.makeCache(model: model, storage: options.storage, contextTokens: ids.count)
                let t0 = ContinuousClock.now
                _ = try model.forward(ids, cache: cache, hook: hook, logits: .none)
                try hook.finish(contextIDs: ids, prefilled: cache)
                let total = t0.secondsElapsed
                let compressTotal = hook.targets.reduce(0) { $0 + $1.hook.compressionSeconds }
                let prefill = total - compressTotal
                sharedPrefill += prefill
                func session(_ c: KVCache, _ choice: PressChoice, compress pressSeconds: Double,
                             fidelity: Double?) throws -> Session {
                    model.dropEntriesOutsideWindows(c)  // as Session.load does
                    let q0 = ContinuousClock.now
                    if let q = options.quantization { try c.quantize(q) }
                    let compress = pressSeconds + (options.quantization == nil ? 0 : q0.secondsElapsed)
                    let metrics = Session.loadMetrics(c, contextTokens: ids.count, prefillSeconds: prefill, compressSeconds: compress,
                                                      fidelity: fidelity)
                    return Session(id: try SessionID("sweep-\(ci)"), model: model, cache: c, contextTokenIDs: ids,
                                   pressSpec: choice.isNone ? "none" : choice.spec, compressionRatio: choice.ratio, loadMetrics: metrics,
                                   questionInContext: context.questionInContext)
                }
                for (i, choice) in choices.enumerated() where choice.isNone { sessions[i] = try session(cache, choice, compress: 0, fidelity: 1) }
                for (k, (i, choice)) in pressed.enumerated() {
                    let target = hook.targets[k]
                    sessions[i] = try session(target.cache, choice, compress: target.hook.compressionSeconds, fidelity: target.hook.fidelity)
                }
            } catch {
                loadError = "\(error)"
            }
            for (i, configurationRunner) in runners.enumerated() {
                var (preds, timing) = results[i]
                let session = sessions[prefillOf[i]]
                let before = ContinuousClock.now
                configurationRunner.answer(context, session: session, loadError: loadError, into: &preds, timing: &timing)
                timing.wallSeconds += before.secondsElapsed + (session.map { $0.loadMetrics.compressMs / 1000 } ?? 0)
                results[i] = (preds, timing)
            }
            partial(results.map(\.0))
            progress(ci + 1, dataset.contexts.count)
        }
        // Each configuration is charged the shared prefill too, so wall_seconds reads as "what this
        // configuration would cost alone"; the sweep's real wall time is reported by the caller.
        for i in results.indices { results[i].1.wallSeconds += sharedPrefill }
        return results
    }
}

