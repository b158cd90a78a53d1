import ArgumentParser
import KVModel
import KVSpec

/// `--kv-bits` / `--kv-quant`: the quantized KV cache of `speed`, `eval` and `sweep`.
struct QuantizationOptions: ParsableArguments {
    @Option(name: .customLong("kv-bits"), help: ArgumentHelp("Store the KV cache in N bits after each prefill (and press): kivi with its defaults.", valueName: "8|4|2"))
    var kvBits: Int?

    @Option(name: .customLong("kv-quant"), help: ArgumentHelp(
        "Quantized cache spec, METHOD[:key=value,…]: " + QuantizationCatalog.usage + ".", valueName: "spec"))
    var kvQuant: String?

    func validate() throws {
        do { _ = try quantization() } catch { throw ValidationError("\(error)") }
    }

    /// The configuration asked for, or `nil` for full precision.
    func quantization() throws -> KVCacheQuantization? {
        try QuantizationCatalog.arguments(kvQuant: kvQuant, kvBits: kvBits).map(KVCacheQuantization.init)
    }
}
