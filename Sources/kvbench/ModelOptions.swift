import ArgumentParser
import KVModel

/// Options shared by every command that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Path to a GGUF model.", discussion: "Defaults to $KVD_MODEL, then models/\(DefaultModel.fileName) (installed by scripts/fetch-model).",
        valueName: "path"))
    var model: String?

    /// The model path to use.
    var path: String { model ?? DefaultModel.path }

    func load() throws -> Model {
        do {
            return try Model(path: path)
        } catch let error as GGUFError {
            if case .cannotOpen = error.problem, model == nil {
                throw CommandFailure("\(error)\nInstall the default model with scripts/fetch-model, or pass --model PATH.")
            }
            throw CommandFailure(error.description)
        }
    }
}
