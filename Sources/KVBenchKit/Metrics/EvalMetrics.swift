import Foundation

/// The summary written to metrics.json: overall accuracy (mean score in [0, 1]) over the scored
/// questions, and the same per task. Questions without references are not scored.
public struct EvalMetrics: Sendable, Equatable {
    public var accuracy: Double
    public var n: Int
    public var unscored: Int
    public var errors: Int
    /// Per task: mean score and count.
    public var perTask: [String: (score: Double, n: Int)]
    /// Metric names used, sorted.
    public var metricNames: [String]

    public static func == (a: EvalMetrics, b: EvalMetrics) -> Bool {
        a.accuracy == b.accuracy && a.n == b.n && a.unscored == b.unscored && a.errors == b.errors
            && a.metricNames == b.metricNames && a.perTask.mapValues { [$0.score, Double($0.n)] } == b.perTask.mapValues { [$0.score, Double($0.n)] }
    }

    /// Summarises predictions.
    public init(_ predictions: [Prediction]) {
        let scored = predictions.filter { !$0.reference.isEmpty }
        n = scored.count
        unscored = predictions.count - scored.count
        errors = predictions.filter { $0.error != nil }.count
        accuracy = scored.isEmpty ? 0 : scored.map(\.score).reduce(0, +) / Double(scored.count)
        var tasks: [String: (Double, Int)] = [:]
        for p in scored { let t = tasks[p.task] ?? (0, 0); tasks[p.task] = (t.0 + p.score, t.1 + 1) }
        perTask = tasks.mapValues { (score: $0.0 / Double($0.1), n: $0.1) }
        metricNames = Array(Set(scored.map(\.metric))).sorted()
    }

    /// The JSON object: `accuracy`, `n`, then the dataset's own metric per task in percent
    /// (kvpress reports `string_match` etc. × 100).
    public var json: [String: Any] {
        var tasks: [String: Any] = [:]
        for (t, v) in perTask {
            tasks[t] = ["score": round4(v.score), "n": v.n, (metricNames.count == 1 ? metricNames[0] : "score_percent"): round4(v.score * 100)]
        }
        return ["accuracy": round4(accuracy), "n": n, "unscored": unscored, "errors": errors,
                "metric": metricNames.joined(separator: ","), "tasks": tasks]
    }
}

func round4(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }
