/// One spec per registered press, keyed by its registry name, compressing about half of the
/// context where the press has a ratio (wrappers wrap `snapkv`). Tests that run every press use
/// it; a new press must add its row (`SweepMatchesEvalTests` fails otherwise).
public enum PressExamples {
    public static let halfRatio: [String: String] = [
        "knorm": "knorm:ratio=0.5", "l2norm": "l2norm:ratio=0.5", "streaming_llm": "streaming_llm:ratio=0.5",
        "snapkv": "snapkv:ratio=0.5", "tova": "tova:ratio=0.5", "expected_attention": "expected_attention:ratio=0.5",
        "observed_attention": "observed_attention:ratio=0.5", "keydiff": "keydiff:ratio=0.5", "lagkv": "lagkv:ratio=0.5",
        "non_causal_attn": "non_causal_attn:ratio=0.5", "leverage": "leverage:ratio=0.5,seed=1", "cur": "cur:ratio=0.5",
        "compactor": "compactor:ratio=0.5,seed=1", "pyramidkv": "pyramidkv:ratio=0.5", "random": "random:ratio=0.5,seed=1",
        "h2o": "h2o:ratio=0.5", "simlayerkv": "simlayerkv:lazy_threshold=0.6", "merging": "merging(snapkv):ratio=0.5",
        "rkv": "rkv:ratio=0.5",
        "rkv_lsh": "rkv_lsh:ratio=0.5",
        "chunk": "chunk(snapkv):ratio=0.5", "chunkkv": "chunkkv(snapkv):ratio=0.5", "criticalkv": "criticalkv(snapkv):ratio=0.5",
        "adakv": "adakv(snapkv):ratio=0.5", "critical_adakv": "critical_adakv(snapkv):ratio=0.5",
        "block": "block(snapkv):ratio=0.5", "composed": "composed(think:key_channel_compression_ratio=0.25,snapkv:ratio=0.5)",
        "per_layer": "per_layer(snapkv):compression_ratios=" + Array(repeating: "0.5", count: 30).joined(separator: ";"),
        "key_rerotation": "key_rerotation(snapkv:ratio=0.5)", "think": "think:key_channel_compression_ratio=0.5",
        "cam": "cam:ratio=0.5", "nacl": "nacl:ratio=0.5,seed=1", "scissorhands": "scissorhands:ratio=0.5",
        "finch": "finch:ratio=0.5", "kvzip": "kvzip:ratio=0.5", "kvcompose": "kvcompose:ratio=0.5",
        "headkv": "headkv:ratio=0.5", "fidelity": "fidelity:target=0.9",
        "lukv": "lukv(snapkv):ratio=0.5", "cap": "cap:ratio=0.5",
        "minicache": "minicache",
        "dms": "dms(leverage:seed=1):threshold=0.0",
    ]
}
