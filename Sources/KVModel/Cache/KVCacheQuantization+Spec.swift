import KVSpec

/// Quantization specs (`kivi:bits=4,group_size=32,residual=128`), read through
/// ``QuantizationCatalog``: the one place a configuration is built from checked arguments.
extension KVCacheQuantization {
    /// Parses a spec such as `kivi:bits=4,group_size=32,residual=128`; unset parameters take their
    /// catalog defaults.
    /// - Throws: `KVQuantizationError` naming the problem and the valid methods, parameters or values.
    public static func parse(_ spec: String) throws -> KVCacheQuantization {
        try KVCacheQuantization(QuantizationCatalog.arguments(spec))
    }

    /// The configuration `arguments` (from ``QuantizationCatalog/arguments(_:)``) describe: every
    /// value is already checked. A parameter the method does not take reads as 0 (kivi's rank and
    /// outlier ratio).
    /// - Throws: `KVQuantizationError.unknownMethod` for arguments of a method this build cannot store.
    public init(_ arguments: PressArguments) throws {
        guard let method = Method(rawValue: arguments.press) else {
            throw KVQuantizationError.unknownMethod(arguments.press, valid: Method.allCases.map(\.rawValue))
        }
        let values = Dictionary(uniqueKeysWithValues: arguments.specValues)
        func value(_ p: PressParameter) -> String { values[p.name] ?? "0" }
        self.method = method
        bits = Int(value(QuantizationCatalog.bits)) ?? 0
        groupSize = Int(value(QuantizationCatalog.groupSize)) ?? 0
        residualLength = Int(value(QuantizationCatalog.residual)) ?? 0
        rank = Int(value(QuantizationCatalog.rank)) ?? 0
        outlierRatio = Double(value(QuantizationCatalog.outlierRatio)) ?? 0
        description = QuantizationCatalog.spec(arguments)
    }
}
