import XCTest
@testable import KVWire

/// A seeded random-frame fuzz test of the frame decoder and the request codec: random bytes,
/// random lengths, mutated valid frames. Nothing may crash; every outcome is a frame, "need
/// more bytes", or a `ProtocolError`.
final class FrameFuzzTests: XCTestCase {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func testSeededRandomFrames() throws {
        var rng = SplitMix64(state: 0x6B7664)
        let valid = [
            WireCodec.encode(Request(id: 1, .load(LoadRequest(session: "s", document: String(repeating: "text ", count: 40), press: "knorm")))),
            WireCodec.encode(Request(id: 2, .ask(AskRequest(session: "s", question: "q?", sampling: WireSampling(temperature: 1))))),
            WireCodec.encode(Request(id: 3, .cancel(targetID: 2))),
        ]
        var frames = 0, malformed = 0, oversized = 0, decoded = 0
        for _ in 0..<20_000 {
            var d = FrameDecoder(maxFrameSize: 4096)
            var bytes: [UInt8]
            switch rng.next() % 3 {
            case 0:  // pure noise
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1:  // a plausible header with a random payload
                let n = Int(rng.next() % 200)
                bytes = FrameEncoder.frame((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
            default:  // a valid frame with a few bytes flipped (header included)
                bytes = FrameEncoder.frame(valid[Int(rng.next() % 3)])
                for _ in 0..<(1 + rng.next() % 4) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            d.append(bytes)
            do {
                while let payload = try d.next() {
                    frames += 1
                    do {
                        _ = try WireCodec.decodeRequest(payload)
                        decoded += 1
                    } catch let e as ProtocolError {
                        if case .malformedMessage = e { malformed += 1 }
                    }
                }
            } catch ProtocolError.frameTooLarge {
                oversized += 1
            }
        }
        XCTAssertGreaterThan(frames, 1000)
        XCTAssertGreaterThan(malformed, 100)
        XCTAssertGreaterThan(oversized, 1000)
        XCTAssertGreaterThan(decoded, 100)
        print("fuzz: \(frames) frames, \(decoded) decoded, \(malformed) malformed, \(oversized) oversized headers")
    }
}
