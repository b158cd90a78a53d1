import ArgumentParser
import Foundation
import KVBenchKit
import KVModel

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of the model on a text file, by llama.cpp's llama-perplexity protocol.",
        discussion: """
            The text is tokenized once (with BOS where the vocabulary adds one) and cut into \
            non-overlapping windows of --context tokens; each window is run from an empty cache \
            and the second half of its tokens is scored. Compare with \
            `llama-perplexity -m MODEL -f FILE -c N`.

            Example:
              kvbench perplexity --model models/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf wiki.txt --context 512
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Tokens per window (llama-perplexity's -c).")
    var context = 512

    @Option(help: "Evaluate at most this many windows (llama-perplexity's --chunks).")
    var windows: Int?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Argument(help: "The text file.")
    var file: String

    func validate() throws {
        guard context >= 4 else { throw ValidationError("--context must be at least 4") }
        if let windows, windows < 1 { throw ValidationError("--windows must be at least 1") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)") }
        let model = try modelOptions.load()
        let result: Perplexity
        do {
            result = try Perplexity.measure(model: model, text: String(decoding: data, as: UTF8.self), context: context,
                                            maxWindows: windows) { done, total, ppl in
                if !json { FileHandle.standardError.write(Data(String(format: "[%d/%d] %.4f\n", done, total, ppl).utf8)) }
            }
        } catch let failure as Perplexity.Failure {
            throw CommandFailure(failure.description)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let report = Report(model: modelOptions.path, file: file, context: context, perplexity: result.value,
                                uncertainty: result.uncertainty, windows: result.windows, scoredTokens: result.scoredTokens,
                                textTokens: result.textTokens, seconds: result.seconds)
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(String(format: "PPL = %.4f +/- %.5f (%d windows of %d tokens, %d scored, %.1f s)", result.value,
                         result.uncertainty, result.windows, context, result.scoredTokens, result.seconds))
        }
    }

    /// The `--json` answer.
    struct Report: Encodable {
        let model, file: String
        let context: Int
        let perplexity, uncertainty: Double
        let windows, scoredTokens, textTokens: Int
        let seconds: Double

        enum CodingKeys: String, CodingKey {
            case model, file, context, perplexity, uncertainty, windows, seconds
            case scoredTokens = "scored_tokens", textTokens = "text_tokens"
        }
    }
}
