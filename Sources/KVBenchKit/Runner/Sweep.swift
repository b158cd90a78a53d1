import Foundation
import KVWire

/// A grid of presses × compression ratios over one dataset; `none` and presses without a ratio
/// (`fidelity`, `think`) run once.
/// Finished configurations are reused. Produces one CSV row per configuration and the
/// score-versus-ratio chart.
public struct Sweep {
    /// One configuration's result.
    public struct Row: Equatable {
        public var dataset: String
        public var model: String
        public var press: String
        public var ratio: Double
        public var accuracy: Double
        public var n: Int
        public var wallSeconds: Double
        public var reused: Bool
        public var meanKeptTokens: Int
        public var meanContextTokens: Int
        /// Mean `fidelity` of the compressed contexts.
        public var fidelity: Double
        /// Mean `achieved_ratio`: the share of entries the press really evicted.
        public var achievedRatio: Double

        static let columns = ["dataset", "model", "press", "compression_ratio", "accuracy", "n", "wall_seconds", "reused",
                              "mean_context_tokens", "mean_kept_tokens", "fidelity", "achieved_ratio"]

        var fields: [String] {
            [dataset, model, press, fmt(ratio, 4), fmt(accuracy, 4), String(n), fmt(wallSeconds, 1),
             String(reused), String(meanContextTokens), String(meanKeptTokens), fmt(fidelity, 4), fmt(achievedRatio, 4)]
        }

        /// A row from a metrics.json object; `ratio` is `nil` for a press that chooses its own
        /// (the row then shows the achieved one).
        public init(dataset: String, model: String, press: String, ratio: Double?, metrics: [String: Any], reused: Bool) {
            self.dataset = dataset
            self.model = model
            self.press = press
            let perContext = (metrics["timing"] as? [String: Any])?["mean_per_context"] as? [String: Any]
            func number(_ key: String) -> Double { (perContext?[key] as? NSNumber)?.doubleValue ?? 0 }
            fidelity = number("fidelity")
            achievedRatio = number("achieved_ratio")
            self.ratio = ratio ?? achievedRatio
            accuracy = (metrics["accuracy"] as? Double) ?? (metrics["accuracy"] as? NSNumber)?.doubleValue ?? 0
            n = (metrics["n"] as? Int) ?? 0
            wallSeconds = (metrics["wall_seconds"] as? Double) ?? 0
            self.reused = reused
            let timing = metrics["timing"] as? [String: Any]
            meanKeptTokens = (timing?["mean_kept_tokens"] as? Int) ?? 0
            meanContextTokens = (timing?["mean_context_tokens"] as? Int) ?? 0
        }
    }

    /// The configurations of a grid, in run order: `none` once, then each press at each ratio.
    public static func grid(presses: [String], ratios: [Double]) throws -> [PressChoice] {
        var out: [PressChoice] = []
        for p in presses {
            let base = try PressChoice(spec: p, ratio: nil)
            if base.isNone || !base.takesRatio { out.append(base); continue }
            for r in ratios { out.append(try PressChoice(spec: p, ratio: r)) }
        }
        return out
    }

    /// The CSV text (header + rows).
    public static func csv(_ rows: [Row]) -> String {
        ([Row.columns] + rows.map(\.fields)).map(CSVText.line).joined()
    }

    /// Score versus compression ratio, one line per press, `none` as a dashed baseline.
    public static func chart(_ rows: [Row], title: String) -> SVGLineChart {
        var order: [String] = []
        var byPress: [String: [(x: Double, y: Double)]] = [:]
        for r in rows {
            if byPress[r.press] == nil { order.append(r.press) }
            byPress[r.press, default: []].append((r.ratio, r.accuracy))
        }
        let series = order.map { SVGLineChart.Series(name: $0, points: byPress[$0]!, isBaseline: $0 == "none") }
        return SVGLineChart(title: title, xLabel: "compression ratio", yLabel: "score (accuracy)", series: series)
    }
}
