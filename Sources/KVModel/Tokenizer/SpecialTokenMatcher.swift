/// Cuts text into ordinary text and special tokens (control, user-defined and unknown vocabulary
/// entries written literally, such as `<|im_start|>` or Gemma's `<start_of_turn>`), as llama.cpp does.
///
/// llama.cpp takes the special tokens longest first (equal lengths: lower id first) and, for each,
/// every non-overlapping occurrence, left to right, inside the text no earlier token took. A token
/// marked `rstrip`/`lstrip` also swallows the ASCII whitespace after/before it (llama.cpp marks
/// Phi-3's special tokens `rstrip`). Here one pass over the text with a trie finds where special
/// tokens start, then the tokens found are placed in that priority order.
struct SpecialTokenMatcher: Sendable {
    /// A special token and its stripping attributes.
    struct Entry: Sendable {
        var text: String
        var id: Int
        var lstrip = false
        var rstrip = false
    }

    /// A piece of the text: ordinary text (a byte range) or a special token.
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    /// Entries in priority order (longest first, then lowest id).
    private let entries: [(bytes: [UInt8], id: Int, lstrip: Bool, rstrip: Bool)]
    /// Trie over the entries' bytes: `(node << 8 | byte)` → child node; node 0 is the root.
    private let children: [Int: Int32]
    /// Entry index (priority) of the token ending at each node, or -1.
    private let terminal: [Int32]
    private let startsSomeToken: [Bool]

    /// Whether any special token exists at all.
    var isEmpty: Bool { entries.isEmpty }

    init(_ tokens: [Entry]) {
        let sorted = tokens.filter { !$0.text.isEmpty }.sorted {
            let a = $0.text.utf8.count, b = $1.text.utf8.count
            return a != b ? a > b : $0.id < $1.id
        }
        var children: [Int: Int32] = [:]
        var terminal: [Int32] = [-1]
        var starts = [Bool](repeating: false, count: 256)
        var kept: [(bytes: [UInt8], id: Int, lstrip: Bool, rstrip: Bool)] = []
        for t in sorted {
            let bytes = Array(t.text.utf8)
            var node = 0
            for b in bytes {
                let key = node << 8 | Int(b)
                if let next = children[key] {
                    node = Int(next)
                } else {
                    children[key] = Int32(terminal.count)
                    node = terminal.count
                    terminal.append(-1)
                }
            }
            guard terminal[node] < 0 else { continue }  // the same text twice: the first id wins
            terminal[node] = Int32(kept.count)
            kept.append((bytes, t.id, t.lstrip, t.rstrip))
            starts[Int(bytes[0])] = true
        }
        self.entries = kept
        self.children = children
        self.terminal = terminal
        self.startsSomeToken = starts
    }

    /// The segments of `text` in order. Text swallowed by a stripping token appears in none.
    func segments(of text: UnsafeBufferPointer<UInt8>) -> [Segment] {
        let n = text.count
        if n == 0 { return [] }
        // Positions where some special token starts, and for each token found the first and last
        // index into `starts` where it occurs (kept small: a run of spaces matches many of Gemma's
        // whitespace tokens at every position).
        var starts: [Int] = []
        var span: [Int32: (first: Int, last: Int)] = [:]
        for i in 0..<n where startsSomeToken[Int(text[i])] {
            var node = 0
            var j = i
            var any = false
            while j < n, let next = children[node << 8 | Int(text[j])] {
                node = Int(next)
                j += 1
                let e = terminal[node]
                if e >= 0 {
                    if !any { starts.append(i); any = true }
                    if let s = span[e] { span[e] = (s.first, starts.count - 1) } else { span[e] = (starts.count - 1, starts.count - 1) }
                }
            }
        }
        if starts.isEmpty { return [.text(0..<n)] }

        // owner[i]: free (-1), swallowed whitespace (-2), inside a token (-3), or a token's entry at its first byte.
        var owner = [Int32](repeating: -1, count: n)
        @inline(__always) func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }  // C isspace
        for (entry, range) in span.sorted(by: { $0.key < $1.key }) {
            let e = entries[Int(entry)]
            for c in range.first...range.last {
                let position = starts[c]
                let end = position + e.bytes.count
                guard owner[position] == -1, end <= n,
                      (0..<e.bytes.count).allSatisfy({ text[position + $0] == e.bytes[$0] && owner[position + $0] == -1 })
                else { continue }
                owner[position] = entry
                for k in (position + 1)..<end { owner[k] = -3 }
                if e.lstrip {
                    var k = position - 1
                    while k >= 0 && owner[k] == -1 && isSpace(text[k]) { owner[k] = -2; k -= 1 }
                }
                if e.rstrip {
                    var k = end
                    while k < n && owner[k] == -1 && isSpace(text[k]) { owner[k] = -2; k += 1 }
                }
            }
        }

        var out: [Segment] = []
        var i = 0
        while i < n {
            let o = owner[i]
            if o == -1 {
                let start = i
                while i < n && owner[i] == -1 { i += 1 }
                out.append(.text(start..<i))
            } else if o >= 0 {
                out.append(.token(entries[Int(o)].id))
                i += entries[Int(o)].bytes.count
            } else {
                i += 1
            }
        }
        return out
    }
}
