import Foundation
import KVSystem

/// The text ↔ token-id mapping of a model, built from its GGUF metadata.
///
/// Two kinds of vocabulary, chosen by `tokenizer.ggml.model`: byte-level BPE (`gpt2`, see
/// `BytePairEncoder`) and SentencePiece (`llama`, see `SentencePieceEncoder`). Special tokens written
/// in the text (`<|im_start|>`, `<start_of_turn>`) become single tokens (`SpecialTokenMatcher`).
/// `encode` never adds BOS/EOS: `addsBOS`/`addsEOS` say what the vocabulary wants around raw text.
/// Safe to share between threads.
public final class Tokenizer: @unchecked Sendable {
    /// Kind of a vocabulary entry (`tokenizer.ggml.token_type`, llama.cpp's numbering).
    public enum TokenType: Int, Sendable {
        /// llama.cpp's codes. `control`, `userDefined` and `unknown` tokens written in the text are
        /// matched whole by `encode`; `byte` tokens are `<0xNN>` pieces (SentencePiece's byte fallback).
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// The tokenization algorithm (`tokenizer.ggml.model`).
    public enum Kind: String, Sendable {
        /// `gpt2`: byte-level BPE with a pre-tokenizer and ranked merges.
        case bytePairEncoding = "gpt2"
        /// `llama`: SentencePiece-style, scored pieces, `▁` for spaces, byte fallback.
        case sentencePiece = "llama"
    }

    /// The tokenization algorithm.
    public let kind: Kind
    /// Number of entries in the vocabulary.
    public let vocabularySize: Int
    /// Beginning-of-sequence token (`tokenizer.ggml.bos_token_id`; SentencePiece defaults to 1, as in llama.cpp).
    public let bosID: Int?
    /// End-of-sequence token (`tokenizer.ggml.eos_token_id`; SentencePiece defaults to 2, as in llama.cpp).
    public let eosID: Int?
    /// Whether raw text (not a rendered chat template, which writes its own BOS) should be preceded by
    /// `bosID`: `tokenizer.ggml.add_bos_token`, else llama.cpp's default (SentencePiece and Llama 3's
    /// BPE: yes; other BPE: no). Never true without a `bosID`.
    public let addsBOS: Bool
    /// Whether raw text should be followed by `eosID`: `tokenizer.ggml.add_eos_token`, else no.
    public let addsEOS: Bool
    /// Tokens that end a turn (generation stops on any): eos, eot, and the template end tokens
    /// present as control tokens (`<|im_end|>`, `<|eot_id|>`, `<|eom_id|>`, `<end_of_turn>`, `<|end|>`,
    /// `<|endoftext|>`).
    public let eotIDs: Set<Int>
    /// The pre-tokenizer in use (nil for SentencePiece, which has none).
    public let preTokenizer: PreTokenizer?
    /// SentencePiece: whether a space is prepended to text at the start and after each special token
    /// (`tokenizer.ggml.add_space_prefix`, default true). Always false for BPE.
    public let addsSpacePrefix: Bool
    /// A stable 64-bit FNV-1a hash of everything that decides tokenization: the kind, pre-tokenizer,
    /// tokens, token types, merges or scores, the space prefix, special-token stripping and the
    /// BOS/EOS rule. Equal fingerprints mean identical tokenization (used to validate persisted caches).
    public let fingerprint: UInt64
    /// Things the user may want to know about the tokenizer (e.g. a missing `tokenizer.ggml.pre`).
    public let warnings: [String]

    private let tokens: [String]
    private let types: [TokenType]
    private let index: VocabularyIndex
    /// Bytes of token `i` are `tokenBytes[tokenOffsets[i]..<tokenOffsets[i+1]]`.
    private let tokenBytes: [UInt8]
    private let tokenOffsets: [Int]
    private let specials: SpecialTokenMatcher
    private let algorithm: Algorithm

    private enum Algorithm {
        case bytePairEncoding(BytePairEncoder)
        case sentencePiece(SentencePieceEncoder)
    }

    /// Builds the tokenizer of a GGUF model.
    ///
    /// `preTokenizer` overrides the one `tokenizer.ggml.pre` selects for a BPE vocabulary (see
    /// `PreTokenizer` for why SmolLM might want `.gpt2IsolatedDigits`).
    public convenience init(gguf: GGUFFile, preTokenizer: PreTokenizer? = nil) throws {
        try self.init(metadata: gguf.metadata, preTokenizer: preTokenizer)
    }

    /// Builds a tokenizer from GGUF-style metadata (`tokenizer.ggml.*` keys); lets tests use tiny vocabularies.
    public init(metadata: [String: GGUFValue], preTokenizer override: PreTokenizer? = nil) throws {
        guard let model = metadata[GGUFKeys.tokenizerModel]?.string else {
            throw TokenizerError.missingMetadata(key: GGUFKeys.tokenizerModel)
        }
        guard let kind = Kind(rawValue: model) else { throw TokenizerError.unsupportedModel(model) }
        guard let tokens = metadata[GGUFKeys.tokens]?.array?.strings else {
            throw TokenizerError.missingMetadata(key: GGUFKeys.tokens)
        }
        guard !tokens.isEmpty else { throw TokenizerError.invalidVocabulary("tokenizer.ggml.tokens is empty") }
        let n = tokens.count
        var types = [TokenType](repeating: .normal, count: n)
        if let raw = metadata[GGUFKeys.tokenTypes]?.array?.ints {
            guard raw.count == n else {
                throw TokenizerError.invalidVocabulary("\(raw.count) token types for \(n) tokens")
            }
            for i in 0..<n { types[i] = TokenType(rawValue: raw[i]) ?? .normal }
        }
        let index = VocabularyIndex(tokens: tokens)

        /// A special token id: the key's value, else (SentencePiece) llama.cpp's default when it is in the vocabulary.
        func specialID(_ key: String, spmDefault: Int? = nil) throws -> Int? {
            guard let v = metadata[key]?.int else {
                guard kind == .sentencePiece, let d = spmDefault, d < n else { return nil }
                return d
            }
            guard v >= 0 && v < n else {
                throw TokenizerError.invalidVocabulary("\(key) = \(v) is outside the vocabulary (0..<\(n))")
            }
            return v
        }
        bosID = try specialID(GGUFKeys.bosTokenID, spmDefault: 1)
        eosID = try specialID(GGUFKeys.eosTokenID, spmDefault: 2)
        let eotID = try specialID(GGUFKeys.eotTokenID)
        let unknownID = try specialID(GGUFKeys.unknownTokenID, spmDefault: 0)

        var warnings: [String] = []
        var h = FNV1a()
        h.add(model)
        switch kind {
        case .bytePairEncoding:
            guard let mergeList = metadata[GGUFKeys.merges]?.array?.strings else {
                throw TokenizerError.missingMetadata(key: GGUFKeys.merges)
            }
            let pre: PreTokenizer
            if let override {
                pre = override
            } else if let preName = metadata[GGUFKeys.tokenizerPre]?.string {
                guard let p = PreTokenizer(ggmlName: preName) else {
                    throw TokenizerError.unsupportedPreTokenizer(preName, supported: PreTokenizer.supportedNames)
                }
                pre = p
            } else {
                pre = .gpt2
                warnings.append("tokenizer.ggml.pre is missing; using the GPT-2 pre-tokenizer (tokenization may "
                    + "differ from the model's reference tokenizer)")
            }
            let encoder = BytePairEncoder(preTokenizer: pre, merges: mergeList, index: index, unknownID: unknownID)
            if encoder.skippedMerges > 0 {
                warnings.append("\(encoder.skippedMerges) of \(mergeList.count) merges refer to tokens missing from "
                    + "the vocabulary and are ignored")
            }
            algorithm = .bytePairEncoding(encoder)
            preTokenizer = pre
            addsSpacePrefix = false
            h.add(pre.rawValue)
            Tokenizer.hashVocabulary(tokens, types, into: &h)
            h.add(mergeList.count)
            for m in mergeList { h.add(m) }
        case .sentencePiece:
            var scores = [Float](repeating: 0, count: n)  // llama.cpp: no scores means all 0
            if let raw = metadata[GGUFKeys.scores]?.array {
                guard let values = raw.floats, values.count >= n else {
                    throw TokenizerError.invalidVocabulary("tokenizer.ggml.scores has \(raw.count) numbers for \(n) tokens")
                }
                scores = Array(values.prefix(n))
            }
            let spacePrefix = metadata[GGUFKeys.addSpacePrefix]?.bool ?? true
            algorithm = .sentencePiece(SentencePieceEncoder(index: index, scores: scores, addSpacePrefix: spacePrefix,
                                                            unknownID: unknownID))
            preTokenizer = nil
            addsSpacePrefix = spacePrefix
            Tokenizer.hashVocabulary(tokens, types, into: &h)
            for s in scores { h.add(Int(s.bitPattern)) }
            h.add(spacePrefix ? 1 : 0)
        }

        // BOS/EOS: llama.cpp's defaults per kind (Llama 3's BPE wants BOS), overridden by the file.
        let bosByDefault = kind == .sentencePiece || preTokenizer == .llama3
        let wantsBOS = metadata[GGUFKeys.addBOS]?.bool ?? bosByDefault
        let wantsEOS = metadata[GGUFKeys.addEOS]?.bool ?? false
        addsBOS = wantsBOS && bosID != nil
        addsEOS = wantsEOS && eosID != nil
        if wantsBOS && bosID == nil {
            warnings.append("the vocabulary asks for a BOS token but declares none (tokenizer.ggml.bos_token_id); none is added")
        }
        if wantsEOS && eosID == nil {
            warnings.append("the vocabulary asks for an EOS token but declares none (tokenizer.ggml.eos_token_id); none is added")
        }

        let specialList = Tokenizer.specialTokens(tokens, types, modelName: metadata[GGUFKeys.name]?.string)
        // Only what differs from the plain case is hashed, so fingerprints of earlier BPE vocabularies stay as they were.
        let stripping = specialList.filter { $0.lstrip || $0.rstrip }
        if !stripping.isEmpty {
            h.add("strip")
            for s in stripping { h.add(s.id); h.add((s.lstrip ? 1 : 0) + (s.rstrip ? 2 : 0)) }
        }
        if kind == .sentencePiece || addsBOS || addsEOS {
            h.add("bos-eos")
            h.add(addsBOS ? bosID ?? -1 : -1)
            h.add(addsEOS ? eosID ?? -1 : -1)
        }

        (tokenBytes, tokenOffsets) = Tokenizer.pieces(tokens, types, kind)

        var eot = Set<Int>()
        if let eosID { eot.insert(eosID) }
        if let eotID { eot.insert(eotID) }
        for name in ["<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>"] {
            if let id = index.id(of: name), types[id] == .control { eot.insert(id) }
        }

        self.kind = kind
        self.vocabularySize = n
        self.tokens = tokens
        self.types = types
        self.index = index
        self.specials = SpecialTokenMatcher(specialList)
        self.eotIDs = eot
        self.fingerprint = h.value
        self.warnings = warnings
    }

    /// The bytes each token stands for, concatenated, and where each starts (llama.cpp's `token_to_piece`).
    private static func pieces(_ tokens: [String], _ types: [TokenType], _ kind: Kind) -> (bytes: [UInt8], offsets: [Int]) {
        let n = tokens.count
        var bytes: [UInt8] = []
        bytes.reserveCapacity(n * 8)
        var offsets: [Int] = [0]
        offsets.reserveCapacity(n + 1)
        for i in 0..<n {
            switch types[i] {
            case .control, .userDefined, .unknown:
                bytes.append(contentsOf: tokens[i].utf8)
            case .byte:
                if let b = ByteToken.byte(ofName: tokens[i]) { bytes.append(b) } else { bytes.append(contentsOf: tokens[i].utf8) }
            case .normal:
                switch kind {
                case .bytePairEncoding: bytes.append(contentsOf: BytePairEncoder.normalTokenBytes(tokens[i]))
                case .sentencePiece: bytes.append(contentsOf: SentencePieceEncoder.normalTokenBytes(tokens[i]))
                }
            case .unused, .undefined:
                break  // llama.cpp gives no text for these
            }
            offsets.append(bytes.count)
        }
        return (bytes, offsets)
    }

    private static func hashVocabulary(_ tokens: [String], _ types: [TokenType], into h: inout FNV1a) {
        h.add(tokens.count)
        for (i, t) in tokens.enumerated() { h.add(t); h.add(types[i].rawValue) }
    }

    /// The entries matched as single tokens in text: control, user-defined and unknown tokens (llama.cpp's
    /// set). For Phi-3 models (`general.name` contains `phi-3`/`phi3`), llama.cpp lets each swallow the
    /// whitespace after it, except `<unk>`, `<s>` and `<|endoftext|>`.
    private static func specialTokens(_ tokens: [String], _ types: [TokenType], modelName: String?)
        -> [SpecialTokenMatcher.Entry] {
        let name = modelName?.lowercased() ?? ""
        let phi3 = name.contains("phi-3") || name.contains("phi3")
        var out: [SpecialTokenMatcher.Entry] = []
        for (i, t) in tokens.enumerated() where [.control, .userDefined, .unknown].contains(types[i]) {
            let rstrip = phi3 && !["<unk>", "<s>", "<|endoftext|>"].contains(t)
            out.append(SpecialTokenMatcher.Entry(text: t, id: i, rstrip: rstrip))
        }
        return out
    }

    // MARK: - Vocabulary

    /// The vocabulary string of token `id` (as stored: `Ġthe` for BPE, `▁the` for SentencePiece), or nil if out of range.
    public func tokenString(_ id: Int) -> String? {
        id >= 0 && id < vocabularySize ? tokens[id] : nil
    }

    /// The id of a vocabulary string (exact match, in the stored form), or nil.
    public func id(of token: String) -> Int? { index.id(of: token) }

    /// The kind of token `id`, or nil if out of range.
    public func tokenType(_ id: Int) -> TokenType? {
        id >= 0 && id < vocabularySize ? types[id] : nil
    }

    /// The raw bytes token `id` stands for, as llama.cpp's `token_to_piece` gives them: `▁` is a
    /// space, `<0xNN>` the byte NN, special tokens their text, unused tokens nothing (empty for out-of-range ids).
    public func bytes(of id: Int) -> ArraySlice<UInt8> {
        guard id >= 0 && id < vocabularySize else { return [] }
        return tokenBytes[tokenOffsets[id]..<tokenOffsets[id + 1]]
    }

    // MARK: - Decoding

    /// The text of `ids`: the concatenation of their pieces (`bytes(of:)`; invalid UTF-8 becomes U+FFFD),
    /// as llama.cpp streams them. No leading space is dropped (llama.cpp's whole-text `llama_detokenize`
    /// drops one for `add_space_prefix` vocabularies), so pieces streamed and decoded agree.
    /// Ids outside the vocabulary are skipped. With `skipSpecialTokens`, control and unknown tokens
    /// (`<|im_end|>`, `<bos>`, …) are left out.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        appendBytes(of: ids, skipSpecialTokens: skipSpecialTokens, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the raw bytes of `ids` to `out`.
    func appendBytes(of ids: [Int], skipSpecialTokens: Bool, to out: inout [UInt8]) {
        for id in ids where id >= 0 && id < vocabularySize {
            if skipSpecialTokens && (types[id] == .control || types[id] == .unknown) { continue }
            out.append(contentsOf: tokenBytes[tokenOffsets[id]..<tokenOffsets[id + 1]])
        }
    }

    // MARK: - Encoding

    /// The token ids of `text`, with no BOS/EOS added (see `addsBOS`). Special tokens written in the
    /// text become single tokens. As in llama.cpp, a SentencePiece vocabulary with `addsSpacePrefix`
    /// puts a space before the text and after every special token.
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { utf8 in
            var out: [Int] = []
            out.reserveCapacity(utf8.count / 3 + 4)
            var afterSpecial = true  // the start counts as "after a special token" for the space prefix
            for segment in specials.segments(of: utf8) {
                switch segment {
                case .token(let id):
                    out.append(id)
                    afterSpecial = true
                case .text(let range):
                    switch algorithm {
                    case .bytePairEncoding(let e): e.encode(utf8, range, into: &out)
                    case .sentencePiece(let e): e.encode(utf8, range, spacePrefix: afterSpecial, into: &out)
                    }
                    afterSpecial = false
                }
            }
            return out
        }
    }
}
