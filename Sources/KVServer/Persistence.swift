import KVSystem
import KVWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The identity of the model and settings a saved cache was computed with. Restoring into a model
/// whose fingerprint differs is refused with every difference named: a cache is only meaningful
/// for the exact weights, vocabulary, positions and element type that produced it.
public struct ModelFingerprint: Codable, Equatable, Sendable {
    public var architecture: String
    /// `Tokenizer.fingerprint`: equal values mean identical tokenization.
    public var vocabularyFingerprint: UInt64
    public var vocabularySize: Int
    public var layers: Int
    public var headsKV: Int
    public var headDimension: Int
    public var contextLength: Int
    public var ropeFrequencyBase: Float
    public var ropeDimensionCount: Int
    public var ropeScale: Float
    /// `f16` or `f32`.
    public var kvStorage: String
    /// The press's full spec (`none` when uncompressed).
    public var press: String

    public init(architecture: String, vocabularyFingerprint: UInt64, vocabularySize: Int, layers: Int, headsKV: Int,
                headDimension: Int, contextLength: Int, ropeFrequencyBase: Float, ropeDimensionCount: Int,
                ropeScale: Float, kvStorage: String, press: String) {
        self.architecture = architecture
        self.vocabularyFingerprint = vocabularyFingerprint
        self.vocabularySize = vocabularySize
        self.layers = layers
        self.headsKV = headsKV
        self.headDimension = headDimension
        self.contextLength = contextLength
        self.ropeFrequencyBase = ropeFrequencyBase
        self.ropeDimensionCount = ropeDimensionCount
        self.ropeScale = ropeScale
        self.kvStorage = kvStorage
        self.press = press
    }

    /// The key of the model in the shared store: 16 hex digits of the FNV-1a hash of the
    /// model-dependent fields (storage and press are the session's own and left out).
    public var storeKey: String {
        var model = self
        model.kvStorage = ""
        model.press = ""
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let bytes = (try? encoder.encode(model)).map { [UInt8]($0) } ?? []
        let h = FNV1a.hash(bytes)
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The model-dependent fields that differ between a saved fingerprint and the current model's
    /// (storage and press are the saved session's own and are not compared).
    public func differences(from current: ModelFingerprint) -> [String] {
        var d: [String] = []
        func check<T: Equatable>(_ name: String, _ saved: T, _ now: T) {
            if saved != now { d.append("\(name): saved \(saved), model \(now)") }
        }
        check("architecture", architecture, current.architecture)
        check("vocabulary fingerprint", vocabularyFingerprint, current.vocabularyFingerprint)
        check("vocabulary size", vocabularySize, current.vocabularySize)
        check("layers", layers, current.layers)
        check("KV heads", headsKV, current.headsKV)
        check("head dimension", headDimension, current.headDimension)
        check("context length", contextLength, current.contextLength)
        check("RoPE base", ropeFrequencyBase, current.ropeFrequencyBase)
        check("RoPE dimensions", ropeDimensionCount, current.ropeDimensionCount)
        check("RoPE scale", ropeScale, current.ropeScale)
        return d
    }
}

/// Why a saved session could not be written or read back.
public enum PersistenceError: Error, Equatable, CustomStringConvertible {
    /// A file system call failed.
    case io(path: String, reason: String)
    /// The file is not a kvd snapshot, is truncated, or its checksum does not match.
    case corrupt(path: String, reason: String)
    /// The snapshot was written by a newer kvd.
    case unsupportedVersion(path: String, version: Int)
    /// The snapshot was made with a different model.
    case modelMismatch(path: String, differences: [String])

    public var description: String {
        switch self {
        case .io(let path, let reason):
            return "cannot access \(path): \(reason)"
        case .corrupt(let path, let reason):
            return "saved session \(path) is damaged (\(reason)); drop the session, or load the document again with replace (kvctl load --replace)"
        case .unsupportedVersion(let path, let version):
            return "saved session \(path) has format version \(version), newer than this kvd understands; upgrade kvd"
        case .modelMismatch(let path, let differences):
            return "saved session \(path) was made with a different model (\(differences.joined(separator: "; "))); load the document again with this model"
        }
    }
}

/// A saved-session file: a JSON header (metadata, fingerprint) and a binary payload (the cache),
/// protected by a checksum and written atomically.
///
/// Layout: `"KVDSNAP\0"`, u32 format version, u32 header length, header bytes, u64 payload
/// length, payload bytes, u64 FNV-1a checksum of everything before it (all little-endian).
///
/// Writing goes to a temporary file in the same directory, which is fsynced and renamed over the
/// target (then the directory is fsynced), so a crash leaves either the old file or the new one,
/// never a mix; a torn temporary file is never read.
public enum SnapshotFile {
    /// Current format version.
    public static let version: UInt32 = 1
    static let magic: [UInt8] = Array("KVDSNAP".utf8) + [0]
    /// File name extension of saved sessions.
    public static let fileExtension = "kvds"

    /// Writes `header` and `payload` to `url` atomically.
    /// - Returns: bytes written.
    @discardableResult
    public static func write(to url: URL, header: Data, payload: [UInt8]) throws -> Int {
        try write(to: url, image: image(header: header, payload: payload))
    }

    /// The bytes of a snapshot file of `header` and `payload` (what the shared store holds).
    public static func image(header: Data, payload: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32 + header.count + payload.count)
        out += magic
        append(&out, UInt32(version))
        append(&out, UInt32(header.count))
        out += header
        append(&out, UInt64(payload.count))
        out += payload
        append(&out, FNV1a.hash(out))
        return out
    }

    /// Writes a whole snapshot file's bytes (`image`) to `url` atomically.
    /// - Returns: bytes written.
    @discardableResult
    public static func write(to url: URL, image out: [UInt8]) throws -> Int {
        let dir = url.deletingLastPathComponent().path
        let tmp = temporaryPath(for: url)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw PersistenceError.io(path: tmp, reason: String(cString: strerror(errno))) }
        var ok = out.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; return false }
                done += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        Glibc.close(fd)
        guard ok else {
            unlink(tmp)
            throw PersistenceError.io(path: tmp, reason: reason)
        }
        guard rename(tmp, url.path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw PersistenceError.io(path: url.path, reason: why)
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); Glibc.close(dfd) }
        return out.count
    }

    /// The temporary file a write to `url` goes through: hidden, named after the target and the
    /// writing process.
    static func temporaryPath(for url: URL) -> String {
        url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".tmp-\(getpid())"
    }

    /// Deletes the temporaries that writers killed mid-save left in `directory` (a SIGKILL during
    /// a save leaves one as large as the session). Call it before this process saves anything: a
    /// temporary named with our own pid is then a dead predecessor's (a container restarts kvd
    /// with the same pid); another live process's is left alone.
    /// - Returns: the paths removed.
    @discardableResult
    public static func removeStaleTemporaries(in directory: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            guard let r = name.range(of: "." + fileExtension + ".tmp-", options: .backwards),
                  let pid = Int32(name[r.upperBound...]), pid > 0 else { continue }
            if pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM) { continue }
            let path = directory.appendingPathComponent(name).path
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }

    /// Reads only the header (cheap: the payload is neither read nor verified).
    public static func readHeader(from url: URL) throws -> Data {
        guard let h = FileHandle(forReadingAtPath: url.path) else {
            throw PersistenceError.io(path: url.path, reason: "cannot open")
        }
        defer { try? h.close() }
        let head = [UInt8](h.readData(ofLength: 16))
        let headerLength = try checkPreamble(head, url)
        let header = h.readData(ofLength: headerLength)
        guard header.count == headerLength else { throw PersistenceError.corrupt(path: url.path, reason: "truncated header") }
        return header
    }

    /// Reads and verifies a whole snapshot.
    /// - Throws: `PersistenceError.corrupt` if anything is off, including the checksum.
    public static func read(from url: URL) throws -> (header: Data, payload: [UInt8]) {
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: url)) } catch {
            throw PersistenceError.io(path: url.path, reason: "\(error.localizedDescription)")
        }
        let headerLength = try checkPreamble(bytes, url)
        let headerEnd = 16 + headerLength
        guard bytes.count >= headerEnd + 8 else { throw PersistenceError.corrupt(path: url.path, reason: "truncated header") }
        let payloadLength = Int(clamping: load(UInt64.self, bytes, headerEnd))
        guard payloadLength <= bytes.count, bytes.count == headerEnd + 8 + payloadLength + 8 else {
            throw PersistenceError.corrupt(path: url.path, reason: "length \(bytes.count) does not match its header")
        }
        let body = headerEnd + 8 + payloadLength
        let stored = load(UInt64.self, bytes, body)
        let computed = FNV1a.hash(bytes[0..<body])
        guard stored == computed else { throw PersistenceError.corrupt(path: url.path, reason: "checksum mismatch") }
        return (Data(bytes[16..<headerEnd]), Array(bytes[(headerEnd + 8)..<body]))
    }

    private static func checkPreamble(_ b: [UInt8], _ url: URL) throws -> Int {
        guard b.count >= 16, Array(b[0..<8]) == magic else { throw PersistenceError.corrupt(path: url.path, reason: "not a kvd snapshot") }
        let v = load(UInt32.self, b, 8)
        guard v <= version else { throw PersistenceError.unsupportedVersion(path: url.path, version: Int(v)) }
        let n = Int(load(UInt32.self, b, 12))
        guard n <= 64 << 20 else { throw PersistenceError.corrupt(path: url.path, reason: "implausible header length") }
        return n
    }

    static func append(_ out: inout [UInt8], _ v: UInt32) {
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    static func append(_ out: inout [UInt8], _ v: UInt64) {
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    /// The little-endian integer at `at` (bytes past the end read as 0; callers check lengths first).
    static func load<T: FixedWidthInteger>(_: T.Type, _ b: [UInt8], _ at: Int) -> T {
        b.withUnsafeBytes { raw in
            var r = LittleEndianReader(raw, offset: min(at, raw.count))
            return r.read(T.self) ?? 0
        }
    }
}
