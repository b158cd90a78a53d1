import Foundation

extension RulerGenerator {
    /// RULER's 40 needle depths in percent: `round(linspace(0, 100, 40))`.
    static let depths: [Int] = (0..<40).map { Int((Double($0) * 100 / 39).rounded()) }

    func randomNeedle(_ kind: RulerTask.NeedleKind, rng: inout SeededRandom) -> String {
        switch kind {
        case .numbers: return String(rng.int(1_000_000...9_999_999))
        case .words: return rng.pick(RulerWords.keys)
        case .uuids: return rng.uuid()
        }
    }

    /// A needle-in-a-haystack prompt with `n` haystack units (noise sentences, words, or needles).
    func niah(_ n: Int, rng: inout SeededRandom) -> RulerPrompt {
        guard let s = task.niah else { return RulerPrompt(context: "", question: "", answerPrefix: "", answers: []) }
        let kind = s.value.rawValue
        func needle(_ key: String, _ value: String) -> String { "One of the special magic \(kind) for \(key) is: \(value)." }
        let keyCount = max(s.keys, s.queries)
        var keys: [String] = [], values: [[String]] = [], needles: [String] = []
        for _ in 0..<keyCount {
            keys.append(randomNeedle(s.key, rng: &rng))
            var vs: [String] = []
            for _ in 0..<s.valuesPerKey {
                vs.append(randomNeedle(s.value, rng: &rng))
                needles.append(needle(keys[keys.count - 1], vs[vs.count - 1]))
            }
            values.append(vs)
        }
        var shuffler = SeededRandom(seed: seed)
        needles.shuffle(using: &shuffler)

        let context: String
        if s.haystack != .needle, case .text = haystack {
            let sentences = splitSentences(haystack.words(n).joined(separator: " "))
            let positions = [0] + rng.sample(Self.depths, needles.count).map { sentences.count * $0 / 100 }.sorted() + [sentences.count]
            var parts: [String] = []
            for i in 1..<positions.count {
                parts.append(sentences[positions[i - 1]..<positions[i]].joined(separator: " "))
                if i - 1 < needles.count { parts.append(needles[i - 1]) }
            }
            context = parts.joined(separator: " ")
        } else {
            var sentences: [String]
            if s.haystack == .needle {
                sentences = (0..<n).map { _ in needle(randomNeedle(s.key, rng: &rng), randomNeedle(s.value, rng: &rng)) }
            } else {
                sentences = Array(repeating: Haystack.noiseSentence, count: n)
            }
            let indexes = rng.sample(Array(0..<n), needles.count).sorted(by: >)
            for (index, text) in zip(indexes, needles) { sentences.insert(text, at: index) }
            context = sentences.joined(separator: "\n")
        }

        let asked = rng.sample(Array(0..<keyCount), s.queries)
        let queries = asked.map { keys[$0] }
        let answers = asked.flatMap { values[$0] }
        let query = queries.count > 1 ? queries.dropLast().joined(separator: ", ") + ", and " + queries[queries.count - 1] : queries[0]
        let (c, q, a) = RulerTemplates.niah(context: context, query: query, kind: kind, singular: s.queries * s.valuesPerKey == 1)
        return RulerPrompt(context: c, question: q, answerPrefix: a, answers: answers)
    }

    /// Variable tracking: one chain of `VAR X = …` assignments (4 hops) hidden in `noises` noise sentences.
    func variableTracking(noises: Int, rng: inout SeededRandom, letters: Int, hops: Int = 4) -> RulerPrompt {
        var names: [String] = []
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        while names.count < hops + 1 {
            let name = String((0..<letters).map { _ in rng.pick(alphabet) })
            if !names.contains(name) { names.append(name) }
        }
        let value = String(rng.int(10000...99998))
        var chain = ["VAR \(names[0]) = \(value)"]
        for j in 0..<hops { chain.append("VAR \(names[j + 1]) = VAR \(names[j]) ") }
        var sentences = Array(repeating: Haystack.noiseSentence + "\n", count: max(noises, chain.count))
        let positions = rng.sample(Array(0..<sentences.count), chain.count).sorted()
        for (j, p) in positions.enumerated() { sentences.insert(chain[j], at: p + j) }
        let context = sentences.joined(separator: " ").replacingOccurrences(of: ". \n", with: ".\n")
        let (c, q, a) = RulerTemplates.vt(context: context, value: value, count: hops + 1)
        return RulerPrompt(context: c, question: q, answerPrefix: a, answers: names)
    }

    /// Common words: a numbered list where 10 words repeat often; a worked example comes first.
    func commonWords(count: Int, rng: inout SeededRandom) -> RulerPrompt {
        func example(_ n: Int, _ common: Int, _ uncommon: Int) -> (String, [String]) {
            let words = rng.sample(RulerWords.plainWords, n)
            let top = Array(words.prefix(10)), rest = Array(words.dropFirst(10))
            var list = Array(Array(repeating: top, count: common).joined()) + Array(Array(repeating: rest, count: uncommon).joined())
            var shuffler = SeededRandom(seed: seed)
            list.shuffle(using: &shuffler)
            return (list.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: " "), top)
        }
        let short = contextLength < 4096
        let (exampleList, exampleTop) = short ? example(20, 3, 1) : example(40, 10, 3)
        let (list, top) = short ? example(count, 6, 1) : example(count, 30, 3)
        let (ec, eq, ea) = RulerTemplates.cwe(context: exampleList)
        let shown = exampleTop.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: " ")
        let (c, q, a) = RulerTemplates.cwe(context: list)
        return RulerPrompt(context: ec + eq + ea + shown + "\n" + c, question: q, answerPrefix: a, answers: top)
    }

    /// Frequent words: coded 6-letter words drawn with Zipf frequencies (α = 2); the three most
    /// frequent after the "..." noise word are the answer.
    func frequentWords(count: Int, rng: inout SeededRandom, alpha: Double = 2) -> RulerPrompt {
        let vocabSize = max(8, contextLength / 50)
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var vocab = Set<String>()
        while vocab.count < vocabSize { vocab.insert(String((0..<6).map { _ in rng.pick(letters) })) }
        var words = vocab.sorted()
        var shuffler = SeededRandom(seed: seed)
        words.shuffle(using: &shuffler)
        words[0] = "..."
        let zeta = Double.pi * Double.pi / 6  // ζ(2); other α use the partial sum below
        let z = alpha == 2 ? zeta : (1...100_000).reduce(0.0) { $0 + pow(Double($1), -alpha) }
        var text: [String] = []
        for (k, w) in words.enumerated() {
            let n = Int(Double(count) * pow(Double(k + 1), -alpha) / z)
            text.append(contentsOf: repeatElement(w, count: n))
        }
        text.shuffle(using: &shuffler)
        let (c, q, a) = RulerTemplates.fwe(context: text.joined(separator: " "))
        return RulerPrompt(context: c, question: q, answerPrefix: a, answers: Array(words[1..<4]))
    }
}
