/// Every parameter name of the catalogs, declared once with the type its value reads as. The
/// catalogs give each press's kind, default and meaning; presses read `arguments[.name]`.
/// A name whose type differs between presses has one constant per type, sharing the name.

extension ParameterKey where Value == Double {
    public static var compressionRatio: ParameterKey { ParameterKey("compression_ratio") }
    public static var keyChannelCompressionRatio: ParameterKey { ParameterKey("key_channel_compression_ratio") }
    public static var alphaSafeguard: ParameterKey { ParameterKey("alpha_safeguard") }
    /// headkv's budget redistribution (pyramidkv's integer steepness is ``ParameterKey<Int>/pyramidBeta``).
    public static var beta: ParameterKey { ParameterKey("beta") }
    public static var decay: ParameterKey { ParameterKey("decay") }
    public static var epsilon: ParameterKey { ParameterKey("epsilon") }
    public static var firstStageRatio: ParameterKey { ParameterKey("first_stage_ratio") }
    public static var interpolation: ParameterKey { ParameterKey("interpolation") }
    public static var lazyThreshold: ParameterKey { ParameterKey("lazy_threshold") }
    public static var mergeFraction: ParameterKey { ParameterKey("merge_fraction") }
    public static var mixLambda: ParameterKey { ParameterKey("mix_lambda") }
    public static var outlierRatio: ParameterKey { ParameterKey("outlier_ratio") }
    public static var randomRatio: ParameterKey { ParameterKey("random_ratio") }
    public static var randomTemperature: ParameterKey { ParameterKey("random_temperature") }
    public static var retentionRatio: ParameterKey { ParameterKey("retention_ratio") }
    public static var similarityThreshold: ParameterKey { ParameterKey("similarity_threshold") }
    public static var startBudgetRatio: ParameterKey { ParameterKey("start_budget_ratio") }
    public static var target: ParameterKey { ParameterKey("target") }
    public static var tau: ParameterKey { ParameterKey("tau") }
    public static var threshold: ParameterKey { ParameterKey("threshold") }
}

extension ParameterKey where Value == Double? {
    /// A wrapper's `compression_ratio`, passed on to its inner press; `none` leaves it.
    public static var innerCompressionRatio: ParameterKey { ParameterKey(ParameterKey<Double>.compressionRatio.name) }
    public static var blending: ParameterKey { ParameterKey("blending") }
    public static var compressionRatioDecoding: ParameterKey { ParameterKey("compression_ratio_decoding") }
}

extension ParameterKey where Value == [Double] {
    public static var compressionRatios: ParameterKey { ParameterKey("compression_ratios") }
}

extension ParameterKey where Value == Int {
    public static var bits: ParameterKey { ParameterKey("bits") }
    public static var blockSize: ParameterKey { ParameterKey("block_size") }
    public static var cacheBudget: ParameterKey { ParameterKey("cache_budget") }
    /// `chunk_length` of `chunk` and `chunkkv` (finch's may be `none`: ``ParameterKey<Int?>/chunkLengthOrNone``).
    public static var chunkLength: ParameterKey { ParameterKey("chunk_length") }
    public static var chunkSize: ParameterKey { ParameterKey("chunk_size") }
    public static var compressionInterval: ParameterKey { ParameterKey("compression_interval") }
    public static var groupSize: ParameterKey { ParameterKey("group_size") }
    /// `seed` of `rkv_lsh`, always an integer (the other presses' may be `none`: ``ParameterKey<Int?>/seed``).
    public static var hashSeed: ParameterKey { ParameterKey(ParameterKey<Int?>.seed.name) }
    public static var historyWindow: ParameterKey { ParameterKey("history_window") }
    public static var keepTokenLowerBound: ParameterKey { ParameterKey("keep_token_lower_bound") }
    public static var kernelSize: ParameterKey { ParameterKey("kernel_size") }
    public static var lagSize: ParameterKey { ParameterKey("lag_size") }
    public static var localWindowSize: ParameterKey { ParameterKey("local_window_size") }
    public static var nFuturePositions: ParameterKey { ParameterKey("n_future_positions") }
    public static var nHashBits: ParameterKey { ParameterKey("n_hash_bits") }
    public static var nInitial: ParameterKey { ParameterKey("n_initial") }
    public static var nLast: ParameterKey { ParameterKey("n_last") }
    public static var nRecent: ParameterKey { ParameterKey("n_recent") }
    public static var nSink: ParameterKey { ParameterKey("n_sink") }
    public static var numSinks: ParameterKey { ParameterKey("num_sinks") }
    public static var proxySize: ParameterKey { ParameterKey("proxy_size") }
    /// pyramidkv's steepness, an integer (headkv's `beta` is a number: ``ParameterKey<Double>/beta``).
    public static var pyramidBeta: ParameterKey { ParameterKey(ParameterKey<Double>.beta.name) }
    public static var queryBuffer: ParameterKey { ParameterKey("query_buffer") }
    public static var rank: ParameterKey { ParameterKey("rank") }
    public static var recentSize: ParameterKey { ParameterKey("recent_size") }
    public static var residual: ParameterKey { ParameterKey("residual") }
    public static var sink: ParameterKey { ParameterKey("sink") }
    public static var sinkSizeEnd: ParameterKey { ParameterKey("sink_size_end") }
    public static var sinkSizeStart: ParameterKey { ParameterKey("sink_size_start") }
    public static var slidingWindowSize: ParameterKey { ParameterKey("sliding_window_size") }
    public static var sketchDimension: ParameterKey { ParameterKey("sketch_dimension") }
    public static var window: ParameterKey { ParameterKey("window") }
    public static var windowSize: ParameterKey { ParameterKey("window_size") }
}

extension ParameterKey where Value == Int? {
    /// finch's `chunk_length`, or `none`.
    public static var chunkLengthOrNone: ParameterKey { ParameterKey(ParameterKey<Int>.chunkLength.name) }
    /// A seed, or `none` for an unseeded generator.
    public static var seed: ParameterKey { ParameterKey("seed") }
}

extension ParameterKey where Value == Bool {
    public static var addMeanAcrossHeads: ParameterKey { ParameterKey("add_mean_across_heads") }
    public static var addVNorm: ParameterKey { ParameterKey("add_v_norm") }
    public static var crossScoring: ParameterKey { ParameterKey("cross_scoring") }
    public static var layerwise: ParameterKey { ParameterKey("layerwise") }
    public static var normalizeScores: ParameterKey { ParameterKey("normalize_scores") }
    public static var rerotateKeys: ParameterKey { ParameterKey("rerotate_keys") }
    public static var structured: ParameterKey { ParameterKey("structured") }
    public static var useCovariance: ParameterKey { ParameterKey("use_covariance") }
    public static var useLocalApproximation: ParameterKey { ParameterKey("use_local_approximation") }
    public static var useRandomLeverage: ParameterKey { ParameterKey("use_random_leverage") }
    public static var useVnorm: ParameterKey { ParameterKey("use_vnorm") }
}

extension ParameterKey where Value == String {
    public static var budgetCurve: ParameterKey { ParameterKey("budget_curve") }
    public static var leverageType: ParameterKey { ParameterKey("leverage_type") }
    public static var profile: ParameterKey { ParameterKey("profile") }
    public static var retainDirection: ParameterKey { ParameterKey("retain_direction") }
    public static var selection: ParameterKey { ParameterKey("selection") }
}

extension ParameterKey where Value == GQAScoreAggregation {
    public static var gqaScoreAgg: ParameterKey { ParameterKey("gqa_score_agg") }
    public static var aggGroup: ParameterKey { ParameterKey("agg_group") }
    public static var aggHead: ParameterKey { ParameterKey("agg_head") }
    public static var aggTask: ParameterKey { ParameterKey("agg_task") }
}
