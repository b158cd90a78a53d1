/// Removes random entries: a baseline (kvpress `RandomPress`).
///
/// Scores are uniform in `[0, 1)` from a SplitMix64 generator; with a `seed` they are
/// reproducible (the same seed gives the same kept sets on every run, per layer and head).
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
public final class RandomPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    /// Seed, or `nil` for system randomness.
    public let seed: Int?

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        seed = arguments[.seed]
    }

    public var recentQueriesRead: Int? { 0 }

    public func score(_ input: PressInput) throws -> [Float] {
        // kvpress re-seeds for every layer, so each layer draws the same sequence.
        let base = seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: .min ... .max)
        var rng = SplitMix64(seed: base ^ UInt64(input.geometry.firstHeadKV) &* 0x9E37_79B9_7F4A_7C15)
        return (0..<(input.headCountKV * input.tokenCount)).map { _ in rng.nextUnitFloat() }
    }
}

/// A small deterministic generator (SplitMix64) with uniform and Gaussian draws.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    mutating func nextUnitFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Standard normal (Box–Muller).
    mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

import Foundation
