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
    /// The names of the scorers used, sorted.
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

    /// metrics.json's per-task scores: the dataset's own scorer per task in percent (kvpress reports
    /// `string_match` etc. × 100).
    public var tasks: [String: MetricsFile.TaskScore] {
        perTask.mapValues {
            MetricsFile.TaskScore(score: round4($0.score), n: $0.n, percentKey: metricNames.count == 1 ? metricNames[0] : "score_percent",
                                  percent: round4($0.score * 100))
        }
    }
}

func round4(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }
