import XCTest
import KVModel
import KVTestSupport

/// `Model.bytesReadPerDecodeToken` (kvbench speed's `decode_gb_s`): every block matrix and the
/// output projection once, plus the keys and values attention visits, only the window on a
/// sliding-window layer.
final class DecodeBytesTests: XCTestCase {
    func testWeightsAndVisibleEntriesOnTinyGemma3() throws {
        let model = try TestModel.tinyModel("tiny-gemma3")
        let c = model.config
        let gguf = model.gguf
        var weights = 0
        for t in gguf.tensors where t.shape.count == 2 && t.name.hasPrefix("blk.") { weights += t.byteCount }
        let output = try (try? gguf.tensor("output.weight")) ?? gguf.tensor("token_embd.weight")
        weights += output.byteCount
        let cache = model.makeCache()
        let n = 20
        _ = try model.forward(Array(5..<(5 + n)), cache: cache, logits: .none)
        var kv = 0
        for l in 0..<c.layerCount {
            let visible = min(n, c.window(layer: l) ?? n)
            XCTAssertTrue(c.window(layer: l) == nil || visible < n, "a window shorter than the context on layer \(l)")
            kv += cache.layers[l].reduce(0) { $0 + $1.byteCount } * visible / n
        }
        XCTAssertEqual(model.bytesReadPerDecodeToken(cache: cache), weights + kv)
    }
}
