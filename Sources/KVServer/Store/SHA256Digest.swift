import COpenSSLCrypto
import Foundation

/// SHA-256 (OpenSSL's libcrypto) as lowercase hex: the names and checks of shared chunks.
enum SHA256Digest {
    static func hex<C: ContiguousBytes>(_ bytes: C) -> String {
        var md = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        bytes.withUnsafeBytes { raw in
            _ = SHA256(raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count, &md)
        }
        return md.map { String(format: "%02x", $0) }.joined()
    }
}
