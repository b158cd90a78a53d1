import Foundation

/// Pulling the answer out of free text: integers, numbers, `\boxed{…}`, choice letters, labels.
public enum AnswerExtraction {
    /// Every maximal run of ASCII digits, in order (Python's `re.findall(r"\d+", s)`).
    public static func integers(_ s: String) -> [String] {
        var out: [String] = [], cur = ""
        for c in s {
            if c.isASCII && c.isNumber { cur.append(c) } else if !cur.isEmpty { out.append(cur); cur = "" }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// The first run of digits, or "" (InfiniteBench `first_int_match`).
    public static func firstInteger(_ s: String) -> String { integers(s).first ?? "" }

    /// Words after replacing `\n : " ' . , ? ! { }` with spaces (InfiniteBench kv_retrieval).
    public static func words(_ s: String) -> [String] {
        let separators = Set("\n:\"'.,?!{}")
        return s.split(whereSeparator: { separators.contains($0) || $0.isWhitespace }).map(String.init)
    }

    /// The last number in the text (commas between digits removed, `-` and decimals kept), in a
    /// canonical form: `1,234.50` → `1234.5`, `72.0` → `72`.
    public static func lastNumber(_ s: String) -> String? {
        let pattern = try! NSRegularExpression(pattern: #"-?\d[\d,]*(?:\.\d+)?"#)
        let ns = s as NSString
        guard let m = pattern.matches(in: s, range: NSRange(location: 0, length: ns.length)).last else { return nil }
        return canonicalNumber(ns.substring(with: m.range).replacingOccurrences(of: ",", with: ""))
    }

    static func canonicalNumber(_ t: String) -> String {
        guard t.contains("."), let v = Double(t) else { return t }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        return String(v)
    }

    /// The content of the last `\boxed{…}` (braces balanced), or nil.
    public static func boxed(_ s: String) -> String? {
        guard let start = s.range(of: "\\boxed{", options: .backwards) else { return nil }
        var depth = 1
        var out = ""
        for c in s[start.upperBound...] {
            if c == "{" { depth += 1 }
            if c == "}" { depth -= 1; if depth == 0 { return out } }
            out.append(c)
        }
        return nil
    }

    /// Light normalisation of a math answer: no spaces, `$`, `\left`/`\right`, `\!`, trailing
    /// `.`; `dfrac`/`tfrac` → `frac`; `^\circ` and `\%` dropped; plain numbers made canonical.
    public static func normalizeMath(_ s: String) -> String {
        var t = s
        for (a, b) in [("\\left", ""), ("\\right", ""), ("\\!", ""), ("$", ""), ("dfrac", "frac"), ("tfrac", "frac"),
                       ("^\\circ", ""), ("^{\\circ}", ""), ("\\%", ""), ("%", ""), ("\\text{", "{")] {
            t = t.replacingOccurrences(of: a, with: b)
        }
        t = String(t.filter { !$0.isWhitespace })
        while t.hasSuffix(".") { t.removeLast() }
        if Double(t.replacingOccurrences(of: ",", with: "")) != nil { return canonicalNumber(t.replacingOccurrences(of: ",", with: "")) }
        return t
    }

    /// A choice letter A–J: from "answer is (X)", "answer: X", a leading "X)"/"X." or "(X)", else
    /// the last standalone capital letter A–E.
    public static func choiceLetter(_ s: String) -> String? {
        let text = s.replacingOccurrences(of: "*", with: "")
        let patterns = [#"(?i)answer\s*(?:is|:)?\s*:?\s*\(?([A-J])\)?(?![A-Za-z])"#,
                        #"^\s*\(?([A-J])[\).:](?![A-Za-z])"#, #"^\s*([A-J])\s*$"#, #"\(([A-J])\)"#,
                        #"(?<![A-Za-z])([A-E])(?![A-Za-z'])"#]
        let ns = text as NSString
        for (i, p) in patterns.enumerated() {
            let re = try! NSRegularExpression(pattern: p)
            let matches = re.matches(in: text, range: NSRange(location: 0, length: ns.length))
            guard let m = (i == 0 ? matches.first : matches.last) else { continue }
            return ns.substring(with: m.range(at: 1)).uppercased()
        }
        return nil
    }

    /// The label among `options` mentioned last (whole words, ignoring case), or nil.
    public static func lastLabel(_ s: String, options: [String]) -> String? {
        let ns = s as NSString
        var best: (Int, String)?
        for o in options {
            let re = try! NSRegularExpression(pattern: "(?i)\\b" + NSRegularExpression.escapedPattern(for: o) + "\\b")
            if let m = re.matches(in: s, range: NSRange(location: 0, length: ns.length)).last,
               best == nil || m.range.location > best!.0 {
                best = (m.range.location, o)
            }
        }
        return best?.1
    }

    /// LongBench-v2's check: "The correct answer is (X)" or "The correct answer is X" (asterisks removed).
    public static func longBenchV2Correct(_ prediction: String, _ reference: String) -> Bool {
        let p = prediction.replacingOccurrences(of: "*", with: "")
        let r = reference.trimmingSpaces
        return p.contains("The correct answer is (\(r))") || p.contains("The correct answer is \(r)")
    }
}
