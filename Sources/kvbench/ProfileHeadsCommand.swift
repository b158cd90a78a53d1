import ArgumentParser
import Foundation
import KVModel
import KVPress

struct ProfileHeadsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile-heads",
        abstract: "Find retrieval heads on a needle-in-a-haystack task and save a head profile for the headkv press.",
        discussion: """
            Hides a needle sentence at several depths of a haystack, lets the model answer greedily \
            with the full cache, and scores each query head by how often its most attended token is \
            the needle token being copied (HeadKV's retrieval score). Writes KVCache-Factory's JSON \
            format ("LAYER-HEAD": [one score per depth]), which `headkv:profile=PATH` reads.

            Example:
              kvbench profile-heads --output heads.json --context-length 2048
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Where to write the profile JSON.", valueName: "path"))
    var output: String

    @Option(help: ArgumentHelp("A text file used as haystack (repeated as needed); default: built-in prose.", valueName: "path"))
    var haystack: String?

    @Option(help: "The sentence hidden in the haystack.")
    var needle = "The special magic number is 8264719."

    @Option(help: "The question whose answer copies the needle.")
    var question = "What is the special magic number mentioned in the text? Answer with the number only."

    @Option(help: "Haystack length in tokens.")
    var contextLength = 1024

    @Option(help: "Needle depths as comma-separated fractions in [0, 1].")
    var depths = "0.1,0.3,0.5,0.7,0.9"

    @Option(help: "Tokens generated per depth.")
    var maxNewTokens = 24

    func validate() throws {
        guard contextLength >= 16 else { throw ValidationError("--context-length must be at least 16") }
        guard parsedDepths != nil else { throw ValidationError("--depths must be comma-separated numbers in [0, 1], e.g. 0.1,0.5,0.9") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
    }

    var parsedDepths: [Double]? {
        let values = depths.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0.map { (0...1).contains($0) } ?? false }) else { return nil }
        return values.compactMap { $0 }
    }

    func run() throws {
        let model = try modelOptions.load()
        var text = Self.builtInHaystack
        if let haystack {
            guard let data = FileManager.default.contents(atPath: haystack), let s = String(data: data, encoding: .utf8) else {
                throw CommandFailure("cannot read haystack file \(haystack)")
            }
            text = s
        }
        let task = RetrievalHeadProfiler.Task(haystack: text, needle: needle, question: question, contextTokens: contextLength,
                                              depths: parsedDepths ?? [], maxNewTokens: maxNewTokens)
        let profile = try RetrievalHeadProfiler.profile(model: model, task: task) { depth, answer in
            FileHandle.standardError.write(Data("depth \(depth): \(answer.debugDescription)\n".utf8))
        }
        do {
            try profile.jsonData().write(to: URL(fileURLWithPath: output))
        } catch {
            throw CommandFailure("cannot write \(output): \(error.localizedDescription)")
        }
        let ranked = profile.scores.enumerated().flatMap { l, heads in heads.enumerated().map { (l, $0, $1) } }
            .sorted { $0.2 > $1.2 }.prefix(10)
        print("top retrieval heads (layer-head: mean score):")
        for (l, h, s) in ranked { print(String(format: "  %d-%d: %.3f", l, h, s)) }
    }

    /// Plain filler prose (no numbers), repeated to the requested length.
    static let builtInHaystack = """
        The river town woke slowly in autumn. Fishermen checked their nets by lantern light while the bakers \
        lit their ovens, and the smell of bread drifted over the wet cobblestones. Children walked to school \
        along the embankment, counting the herons that stood in the shallows. In the market square, traders \
        argued about the price of apples and wool, and an old clockmaker opened his shutters to let the pale \
        sun fall across his bench. Nobody hurried; the town had kept the same rhythm for generations. \
        Beyond the last houses, the road climbed into orchards and then into the forest, where woodcutters \
        worked through the morning and stopped at noon to share soup around a small fire. They spoke of the \
        weather, of the coming winter, and of the merchant who had promised new saws before the first frost. \
        In the evenings the library stayed open late. Students copied passages from old atlases, tracing \
        coastlines of countries they would never visit, while the librarian sorted letters from distant \
        cousins and pinned the most interesting ones to a board by the door. \
        Along the canal, barges carried timber and grain toward the sea, and the lock keeper knew every \
        captain by name. He kept a notebook of their stories: storms on the estuary, a lost anchor, a wedding \
        held on deck under strings of paper lamps. When the water was high he raised the gates early, and \
        when it was low he sat on the wall and mended ropes, watching the clouds move over the fields. \

        """
}
