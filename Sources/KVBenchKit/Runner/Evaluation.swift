import Foundation
import KVModel
import KVPress

/// One configuration end to end: skip it when finished (unless forced), otherwise run it and
/// write predictions.jsonl, metrics.json and config.json.
public struct Evaluation {
    public var model: Model
    public var dataset: EvalDataset
    public var press: PressChoice
    public var options: EvalOptions
    public var outputRoot: String
    /// The command line, for config.json.
    public var arguments: ConfigFile.Arguments?

    public init(model: Model, dataset: EvalDataset, press: PressChoice, options: EvalOptions, outputRoot: String) {
        self.model = model
        self.dataset = dataset
        self.press = press
        self.options = options
        self.outputRoot = outputRoot
    }

    /// Where the results go.
    public var store: ResultStore {
        ResultStore(root: outputRoot, dataset: dataset.name, model: ResultStore.modelName(path: model.path), press: press,
                    variant: options.directorySuffix)
    }

    /// The outcome of `run`.
    public struct Outcome {
        public var metrics: MetricsFile
        public var skipped: Bool
        public var predictions: [Prediction]
        public var store: ResultStore

        public init(metrics: MetricsFile, skipped: Bool, predictions: [Prediction], store: ResultStore) {
            self.metrics = metrics
            self.skipped = skipped
            self.predictions = predictions
            self.store = store
        }
    }

    /// Runs (or skips) the configuration.
    /// - Parameter progress: (answered, total) after each question.
    public func run(force: Bool, progress: (Int, Int) -> Void = { _, _ in }) throws -> Outcome {
        let store = self.store
        if !force, store.isFinished, let m = store.readMetrics() {
            return Outcome(metrics: m, skipped: true, predictions: [], store: store)
        }
        let selected = options.select(dataset)
        let (predictions, timing) = try EvalRunner(model: model, press: press, options: options).run(selected, progress: progress)
        return try write(predictions: predictions, timing: timing, selected: selected)
    }

    /// Writes the three files for predictions computed elsewhere (a shared-prefill sweep).
    public func write(predictions: [Prediction], timing: EvalRunner.Timing, selected: EvalDataset) throws -> Outcome {
        let store = self.store
        let metrics = MetricsFile(predictions, timing: timing, press: press)
        let config = ConfigFile(
            dataset: .init(name: dataset.name, settings: dataset.settings, contexts: selected.contexts.count, questions: selected.questionCount),
            press: .init(spec: press.isNone ? PressSpec.none : ((try? press.makePress())??.description ?? press.spec),
                         name: press.base, compressionRatio: press.ratio),
            options: options.record, model: RunInfo.ModelIdentity(model), environment: RunInfo.Environment(), arguments: arguments)
        try store.write(predictions: predictions, metrics: metrics, config: config)
        return Outcome(metrics: metrics, skipped: false, predictions: predictions, store: store)
    }
}
