import Foundation

/// RULER's string matching (`scripts/eval/synthetic/constants.py`), per sample and in [0, 1].
public enum StringMatch {
    /// The fraction of `references` that occur in `prediction`, ignoring case.
    public static func all(_ prediction: String, _ references: [String]) -> Double {
        guard !references.isEmpty else { return 0 }
        let p = prediction.lowercased()
        let hits = references.filter { p.contains($0.lowercased()) }.count
        return Double(hits) / Double(references.count)
    }

    /// 1 when any of `references` occurs in `prediction`, ignoring case.
    public static func part(_ prediction: String, _ references: [String]) -> Double {
        let p = prediction.lowercased()
        return references.contains { p.contains($0.lowercased()) } ? 1 : 0
    }

    /// kvpress's clean-up before RULER scoring: trim, drop control characters, trim again.
    public static func clean(_ prediction: String) -> String {
        let kept = prediction.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars.filter { $0.value >= 0x20 }
        return String(String.UnicodeScalarView(kept)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
