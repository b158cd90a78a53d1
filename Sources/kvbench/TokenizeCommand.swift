import ArgumentParser
import Foundation
import KVModel

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text as one JSON array, or decode ids back to text.",
        discussion: """
            No special tokens are added; special token strings written in the text (such as \
            <|im_start|>) become single tokens.

            Examples:
              kvbench tokenize "Hello world"            → [19556,905]
              kvbench tokenize --file report.txt
              echo '[19556,905]' | kvbench tokenize --decode
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Read the text (or, with --decode, the JSON ids) from this file; '-' is standard input.", valueName: "file"))
    var file: String?

    @Flag(help: "Read a JSON array of ids (argument, --file or standard input) and print the decoded text.")
    var decode = false

    @Argument(help: "The text to tokenize (or the JSON ids with --decode). Read from standard input when absent and no --file is given.")
    var text: String?

    func validate() throws {
        if text != nil && file != nil { throw ValidationError("give either a text argument or --file, not both") }
    }

    func run() throws {
        let input: String
        if let text {
            input = text
        } else if let file, file != "-" {
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)") }
            input = String(decoding: data, as: UTF8.self)
        } else {
            input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        let model = try modelOptions.load()
        if decode {
            guard let ids = try? JSONSerialization.jsonObject(with: Data(input.utf8)) as? [Int] else {
                throw CommandFailure("--decode expects a JSON array of integers, e.g. [19556,905]")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= model.tokenizer.vocabularySize }) {
                throw CommandFailure("token id \(bad) is outside the vocabulary (0..<\(model.tokenizer.vocabularySize))")
            }
            print(model.tokenizer.decode(ids), terminator: "")
        } else {
            let ids = model.tokenizer.encode(input)
            print("[" + ids.map(String.init).joined(separator: ",") + "]")
        }
    }
}
