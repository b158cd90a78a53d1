/// Every prefill press kvd knows, with its parameters, declared once: defaults, validation, the
/// printed spec, the registry and `kvctl presses` all come from this table.
public enum PressCatalog {
    /// Every press, in catalog order.
    public static let all: [PressEntry] = [
        PressEntry("knorm", "keeps the keys with the smallest L2 norm", "https://arxiv.org/abs/2406.11430", phases: .both, [ratio]),
        PressEntry("l2norm", "alias of knorm (KVCache-Factory's name)", "https://arxiv.org/abs/2406.11430", phases: .both, [ratio]),
        PressEntry("streaming_llm", "keeps the attention sinks and the most recent tokens", "https://arxiv.org/abs/2309.17453", phases: .both, [
            ratio, PressParameter(.nSink, .integer(minimum: 0), "4", "initial tokens always kept (attention sinks)"),
        ]),
        PressEntry("snapkv", "scores by the attention of the last window_size queries", "https://arxiv.org/abs/2404.14469", phases: .both, [
            ratio,
            PressParameter(.windowSize, .integer(minimum: 1), "64", "recent queries whose attention scores the context"),
            PressParameter(.kernelSize, .integer(minimum: 1), "5", "width of the average pool smoothing the scores"),
            aggregation,
        ]),
        PressEntry("tova", "scores by the last token's attention averaged over all heads", "https://arxiv.org/abs/2401.06104", phases: .both, [ratio]),
        PressEntry("expected_attention",
                   "scores keys by the attention expected from future queries (query statistics + averaged RoPE)",
                   "https://arxiv.org/abs/2510.00636", phases: .both, [
            ratio,
            PressParameter(.nFuturePositions, .integer(minimum: 1), "512", "future positions the RoPE rotation is averaged over"),
            PressParameter(.nSink, .integer(minimum: 0), "4", "initial tokens kept and excluded from the query statistics"),
            PressParameter(.useCovariance, .flag, "true", "include the query covariance term"),
            PressParameter(.useVnorm, .flag, "true", "rescale scores by value norms"),
            PressParameter(.epsilon, .anyNumber, "0.0", "added to scores before the value-norm rescaling"),
            aggregation,
        ]),
        PressEntry("observed_attention", "scores keys by the average attention the context's queries paid them",
                   "https://arxiv.org/abs/2306.14048", phases: .both, [ratio, aggregation]),
        PressEntry("keydiff", "keeps the keys least similar to the average key direction", "https://arxiv.org/abs/2504.15364", phases: .both, [ratio]),
        PressEntry("lagkv", "scores partitions against the next partition's key/value ranges", "https://arxiv.org/abs/2504.04704", phases: .both, [
            ratio,
            PressParameter(.nSink, .integer(minimum: 0), "4", "initial tokens always kept"),
            PressParameter(.lagSize, .integer(minimum: 2), "128", "partition length; each partition is scored against the next"),
            PressParameter(.crossScoring, .flag, "false", "compare raw scores across partitions instead of ranks"),
        ]),
        PressEntry("non_causal_attn", "scores keys by non-causal attention inside chunks, summed over queries",
                   "https://arxiv.org/abs/2507.08143", phases: .both, [
            ratio, PressParameter(.chunkSize, .integer(minimum: 1), "256", "chunk length for the non-causal attention"), aggregation,
        ]),
        PressEntry("leverage", "scores pre-RoPE keys by approximate statistical leverage (Gaussian sketch)",
                   "https://arxiv.org/abs/2507.08143", phases: .both, [
            ratio, PressParameter(.sketchDimension, .integer(minimum: 1), "48", "width of the Gaussian sketch"), sketchSeed,
        ]),
        PressEntry("cur", "keeps entries with high approximate key × value leverage (CurDKV)", "https://arxiv.org/abs/2509.15038", phases: .both, [
            ratio,
            PressParameter(.numSinks, .integer(minimum: 0), "4", "initial tokens always kept"),
            PressParameter(.leverageType, .choice(["key", "value", "kv_avg", "kv_product"]), "kv_product",
                           "key, value, kv_avg or kv_product"),
            PressParameter(.useRandomLeverage, .flag, "false", "project keys and values on a random 20-dim Gaussian first"),
            PressParameter(.useLocalApproximation, .flag, "true", "normalise the norms inside local windows"),
            PressParameter(.localWindowSize, .integer(minimum: 1), "16", "local window length"),
        ]),
        PressEntry("compactor", "blends leverage scores with non-causal chunked attention", "https://arxiv.org/abs/2507.08143", phases: .both, [
            ratio,
            PressParameter(.sinkSizeStart, .integer(minimum: 0), "8", "initial tokens always kept"),
            PressParameter(.sinkSizeEnd, .integer(minimum: 0), "4", "most recent tokens always kept"),
            PressParameter(.chunkSize, .integer(minimum: 1), "256", "chunk length of the non-causal attention"),
            PressParameter(.sketchDimension, .integer(minimum: 1), "48", "width of the leverage Gaussian sketch"),
            PressParameter(.blending, .optionalNumber, "none", "weight of the leverage scores; none = compression_ratio"),
            sketchSeed,
        ]),
        PressEntry("cap", "keeps entries of high capacity: anchor-weighted value leverage w·vᵀ(I + Σ w v vᵀ)⁻¹v (CAPKV)",
                   "https://arxiv.org/abs/2604.25975", phases: .both, [
            ratio,
            PressParameter(.tau, .number(0...Double.infinity), "5.0",
                           "temperature of the weights exp(tau·cos(anchor, key)) (larger = more peaked)"),
            PressParameter(.nFuturePositions, .integer(minimum: 1), "512", "future positions the anchor's RoPE rotation is averaged over"),
            PressParameter(.nSink, .integer(minimum: 0), "4", "initial tokens always kept, left out of the anchor and the capacity matrix"),
            PressParameter(.epsilon, .number(0...Double.infinity), "1e-06", "added to each weight inside the capacity matrix"),
            aggregation,
        ]),
        PressEntry("pyramidkv", "SnapKV scores with pyramid-shaped per-layer budgets", "https://arxiv.org/abs/2406.02069", [
            PressParameter(.compressionRatio, .ratio, "0.0", "average fraction of KV pairs removed"),
            PressParameter(.windowSize, .integer(minimum: 1), "64", "recent queries whose attention scores the context"),
            PressParameter(.kernelSize, .integer(minimum: 1), "5", "width of the average pool smoothing the scores"),
            PressParameter(.pyramidBeta, .integer(minimum: 1), "20", "steepness of the pyramid (larger = steeper)"),
            aggregation,
        ]),
        PressEntry("random", "removes random entries (baseline)", "kvpress RandomPress", phases: .both, [
            ratio, PressParameter(.seed, .optionalInteger, "none", "random seed (integer) for reproducible choices, or none"),
        ]),
        PressEntry("h2o", "keeps heavy hitters (attention accumulated over all queries) plus the recent window",
                   "https://arxiv.org/abs/2306.14048", phases: .both, [
            ratio, PressParameter(.windowSize, .integer(minimum: 0), "64", "most recent tokens always kept"), aggregation,
        ]),
        PressEntry("simlayerkv", "keeps only initial + recent entries in layers whose attention is lazy",
                   "https://arxiv.org/abs/2410.13846", [
            PressParameter(.lazyThreshold, .number(0...1), "1.0", "attention share on initial+recent tokens marking a lazy layer"),
            PressParameter(.nLast, .integer(minimum: 1), "1", "last queries used to detect lazy layers"),
            PressParameter(.nRecent, .integer(minimum: 1), "1024", "recent tokens kept in lazy layers"),
            PressParameter(.nInitial, .integer(minimum: 0), "4", "initial tokens kept in lazy layers"),
        ]),
        PressEntry("merging", "folds each evicted value into its most similar kept entry", "https://arxiv.org/abs/2406.13035",
                   inner: .one, [
            PressParameter(.similarityThreshold, .number(0...1), "0.0", "minimum key cosine similarity to merge"),
            PressParameter(.mergeFraction, .numberAbove(0, maximum: 1), "1.0", "share of evicted entries merged (most similar first)"),
            innerRatio,
        ]),
        PressEntry("chunk", "compresses each chunk of the context independently (uniform coverage)",
                   "https://direct.mit.edu/tacl/article/doi/10.1162/tacl_a_00716/125280", inner: .one, [
            PressParameter(.chunkLength, .integer(minimum: 1), "1024", "length of each independently compressed chunk"), innerRatio,
        ]),
        PressEntry("chunkkv", "keeps whole chunks ranked by the inner press's mean score", "https://arxiv.org/abs/2502.00299",
                   inner: .one, [
            PressParameter(.chunkLength, .integer(minimum: 1), "20", "length of the chunks kept or dropped whole"), innerRatio,
        ]),
        PressEntry("criticalkv", "two-stage selection reweighted by the output-projected value norm",
                   "https://arxiv.org/abs/2502.03805", inner: .one, [
            criticalEpsilon,
            PressParameter(.firstStageRatio, .number(0...1), "0.5", "share of the budget chosen by the inner scores alone"),
            innerRatio,
        ]),
        PressEntry("adakv", "head-wise budgets: the layer's best entries over all heads stay (heads keep different lengths)",
                   "https://arxiv.org/abs/2407.11550", inner: .one, [alphaSafeguard, innerRatio]),
        PressEntry("critical_adakv", "CriticalKV reweighting with AdaKV head-wise budgets", "https://arxiv.org/abs/2502.03805",
                   inner: .one, [
            alphaSafeguard, criticalEpsilon,
            PressParameter(.firstStageRatio, .number(0...1), "0.5", "share of each head's budget chosen by the inner scores"),
            innerRatio,
        ]),
        PressEntry("lukv", "per-layer, per-head budgets from a LU-KV budget curve around an inner scorer; sinks and the window stay",
                   "https://arxiv.org/abs/2602.08585", inner: .one, [
            innerRatio,
            PressParameter(.budgetCurve, .text, "uniform",
                           "LU-KV budget curve (.npy [99, layers, KV heads] of prune ratios, a local path; kvd extension), "
                           + "or uniform (every head the ratio rounded to 1/100)"),
            PressParameter(.sink, .integer(minimum: 0), "4", "initial tokens always kept"),
            PressParameter(.window, .integer(minimum: 0), "1", "most recent tokens always kept"),
        ]),
        PressEntry("block", "compresses block by block, rescoring the kept set with each new block",
                   "https://arxiv.org/abs/2504.15364", inner: .one, [
            PressParameter(.blockSize, .integer(minimum: 1), "128", "tokens added per step"), innerRatio,
        ]),
        PressEntry("composed", "applies several presses one after another", "kvpress ComposedPress", inner: .many, []),
        PressEntry("per_layer", "runs the inner press with one compression ratio per layer", "kvpress PerLayerCompressionPress",
                   inner: .one, [
            PressParameter(.compressionRatios, .ratioList, "", "one ratio in [0, 1) per layer, separated by ';'"),
        ]),
        PressEntry("key_rerotation", "re-rotates the kept keys to consecutive positions after the inner press",
                   "https://arxiv.org/abs/2309.17453", inner: .one, [innerRatio]),
        PressEntry("think", "prunes key channels (stored keys really narrow)", "https://arxiv.org/abs/2407.21018", [
            PressParameter(.keyChannelCompressionRatio, .ratio, "0.0", "fraction of key channels removed"),
            PressParameter(.windowSize, .integer(minimum: 1), "32", "recent queries used for channel importance"),
        ]),
        PressEntry("cam", "merges values forward by attention-driven Bernoulli draws, then keeps SnapKV-style",
                   "https://proceedings.mlr.press/v235/zhang24n.html", [
            ratio,
            PressParameter(.windowSize, .integer(minimum: 1), "64", "recent queries scoring the context, always kept"),
            PressParameter(.startBudgetRatio, .number(0...1), "0.1", "leading share of the context never merged"),
            PressParameter(.seed, .optionalInteger, "none", "seed of the merge draws (integer), or none"),
            aggregation,
        ]),
        PressEntry("nacl", "proxy-token eviction (last tokens' attention) plus a seeded random part",
                   "https://arxiv.org/abs/2408.03675", [
            ratio,
            PressParameter(.proxySize, .integer(minimum: 1), "32", "last context tokens used as proxy queries and always kept"),
            PressParameter(.nSink, .integer(minimum: 0), "4", "initial tokens always kept"),
            PressParameter(.randomRatio, .number(0...1), "0.2", "share of the budget chosen at random"),
            PressParameter(.randomTemperature, .number(0...Double.infinity), "1.0",
                           "temperature of softmax(score/t) sampling weights (0 = uniform)"),
            PressParameter(.seed, .optionalInteger, "none", "seed of the random part (integer), or none"),
            aggregation,
        ]),
        PressEntry("scissorhands", "keeps tokens whose importance persisted over a history window of queries",
                   "https://arxiv.org/abs/2305.17118", [
            ratio,
            PressParameter(.historyWindow, .integer(minimum: 1), "256", "last context queries whose attention accumulates"),
            PressParameter(.decay, .number(0...1), "1.0", "weight per step of age of a query's attention"),
            PressParameter(.recentSize, .integer(minimum: 0), "32", "most recent tokens always kept"),
            PressParameter(.nSink, .integer(minimum: 0), "4", "initial tokens always kept"),
            PressParameter(.selection, .choice(["topk", "prob"]), "topk",
                           "topk (most important) or prob (sampled by softmax(importance/t))"),
            PressParameter(.randomTemperature, .number(0...Double.infinity), "1.0",
                           "temperature of the prob sampling (0 = uniform)"),
            PressParameter(.seed, .optionalInteger, "none", "seed of the prob sampling (integer), or none"),
            aggregation,
        ]),
        PressEntry("headkv", "head-wise budgets from a retrieval-head profile, window-attention selection",
                   "https://arxiv.org/abs/2410.19258", [
            ratio,
            PressParameter(.profile, .text, "default",
                           "head profile JSON (kvbench profile-heads), or default (bundled for SmolLM2-135M)"),
            PressParameter(.windowSize, .integer(minimum: 1), "32", "recent queries scoring the context, always kept"),
            PressParameter(.kernelSize, .integer(minimum: 1), "7", "width of the max pool smoothing the scores"),
            PressParameter(.beta, .numberAbove(1), "1.01", "budget redistribution (near 1 = almost all by the profile)"),
            aggregation,
        ]),
        PressEntry("finch", "normalised window attention (the context's last window stands in for the question), re-rotated",
                   "https://arxiv.org/abs/2408.00167", [
            ratio,
            PressParameter(.windowSize, .integer(minimum: 1), "64", "last context tokens standing in for the question"),
            PressParameter(.chunkLengthOrNone, .optionalInteger, "none",
                           "select per chunk of this length (> window_size/(1−ratio)), or none"),
            PressParameter(.normalizeScores, .flag, "true", "scale each window row by its query's position"),
            PressParameter(.rerotateKeys, .flag, "true", "re-rotate the kept keys to consecutive positions"),
        ]),
        PressEntry("kvzip", "scores entries by the attention they get while the model repeats the context (extra passes)",
                   "https://arxiv.org/abs/2505.23416", [
            ratio,
            PressParameter(.layerwise, .flag, "false", "the same ratio in every layer instead of one global budget"),
            reconstructionSink, reconstructionChunk,
        ]),
        PressEntry("kvcompose", "ranks each head's entries by the attention they get while the model re-reads the context "
                   + "(one extra pass); composite tokens aligned across heads set per-layer budgets",
                   "https://arxiv.org/abs/2509.05165", [
            PressParameter(.structured, .flag, "true",
                           "every head of a layer keeps the same count (composite tokens); false: a count per head"),
            ratio,
            PressParameter(.aggTask, .choice(["mean", "max"]), "max", "mean or max of an entry's attention over the re-read's queries"),
            PressParameter(.aggGroup, .choice(["mean", "max"]), "mean", "mean or max over the query heads of a KV head"),
            PressParameter(.aggHead, .choice(["mean", "max"]), "mean",
                           "mean or max over a layer's KV heads of their ranked scores (the composite tokens' scores)"),
            PressParameter(.addVNorm, .flag, "false", "multiply each entry's score by its value's L2 norm"),
            PressParameter(.addMeanAcrossHeads, .flag, "true", "add the layer's mean score over KV heads to every head's"),
            PressParameter(.keepTokenLowerBound, .integer(minimum: 0), "0", "composite tokens (entries per head) every layer is favoured to keep"),
        ]),
        PressEntry("fidelity", "compression by target: the fewest entries holding `target` of the attention the model "
                   + "pays while repeating the context (kvzip's passes); budgets per document, layer and head",
                   "kvd's own, on KVzip's reconstruction, https://arxiv.org/abs/2505.23416", [
            PressParameter(.target, .numberAbove(0, maximum: 1), "0.9", "share of the reconstruction attention kept (the fidelity)"),
            reconstructionSink, reconstructionChunk,
        ]),
        PressEntry("rkv", "R-KV: attention importance minus key redundancy (cosine similarity), evicting near-duplicate keys",
                   "https://arxiv.org/abs/2505.24133", phases: .both, [ratio] + rkvParameters + [
            PressParameter(.threshold, .number(-1...1), "0.5", "cosine similarity above which keys are near-duplicates"),
        ]),
        PressEntry("rkv_lsh", "R-KV with locality-sensitive hashing: redundancy from SimHash buckets of the keys",
                   "https://arxiv.org/abs/2505.24133", phases: .both, [ratio] + rkvParameters + [
            PressParameter(.nHashBits, .integer(minimum: 1, maximum: 62), "16", "hyperplanes (signature bits) of the SimHash"),
            PressParameter(.hashSeed, .integer(minimum: .min), "0", "seed of the hyperplanes (integer)"),
        ]),
        PressEntry("dms", "evicts entries scoring below a threshold once they leave a sliding window of the newest "
                   + "(the threshold form of any scorer; Dynamic Memory Sparsification without its trained evictors)",
                   "https://arxiv.org/abs/2506.05345 (kvpress DMSPress)", inner: .one, phases: .both, [
            PressParameter(.threshold, .anyNumber, "", "entries whose inner score is below this are evicted (scale depends on the scorer)"),
            PressParameter(.slidingWindowSize, .integer(minimum: 0), "128", "newest entries never evicted"),
        ]),
        PressEntry("minicache", "merges adjacent layers from the middle on: one shared SLERP direction per token, "
                   + "each layer's own magnitudes, the most divergent tokens kept apart (real bytes saved, no entry evicted)",
                   "https://arxiv.org/abs/2405.14366 (KVCache-Factory pyramidkv/minicache.py)", [
            PressParameter(.interpolation, .number(0...1), "0.6", "SLERP t: 0 takes the earlier layer's direction, 1 the later's"),
            PressParameter(.retentionRatio, .number(0...1), "0.05",
                           "share of tokens per pair and KV head kept unmerged (largest key angle)"),
        ]),
    ]

    /// What `rkv` and `rkv_lsh` share (R-KV's reference defaults: window 8, kernel 7, lambda 0.07).
    static let rkvParameters = [
        PressParameter(.windowSize, .integer(minimum: 1), "8", "recent queries that vote, and newest entries always kept"),
        PressParameter(.kernelSize, .integer(minimum: 1), "7", "max-pool width over the importance"),
        PressParameter(.mixLambda, .number(0...1), "0.07", "weight of importance against redundancy"),
        PressParameter(.retainDirection, .choice(["last", "first"]), "last",
                       "which near-duplicate is spared: last (newest) or first (oldest)"),
    ]

    /// `compression_ratio` of a plain press.
    static let ratio = PressParameter(.compressionRatio, .ratio, "0.0", "fraction of KV pairs removed")
    /// `compression_ratio` of a wrapper: passed on to its inner press.
    static let innerRatio = PressParameter(.innerCompressionRatio, .innerRatio, "none", "sets the inner press's ratio")
    /// KVCache-Factory's GQA aggregation (a kvd extension).
    public static let aggregation = PressParameter(.gqaScoreAgg, .choice(GQAScoreAggregation.allCases.map(\.rawValue)), "mean",
                                                   "mean, max or sum over the query heads of a KV head")
    static let sketchSeed = PressParameter(.seed, .optionalInteger, "none",
                                           "sketch seed for reproducible scores (kvd extension), or none")
    static let alphaSafeguard = PressParameter(.alphaSafeguard, .number(0...1), "0.2",
                                               "minimum share of the average budget every head keeps")
    static let criticalEpsilon = PressParameter(.epsilon, .anyNumber, "0.0001", "added to scores before the value-norm reweighting")

    /// The repeat passes of `kvzip` and `fidelity`.
    static let reconstructionSink = PressParameter(.nSink, .integer(minimum: 0), "4", "initial entries always kept")
    static let reconstructionChunk = PressParameter(.chunkSize, .integer(minimum: 1), "2048", "context tokens re-fed per extra forward pass")

    /// `ratio` stands for `compression_ratio` everywhere.
    public static let aliases = ["ratio": ParameterKey<Double>.compressionRatio.name]

    private static let byName: [String: PressEntry] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Press names, in catalog order.
    public static var names: [String] { all.map(\.name) }

    /// The entry of `name`.
    public static func entry(_ name: String) -> PressEntry? { byName[name] }

    /// Reads a spec, rejecting unknown names as soon as they are read.
    /// - Throws: `PressError.syntax` or `PressError.unknownPress`.
    public static func parse(_ spec: String) throws -> SpecNode {
        try SpecNode.parse(spec) { name in
            guard byName[name] != nil else { throw PressError.unknownPress(name, valid: names) }
        }
    }

    /// The arguments of one spec node, checked against its entry; inner presses are checked only
    /// in number (`validate` checks the whole tree).
    /// - Throws: `PressError` naming the problem and what is valid.
    public static func arguments(_ node: SpecNode) throws -> PressArguments {
        guard let entry = byName[node.name] else { throw PressError.unknownPress(node.name, valid: names) }
        let args = try PressArguments(press: node.name, parameters: entry.parameters, given: node.arguments, aliases: aliases)
        switch entry.inner {
        case .none where !node.inner.isEmpty:
            throw PressError.innerPress(press: node.name, reason: "takes no inner press; write it without parentheses")
        case .one where node.inner.count != 1:
            throw PressError.innerPress(press: node.name,
                                        reason: "wraps exactly one scorer press, e.g. \(node.name)(snapkv); got \(node.inner.count)")
        case .many where node.inner.isEmpty:
            throw PressError.innerPress(press: node.name, reason: "needs at least one inner press, e.g. \(node.name)(think,knorm)")
        default:
            return args
        }
    }

    /// Checks a whole spec tree (names, inner presses, parameters and values) without building it.
    /// - Throws: `PressError` naming the first problem and what is valid.
    public static func validate(_ node: SpecNode) throws {
        for inner in node.inner { try validate(inner) }
        _ = try arguments(node)
    }
}
