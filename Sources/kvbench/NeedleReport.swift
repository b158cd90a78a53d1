import Foundation
import KVBenchKit

/// Draws the needle heatmap next to a needle run's results.
enum NeedleReport {
    static func write(outcome: Evaluation.Outcome, dataset: EvalDataset, title: String) throws {
        var labels: [String: [String: String]] = [:]
        for c in dataset.contexts { labels[c.id] = c.labels }
        var cells: [String: Double] = [:]
        for p in outcome.predictions {
            guard let l = labels[p.contextID], let len = l["length"], let depth = l["depth"] else { continue }
            cells["\(depth)/\(len)"] = p.score
        }
        let lengths = Array(Set(dataset.contexts.compactMap { $0.labels["length"].flatMap(Int.init) })).sorted()
        let depths = Array(Set(dataset.contexts.compactMap { $0.labels["depth"].flatMap(Int.init) })).sorted()
        let svg = SVGHeatmap(title: title, columns: lengths, rows: depths) { cells["\($0)/\($1)"] }.render()
        let url = outcome.store.directory.appendingPathComponent("heatmap.svg")
        try Data(svg.utf8).write(to: url)
        PNGConverter.convert(svg: url.path, png: url.deletingPathExtension().appendingPathExtension("png").path)
    }
}
