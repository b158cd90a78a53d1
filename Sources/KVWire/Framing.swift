/// Frames on the byte stream: a 4-byte big-endian length, then that many bytes of one protobuf message.

/// Splits a byte stream into frames.
///
/// Bytes are appended as they arrive; `next()` returns each complete frame's payload. The
/// length in a header is checked against `maxFrameSize` as soon as the 4 header bytes are
/// in, before any buffer for the payload exists, so a hostile length costs nothing.
public struct FrameDecoder: Sendable {
    /// Frames longer than this are refused.
    public let maxFrameSize: Int
    private var buffer: [UInt8] = []
    private var start = 0

    /// The default maximum frame size: 16 MiB.
    public static let defaultMaxFrameSize = 16 << 20

    /// A decoder that refuses frames of more than `maxFrameSize` payload bytes (16 MiB by default).
    public init(maxFrameSize: Int = FrameDecoder.defaultMaxFrameSize) {
        self.maxFrameSize = maxFrameSize
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Appends bytes read from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes read from the stream.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete frame's payload, or `nil` until more bytes arrive.
    /// - Throws: `ProtocolError.frameTooLarge` when a header announces more than `maxFrameSize`
    ///   bytes; the stream cannot be resynchronised after that.
    public mutating func next() throws -> [UInt8]? {
        let available = buffer.count - start
        guard available >= 4 else { return nil }
        let length = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        guard length <= maxFrameSize else { throw ProtocolError.frameTooLarge(length: length, limit: maxFrameSize) }
        guard available >= 4 + length else { return nil }
        let payload = Array(buffer[(start + 4)..<(start + 4 + length)])
        start += 4 + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        }
        return payload
    }

    /// When the stream ends: an error if a frame was cut short.
    public func checkEndOfStream() throws {
        let available = buffer.count - start
        guard available > 0 else { return }
        if available < 4 { throw ProtocolError.truncatedFrame(have: available, need: 4) }
        let length = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        throw ProtocolError.truncatedFrame(have: available, need: 4 + length)
    }

    private mutating func compactIfUseful() {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
    }
}

/// Builds frames.
public enum FrameEncoder {
    /// `payload` prefixed with its 4-byte big-endian length.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + 4)
        let n = UInt32(truncatingIfNeeded: payload.count)
        out.append(UInt8(n >> 24))
        out.append(UInt8((n >> 16) & 0xFF))
        out.append(UInt8((n >> 8) & 0xFF))
        out.append(UInt8(n & 0xFF))
        out.append(contentsOf: payload)
        return out
    }
}
