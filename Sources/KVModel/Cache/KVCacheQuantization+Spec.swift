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
        self.method = method
        bits = arguments[ifDeclared: .bits] ?? 0
        groupSize = arguments[ifDeclared: .groupSize] ?? 0
        residualLength = arguments[ifDeclared: .residual] ?? 0
        rank = arguments[ifDeclared: .rank] ?? 0
        outlierRatio = arguments[ifDeclared: .outlierRatio] ?? 0
        description = QuantizationCatalog.spec(arguments)
    }
}
