/// Every KV-cache quantization method kvd knows, with its parameters, declared once like
/// ``PressCatalog``: the spec's grammar (``SpecNode``), defaults, validation, the printed spec,
/// `kvctl presses` and the error texts all come from this table. KVModel's `KVCacheQuantization`
/// is built from the arguments it checks.
///
/// A spec is `METHOD[:key=value,…]`: `kivi`, `kivi:bits=4,group_size=32,residual=128`,
/// `gear:bits=4,rank=2,outlier_ratio=0.01`. `--kv-bits N` stands for `kivi:bits=N`.
public enum QuantizationCatalog {
    /// Bits per stored code.
    public static let bits = PressParameter(.bits, .choice(["2", "4", "8"]), "4", "bits per stored key and value code")
    /// Tokens per key block (keys are quantized per channel) and channels per value group (per token).
    public static let groupSize = PressParameter(.groupSize, .integer(minimum: 1, maximum: 1024), "32",
                                                 "tokens per key block and channels per value group; divides the head width")
    /// The newest entries kept in f16 (KIVI's R).
    public static let residual = PressParameter(.residual, .integer(minimum: 0), "128", "newest entries kept in f16")
    /// GEAR's rank of the low-rank error approximation (at most `group_size`, checked by `arguments`).
    public static let rank = PressParameter(.rank, .integer(minimum: 0, maximum: 1024), "2",
                                            "rank of the low-rank approximation of each block's error, at most group_size")
    /// The share of each block's elements kept exactly as sparse outliers.
    public static let outlierRatio = PressParameter(.outlierRatio, .number(0...0.5), "0.01",
                                                    "share of each block's key and value elements kept exactly")

    /// Every method, in catalog order; parameters in the order the printed spec lists them.
    public static let all: [PressEntry] = [
        PressEntry("kivi", "uniform codes: keys per channel, values per token, the newest entries in f16",
                   "https://arxiv.org/abs/2402.02750", [bits, groupSize, residual]),
        PressEntry("kvquant", "kivi plus exact sparse outliers and an exact attention sink", "https://arxiv.org/abs/2401.18079",
                   [bits, groupSize, residual, outlierRatio]),
        PressEntry("gear", "kivi plus sparse outliers and a low-rank correction of the remaining error",
                   "https://arxiv.org/abs/2403.05527", [bits, groupSize, residual, rank, outlierRatio]),
    ]

    private static let byName: [String: PressEntry] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Method names, in catalog order.
    public static var names: [String] { all.map(\.name) }

    /// The entry of `name`.
    public static func entry(_ name: String) -> PressEntry? { byName[name] }

    /// The methods and the parameters each takes, for help texts:
    /// `kivi (bits, group_size, residual), kvquant (…), gear (…)`.
    public static var usage: String {
        all.map { "\($0.name) (\($0.parameters.map(\.name).joined(separator: ", ")))" }.joined(separator: ", ")
    }

    /// The spec `--kv-bits N` stands for.
    public static func spec(bits: Int) -> String { "\(all[0].name):\(Self.bits.name)=\(bits)" }

    /// What the command-line flags ask for: `--kv-quant SPEC`, or `--kv-bits N` (`kivi:bits=N`),
    /// checked; `nil` when neither is given.
    /// - Throws: `KVQuantizationError` when both are given or the spec is not valid.
    public static func arguments(kvQuant: String?, kvBits: Int?) throws -> PressArguments? {
        if kvQuant != nil && kvBits != nil { throw KVQuantizationError.invalid("give --kv-bits or --kv-quant, not both") }
        return try (kvQuant ?? kvBits.map { spec(bits: $0) }).map(arguments)
    }

    /// The printed spec of checked arguments: the method and every parameter it takes, defaults
    /// included, in catalog order (`kivi:bits=4,group_size=32,residual=128`).
    public static func spec(_ arguments: PressArguments) -> String {
        SpecNode(name: arguments.press, parameters: arguments.specValues.map(SpecNode.Parameter.init)).description
    }

    /// Reads `spec` and checks it against the catalog: its method, parameters and values (with
    /// defaults filled in). Whether `group_size` divides a model's head width is checked where
    /// the model is known (`KVCacheQuantization.validate(headDimension:)`).
    /// - Throws: `KVQuantizationError` naming the problem and what is valid.
    public static func arguments(_ spec: String) throws -> PressArguments {
        let node: SpecNode
        do {
            node = try SpecNode.parse(spec) { name in
                guard byName[name] != nil else { throw KVQuantizationError.unknownMethod(name, valid: names) }
            }
        } catch PressError.syntax(let spec, let position, let reason) {
            throw KVQuantizationError.syntax(spec: spec, position: position, reason: reason)
        }
        guard let entry = byName[node.name] else { throw KVQuantizationError.unknownMethod(node.name, valid: names) }
        guard node.inner.isEmpty else {
            throw KVQuantizationError.invalid("\(node.name) takes no inner spec; write METHOD:key=value,… (e.g. kivi:bits=4)")
        }
        let args: PressArguments
        do {
            args = try PressArguments(press: node.name, parameters: entry.parameters, given: node.arguments)
        } catch PressError.unknownParameter(_, let parameter, let valid) {
            throw KVQuantizationError.unknownParameter(parameter, method: node.name, valid: valid)
        } catch PressError.invalidValue(_, let parameter, let value, let expected) {
            throw KVQuantizationError.invalidValue(method: node.name, parameter: parameter, value: value, expected: expected)
        }
        if let rank = args[ifDeclared: .rank], rank > args[.groupSize] {
            throw KVQuantizationError.invalidValue(method: node.name, parameter: ParameterKey<Int>.rank.name, value: String(rank),
                                                   expected: "an integer in [0, group_size] = [0, \(args[.groupSize])]")
        }
        return args
    }
}
