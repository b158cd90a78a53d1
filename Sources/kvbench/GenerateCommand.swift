import ArgumentParser
import Foundation
import KVModel

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Answer one user message with the model's chat template, streaming the answer to stdout.",
        discussion: """
            Greedy unless --temperature is given. Only the answer goes to stdout; with --verbose, \
            timings go to stderr.

            Examples:
              kvbench generate "What is the capital of France?"
              kvbench generate --model models/gemma-3-270m.Q4_K_M.gguf --raw "The capital of France is"
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Stop after this many new tokens.")
    var maxNewTokens = 256

    @Option(help: "Sampling temperature; absent or 0 means greedy.")
    var temperature: Float?

    @Option(help: "Keep only the k most likely tokens when sampling (0 = no limit).")
    var topK = 0

    @Option(help: "Nucleus sampling threshold in (0, 1].")
    var topP: Float = 1

    @Option(help: "Repetition penalty (1 = off).")
    var repetitionPenalty: Float = 1

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Option(help: "A system message to put before the user message.")
    var system: String?

    @Flag(help: "Send the prompt as it is, without the chat template (BOS in front where the vocabulary adds one): for base models.")
    var raw = false

    @Flag(help: "Print prompt size and timings to stderr.")
    var verbose = false

    @Argument(help: "The user message.")
    var prompt: String

    var sampling: SamplingParameters {
        SamplingParameters(temperature: temperature ?? 0, topK: topK, topP: topP,
                           repetitionPenalty: repetitionPenalty, seed: seed)
    }

    func validate() throws {
        if raw && system != nil { throw ValidationError("--system needs the chat template; it cannot be combined with --raw") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
        if let problem = sampling.validationError { throw ValidationError(problem) }
    }

    func run() throws {
        let model = try modelOptions.load()
        let ids: [Int]
        if raw {
            ids = (model.tokenizer.addsBOS ? model.tokenizer.bosID.map { [$0] } ?? [] : []) + model.tokenizer.encode(prompt)
        } else {
            let template: ChatTemplate
            do {
                template = try model.chatTemplate.get()
            } catch {
                throw CommandFailure("\(error); for a base model, pass --raw to send the prompt as it is")
            }
            var messages: [ChatMessage] = []
            if let system { messages.append(.system(system)) }
            messages.append(.user(prompt))
            ids = model.tokenizer.encode(try template.render(messages, addGenerationPrompt: true))
        }
        var iterator = TokenIterator(model: model, cache: model.makeCache(), prompt: ids, parameters: GenerateParameters(
            maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: model.stopTokens))
        let out = FileHandle.standardOutput
        while let piece = try iterator.nextPiece() {
            out.write(Data(piece.text.utf8))
        }
        out.write(Data((iterator.flush() + "\n").utf8))
        if verbose {
            let t = iterator.timings
            FileHandle.standardError.write(Data(String(
                format: "prompt %d tokens, prefill %.1f ms, first token %.1f ms, %d tokens at %.1f tok/s\n",
                t.promptTokens, t.prefillSeconds * 1000, t.timeToFirstTokenSeconds * 1000,
                t.generatedTokens, t.decodeTokensPerSecond).utf8))
        }
    }
}
