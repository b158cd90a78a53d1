/// ROUGE-L F-measure (β = 1) over lowercase alphanumeric word tokens, as the `rouge` package
/// computes `rouge-l` `f` for one hypothesis and one reference.
public enum RougeL {
    /// Lowercase words made of letters and digits; everything else separates.
    public static func tokens(_ s: String) -> [String] {
        s.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init)
    }

    /// Length of the longest common subsequence.
    public static func lcs<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        var prev = [Int](repeating: 0, count: b.count + 1)
        var cur = prev
        for i in 1...a.count {
            for j in 1...b.count {
                cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : max(prev[j], cur[j - 1])
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    /// ROUGE-L F1 of `prediction` against `reference`.
    public static func f1(_ prediction: String, _ reference: String) -> Double {
        let p = tokens(prediction), r = tokens(reference)
        let l = Double(lcs(p, r))
        guard l > 0 else { return 0 }
        let precision = l / Double(p.count), recall = l / Double(r.count)
        return 2 * precision * recall / (precision + recall)
    }
}
