import XCTest
import KVModel
import KVTestSupport

/// A sequence's logits are the same bits alone and in a batch with other sequences (prompts of
/// every length class, decodes), whatever their order: `Model.forward(batch:)` never lets one
/// sequence's rows change another's arithmetic. Every architecture through its tiny model, and the
/// three real models (q4_1, q4_K, q5_0, q6_K, q8_0 layouts), on f16 and 4-bit caches.
final class BatchInvarianceForwardTests: XCTestCase {
    func testTinyModelsOfEveryArchitecture() throws {
        for name in ["tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen2-q8_0", "tiny-qwen3", "tiny-gemma3", "tiny-phi3"] {
            try check(try TestModel.tinyModel(name), name: name)
        }
    }

    func testSmolLM2() throws { try check(try TestModel.model(), name: "SmolLM2") }
    func testQwen25() throws { try check(try TestModel.model(TestModel.qwen25Coder), name: "Qwen2.5") }
    func testGemma3() throws { try check(try TestModel.model(TestModel.gemma3), name: "Gemma 3") }

    /// Others: decode rows, prompts of 5, 13 and 40 rows (mat-vec, batched and dense paths on every
    /// type) and one of 300 (sgemm where OpenBLAS has a vector kernel), on contexts of their own; the
    /// target sits at a different place in the batch at each step.
    private func check(_ model: Model, name: String) throws {
        let vocab = model.config.vocabularySize
        func ids(_ n: Int, _ seed: Int) -> [Int] { (0..<n).map { (($0 &* 7919 &+ seed &* 104_729) % (vocab - 10)) + 5 } }
        for quantized in [false, true] {
            let context = model.makeCache()
            _ = try model.forward(ids(200, 1), cache: context, logits: .none)
            if quantized {
                let group = min(32, model.config.headDimension)
                try context.quantize(try KVCacheQuantization.parse("kivi:bits=4,group_size=\(group)"))
            }
            // The target: a 12-token prompt, then three decode steps.
            let steps = [ids(12, 2), [ids(1, 3)[0]], [ids(1, 4)[0]], [ids(1, 5)[0]]]
            var alone: [[Float]] = []
            let mine = context.tail()
            for tokens in steps { alone.append(try model.forward(batch: [BatchedSequence(tokens: tokens, cache: mine)])[0].get()) }
            // The 300-row prompt (the slow one) in one step, on the f16 cache.
            for crowd in quantized ? [[1], [13, 1, 5, 1, 40, 1]] : [[1], [5, 40, 1], [300, 13, 1, 5, 1, 40, 1]] {
                let target = context.tail()
                let others = crowd.map { _ in context.tail() }
                for (k, tokens) in steps.enumerated() where k == 0 || !crowd.contains(300) {
                    var batch = zip(crowd, others).enumerated().map { j, pair in
                        BatchedSequence(tokens: ids(pair.0, 10 &* k &+ j), cache: pair.1)
                    }
                    let at = k % (batch.count + 1)
                    batch.insert(BatchedSequence(tokens: tokens, cache: target), at: at)
                    let logits = try model.forward(batch: batch)[at].get()
                    XCTAssertTrue(logits == alone[k], "\(name), \(quantized ? "4-bit" : "f16") cache, step \(k) among \(crowd): logits differ "
                                  + "(max |Δ| \(zip(logits, alone[k]).map { abs($0 - $1) }.max() ?? 0))")
                }
            }
        }
    }
}

/// Decode rows of asks on one session read its context together (`SharedPrefixAttention`), each
/// getting the bits it would alone: a context long enough to be cut into slices on both threads,
/// f16 and 4-bit, with tails of different lengths.
final class SharedContextAttentionTests: XCTestCase {
    func testSmolLM2() throws { try check(try TestModel.model(), name: "SmolLM2") }
    func testQwen25() throws { try check(try TestModel.model(TestModel.qwen25Coder), name: "Qwen2.5", length: 1100) }
    func testTinyModels() throws {
        for name in ["tiny-llama", "tiny-qwen3", "tiny-phi3"] { try check(try TestModel.tinyModel(name), name: name, length: 300) }
    }

    private func check(_ model: Model, name: String, length: Int = 2600) throws {
        let vocab = model.config.vocabularySize
        func ids(_ n: Int, _ seed: Int) -> [Int] { (0..<n).map { (($0 &* 7919 &+ seed &* 104_729) % (vocab - 10)) + 5 } }
        for quantized in [false, true] {
            let context = model.makeCache()
            _ = try model.forward(ids(min(length, model.config.contextLength - 64), 1), cache: context, logits: .none)
            if quantized {
                try context.quantize(try KVCacheQuantization.parse("kivi:bits=4,group_size=\(min(32, model.config.headDimension))"))
            }
            // Four asks with questions of 3, 9, 17 and 30 tokens, then four decode steps each.
            let questions = [3, 9, 17, 30].enumerated().map { ids($1, 20 + $0) }
            var alone: [[[Float]]] = []
            for (a, q) in questions.enumerated() {
                let tail = context.tail()
                var steps = [try model.forward(batch: [BatchedSequence(tokens: q, cache: tail)])[0].get()]
                for k in 0..<4 { steps.append(try model.forward(batch: [BatchedSequence(tokens: [ids(1, 40 + 4 * a + k)[0]], cache: tail)])[0].get()) }
                alone.append(steps)
            }
            let tails = questions.map { _ in context.tail() }
            for (a, q) in questions.enumerated() { _ = try model.forward(batch: [BatchedSequence(tokens: q, cache: tails[a])]) }
            for k in 0..<4 {
                // All four decode together, in another order at each step.
                let order = (0..<4).map { ($0 + k) % 4 }
                let batch = order.map { BatchedSequence(tokens: [ids(1, 40 + 4 * $0 + k)[0]], cache: tails[$0]) }
                let results = try model.forward(batch: batch)
                for (j, a) in order.enumerated() {
                    let logits = try results[j].get()
                    XCTAssertTrue(logits == alone[a][k + 1], "\(name), \(quantized ? "4-bit" : "f16"), ask \(a), step \(k): logits differ "
                                  + "(max |Δ| \(zip(logits, alone[a][k + 1]).map { abs($0 - $1) }.max() ?? 0))")
                }
            }
        }
    }
}
