/// How text is cut into words before BPE, selected by `tokenizer.ggml.pre`.
///
/// Each case is a hand-written scanner equivalent to the regular expression the reference
/// tokenizer (Hugging Face `tokenizers`, and llama.cpp) uses for that model family.
public enum PreTokenizer: String, CaseIterable, Sendable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// SmolLM / StarCoder: every `\p{N}` isolated first (HF `Digits(individual_digits=True)`), then GPT-2.
    case smollm
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    case llama3
    /// Qwen2: as Llama 3 but with single digits (`\p{N}`).
    case qwen2

    /// `tokenizer.ggml.pre` names accepted for each case (llama.cpp's names).
    public static let aliases: [String: PreTokenizer] = [
        "gpt2": .gpt2, "gpt-2": .gpt2,
        "smollm": .smollm, "starcoder": .smollm, "refact": .smollm,
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
        case .smollm:
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
