/// Runs the inner scorer with a different compression ratio on each layer (kvpress `PerLayerCompressionPress`).
///
/// - Parameters:
///   - press: the inner scorer press.
///   - compression_ratios: one ratio in `[0, 1)` per layer, written `0.1;0.5;…` in a spec.
public final class PerLayerCompressionPress: Press {
    public let name = "per_layer"
    public let press: ScorerPress
    public var compressionRatios: [Double]

    public init(press: ScorerPress, compressionRatios: [Double]) throws {
        for r in compressionRatios { try Validate.ratio(r, "compression_ratios", press: "per_layer") }
        self.press = press
        self.compressionRatios = compressionRatios
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { compressionRatios.reduce(0, +) / Double(max(compressionRatios.count, 1)) }
    public var parameterValues: [(String, String)] {
        [("compression_ratios", compressionRatios.map { String($0) }.joined(separator: ";"))]
    }

    public func compress(_ input: PressInput) throws {
        guard input.layer < compressionRatios.count else {
            throw PressError.invalidValue(press: name, parameter: "compression_ratios", value: "\(compressionRatios.count) ratios",
                                          expected: "one ratio per layer (\(input.geometry.layerCount))")
        }
        let saved = press.compressionRatio
        press.compressionRatio = compressionRatios[input.layer]
        defer { press.compressionRatio = saved }
        try press.compress(input)
    }

    static let descriptor = PressDescriptor(
        name: "per_layer", summary: "runs the inner press with one compression ratio per layer",
        reference: "kvpress PerLayerCompressionPress",
        parameters: [PressParameter("compression_ratios", "", "one ratio in [0, 1) per layer, separated by ';'")],
        inner: .one
    ) { args, inner in
        try PerLayerCompressionPress(press: PressRegistry.scorer(inner, for: "per_layer"),
                                     compressionRatios: args.ratioList("compression_ratios"))
    }
}
