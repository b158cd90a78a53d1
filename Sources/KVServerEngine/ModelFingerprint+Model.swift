import KVModel
import KVServer

extension ModelFingerprint {
    /// The fingerprint of `model`, for a cache kept in `kvStorage` and compressed by `press`: what
    /// a save records and a restore compares.
    init(model: Model, kvStorage: String, press: String) {
        let c = model.config
        self.init(architecture: c.architecture, vocabularyFingerprint: model.tokenizer.fingerprint,
                  vocabularySize: c.vocabularySize, layers: c.layerCount, headsKV: c.headCountKV,
                  headDimension: c.headDimension, contextLength: c.contextLength,
                  ropeFrequencyBase: c.ropeFrequencyBase, ropeDimensionCount: c.ropeDimensionCount,
                  ropeScale: c.ropeScale, kvStorage: kvStorage, press: press)
    }
}
