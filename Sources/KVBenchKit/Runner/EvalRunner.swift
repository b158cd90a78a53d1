import Foundation
import KVEngine
import KVMetrics
import KVModel
import KVPress
import KVSystem
import KVWire

/// Runs one evaluation: each context is loaded (prefilled and compressed) once and every one of
/// its questions is answered against that compressed cache, greedily.
public struct EvalRunner {
    public let model: Model
    public let press: PressChoice
    public let options: EvalOptions

    /// What a run produced besides the predictions.
    public struct Timing: Sendable {
        public var wallSeconds = 0.0
        /// Contexts loaded and questions answered.
        public var contexts = 0
        public var answers = 0
        /// Every loaded context's metrics, summed.
        public var loads = Metrics()
        /// Every answer's metrics, summed.
        public var asks = Metrics()
        /// Largest peak RSS any answer reported.
        public var peakRssBytes = 0

        /// metrics.json's `timing`: the run's headline figures, then every metric's mean per
        /// loaded context and per answer.
        public var summary: MetricsFile.RunTiming {
            let q = max(1, contexts)
            let decodedTokens = max(0, asks.generatedTokens - answers)
            return MetricsFile.RunTiming(
                wallSeconds: round4(wallSeconds), prefillSeconds: round4(loads.prefillMs / 1000),
                compressSeconds: round4(loads.compressMs / 1000), ttftSecondsTotal: round4(asks.ttftMs / 1000),
                decodeTokS: asks.decodeMs > 0 ? round4(Double(decodedTokens) / (asks.decodeMs / 1000)) : 0,
                meanContextTokens: loads.contextTokens / q, meanKeptTokens: loads.keptTokens / q,
                meanKVBytes: loads.kvBytes / q, meanKVBytesUncompressed: loads.kvBytesUncompressed / q,
                contexts: contexts, decodingCompressions: asks.decodingCompressions,
                decodingCompressSeconds: round4(asks.decodingCompressMs / 1000),
                meanKVBytesAfterAnswer: asks.kvBytes / max(1, answers), peakRssBytes: peakRssBytes,
                meanPerContext: loads.means(over: contexts).mapValues(round4),
                meanPerAnswer: asks.means(over: answers).mapValues(round4))
        }
    }

    public init(model: Model, press: PressChoice, options: EvalOptions) {
        self.model = model
        self.press = press
        self.options = options
    }

    /// Answers every question of `dataset` (already selected by `options`).
    /// - Parameter progress: called after each question with (answered, total).
    /// - Returns: predictions in dataset order and the run's timings. Contexts that cannot be
    ///   loaded (too long, press refuses) give predictions with `error` set and score 0.
    /// - Throws: only for failures that would fail every context (the press cannot be built).
    public func run(_ dataset: EvalDataset, progress: (Int, Int) -> Void = { _, _ in }) throws -> ([Prediction], Timing) {
        let total = dataset.questionCount
        var predictions: [Prediction] = []
        var timing = Timing()
        let start = ContinuousClock.now
        var done = 0
        for (ci, context) in dataset.contexts.enumerated() {
            let document = truncated(context.context)
            var session: Session?
            var loadError: String?
            do {
                let p = try press.makePress()
                session = try Session.load(id: try SessionID("eval-\(ci)"), model: model, document: document,
                                           question: context.compressedQuestion, press: p,
                                           storage: options.storage, quantization: options.quantization)
            } catch {
                loadError = "\(error)"
            }
            answer(context, session: session, loadError: loadError, into: &predictions, timing: &timing) { _ in
                done += 1
                progress(done, total)
            }
        }
        timing.wallSeconds = start.secondsElapsed
        return (predictions, timing)
    }

    /// The context cut to its first `maxContextLength` tokens (kvpress's `max_context_length`).
    func truncated(_ text: String) -> String {
        guard let limit = options.maxContextLength else { return text }
        let ids = model.tokenizer.encode(text)
        return ids.count <= limit ? text : model.tokenizer.decode(Array(ids.prefix(limit)))
    }
}

extension EvalRunner {
    /// Answers every question of `context` against `session` (or records `loadError` for each),
    /// appending predictions and adding the session's load costs and the answers' costs to `timing`.
    /// - Parameter answered: called after each question with its prediction.
    func answer(_ context: EvalContext, session: Session?, loadError: String?, into predictions: inout [Prediction],
                timing: inout Timing, answered: (Prediction) -> Void = { _ in }) {
        if let s = session {
            timing.loads = timing.loads + s.loadMetrics
            timing.contexts += 1
        }
        for q in context.questions {
            var unanswered = Metrics()
            unanswered.contextTokens = session?.loadMetrics.contextTokens ?? 0
            unanswered.keptTokens = session?.loadMetrics.keptTokens ?? 0
            var pred = Prediction(id: q.id, contextID: context.id, task: q.task, question: q.question, prediction: "",
                                  reference: q.references, score: 0, metric: q.scorer.name, metrics: unanswered,
                                  error: loadError)
            if let s = session {
                let budget = options.maxNewTokens ?? q.maxNewTokens ?? options.defaultMaxNewTokens
                do {
                    // Query-aware: the question is already in the context; kvpress asks an empty one.
                    let a = try s.ask(question: context.questionInContext ? "" : q.question, answerPrefix: q.answerPrefix,
                                      parameters: GenerateParameters(maxNewTokens: budget, sampling: .greedy),
                                      decoding: options.decoding)
                    pred.prediction = a.answer
                    pred.metrics = a.metrics
                    pred.score = q.scorer.score(StringMatch.clean(a.answer), references: q.references)
                    timing.asks = timing.asks + a.metrics
                    timing.answers += 1
                    timing.peakRssBytes = max(timing.peakRssBytes, a.metrics.peakRssBytes)
                } catch {
                    pred.error = "\(error)"
                }
            }
            predictions.append(pred)
            answered(pred)
        }
    }
}
