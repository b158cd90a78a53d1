import Foundation

/// Reading the Jinja source of a chat template without running it: string literals, the values a
/// template sets, and the few Jinja/Python functions the renderings need (`trim`, `strftime`).
extension ChatTemplate {
    /// Jinja's `trim` (Python `str.strip()`).
    static func trim(_ s: String) -> String {
        let scalars = s.unicodeScalars
        func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace || (0x1C...0x1F).contains(c.value) }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// The string literals inside `{{ … }}` and `{% … %}` tags, with Jinja/Python escapes resolved.
    static func stringLiterals(in template: String) -> [String] {
        var out: [String] = []
        let s = Array(template.unicodeScalars)
        var i = 0
        var inTag = false
        while i < s.count {
            let c = s[i]
            if !inTag {
                if c == "{" && i + 1 < s.count && (s[i + 1] == "{" || s[i + 1] == "%") { inTag = true; i += 2 } else { i += 1 }
                continue
            }
            if (c == "}" || c == "%") && i + 1 < s.count && s[i + 1] == "}" { inTag = false; i += 2; continue }
            if c == "'" || c == "\"" {
                var lit = String.UnicodeScalarView()
                var j = i + 1
                while j < s.count && s[j] != c {
                    if s[j] == "\\" && j + 1 < s.count {
                        switch s[j + 1] {
                        case "n": lit.append("\n")
                        case "t": lit.append("\t")
                        case "r": lit.append("\r")
                        default: lit.append(s[j + 1])
                        }
                        j += 2
                    } else {
                        lit.append(s[j]); j += 1
                    }
                }
                out.append(String(lit))
                i = j + 1
                continue
            }
            i += 1
        }
        return out
    }

    /// Llama 3.1's `set date_string = "…"` default, if present.
    static func defaultDateString(in template: String) -> String? {
        guard let r = template.range(of: "set date_string = ") else { return nil }
        return quoted(template[r.upperBound...])
    }

    /// Llama 3.2's `strftime_now("%d %b %Y")` format, if the template calls it.
    static func strftimeFormat(in template: String) -> String? {
        guard let r = template.range(of: "strftime_now(") else { return nil }
        return quoted(template[r.upperBound...])
    }

    /// The string literal `text` starts with, if any.
    private static func quoted(_ text: Substring) -> String? {
        guard let q = text.first, q == "\"" || q == "'" else { return nil }
        let body = text.dropFirst()
        guard let end = body.firstIndex(of: q) else { return nil }
        return String(body[..<end])
    }

    /// Python's `strftime` for the directives chat templates use (`%d %b %B %m %Y %y %%`), in English,
    /// local time (as `datetime.now()`); other directives are written as they are.
    static func strftime(_ format: String, _ date: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone.current, from: date)
        let day = c.day ?? 1, month = c.month ?? 1, year = c.year ?? 1970
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v % 100)" }
        var out = ""
        var percent = false
        for ch in format {
            guard percent else {
                if ch == "%" { percent = true } else { out.append(ch) }
                continue
            }
            percent = false
            switch ch {
            case "d": out += two(day)
            case "b": out += months[month - 1].prefix(3)
            case "B": out += months[month - 1]
            case "m": out += two(month)
            case "Y": out += String(year)
            case "y": out += two(year % 100)
            case "%": out += "%"
            default: out += "%" + String(ch)
            }
        }
        return out
    }
}
