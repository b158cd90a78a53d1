/// Keeps the keys with the SMALLEST L2 norm (kvpress `KnormPress`).
///
/// Score: `-‖k‖₂` per KV head and token. Cheap and query-agnostic.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2406.11430.
public final class KnormPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
    }

    public var recentQueriesRead: Int? { 0 }

    public func score(_ input: PressInput) throws -> [Float] {
        (0..<input.headCountKV).flatMap { g in
            Norms.l2(input.key(g, 0), rows: input.tokenCount, width: input.headDimension).map { -$0 }
        }
    }
}
