/// GPT-2's reversible mapping between bytes and printable Unicode scalars.
///
/// Byte-level BPE vocabularies store tokens as strings of these scalars: the 188 printable
/// Latin-1 bytes map to themselves, the other 68 bytes to U+0100 … U+0143 in byte order
/// (so a space is `Ġ` U+0120 and a newline `Ċ` U+010A).
enum ByteLevel {
    /// `scalar[b]` is the scalar standing for byte `b`.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// Bytes for U+0100 … U+0143 (the remapped non-printable bytes); nil elsewhere.
    private static let byteForHighScalar: [UInt8?] = {
        var table = [UInt8?](repeating: nil, count: 68)
        for b in 0..<256 where scalarForByte[b].value >= 256 {
            table[Int(scalarForByte[b].value) - 256] = UInt8(b)
        }
        return table
    }()

    /// The bytes a byte-level token string stands for; nil if any scalar is outside the mapping.
    static func bytes(ofToken token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            let v = s.value
            if v >= 256 && v < 256 + 68, let b = byteForHighScalar[Int(v - 256)] {
                out.append(b)
            } else if v < 256, scalarForByte[Int(v)] == s {
                out.append(UInt8(v))
            } else {
                return nil
            }
        }
        return out
    }

    /// The byte-level token string for raw bytes (the inverse of `bytes(ofToken:)`).
    static func token(forBytes bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(scalarForByte[Int(b)]) }
        return String(s)
    }
}
