import Foundation

/// A seeded generator of RULER's synthetic tasks at any length in tokens.
///
/// Follows RULER's `scripts/data/synthetic/{niah,variable_tracking,common_words_extraction,
/// freq_words_extraction}.py`: the haystack grows in RULER's increments until the input plus its
/// answers plus the task's tokens to generate reach `contextLength` tokens of the model's
/// tokenizer; each sample then shrinks until it fits. Prompts are RULER's templates, split into
/// context / question / answer prefix as kvpress's RULER dataset is.
public struct RulerGenerator {
    /// The task to generate.
    public var task: RulerTask
    /// Target length in tokens (RULER's `max_seq_length`, generated tokens included).
    public var contextLength: Int
    /// Filler for the repeat/essay haystacks (essay tasks use `.noise` when no file is given).
    public var haystack: Haystack
    /// Seed of every random choice.
    public var seed: UInt64
    /// Counts tokens of a text (the model's tokenizer).
    public var countTokens: (String) -> Int

    public init(task: RulerTask, contextLength: Int, haystack: Haystack = .noise, seed: UInt64 = 42,
                countTokens: @escaping (String) -> Int) {
        self.task = task
        self.contextLength = contextLength
        self.haystack = haystack
        self.seed = seed
        self.countTokens = countTokens
    }

    /// `samples` examples as a dataset named `ruler_<task>_<length>`, one context per example.
    /// - Throws: `DatasetError.invalidSetting` when even the smallest haystack does not fit.
    public func dataset(samples: Int) throws -> EvalDataset {
        let prompts = try generate(samples: samples)
        let contexts = prompts.enumerated().map { i, p in
            EvalContext(id: "\(task.rawValue)-\(i)", context: p.context, questions: [
                EvalQuestion(id: "\(task.rawValue)-\(i)", question: p.question, answerPrefix: p.answerPrefix,
                             references: p.answers, maxNewTokens: task.maxNewTokens, task: task.rawValue,
                             scorer: task.scorer),
            ])
        }
        return EvalDataset(name: "ruler_\(task.rawValue)_\(contextLength)", contexts: contexts, settings: [
            "generator": "ruler", "task": task.rawValue, "context_length": String(contextLength),
            "haystack": haystack.name, "seed": String(seed),
        ])
    }

    /// `samples` RULER prompts.
    public func generate(samples: Int) throws -> [RulerPrompt] {
        guard contextLength >= 128 else { throw DatasetError.invalidSetting("--context-length must be at least 128 tokens") }
        let budget = contextLength - task.maxNewTokens
        var icl: String?
        if task == .vt {
            var small = self
            small.contextLength = 500
            if let example = try? small.generate(samples: 1, icl: nil, k: 3, increment: 5).first {
                icl = " " + example.input + " " + example.answers.joined(separator: " ") + "\n\n"
            }
        }
        return try generate(samples: samples, icl: icl, k: 5, increment: nil, budget: budget)
    }

    private func generate(samples: Int, icl: String?, k: Int, increment: Int?, budget: Int? = nil) throws -> [RulerPrompt] {
        let budget = budget ?? (contextLength - task.maxNewTokens)
        let inc = increment ?? defaultIncrement
        var rng = SeededRandom(seed: seed)
        func make(_ n: Int, _ rng: inout SeededRandom) -> RulerPrompt {
            var p = build(n, rng: &rng, varLength: k)
            if let icl { p.context = icl + "\n\n" + p.context }
            return p
        }
        func fits(_ n: Int) -> Bool {
            var probe = SeededRandom(seed: seed ^ 0x5EED)
            let p = make(n, &probe)
            return countTokens(p.input + p.answers.joined(separator: " ")) <= budget
        }
        // The largest multiple of the increment that fits (RULER grows linearly; this searches).
        guard fits(inc) else {
            throw DatasetError.invalidSetting("--context-length \(contextLength) is too short for RULER task \(task.rawValue)")
        }
        var lo = 1, hi = 2
        while fits(hi * inc), hi < 1 << 20 { lo = hi; hi *= 2 }
        while hi - lo > 1 { let mid = (lo + hi) / 2; if fits(mid * inc) { lo = mid } else { hi = mid } }
        if case .text(let words, _) = haystack, task.niah?.haystack != .needle { lo = min(lo, max(1, words.count / inc)) }

        return (0..<samples).map { _ in
            var n = lo * inc
            while true {
                var attempt = rng
                let p = make(n, &attempt)
                if countTokens(p.input) <= budget || n <= inc { rng = attempt; return p }
                n -= inc
            }
        }
    }

    private var defaultIncrement: Int {
        switch task {
        case .vt, .cwe: return 10
        case .fwe: return max(10, contextLength / 32)
        default:
            if task.niah?.haystack != .needle, case .text = haystack { return contextLength < 4096 ? 50 : 500 }
            return contextLength < 4096 ? 5 : 25
        }
    }

    private func build(_ n: Int, rng: inout SeededRandom, varLength: Int) -> RulerPrompt {
        switch task {
        case .vt: return variableTracking(noises: n, rng: &rng, letters: varLength)
        case .cwe: return commonWords(count: n, rng: &rng)
        case .fwe: return frequentWords(count: n * 1, rng: &rng)
        default: return niah(n, rng: &rng)
        }
    }
}
