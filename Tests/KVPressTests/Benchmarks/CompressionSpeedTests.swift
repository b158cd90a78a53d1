import Dispatch
import Foundation
import KVModel
import KVTestSupport
import KVPress
import XCTest

/// Prints, for every registered press, its compression time next to the prefill time of a
/// 4096-token context (the bar: under 10% for scorer presses, kvzip excepted). No timing
/// assertions: the machine is shared. Builds only with `KVD_BENCH=1` (run: `KVD_BENCH=1 swift test -c
/// release --filter CompressionSpeed`; `KVD_BENCH_PRESSES=snapkv,kvzip` times only those). About two minutes.
final class CompressionSpeedTests: XCTestCase {
    /// Presses that need the whole prefilled context and extra forward passes (timed on their own).
    static let postPrefill: Set<String> = ["kvzip", "minicache"]

    static let tokens = 4096

    /// The golden context repeated to `tokens` ids.
    static func context() throws -> [Int] {
        let none = try TestModel.golden("presses/none.json") as! [String: Any]
        let ids = none["context_ids"] as! [Int]
        return (0..<tokens).map { ids[$0 % ids.count] }
    }

    func testCompressionVersusPrefillAt4096Tokens() throws {
        let model = try TestModel.model()
        let ids = try Self.context()
        let only = ProcessInfo.processInfo.environment["KVD_BENCH_PRESSES"].map { Set($0.split(separator: ",").map(String.init)) }
        let names = PressCatalog.names.filter { only?.contains($0) ?? true }

        // Plain prefill, twice (the first warms the workspace); the faster counts.
        var prefill = Double.infinity
        for _ in 0..<2 {
            let t0 = DispatchTime.now()
            _ = try model.forward(ids, cache: model.makeCache(), logits: .none)
            prefill = min(prefill, Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9)
        }

        let perLayer = names.filter { !Self.postPrefill.contains($0) }
        let fan = FanOutPressHook(presses: try perLayer.map { try PressSpec.parse(PressExamples.halfRatio[$0]!) }, model: model)
        _ = try model.forward(ids, cache: model.makeCache(), hook: fan, logits: .none)
        var rows = zip(perLayer, fan.targets.map(\.hook.compressionSeconds)).map { ($0, $1) }

        for name in names where Self.postPrefill.contains(name) {
            let hook = PressHook(try PressSpec.parse(PressExamples.halfRatio[name]!), model: model)
            let cache = model.makeCache()
            _ = try model.forward(ids, cache: cache, hook: hook, logits: .none)
            try hook.finish(cache, contextIDs: ids)
            rows.append((name, hook.compressionSeconds))
        }

        var report = String(format: "prefill of %d tokens: %.2f s\n", Self.tokens, prefill)
        report += "press               compression   % of prefill\n"
        for (name, seconds) in rows {
            report += name.padding(toLength: 18, withPad: " ", startingAt: 0)
                + String(format: " %8.3f s   %6.1f %%\n", seconds, 100 * seconds / prefill)
        }
        print(report)
    }
}
