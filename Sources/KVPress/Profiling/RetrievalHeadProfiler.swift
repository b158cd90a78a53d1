import COpenBLAS
import Foundation
import KVModel

/// Finds retrieval heads on a needle-in-a-haystack task (the HeadKV / Retrieval_Head procedure),
/// producing a ``HeadProfile`` for `headkv`.
///
/// For each depth, the needle's tokens are placed at that fraction of a haystack of
/// `contextTokens` tokens, the document goes through the chat template as kvpress splits it, and
/// the model answers `question` greedily (uncompressed cache). At every generated token, each
/// query head's most attended context position is taken; when that position lies inside the
/// needle and holds the very token being generated, the head "copied" it and scores
/// `1 / needle length`. One run per depth: the profile holds each head's list of scores.
public enum RetrievalHeadProfiler {
    /// One needle task.
    public struct Task: Sendable {
        /// Filler text; repeated as needed to fill the context.
        public var haystack: String
        /// The sentence hidden in the haystack (e.g. "The special magic number is 8264719.").
        public var needle: String
        /// The question whose answer copies the needle.
        public var question: String
        /// Haystack length in tokens (the needle comes on top).
        public var contextTokens: Int
        /// Needle positions as fractions of the haystack, each in `[0, 1]`.
        public var depths: [Double]
        /// Tokens generated per run.
        public var maxNewTokens: Int

        public init(haystack: String, needle: String, question: String, contextTokens: Int = 1024,
                    depths: [Double] = [0.1, 0.3, 0.5, 0.7, 0.9], maxNewTokens: Int = 24) {
            self.haystack = haystack
            self.needle = needle
            self.question = question
            self.contextTokens = contextTokens
            self.depths = depths
            self.maxNewTokens = maxNewTokens
        }
    }

    /// Runs `task` on `model`; `progress` gets each run's depth and answer.
    /// - Throws: `ModelError` from the forward passes, `ChatTemplateError` without a template.
    public static func profile(model: Model, task: Task, progress: (Double, String) -> Void = { _, _ in }) throws -> HeadProfile {
        let c = model.config
        let tokenizer = model.tokenizer
        let template = try model.chatTemplate.get()
        var filler = tokenizer.encode(task.haystack)
        guard !filler.isEmpty else { throw PressError.invalidValue(press: "headkv", parameter: "haystack", value: "", expected: "some text") }
        while filler.count < task.contextTokens { filler += filler }
        filler = Array(filler[0..<task.contextTokens])
        let needle = tokenizer.encode(" " + task.needle)
        let affixes = try template.kvpressPrompt(context: "\u{E000}", question: task.question)
        let marker = affixes.context.range(of: "\u{E000}")!
        let prefix = tokenizer.encode(String(affixes.context[..<marker.lowerBound]))
        let question = tokenizer.encode(affixes.question)
        var runs = [[[Double]]](repeating: [[Double]](repeating: [], count: c.headCount), count: c.layerCount)
        for depth in task.depths {
            let at = Int((min(max(depth, 0), 1) * Double(filler.count)).rounded())
            let context = prefix + filler[0..<at] + needle + filler[at...]
            let span = (prefix.count + at)..<(prefix.count + at + needle.count)
            let cache = model.makeCache(storage: .f32)
            var ids = context + question
            _ = try model.forward(Array(ids.dropLast()), cache: cache, logits: .none)
            let hook = ArgmaxHook(config: c)
            var input = ids.last!
            var score = [[Double]](repeating: [Double](repeating: 0, count: c.headCount), count: c.layerCount)
            var answer: [Int] = []
            for _ in 0..<task.maxNewTokens {
                let logits = try model.forward([input], cache: cache, hook: hook, logits: .last)
                let token = logits.indices.max { logits[$0] < logits[$1] }!
                for l in 0..<c.layerCount {
                    for h in 0..<c.headCount {
                        let p = hook.argmax[l][h]
                        if span.contains(p), ids[p] == token { score[l][h] += 1 / Double(needle.count) }
                    }
                }
                ids.append(token)
                answer.append(token)
                if model.stopTokens.contains(token) { break }
                input = token
            }
            progress(depth, tokenizer.decode(answer, skipSpecialTokens: true))
            for l in 0..<c.layerCount { for h in 0..<c.headCount { runs[l][h].append(score[l][h]) } }
        }
        return HeadProfile(runs: runs)
    }
}

/// During a one-token step, records every query head's most attended cache row.
private final class ArgmaxHook: LayerHook {
    var argmax: [[Int]]
    private var keys: [Float] = []
    private var logits: [Float] = []

    init(config c: ModelConfig) {
        argmax = [[Int]](repeating: [Int](repeating: -1, count: c.headCount), count: c.layerCount)
    }

    func afterAttention(_ o: AttentionObservation) throws {
        let D = o.config.headDimension, group = o.config.groupSize
        for (g, head) in o.cache.enumerated() {
            let M = head.count, kd = head.keyDimension
            guard kd == D else { continue }
            if keys.count < M * D { keys = [Float](repeating: 0, count: M * D) }
            if logits.count < M { logits = [Float](repeating: 0, count: M) }
            keys.withUnsafeMutableBufferPointer { k in
                for j in 0..<M { head.copyKey(j, into: k.baseAddress! + j * D) }
            }
            for h in (g * group)..<((g + 1) * group) {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(M), Int32(D), 1, keys, Int32(D),
                            o.queries + h * o.tokenCount * D, 1, 0, &logits, 1)
                var best = 0
                for j in 1..<M where logits[j] > logits[best] { best = j }
                argmax[o.layer][h] = best
            }
        }
    }
}
