import KVPress

extension Sweep.Configuration {
    /// The one configuration of `kvbench eval`: `--press` and `--decoding` (at most one spec), or
    /// both halves of `--press prefill_decoding(PREFILL,DECODING)` (kvpress `PrefillDecodingPress`),
    /// which then names the decoding press itself.
    /// - Throws: `PressError` for a bad spec, `SweepError` for a list or for both forms at once.
    public init(press: String, ratio: Double?, decoding: String?) throws {
        guard (try? SpecNode.parse(press).name) == PrefillDecodingPress.name else {
            let choices = try DecodingChoice.grid(decoding: decoding, cacheBudgets: nil)
            guard choices.count == 1 else { throw SweepError.oneDecodingSpec(choices.count) }
            self.init(press: try PressChoice(spec: press, ratio: ratio), decoding: choices[0])
            return
        }
        guard decoding == nil else { throw SweepError.decodingGivenTwice }
        let both = try DecodingSpec.parsePrefillDecoding(press)
        self.init(press: try PressChoice(spec: both.prefill?.description ?? PressSpec.none, ratio: ratio),
                  decoding: try DecodingChoice(spec: both.decoding?.description ?? PressSpec.none))
    }
}
