/// SentencePiece's byte-fallback tokens: `<0x0A>` stands for the byte 0x0A.
///
/// Text a vocabulary has no piece for is spelled out as these, one per UTF-8 byte.
enum ByteToken {
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// The token text for `byte` (upper-case hex, as SentencePiece and llama.cpp write it).
    static func name(of byte: UInt8) -> [UInt8] {
        [0x3C, 0x30, 0x78, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)], 0x3E]  // "<0x" h l ">"
    }

    /// The byte a `<0xNN>` token stands for (either case of hex digit), or nil for any other text.
    static func byte(ofName text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E,
              let hi = hexValue(u[3]), let lo = hexValue(u[4]) else { return nil }
        return hi << 4 | lo
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
