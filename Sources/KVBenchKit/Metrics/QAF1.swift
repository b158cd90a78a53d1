/// SQuAD-style token F1 (LongBench `qa_f1_score`, InfiniteBench `qa_f1_score`).
public enum QAF1 {
    /// Lowercase, remove ASCII punctuation, remove the articles a/an/the, collapse whitespace.
    public static func normalize(_ s: String) -> String {
        let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
        let lowered = String(s.lowercased().filter { !punctuation.contains($0) })
        let words = lowered.split(whereSeparator: { $0.isWhitespace }).filter { $0 != "a" && $0 != "an" && $0 != "the" }
        return words.joined(separator: " ")
    }

    /// F1 of the multisets of tokens.
    public static func f1<T: Hashable>(_ prediction: [T], _ reference: [T]) -> Double {
        guard !prediction.isEmpty, !reference.isEmpty else { return 0 }
        var counts: [T: Int] = [:]
        for t in reference { counts[t, default: 0] += 1 }
        var same = 0
        for t in prediction where (counts[t] ?? 0) > 0 {
            counts[t]! -= 1
            same += 1
        }
        guard same > 0 else { return 0 }
        let precision = Double(same) / Double(prediction.count)
        let recall = Double(same) / Double(reference.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// Token F1 of the normalised prediction and reference.
    public static func score(_ prediction: String, _ reference: String) -> Double {
        f1(normalize(prediction).split(separator: " ").map(String.init),
           normalize(reference).split(separator: " ").map(String.init))
    }
}
