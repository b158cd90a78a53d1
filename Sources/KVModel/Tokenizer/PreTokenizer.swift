/// How text is cut into words before BPE, selected by `tokenizer.ggml.pre`.
///
/// Each case is a hand-written scanner equivalent to the regular expression(s) of the reference
/// tokenizer (Hugging Face `tokenizers`, llama.cpp) for that model family.
///
/// SmolLM (`smollm`, like `starcoder` and `refact`) maps to plain `gpt2`, not to `gpt2IsolatedDigits`:
/// kvd's reference stack (transformers loading the GGUF, then kvpress) builds a plain GPT-2 byte-level
/// pre-tokenizer from the file, and its golden token ids show it (`"follows:\n\n1."` gives `Ċ Ċ 1`,
/// where isolating digits first gives `ĊĊ 1`). The two differ only in whitespace next to digits, since
/// these vocabularies hold no multi-digit tokens. Pass `.gpt2IsolatedDigits` to `Tokenizer` to get
/// the hub `tokenizer.json` / llama.cpp behaviour instead.
public enum PreTokenizer: String, CaseIterable, Sendable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Every `\p{N}` isolated first (HF `Digits(individual_digits=True)`), then GPT-2 within each piece:
    /// SmolLM's / StarCoder's hub `tokenizer.json` and llama.cpp's `smollm`. Not selected by any name; see above.
    case gpt2IsolatedDigits = "gpt2-isolated-digits"
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    case llama3
    /// Qwen2: as Llama 3 but with single digits (`\p{N}`).
    case qwen2

    /// `tokenizer.ggml.pre` names accepted for each case (llama.cpp's names).
    public static let aliases: [String: PreTokenizer] = [
        "gpt2": .gpt2, "gpt-2": .gpt2,
        "smollm": .gpt2, "starcoder": .gpt2, "refact": .gpt2,
        "llama-bpe": .llama3, "llama3": .llama3, "llama-v3": .llama3,
        "qwen2": .qwen2,
    ]

    /// The supported `tokenizer.ggml.pre` names, sorted (for error messages).
    public static var supportedNames: [String] { aliases.keys.sorted() }

    /// The pre-tokenizer for a `tokenizer.ggml.pre` value, or nil when it is not supported.
    public init?(ggmlName: String) {
        guard let p = PreTokenizer.aliases[ggmlName] else { return nil }
        self = p
    }

    /// Appends the pieces of `scalars[lo..<hi]` as scalar index ranges (end indices) to `ends`.
    ///
    /// `classes[i]` must be `ScalarClass.of(scalars[i])`.
    func split(_ scalars: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>,
               _ lo: Int, _ hi: Int, into ends: inout [Int]) {
        switch self {
        case .gpt2:
            var i = lo
            while i < hi { i = PreTokenizer.gpt2Match(scalars, classes, i, hi); ends.append(i) }
        case .gpt2IsolatedDigits:
            var start = lo
            var i = lo
            while i <= hi {
                if i == hi || classes[i] & ScalarClass.number != 0 {
                    var j = start
                    while j < i { j = PreTokenizer.gpt2Match(scalars, classes, j, i); ends.append(j) }
                    if i < hi { ends.append(i + 1) }
                    start = i + 1
                }
                i += 1
            }
        case .llama3, .qwen2:
            let maxDigits = self == .llama3 ? 3 : 1
            var i = lo
            while i < hi { i = PreTokenizer.llama3Match(scalars, classes, i, hi, maxDigits: maxDigits); ends.append(i) }
        }
    }

    // MARK: - Scanners

    /// Length of a contraction (`'s 't 're 've 'm 'll 'd`) at `i`, or 0.
    @inline(__always)
    private static func contraction(_ s: UnsafeBufferPointer<UInt32>, _ i: Int, _ hi: Int, caseInsensitive: Bool) -> Int {
        guard s[i] == 0x27, i + 1 < hi else { return 0 }
        @inline(__always) func lower(_ c: UInt32) -> UInt32 {
            caseInsensitive && c >= 0x41 && c <= 0x5A ? c + 32 : c
        }
        let a = lower(s[i + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        guard i + 2 < hi else { return 0 }
        let b = lower(s[i + 2])
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    /// End of the whitespace run starting at `i`.
    @inline(__always)
    private static func spaceRunEnd(_ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ hi: Int) -> Int {
        var r = i
        while r < hi && c[r] & ScalarClass.space != 0 { r += 1 }
        return r
    }

    /// `\s+(?!\S)|\s+` for a whitespace run `[i, r)`: all of it at the end of the text, otherwise
    /// all but the last scalar (which then leads the next word), or a lone scalar.
    @inline(__always)
    private static func trailingSpaceEnd(_ i: Int, _ r: Int, _ hi: Int) -> Int {
        if r == hi { return r }
        return r - i >= 2 ? r - 1 : r
    }

    /// End of the GPT-2 pattern's match at `i` (always > i).
    static func gpt2Match(_ s: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ hi: Int) -> Int {
        let k = contraction(s, i, hi, caseInsensitive: false)
        if k > 0 { return i + k }
        var j = i
        if s[i] == 0x20 && i + 1 < hi && c[i + 1] & ScalarClass.space == 0 { j = i + 1 }
        let cj = c[j]
        if cj & ScalarClass.letter != 0 {
            j += 1
            while j < hi && c[j] & ScalarClass.letter != 0 { j += 1 }
            return j
        }
        if cj & ScalarClass.number != 0 {
            j += 1
            while j < hi && c[j] & ScalarClass.number != 0 { j += 1 }
            return j
        }
        if ScalarClass.isOther(cj) {
            j += 1
            while j < hi && ScalarClass.isOther(c[j]) { j += 1 }
            return j
        }
        // c[i] is whitespace here.
        return trailingSpaceEnd(i, spaceRunEnd(c, i, hi), hi)
    }

    /// End of the Llama 3 / Qwen2 pattern's match at `i` (always > i).
    static func llama3Match(_ s: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ hi: Int,
                            maxDigits: Int) -> Int {
        let k = contraction(s, i, hi, caseInsensitive: true)
        if k > 0 { return i + k }
        let ci = c[i]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var j = i
        if ci & (ScalarClass.newline | ScalarClass.letter | ScalarClass.number) == 0 && i + 1 < hi
            && c[i + 1] & ScalarClass.letter != 0 {
            j = i + 1
        }
        if c[j] & ScalarClass.letter != 0 {
            j += 1
            while j < hi && c[j] & ScalarClass.letter != 0 { j += 1 }
            return j
        }
        // \p{N}{1,maxDigits}
        if ci & ScalarClass.number != 0 {
            j = i + 1
            while j < hi && j - i < maxDigits && c[j] & ScalarClass.number != 0 { j += 1 }
            return j
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        j = i
        if s[i] == 0x20 && i + 1 < hi && ScalarClass.isOther(c[i + 1]) { j = i + 1 }
        if ScalarClass.isOther(c[j]) {
            j += 1
            while j < hi && ScalarClass.isOther(c[j]) { j += 1 }
            while j < hi && c[j] & ScalarClass.newline != 0 { j += 1 }
            return j
        }
        // c[i] is whitespace here. `\s*[\r\n]+`: up to the last newline of the run.
        let r = spaceRunEnd(c, i, hi)
        var n = r
        while n > i && c[n - 1] & ScalarClass.newline == 0 { n -= 1 }
        if n > i { return n }
        return trailingSpaceEnd(i, r, hi)
    }
}

extension PreTokenizer {
    /// The pieces `text` is cut into (for tests and diagnostics; `Tokenizer.encode` uses `split` directly).
    func pieces(of text: String) -> [String] {
        let scalars = text.unicodeScalars.map(\.value)
        let classes = text.unicodeScalars.map(ScalarClass.of)
        var ends: [Int] = []
        scalars.withUnsafeBufferPointer { s in
            classes.withUnsafeBufferPointer { c in split(s, c, 0, s.count, into: &ends) }
        }
        let all = Array(text.unicodeScalars)
        var out: [String] = []
        var start = 0
        for end in ends {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: all[start..<end])
            out.append(String(v))
            start = end
        }
        return out
    }
}
