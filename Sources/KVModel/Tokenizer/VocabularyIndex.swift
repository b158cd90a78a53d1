import Foundation

/// Exact lookup of a vocabulary entry by its text, straight from UTF-8 bytes.
///
/// The SentencePiece merge loop looks up every candidate pair of symbols; hashing a byte range of
/// the text avoids building a `String` for each. Open addressing over the concatenated token texts;
/// of duplicate texts the lowest id wins.
struct VocabularyIndex: Sendable {
    /// Text of token `i` is `text[offsets[i]..<offsets[i+1]]`.
    private let text: [UInt8]
    private let offsets: [Int]
    /// Token id or -1, indexed by hash; the count is a power of two at least twice the vocabulary.
    private let slots: [Int32]
    private let mask: Int

    init(tokens: [String]) {
        var text: [UInt8] = []
        text.reserveCapacity(tokens.count * 8)
        var offsets: [Int] = [0]
        offsets.reserveCapacity(tokens.count + 1)
        for t in tokens {
            text.append(contentsOf: t.utf8)
            offsets.append(text.count)
        }
        var size = 16
        while size < tokens.count * 2 { size <<= 1 }
        var slots = [Int32](repeating: -1, count: size)
        text.withUnsafeBufferPointer { all in
            for id in 0..<tokens.count {
                let key = UnsafeBufferPointer(rebasing: all[offsets[id]..<offsets[id + 1]])
                var s = VocabularyIndex.hash(key) & (size - 1)
                while true {
                    let other = Int(slots[s])
                    if other < 0 { slots[s] = Int32(id); break }
                    if all[offsets[other]..<offsets[other + 1]].elementsEqual(key) { break }  // duplicate: keep the first
                    s = (s + 1) & (size - 1)
                }
            }
        }
        self.text = text
        self.offsets = offsets
        self.slots = slots
        self.mask = size - 1
    }

    /// The id of the token whose text is exactly `bytes`, or nil.
    @inline(__always)
    func id(of bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let key = bytes.baseAddress, !bytes.isEmpty else { return nil }
        var s = VocabularyIndex.hash(bytes) & mask
        return text.withUnsafeBufferPointer { all -> Int? in
            guard let base = all.baseAddress else { return nil }  // every token is empty
            while true {
                let id = Int(slots[s])
                if id < 0 { return nil }
                let lo = offsets[id], hi = offsets[id + 1]
                if hi - lo == bytes.count && memcmp(base + lo, key, bytes.count) == 0 {
                    return id
                }
                s = (s + 1) & mask
            }
        }
    }

    /// The id of the token whose text is exactly `string`, or nil.
    func id(of string: String) -> Int? {
        var s = string
        return s.withUTF8 { id(of: $0) }
    }

    /// 64-bit FNV-1a folded to `Int` (deterministic, fast on the short keys vocabularies hold).
    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01B3
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}
