import Foundation

/// The byte-level BPE path (`tokenizer.ggml.model = gpt2`: SmolLM, Qwen2, Llama 3): the text is cut
/// into words by the pre-tokenizer, each word starts as one token per byte (GPT-2's printable
/// scalars, see `ByteLevel`) and is merged by rank (`BPEMerges`). Words are cached. Thread-safe.
final class BytePairEncoder: @unchecked Sendable {
    let preTokenizer: PreTokenizer
    /// Initial symbol for each byte (-1 when the vocabulary lacks it).
    private let byteIDs: [Int32]
    private let unknownID: Int?
    private let merges: BPEMerges

    private let cacheLock = NSLock()
    private var cache: [[UInt8]: [Int32]] = [:]
    private static let cacheLimit = 200_000
    private static let cachedWordMaxBytes = 64

    /// How many merges could not be used (parts or result missing from the vocabulary).
    var skippedMerges: Int { merges.skipped }

    init(preTokenizer: PreTokenizer, merges: [String], index: VocabularyIndex, unknownID: Int?) {
        self.preTokenizer = preTokenizer
        self.unknownID = unknownID
        self.merges = BPEMerges(merges: merges, index: index)
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = index.id(of: String(ByteLevel.scalarForByte[b])) { byteIDs[b] = Int32(id) }
        }
        self.byteIDs = byteIDs
    }

    /// The text a normal token stands for: its GPT-2 scalars mapped back to bytes.
    static func normalTokenBytes(_ token: String) -> [UInt8] {
        ByteLevel.bytes(ofToken: token) ?? Array(token.utf8)
    }

    /// Pre-tokenizes and encodes `utf8[range]` (valid UTF-8, no special tokens).
    ///
    /// A byte without a vocabulary token (some vocabularies lack rare control bytes) becomes the
    /// unknown token when the model declares one, and is dropped otherwise.
    func encode(_ utf8: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into out: inout [Int]) {
        let lo = range.lowerBound, hi = range.upperBound
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
        let cacheable = word.count <= BytePairEncoder.cachedWordMaxBytes
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
            if cache.count >= BytePairEncoder.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = ids
            cacheLock.unlock()
        }
    }

    @inline(__always) private func appendByte(_ b: UInt8, into out: inout [Int]) {
        let id = byteIDs[Int(b)]
        if id >= 0 { out.append(Int(id)) } else if let unknownID { out.append(unknownID) }
    }
}
