import Foundation
import XCTest
@testable import KVModel
import KVTestSupport

/// The extra GGUF files in `models/` (installed by `scripts/fetch-model`), for kernel checks on
/// real tensors. A missing file fails the test (it never skips).
enum ModelFiles {
    static let qwen = "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf"

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "model file \(path) not found: run scripts/fetch-model qwen2.5-coder-0.5b-instruct" }
    }

    /// Opens `models/NAME` once per process; throws (failing the test) when it is missing.
    static func gguf(_ name: String) throws -> GGUFFile {
        let path = TestModel.repositoryRoot.appendingPathComponent("models/\(name)").path
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail(Missing(path: path).description)
            throw Missing(path: path)
        }
        lock.lock()
        defer { lock.unlock() }
        if let f = opened[name] { return f }
        let f = try GGUFFile(path: path)
        opened[name] = f
        return f
    }

    nonisolated(unsafe) private static var opened: [String: GGUFFile] = [:]
    private static let lock = NSLock()
}

/// Weights of any type with arbitrary codes and sane scales, for speed runs (values are not checked).
enum SyntheticWeights {
    /// `rows × type.rowBytes(columns)` bytes; the caller deallocates.
    static func make(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64 = 1) -> UnsafeMutableRawPointer {
        let rb = type.rowBytes(columns)!, n = rows * rb
        let p = UnsafeMutableRawPointer.allocate(byteCount: n + 8, alignment: 64)
        var s = seed | 1
        for i in stride(from: 0, to: n, by: 8) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            p.storeBytes(of: s, toByteOffset: i, as: UInt64.self)
        }
        let half = Float16(0.01).bitPattern
        // Scales (and mins) a small normal half; float types a small normal value per element.
        let scaleOffsets: [Int]
        switch type {
        case .f32: for i in 0..<(n / 4) { p.storeBytes(of: Float(i % 7) * 0.01, toByteOffset: i * 4, as: Float.self) }; return p
        case .f16: for i in 0..<(n / 2) { p.storeBytes(of: Float16(Float(i % 7) * 0.01).bitPattern, toByteOffset: i * 2, as: UInt16.self) }; return p
        case .bf16: for i in 0..<(n / 2) { p.storeBytes(of: UInt16((Float(i % 7) * 0.01).bitPattern >> 16), toByteOffset: i * 2, as: UInt16.self) }; return p
        case .q4_0, .q5_0, .q8_0: scaleOffsets = [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: scaleOffsets = [0, 2]
        case .q6_K: scaleOffsets = [208]
        }
        for b in 0..<(n / type.blockBytes) {
            for o in scaleOffsets { p.storeBytes(of: half, toByteOffset: b * type.blockBytes + o, as: UInt16.self) }
        }
        return p
    }
}
