/// A press built from catalog-checked arguments: its name and printed parameters come from them,
/// so the catalog (``PressCatalog``) is the only place a parameter, default or range is written.
public protocol CatalogPress: Press {
    /// The arguments it was built from.
    var arguments: PressArguments { get }
}

extension CatalogPress {
    public var name: String { arguments.press }

    /// The arguments in printed form; `compression_ratio` is the press's current ratio (a wrapper
    /// may have set it).
    public var parameterValues: [(String, String)] {
        arguments.specValues.map { $0.0 == ParameterKey<Double>.compressionRatio.name ? ($0.0, String(compressionRatio)) : $0 }
    }
}
