import Foundation

/// The filler a needle hides in.
public enum Haystack: Sendable, Equatable {
    /// RULER's repeated-noise sentences ("The grass is green. …"), one unit per repetition.
    case noise
    /// Words of a text (RULER's essay haystack; any file via `--haystack FILE`), one unit per word.
    case text(words: [String], source: String)

    /// RULER's noise sentences.
    public static let noiseSentence = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."

    /// A text haystack read from a file.
    /// - Throws: `DatasetError.cannotRead`, or `.empty` for a file without words.
    public static func file(_ path: String) throws -> Haystack {
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError.cannotRead(path: path) }
        let words = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0.isWhitespace }).map(String.init)
        guard !words.isEmpty else { throw DatasetError.empty(path: path) }
        return .text(words: words, source: path)
    }

    /// Name written to config.json.
    public var name: String {
        switch self {
        case .noise: return "noise"
        case .text(_, let source): return "file:\(source)"
        }
    }

    /// `n` words of the text, wrapping around when the file is shorter.
    func words(_ n: Int) -> [String] {
        guard case .text(let words, _) = self else { return [] }
        return (0..<n).map { words[$0 % words.count] }
    }
}

/// Splits text into sentences after `.`, `!` or `?` followed by whitespace (a small stand-in for
/// nltk's `sent_tokenize`, enough to place needles between sentences).
func splitSentences(_ text: String) -> [String] {
    var out: [String] = []
    var cur = ""
    var previous: Character = " "
    for c in text {
        if c.isWhitespace && (previous == "." || previous == "!" || previous == "?") {
            out.append(cur)
            cur = ""
        } else if !(c.isWhitespace && cur.isEmpty) {
            cur.append(c)
        }
        previous = c
    }
    if !cur.isEmpty { out.append(cur) }
    return out
}
