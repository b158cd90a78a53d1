import Foundation
import KVPress
import KVWire

/// A grid of presses × compression ratios (× decoding presses × cache budgets) over one dataset;
/// `none` and presses without a ratio (`fidelity`, `think`) run once.
/// Finished configurations are reused. Produces one CSV row per configuration and the
/// score-versus-ratio chart, or score versus cache budget when the grid sweeps budgets.
public struct Sweep {
    /// One configuration: a prefill press and what compresses while answering.
    public struct Configuration: Sendable {
        public var press: PressChoice
        public var decoding: DecodingChoice

        public init(press: PressChoice, decoding: DecodingChoice = .none) {
            self.press = press
            self.decoding = decoding
        }

        /// `options` with this configuration's decoding press in place of theirs.
        public func options(_ options: EvalOptions) -> EvalOptions {
            var o = options
            o.decoding = decoding.press
            return o
        }

        /// `snapkv@0.50`, `none@0.00 + h2o@256`.
        public var label: String {
            "\(press.base)@\(String(format: "%.2f", press.ratio))" + (decoding.isNone ? "" : " + \(decoding.label)")
        }
    }

    /// One configuration's result.
    public struct Row: Equatable {
        public var dataset: String
        public var model: String
        public var press: String
        public var ratio: Double
        /// The decoding spec as written, before the sweep sets its budget (`h2o:compression_interval=16`), or `none`.
        public var decoding: String
        /// The `cache_budget` the sweep set, or `nil`.
        public var cacheBudget: Int?
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
        /// The means per answer of ``answerMetrics``, in that order.
        public var perAnswer: [Double]

        /// The answers' metrics a row shows, by their `Metrics` names, each the mean per answer.
        public static let answerMetrics = ["generated_tokens", "final_cache_tokens", "decoding_compressions",
                                           "decoding_compress_ms", "decode_tok_s"]

        static let columns = ["dataset", "model", "press", "compression_ratio", "decoding", "cache_budget", "accuracy", "n",
                              "wall_seconds", "reused", "mean_context_tokens", "mean_kept_tokens", "fidelity", "achieved_ratio"]
            + answerMetrics

        var fields: [String] {
            [dataset, model, press, fmt(ratio, 4), decoding, cacheBudget.map(String.init) ?? "", fmt(accuracy, 4), String(n),
             fmt(wallSeconds, 1), String(reused), String(meanContextTokens), String(meanKeptTokens), fmt(fidelity, 4),
             fmt(achievedRatio, 4)] + perAnswer.map { fmt($0, 2) }
        }

        /// A row from a metrics.json object; `ratio` is `nil` for a press that chooses its own
        /// (the row then shows the achieved one).
        public init(dataset: String, model: String, press: String, ratio: Double?, decoding: DecodingChoice = .none,
                    metrics: MetricsFile, reused: Bool) {
            self.dataset = dataset
            self.model = model
            self.press = press
            self.decoding = decoding.base
            cacheBudget = decoding.cacheBudget
            let timing = metrics.timing
            perAnswer = Self.answerMetrics.map { timing.meanPerAnswer[$0] ?? 0 }
            fidelity = timing.meanPerContext["fidelity"] ?? 0
            achievedRatio = timing.meanPerContext["achieved_ratio"] ?? 0
            self.ratio = ratio ?? achievedRatio
            accuracy = metrics.accuracy
            n = metrics.n
            wallSeconds = metrics.wallSeconds
            self.reused = reused
            meanKeptTokens = timing.meanKeptTokens
            meanContextTokens = timing.meanContextTokens
        }
    }

    /// The prefill presses of a grid, in run order: `none` once, then each press at each ratio.
    public static func grid(presses: [String], ratios: [Double]) throws -> [PressChoice] {
        var out: [PressChoice] = []
        for p in presses {
            let base = try PressChoice(spec: p, ratio: nil)
            if base.isNone || !base.takesRatio { out.append(base); continue }
            for r in ratios { out.append(try PressChoice(spec: p, ratio: r)) }
        }
        return out
    }

    /// The configurations of a grid, in run order: each prefill press (``grid(presses:ratios:)``)
    /// with each decoding choice (``DecodingChoice/grid(decoding:cacheBudgets:)``).
    public static func grid(presses: [PressChoice], decodings: [DecodingChoice]) -> [Configuration] {
        presses.flatMap { p in decodings.map { Configuration(press: p, decoding: $0) } }
    }

    /// The CSV text (header + rows).
    public static func csv(_ rows: [Row]) -> String {
        ([Row.columns] + rows.map(\.fields)).map(CSVText.line).joined()
    }

    /// Score versus compression ratio, one line per press, `none` as a dashed baseline; when the
    /// grid sweeps cache budgets, score versus budget, one line per decoding press (and prefill
    /// press, when there are others than `none`), answering without one as the dashed baseline.
    public static func chart(_ rows: [Row], title: String) -> SVGLineChart {
        let byBudget = rows.contains { $0.cacheBudget != nil }
        // A decoding spec goes by its press's name alone when no other spec of the grid shares it.
        func pressName(_ spec: String) -> String { (try? SpecNode.parse(spec).name) ?? spec }
        let decodingSpecs = Set(rows.map(\.decoding))
        func name(_ prefill: String, _ decoding: String) -> String {
            let shared = decodingSpecs.filter { pressName($0) == pressName(decoding) }.count > 1
            let parts = [prefill, shared ? decoding : pressName(decoding)].filter { $0 != PressSpec.none }
            return parts.isEmpty ? PressSpec.none : parts.joined(separator: " + ")
        }
        var order: [String] = []
        var lines: [String: (points: [(x: Double, y: Double)], isBaseline: Bool)] = [:]
        for r in rows {
            let line: String, x: Double, isBaseline: Bool
            if byBudget {
                line = name(r.press == PressSpec.none ? r.press : "\(r.press)@\(fmt(r.ratio, 2))", r.decoding)
                (x, isBaseline) = (Double(r.cacheBudget ?? 0), r.cacheBudget == nil)
            } else {
                line = name(r.press, r.decoding)
                (x, isBaseline) = (r.ratio, r.press == PressSpec.none)
            }
            if lines[line] == nil { order.append(line) }
            lines[line, default: ([], isBaseline)].points.append((x, r.accuracy))
        }
        let series = order.map { SVGLineChart.Series(name: $0, points: lines[$0]!.points, isBaseline: lines[$0]!.isBaseline) }
        return SVGLineChart(title: title, xLabel: byBudget ? "cache budget (KV pairs per head)" : "compression ratio",
                            yLabel: "score (accuracy)", series: series)
    }
}
