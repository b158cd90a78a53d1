import HeapModule

/// The SentencePiece path (`tokenizer.ggml.model = llama`: Gemma, Llama 2, Mistral, TinyLlama, Phi-3)
/// with the semantics of llama.cpp's SPM tokenizer.
///
/// Spaces become `▁` (U+2581), optionally with one prepended (`add_space_prefix`); the text starts
/// as one symbol per character, and the adjacent pair whose concatenation is the vocabulary entry
/// with the highest score is merged (equal scores: the leftmost pair) until no pair forms an entry.
/// A character that is no entry is spelled with byte-fallback tokens (`<0xNN>`), or a single-byte
/// entry, or else becomes the unknown token.
struct SentencePieceEncoder: Sendable {
    /// Whether a text segment at the start or right after a special token gets a leading space.
    let addSpacePrefix: Bool
    private let index: VocabularyIndex
    private let scores: [Float]
    /// Token for each byte when a character has no entry (-1: none).
    private let byteIDs: [Int32]
    private let unknownID: Int?

    init(index: VocabularyIndex, scores: [Float], addSpacePrefix: Bool, unknownID: Int?) {
        self.index = index
        self.scores = scores
        self.addSpacePrefix = addSpacePrefix
        self.unknownID = unknownID
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let id = ByteToken.name(of: UInt8(b)).withUnsafeBufferPointer { index.id(of: $0) }
                ?? [UInt8(b)].withUnsafeBufferPointer { index.id(of: $0) }
            if let id { byteIDs[b] = Int32(id) }
        }
        self.byteIDs = byteIDs
    }

    /// The text a normal token stands for: `▁` is a space.
    static func normalTokenBytes(_ token: String) -> [UInt8] {
        var out: [UInt8] = []
        let u = Array(token.utf8)
        out.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            if i + 2 < u.count && u[i] == 0xE2 && u[i + 1] == 0x96 && u[i + 2] == 0x81 {
                out.append(0x20); i += 3
            } else {
                out.append(u[i]); i += 1
            }
        }
        return out
    }

    /// Encodes `utf8[range]` (valid UTF-8, no special tokens); `spacePrefix` prepends a space when the
    /// vocabulary wants one (`addSpacePrefix`).
    func encode(_ utf8: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, spacePrefix: Bool, into out: inout [Int]) {
        if range.isEmpty { return }
        var text: [UInt8] = []
        text.reserveCapacity(range.count + range.count / 2 + 3)
        if spacePrefix && addSpacePrefix { text.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for i in range {
            if utf8[i] == 0x20 { text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { text.append(utf8[i]) }
        }
        text.withUnsafeBufferPointer { merge($0, into: &out) }
    }

    /// A pair of adjacent symbols whose concatenation (`size` bytes) is an entry with `score`.
    private struct Bigram: Comparable {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32

        /// Heap order (`popMin` first): higher score first, then the leftmost pair.
        @inline(__always) static func < (a: Bigram, b: Bigram) -> Bool {
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }
    }

    private func merge(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Int]) {
        // One symbol per character, linked in text order; a merged-away symbol has length 0.
        var start: [Int32] = []
        var length: [Int32] = []
        var offset = 0
        while offset < text.count {
            let n = min(SentencePieceEncoder.utf8Length(text[offset]), text.count - offset)
            start.append(Int32(offset))
            length.append(Int32(n))
            offset += n
        }
        let count = start.count
        var prev = (0..<count).map { Int32($0) - 1 }
        var next = (0..<count).map { Int32($0) + 1 }
        next[count - 1] = -1

        var heap = Heap<Bigram>()
        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let size = Int(length[Int(left)] + length[Int(right)])
            let s = Int(start[Int(left)])
            guard let id = index.id(of: UnsafeBufferPointer(rebasing: text[s..<(s + size)])) else { return }
            heap.insert(Bigram(score: scores[id], left: left, right: right, size: Int32(size)))
        }
        for i in 1..<max(count, 1) { consider(Int32(i - 1), Int32(i)) }

        while let b = heap.popMin() {
            let l = Int(b.left), r = Int(b.right)
            // Stale: one side was merged away or grew since the pair was queued.
            if length[l] == 0 || length[r] == 0 || length[l] + length[r] != b.size { continue }
            length[l] += length[r]
            length[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = b.left }
            consider(prev[l], b.left)
            consider(b.left, next[l])
        }

        var i: Int32 = 0
        while i >= 0 {
            let s = Int(start[Int(i)]), n = Int(length[Int(i)])
            let symbol = UnsafeBufferPointer(rebasing: text[s..<(s + n)])
            if let id = index.id(of: symbol) {
                out.append(id)
            } else if symbol.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                for b in symbol { out.append(Int(byteIDs[Int(b)])) }
            } else if let unknownID {
                out.append(unknownID)
            }
            i = next[Int(i)]
        }
    }

    /// Bytes of the UTF-8 sequence led by `b` (a stray continuation byte counts as one).
    @inline(__always)
    private static func utf8Length(_ b: UInt8) -> Int {
        switch b >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}
