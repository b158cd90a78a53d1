import Foundation

/// The text ↔ token-id mapping of a model, built from its GGUF metadata.
///
/// Supports byte-level BPE vocabularies (`tokenizer.ggml.model = gpt2`) with the pre-tokenizers in
/// `PreTokenizer`. `encode` never adds BOS/EOS; special tokens written in the text (`<|im_start|>`)
/// become single tokens. Safe to share between threads.
public final class Tokenizer: @unchecked Sendable {
    /// Kind of a vocabulary entry (`tokenizer.ggml.token_type`, llama.cpp's numbering).
    public enum TokenType: Int, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// Number of entries in the vocabulary.
    public let vocabularySize: Int
    /// Beginning-of-sequence token (`tokenizer.ggml.bos_token_id`), if the model declares one.
    public let bosID: Int?
    /// End-of-sequence token (`tokenizer.ggml.eos_token_id`), if the model declares one.
    public let eosID: Int?
    /// Tokens that end a turn (generation stops on any): eos, eot, and the template end tokens
    /// present as control tokens (`<|im_end|>`, `<|eot_id|>`, `<|eom_id|>`, `<end_of_turn>`, `<|end|>`,
    /// `<|endoftext|>`).
    public let eotIDs: Set<Int>
    /// The pre-tokenizer in use.
    public let preTokenizer: PreTokenizer
    /// A stable 64-bit FNV-1a hash of the model kind, pre-tokenizer, tokens, token types and merges:
    /// equal fingerprints mean identical tokenization (used to validate persisted caches).
    public let fingerprint: UInt64
    /// Things the user may want to know about the tokenizer (e.g. a missing `tokenizer.ggml.pre`).
    public let warnings: [String]

    private let tokens: [String]
    private let types: [TokenType]
    private let tokenIDs: [String: Int]
    /// Bytes of token `i` are `tokenBytes[tokenOffsets[i]..<tokenOffsets[i+1]]`.
    private let tokenBytes: [UInt8]
    private let tokenOffsets: [Int]
    /// Initial BPE symbol for each byte (-1 when the vocabulary lacks it).
    private let byteIDs: [Int32]
    private let unknownID: Int?
    private let merges: BPEMerges
    private let specials: SpecialTokenMatcher

    private let cacheLock = NSLock()
    private var cache: [[UInt8]: [Int32]] = [:]
    private static let cacheLimit = 200_000
    private static let cachedWordMaxBytes = 64

    /// Builds the tokenizer of a GGUF model.
    ///
    /// `preTokenizer` overrides the one `tokenizer.ggml.pre` selects (see `PreTokenizer` for why SmolLM
    /// might want `.gpt2IsolatedDigits`).
    public convenience init(gguf: GGUFFile, preTokenizer: PreTokenizer? = nil) throws {
        try self.init(metadata: gguf.metadata, preTokenizer: preTokenizer)
    }

    /// Builds a tokenizer from GGUF-style metadata (`tokenizer.ggml.*` keys); lets tests use tiny vocabularies.
    public init(metadata: [String: GGUFValue], preTokenizer override: PreTokenizer? = nil) throws {
        guard let model = metadata[GGUFKeys.tokenizerModel]?.string else {
            throw TokenizerError.missingMetadata(key: GGUFKeys.tokenizerModel)
        }
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }
        guard let tokens = metadata[GGUFKeys.tokens]?.array?.strings else {
            throw TokenizerError.missingMetadata(key: GGUFKeys.tokens)
        }
        guard !tokens.isEmpty else { throw TokenizerError.invalidVocabulary("tokenizer.ggml.tokens is empty") }
        guard let mergeList = metadata[GGUFKeys.merges]?.array?.strings else {
            throw TokenizerError.missingMetadata(key: GGUFKeys.merges)
        }
        var warnings: [String] = []
        let preName = metadata[GGUFKeys.tokenizerPre]?.string
        if let override {
            preTokenizer = override
        } else if let preName {
            guard let p = PreTokenizer(ggmlName: preName) else {
                throw TokenizerError.unsupportedPreTokenizer(preName, supported: PreTokenizer.supportedNames)
            }
            preTokenizer = p
        } else {
            preTokenizer = .gpt2
            warnings.append("tokenizer.ggml.pre is missing; using the GPT-2 pre-tokenizer (tokenization may differ "
                + "from the model's reference tokenizer)")
        }

        let n = tokens.count
        var types = [TokenType](repeating: .normal, count: n)
        if let raw = metadata[GGUFKeys.tokenTypes]?.array?.ints {
            guard raw.count == n else {
                throw TokenizerError.invalidVocabulary("\(raw.count) token types for \(n) tokens")
            }
            for i in 0..<n { types[i] = TokenType(rawValue: raw[i]) ?? .normal }
        }

        func optionalID(_ key: String) throws -> Int? {
            guard let v = metadata[key]?.int else { return nil }
            guard v >= 0 && v < n else {
                throw TokenizerError.invalidVocabulary("\(key) = \(v) is outside the vocabulary (0..<\(n))")
            }
            return v
        }
        bosID = try optionalID(GGUFKeys.bosTokenID)
        eosID = try optionalID(GGUFKeys.eosTokenID)
        let eotID = try optionalID(GGUFKeys.eotTokenID)
        unknownID = try optionalID(GGUFKeys.unknownTokenID)

        var ids: [String: Int] = [:]
        ids.reserveCapacity(n)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(n * 8)
        var offsets: [Int] = [0]
        offsets.reserveCapacity(n + 1)
        var specialList: [(text: String, id: Int)] = []
        for (i, t) in tokens.enumerated() {
            if ids[t] == nil { ids[t] = i }
            switch types[i] {
            case .control, .userDefined:
                bytes.append(contentsOf: t.utf8)
                specialList.append((t, i))
            default:
                if let b = ByteLevel.bytes(ofToken: t) { bytes.append(contentsOf: b) } else { bytes.append(contentsOf: t.utf8) }
            }
            offsets.append(bytes.count)
        }
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = ids[String(ByteLevel.scalarForByte[b])] { byteIDs[b] = Int32(id) }
        }

        var eot = Set<Int>()
        if let eosID { eot.insert(eosID) }
        if let eotID { eot.insert(eotID) }
        for name in ["<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>"] {
            if let id = ids[name], types[id] == .control { eot.insert(id) }
        }

        var h = FNV1a()
        h.add(model)
        h.add(preTokenizer.rawValue)
        h.add(n)
        for (i, t) in tokens.enumerated() { h.add(t); h.add(types[i].rawValue) }
        h.add(mergeList.count)
        for m in mergeList { h.add(m) }

        self.vocabularySize = n
        self.tokens = tokens
        self.types = types
        self.tokenIDs = ids
        self.tokenBytes = bytes
        self.tokenOffsets = offsets
        self.byteIDs = byteIDs
        self.merges = BPEMerges(merges: mergeList, tokenIDs: ids)
        self.specials = SpecialTokenMatcher(tokens: specialList)
        self.eotIDs = eot
        self.fingerprint = h.value
        if merges.skipped > 0 {
            warnings.append("\(merges.skipped) of \(mergeList.count) merges refer to tokens missing from the vocabulary "
                + "and are ignored")
        }
        self.warnings = warnings
    }

    // MARK: - Vocabulary

    /// The vocabulary string of token `id` (byte-level form for normal tokens, e.g. `Ġthe`), or nil if out of range.
    public func tokenString(_ id: Int) -> String? {
        id >= 0 && id < vocabularySize ? tokens[id] : nil
    }

    /// The id of a vocabulary string (exact match, byte-level form for normal tokens), or nil.
    public func id(of token: String) -> Int? { tokenIDs[token] }

    /// The kind of token `id`, or nil if out of range.
    public func tokenType(_ id: Int) -> TokenType? {
        id >= 0 && id < vocabularySize ? types[id] : nil
    }

    /// Whether `id` is a control or user-defined token (written as its literal text, e.g. `<|im_end|>`).
    public func isSpecial(_ id: Int) -> Bool {
        guard let t = tokenType(id) else { return false }
        return t == .control || t == .userDefined
    }

    /// The raw bytes token `id` stands for (empty for out-of-range ids).
    public func bytes(of id: Int) -> ArraySlice<UInt8> {
        guard id >= 0 && id < vocabularySize else { return [] }
        return tokenBytes[tokenOffsets[id]..<tokenOffsets[id + 1]]
    }

    // MARK: - Decoding

    /// The text of `ids` (invalid UTF-8 becomes U+FFFD). Ids outside the vocabulary are skipped.
    /// With `skipSpecialTokens`, control tokens (`<|im_end|>`, …) are left out.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        appendBytes(of: ids, skipSpecialTokens: skipSpecialTokens, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the raw bytes of `ids` to `out`.
    func appendBytes(of ids: [Int], skipSpecialTokens: Bool, to out: inout [UInt8]) {
        for id in ids where id >= 0 && id < vocabularySize {
            if skipSpecialTokens && types[id] == .control { continue }
            out.append(contentsOf: tokenBytes[tokenOffsets[id]..<tokenOffsets[id + 1]])
        }
    }

    // MARK: - Encoding

    /// The token ids of `text`, with no BOS/EOS added. Special tokens written in the text become single tokens.
    ///
    /// A byte without a vocabulary token (some vocabularies lack rare control bytes) becomes the
    /// unknown token when the model declares one, and is dropped otherwise.
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { utf8 in
            var out: [Int] = []
            out.reserveCapacity(utf8.count / 3 + 4)
            var segment = 0
            var i = 0
            while i < utf8.count {
                if let m = specials.match(utf8, at: i) {
                    encodeOrdinary(utf8, segment, i, into: &out)
                    out.append(m.id)
                    i += m.length
                    segment = i
                } else {
                    i += 1
                }
            }
            encodeOrdinary(utf8, segment, utf8.count, into: &out)
            return out
        }
    }

    /// Pre-tokenizes and BPE-encodes `utf8[lo..<hi]` (valid UTF-8, no special tokens).
    private func encodeOrdinary(_ utf8: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, into out: inout [Int]) {
        if lo >= hi { return }
        var scalars: [UInt32] = []
        var offsets: [Int] = []
        scalars.reserveCapacity(hi - lo)
        offsets.reserveCapacity(hi - lo + 1)
        var i = lo
        while i < hi {
            offsets.append(i)
            let b0 = UInt32(utf8[i])
            if b0 < 0x80 {
                scalars.append(b0); i += 1
            } else if b0 < 0xE0, i + 1 < hi {
                scalars.append((b0 & 0x1F) << 6 | UInt32(utf8[i + 1] & 0x3F)); i += 2
            } else if b0 < 0xF0, i + 2 < hi {
                scalars.append((b0 & 0x0F) << 12 | UInt32(utf8[i + 1] & 0x3F) << 6 | UInt32(utf8[i + 2] & 0x3F)); i += 3
            } else if i + 3 < hi {
                scalars.append((b0 & 0x07) << 18 | UInt32(utf8[i + 1] & 0x3F) << 12 | UInt32(utf8[i + 2] & 0x3F) << 6
                    | UInt32(utf8[i + 3] & 0x3F)); i += 4
            } else {
                scalars.append(0xFFFD); i = hi  // cannot happen for a Swift String
            }
        }
        offsets.append(hi)
        let classes = scalars.map { ScalarClass.of(Unicode.Scalar($0) ?? "\u{FFFD}") }
        var ends: [Int] = []
        ends.reserveCapacity(scalars.count / 3 + 1)
        scalars.withUnsafeBufferPointer { s in
            classes.withUnsafeBufferPointer { c in
                preTokenizer.split(s, c, 0, s.count, into: &ends)
            }
        }
        var start = 0
        for end in ends {
            encodeWord(UnsafeBufferPointer(rebasing: utf8[offsets[start]..<offsets[end]]), into: &out)
            start = end
        }
    }

    /// BPE-encodes one pre-tokenized word, through the cache.
    private func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int]) {
        if word.count == 1 {
            appendByte(word[0], into: &out)
            return
        }
        let cacheable = word.count <= Tokenizer.cachedWordMaxBytes
        let key = cacheable ? Array(word) : []
        if cacheable {
            cacheLock.lock()
            let hit = cache[key]
            cacheLock.unlock()
            if let hit {
                for id in hit { out.append(Int(id)) }
                return
            }
        }
        var ids: [Int32] = []
        ids.reserveCapacity(word.count)
        for b in word {
            let id = byteIDs[Int(b)]
            if id >= 0 {
                ids.append(id)
            } else if let unknownID {
                ids.append(Int32(unknownID))
            }
        }
        merges.apply(&ids)
        for id in ids { out.append(Int(id)) }
        if cacheable {
            cacheLock.lock()
            if cache.count >= Tokenizer.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = ids
            cacheLock.unlock()
        }
    }

    @inline(__always) private func appendByte(_ b: UInt8, into out: inout [Int]) {
        let id = byteIDs[Int(b)]
        if id >= 0 { out.append(Int(id)) } else if let unknownID { out.append(unknownID) }
    }
}
