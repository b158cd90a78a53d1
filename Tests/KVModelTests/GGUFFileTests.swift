import Foundation
import XCTest
import KVModel
import KVTestSupport

final class GGUFFileTests: XCTestCase {
    private func expectProblem(_ path: String, _ check: (GGUFError.Problem) -> Bool,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try GGUFFile(path: path), file: file, line: line) { error in
            guard let e = error as? GGUFError else { return XCTFail("not a GGUFError: \(error)", file: file, line: line) }
            XCTAssertTrue(check(e.problem), "unexpected problem: \(e)", file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix(path), "the message names the file: \(e)", file: file, line: line)
        }
    }

    func testReadsEveryMetadataTypeAndTensors() throws {
        var b = GGUFBuilder()
        b.metadata = [("a.u8", .u8(7)), ("a.i8", .i8(-7)), ("a.u16", .u16(700)), ("a.i16", .i16(-700)),
                      ("a.u32", .u32(70000)), ("a.i32", .i32(-70000)), ("a.f32", .f32(1.5)), ("a.bool", .bool(true)),
                      ("a.str", .string("héllo")), ("a.u64", .u64(1 << 40)), ("a.i64", .i64(-(1 << 40))),
                      ("a.f64", .f64(2.25)), ("a.strs", .strings(["x", "yz"])), ("a.i32s", .i32s([1, -2, 3])),
                      ("a.f32s", .f32s([0.5, 1.5])), ("general.alignment", .u32(64))]
        b.alignment = 64
        b.tensors = [("w", [4, 2], 0, (0..<8).flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }),
                     ("q", [32], 8, [UInt8](repeating: 1, count: 34))]
        let path = try b.write()
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.metadata["a.u8"], .uint8(7))
        XCTAssertEqual(f.metadata["a.i8"], .int8(-7))
        XCTAssertEqual(f.metadata["a.u16"]?.int, 700)
        XCTAssertEqual(f.metadata["a.i16"]?.int, -700)
        XCTAssertEqual(f.metadata["a.u32"]?.int, 70000)
        XCTAssertEqual(f.metadata["a.i32"]?.int, -70000)
        XCTAssertEqual(f.metadata["a.f32"]?.double, 1.5)
        XCTAssertEqual(f.metadata["a.bool"]?.bool, true)
        XCTAssertEqual(f.metadata["a.str"]?.string, "héllo")
        XCTAssertEqual(f.metadata["a.u64"]?.int, 1 << 40)
        XCTAssertEqual(f.metadata["a.i64"]?.int, -(1 << 40))
        XCTAssertEqual(f.metadata["a.f64"]?.double, 2.25)
        XCTAssertEqual(f.metadata["a.strs"]?.array?.strings, ["x", "yz"])
        XCTAssertEqual(f.metadata["a.i32s"]?.array?.ints, [1, -2, 3])
        XCTAssertEqual(f.metadata["a.f32s"]?.array?.floats, [0.5, 1.5])
        XCTAssertEqual(f.alignment, 64)
        let w = try f.tensor("w")
        XCTAssertEqual(w.shape, [4, 2])
        XCTAssertEqual(w.type, .f32)
        XCTAssertEqual(w.fileOffset % 64, 0)
        XCTAssertEqual(f.data(of: w).assumingMemoryBound(to: Float.self)[5], 5)
        XCTAssertEqual(try f.tensor("q").type, .q8_0)
    }

    func testVersion2IsRead() throws {
        var b = GGUFBuilder()
        b.version = 2
        b.metadata = [("k", .string("v"))]
        XCTAssertEqual(try GGUFFile(path: try b.write()).version, 2)
    }

    func testWrongMagic() throws {
        var b = GGUFBuilder()
        b.magic = Array("GGML".utf8)
        expectProblem(try b.write()) { $0 == .badMagic }
    }

    func testUnsupportedVersion() throws {
        var b = GGUFBuilder()
        b.version = 1
        expectProblem(try b.write()) { $0 == .unsupportedVersion(1) }
    }

    func testTruncatedAtEveryPoint() throws {
        var b = GGUFBuilder()
        b.metadata = [("general.architecture", .string("llama")), ("list", .strings(["a", "b", "c"]))]
        b.tensors = [("w", [8], 0, [UInt8](repeating: 0, count: 32))]
        let full = b.build()
        // Cutting the file anywhere before the tensor data ends must give a clear error, never a crash.
        for cut in stride(from: 0, to: full.count - 1, by: 3) {
            let path = try b.write(full.prefix(cut))
            XCTAssertThrowsError(try GGUFFile(path: path)) { error in
                XCTAssertTrue(error is GGUFError, "cut at \(cut): \(error)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    func testUnknownMetadataValueType() throws {
        var b = GGUFBuilder()
        b.metadata = [("odd", .rawType(99))]
        expectProblem(try b.write()) { $0 == .unknownValueType(99, key: "odd") }
    }

    func testUnknownTensorType() throws {
        var b = GGUFBuilder()
        b.tensors = [("w", [32], 77, [UInt8](repeating: 0, count: 32))]
        expectProblem(try b.write()) { $0 == .unsupportedTensorType(77, tensor: "w") }
    }

    func testTensorPastEndOfFile() throws {
        var b = GGUFBuilder()
        b.tensors = [("w", [8], 0, [UInt8](repeating: 0, count: 32))]
        let data = b.build()
        // Declare a larger tensor than the data present.
        b.tensors = [("w", [64], 0, [UInt8](repeating: 0, count: 32))]
        let bigger = b.build()
        XCTAssertEqual(bigger.count, data.count)
        expectProblem(try b.write(bigger)) { $0 == .tensorOutOfBounds("w") }
    }

    func testRowNotWholeBlocks() throws {
        var b = GGUFBuilder()
        b.tensors = [("w", [33], 8, [UInt8](repeating: 0, count: 64))]
        expectProblem(try b.write()) { if case .badTensorShape = $0 { return true } else { return false } }
    }

    func testHugeCountIsRejectedWithoutAllocating() throws {
        var b = GGUFBuilder()
        b.metadata = [("k", .string("v"))]
        var data = b.build()
        // Overwrite the metadata count with 2^60.
        data.replaceSubrange(16..<24, with: withUnsafeBytes(of: UInt64(1 << 60).littleEndian, Array.init))
        expectProblem(try b.write(data)) { if case .truncated = $0 { return true } else { return false } }
    }

    func testMissingFileAndDirectory() {
        expectProblem("/nonexistent/model.gguf") { if case .cannotOpen = $0 { return true } else { return false } }
        expectProblem(NSTemporaryDirectory()) { if case .cannotOpen = $0 { return true } else { return false } }
    }

    func testUnsupportedArchitecture() throws {
        var b = GGUFBuilder()
        b.metadata = [("general.architecture", .string("mamba"))]
        let f = try GGUFFile(path: try b.write())
        XCTAssertThrowsError(try ModelConfig(gguf: f)) { error in
            XCTAssertEqual((error as? GGUFError)?.problem, .unsupportedArchitecture("mamba"))
            XCTAssertTrue("\(error)".contains("'mamba' is not supported"))
        }
    }

    func testDefaultModelConfigComesFromMetadata() throws {
        let c = try ModelConfig(gguf: try TestModel.gguf())
        XCTAssertEqual(c.layerCount, 30)
        XCTAssertEqual(c.embeddingLength, 576)
        XCTAssertEqual(c.headCount, 9)
        XCTAssertEqual(c.headCountKV, 3)
        XCTAssertEqual(c.headDimension, 64)
        XCTAssertEqual(c.contextLength, 8192)
        XCTAssertEqual(c.vocabularySize, 49152)
        XCTAssertTrue(c.tiedEmbeddings)
        XCTAssertEqual(c.ropeFrequencyBase, 100_000)
    }
}
