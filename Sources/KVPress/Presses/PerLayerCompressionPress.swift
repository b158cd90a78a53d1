/// Runs the inner scorer with a different compression ratio on each layer (kvpress `PerLayerCompressionPress`).
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
public final class PerLayerCompressionPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let press: ScorerPress
    public let compressionRatios: [Double]

    public init(_ arguments: PressArguments, press: ScorerPress) {
        self.arguments = arguments
        self.press = press
        compressionRatios = arguments[.compressionRatios]
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { compressionRatios.reduce(0, +) / Double(max(compressionRatios.count, 1)) }

    public func compress(_ input: PressInput) throws {
        guard input.layer < compressionRatios.count else {
            throw PressError.invalidValue(press: name, parameter: ParameterKey<[Double]>.compressionRatios.name, value: "\(compressionRatios.count) ratios",
                                          expected: "one ratio per layer (\(input.geometry.layerCount))")
        }
        let saved = press.compressionRatio
        press.compressionRatio = compressionRatios[input.layer]
        defer { press.compressionRatio = saved }
        try press.compress(input)
    }
}
