/// Finds special tokens (control and user-defined vocabulary entries such as `<|im_start|>`)
/// written literally in text, so that they become single tokens.
///
/// At each position the longest matching special token wins, as in Hugging Face `tokenizers`.
struct SpecialTokenMatcher: Sendable {
    /// Candidates by first byte, longest first.
    private let byFirstByte: [[(bytes: [UInt8], id: Int)]]
    private let firstBytes: [Bool]

    init(tokens: [(text: String, id: Int)]) {
        var table = [[(bytes: [UInt8], id: Int)]](repeating: [], count: 256)
        for t in tokens where !t.text.isEmpty {
            let b = Array(t.text.utf8)
            table[Int(b[0])].append((b, t.id))
        }
        for i in 0..<256 { table[i].sort { $0.bytes.count > $1.bytes.count } }
        byFirstByte = table
        firstBytes = table.map { !$0.isEmpty }
    }

    /// The special token starting at `i`, if any: its byte length and id.
    @inline(__always)
    func match(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> (length: Int, id: Int)? {
        let first = Int(text[i])
        guard firstBytes[first] else { return nil }
        outer: for candidate in byFirstByte[first] {
            let n = candidate.bytes.count
            if i + n > text.count { continue }
            for k in 1..<n where text[i + k] != candidate.bytes[k] { continue outer }
            return (n, candidate.id)
        }
        return nil
    }
}
