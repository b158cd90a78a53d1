import Dispatch
import Foundation
import KVEngine
import KVModel
import KVPress

/// Runs one evaluation: each context is loaded (prefilled and compressed) once and every one of
/// its questions is answered against that compressed cache, greedily.
public struct EvalRunner {
    public let model: Model
    public let press: PressChoice
    public let options: EvalOptions

    /// What a run produced besides the predictions.
    public struct Timing: Sendable {
        public var wallSeconds = 0.0
        public var prefillSeconds = 0.0
        public var compressSeconds = 0.0
        public var timeToFirstTokenSeconds = 0.0
        public var decodeSeconds = 0.0
        public var generatedTokens = 0
        public var contextTokens = 0
        public var keptTokens = 0
        public var kvBytes = 0
        public var kvBytesUncompressed = 0
        public var contexts = 0
        /// Decoding-time compression over all answers: how many, and their summed seconds.
        public var decodingCompressions = 0
        public var decodingCompressSeconds = 0.0
        /// KV bytes at the end of every answer (context plus question and answer), summed.
        public var kvBytesAfterAnswers = 0
        public var answers = 0
        /// Largest peak RSS any answer reported.
        public var peakRSSBytes = 0

        public var json: [String: Any] {
            let q = max(1, contexts)
            return ["wall_seconds": round4(wallSeconds), "prefill_seconds": round4(prefillSeconds),
                    "compress_seconds": round4(compressSeconds), "ttft_seconds_total": round4(timeToFirstTokenSeconds),
                    "decode_tok_s": decodeSeconds > 0 ? round4(Double(generatedTokens) / decodeSeconds) : 0,
                    "mean_context_tokens": contextTokens / q, "mean_kept_tokens": keptTokens / q,
                    "mean_kv_bytes": kvBytes / q, "mean_kv_bytes_uncompressed": kvBytesUncompressed / q,
                    "contexts": contexts, "decoding_compressions": decodingCompressions,
                    "decoding_compress_seconds": round4(decodingCompressSeconds),
                    "mean_kv_bytes_after_answer": kvBytesAfterAnswers / max(1, answers), "peak_rss_bytes": peakRSSBytes]
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
        let start = DispatchTime.now()
        var done = 0
        for (ci, context) in dataset.contexts.enumerated() {
            let document = truncated(context.context)
            var session: Session?
            var loadError: String?
            do {
                let p = try press.makePress()
                session = try Session.load(id: try SessionID("eval-\(ci)"), model: model, document: document, press: p,
                                           storage: options.storage, quantization: options.quantization)
            } catch {
                loadError = "\(error)"
            }
            answer(context, session: session, loadError: loadError, into: &predictions, timing: &timing) { _ in
                done += 1
                progress(done, total)
            }
        }
        timing.wallSeconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
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
            let r = s.loadReport
            timing.prefillSeconds += r.prefillSeconds
            timing.compressSeconds += r.compressSeconds
            timing.contextTokens += r.contextTokens
            timing.keptTokens += r.keptTokens
            timing.kvBytes += r.kvBytes
            timing.kvBytesUncompressed += r.kvBytesUncompressed
            timing.contexts += 1
        }
        for q in context.questions {
            var pred = Prediction(id: q.id, contextID: context.id, task: q.task, question: q.question, prediction: "",
                                  reference: q.references, score: 0, metric: q.metric.name,
                                  contextTokens: session?.loadReport.contextTokens ?? 0,
                                  keptTokens: session?.loadReport.keptTokens ?? 0, generatedTokens: 0,
                                  timeToFirstTokenSeconds: 0, error: loadError)
            if let s = session {
                let budget = options.maxNewTokens ?? q.maxNewTokens ?? options.defaultMaxNewTokens
                do {
                    let a = try s.ask(question: q.question, answerPrefix: q.answerPrefix,
                                      parameters: GenerateParameters(maxNewTokens: budget, sampling: .greedy),
                                      decoding: options.decoding)
                    pred.prediction = a.answer
                    pred.generatedTokens = a.tokenIDs.count
                    pred.timeToFirstTokenSeconds = a.timeToFirstTokenSeconds
                    pred.score = q.metric.score(StringMatch.clean(a.answer), references: q.references)
                    timing.timeToFirstTokenSeconds += a.timeToFirstTokenSeconds
                    timing.decodeSeconds += a.decodeSeconds
                    timing.generatedTokens += max(0, a.tokenIDs.count - 1)
                    timing.decodingCompressions += a.decodingCompressions
                    timing.decodingCompressSeconds += a.compressionSeconds
                    timing.kvBytesAfterAnswers += a.kvBytesAfter
                    timing.answers += 1
                    timing.peakRSSBytes = max(timing.peakRSSBytes, a.peakRSSBytes)
                    pred.decodingCompressions = a.decodingCompressions
                    pred.kvBytesAfter = a.kvBytesAfter
                } catch {
                    pred.error = "\(error)"
                }
            }
            predictions.append(pred)
            answered(pred)
        }
    }
}
