/// LongBench's classification, retrieval and count scorers (kvpress
/// `evaluation/benchmarks/longbench/calculate_metrics.py`).
public enum LongBenchScores {
    /// Classes named in the prediction, without those that are a strict part of the reference;
    /// 1/k when the reference is one of the k found, else 0.
    public static func classification(_ prediction: String, _ reference: String, classes: [String]) -> Double {
        var found = classes.filter { prediction.contains($0) }
        found.removeAll { $0 != reference && reference.contains($0) }
        return found.contains(reference) ? 1 / Double(found.count) : 0
    }

    /// Share of the prediction's numbers equal to N in the reference "Paragraph N".
    public static func retrieval(_ prediction: String, _ reference: String) -> Double {
        guard let r = reference.range(of: "Paragraph ") else { return 0 }
        let id = String(reference[r.upperBound...].prefix { $0.isASCII && $0.isNumber })
        return share(of: id, in: prediction)
    }

    /// Share of the prediction's numbers equal to the reference.
    public static func count(_ prediction: String, _ reference: String) -> Double {
        share(of: reference.trimmingSpaces, in: prediction)
    }

    static func share(of target: String, in prediction: String) -> Double {
        let numbers = AnswerExtraction.integers(prediction)
        guard !numbers.isEmpty, !target.isEmpty else { return 0 }
        return Double(numbers.filter { $0 == target }.count) / Double(numbers.count)
    }
}
