/// Edit similarity for LongBench's code tasks (lcc, repobench-p): fuzzywuzzy's `fuzz.ratio`,
/// i.e. `round(100 · 2·M / (|a| + |b|)) / 100` where M is the longest common subsequence of
/// characters (the Levenshtein "indel" ratio).
public enum EditSimilarity {
    /// The ratio in [0, 1], rounded to whole percent as fuzzywuzzy does.
    public static func ratio(_ a: String, _ b: String) -> Double {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        guard !x.isEmpty || !y.isEmpty else { return 1 }
        let m = RougeL.lcs(x, y)
        return (100 * 2 * Double(m) / Double(x.count + y.count)).rounded() / 100
    }

    /// LongBench `code_sim_score`: compare the first prediction line that is not a comment or a
    /// code fence with the reference.
    public static func codeScore(_ prediction: String, _ reference: String) -> Double {
        var trimmed = Substring(prediction)
        while trimmed.first == "\n" { trimmed = trimmed.dropFirst() }
        let line = trimmed.split(separator: "\n", omittingEmptySubsequences: false)
            .first { !$0.contains("`") && !$0.contains("#") && !$0.contains("//") }
        return ratio(String(line ?? ""), reference)
    }
}
