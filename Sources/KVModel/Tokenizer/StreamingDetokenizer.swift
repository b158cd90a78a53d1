/// Turns generated token ids into text one token at a time without ever splitting a UTF-8 character.
///
/// Byte-level BPE tokens and SentencePiece byte-fallback tokens (`<0xF0>`) can end in the middle of
/// a multi-byte character (an emoji is often two to four tokens). Bytes of an unfinished character are held back until the character completes;
/// `flush()` returns whatever is left. The concatenation of every returned piece and the final
/// flush equals `tokenizer.decode(ids)` for the same ids.
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    /// A detokenizer for `tokenizer`; with `skipSpecialTokens`, control tokens produce no text.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Whether bytes of an unfinished character are being held back.
    public var hasPendingBytes: Bool { !pending.isEmpty }

    /// Adds one token and returns the text that is now complete (possibly empty).
    public mutating func append(_ id: Int) -> String {
        tokenizer.appendBytes(of: [id], skipSpecialTokens: skipSpecialTokens, to: &pending)
        let cut = StreamingDetokenizer.completePrefixLength(pending)
        if cut == 0 { return "" }
        let text = String(decoding: pending[0..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns the held-back bytes (an unfinished character becomes U+FFFD) and resets.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix of `bytes` that does not end inside a character that later
    /// bytes could still complete: everything except a trailing, so far valid, incomplete sequence.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // A lead byte can be at most 3 bytes before the end of an incomplete sequence.
        var i = n - 1
        while i >= 0 && i >= n - 3 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {  // not a continuation byte: a lead or ASCII byte
                let need: Int
                switch b {
                case 0xC2...0xDF: need = 2
                case 0xE0...0xEF: need = 3
                case 0xF0...0xF4: need = 4
                default: return n  // ASCII or invalid lead: nothing to wait for
                }
                let have = n - i
                if have >= need { return n }
                // The bytes present must be a valid beginning (second-byte limits of E0, ED, F0, F4).
                if have >= 2 {
                    let b1 = bytes[i + 1]
                    let ok: Bool
                    switch b {
                    case 0xE0: ok = (0xA0...0xBF).contains(b1)
                    case 0xED: ok = (0x80...0x9F).contains(b1)
                    case 0xF0: ok = (0x90...0xBF).contains(b1)
                    case 0xF4: ok = (0x80...0x8F).contains(b1)
                    default: ok = true
                    }
                    if !ok { return n }
                }
                return i
            }
            i -= 1
        }
        return n
    }
}
