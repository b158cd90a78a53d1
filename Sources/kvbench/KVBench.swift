import ArgumentParser
import KVModel

@main
struct KVBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvbench",
        abstract: "Benchmarks and tools for kvd's engine, run in-process (no daemon).",
        discussion: """
            Measures speed and memory of the inference engine, and offers the small tools scripts \
            rely on: tokenize, generate. Scores presses on datasets (eval, sweep).
            """,
        subcommands: [EvalCommand.self, SweepCommand.self, SpeedCommand.self, GenerateCommand.self, TokenizeCommand.self,
                      PerplexityCommand.self, ServeBenchCommand.self,
                      ProfileHeadsCommand.self]
    )

    static func main() {
        BLAS.restartWithVectorKernelIfNeeded()
        CPULevel.exitIfMisconfigured(program: "kvbench")
        main(nil)
    }
}
