/// The record-like messages as field tables (`WireFields`): each proto field named once, beside
/// the property it carries.
extension WireCodec {
    /// `kvd.SessionInfo`.
    static let sessionInfoFields = WireFields<SessionInfo>([
        .name("session", \.session), .name("model", \.model), .name("press", \.press),
        .number("compression_ratio", \.compressionRatio), .number("context_tokens", \.contextTokens),
        .number("kept_tokens", \.keptTokens), .number("kv_bytes", \.kvBytes), .number("kv_bytes_uncompressed", \.kvBytesUncompressed),
        .word("state", \.state), .number("asks", \.asks), .number("failed_asks", \.failedAsks),
        .number("created_unix", \.createdUnix), .number("last_used_unix", \.lastUsedUnix), .name("kv_quant", \.kvQuant),
        .number("store_version", \.storeVersion), .number("shared_unix", \.sharedUnix), .metrics("load_metrics", \.loadMetrics),
    ])

    /// `kvd.ModelInfo`.
    static let modelInfoFields = WireFields<ModelInfo>([
        .name("name", \.name), .name("path", \.path), .name("architecture", \.architecture), .number("layers", \.layers),
        .number("context_length", \.contextLength), .number("vocabulary_size", \.vocabularySize), .bool("is_default", \.isDefault),
    ])

    /// `kvd.StatsResponse`.
    static let statsFields = WireFields<DaemonStats>([
        .number("sessions_resident", \.sessionsResident), .number("sessions_saved", \.sessionsSaved), .number("kv_bytes", \.kvBytes),
        .number("memory_budget_bytes", \.memoryBudgetBytes), .number("rss_bytes", \.rssBytes), .number("peak_rss_bytes", \.peakRssBytes),
        .number("requests", \.requests), .number("errors", \.errors), .number("connections", \.connections),
        .number("queue_depth", \.queueDepth), .number("uptime_s", \.uptimeS), .name("telemetry_dir", \.telemetryDir),
        .name("state_dir", \.stateDir), .number("steps", \.steps), .number("mean_batch_size", \.meanBatchSize),
        .number("generated_tokens", \.generatedTokens), .name("store", \.store), .number("store_hits", \.storeHits),
        .number("store_misses", \.storeMisses), .number("store_bytes_in", \.storeBytesIn), .number("store_bytes_out", \.storeBytesOut),
        .number("store_errors", \.storeErrors), .number("store_pending", \.storePending), .number("job_s", \.jobS),
        .number("prompt_step_s", \.promptStepS), .number("decode_step_s", \.decodeStepS), .number("step_attention_s", \.stepAttentionS),
    ])
}
