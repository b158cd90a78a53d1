/// Why a sweep's grid cannot be built from its settings.
public enum SweepError: Error, CustomStringConvertible, Equatable {
    /// `--cache-budgets` is not a list of positive integers.
    case budgetList(String)
    /// A budget below 1 (`cache_budget=0` means no decoding compression: sweep `none` instead).
    case invalidBudget(Int)
    /// `--cache-budgets` was given but `--decoding` names no decoding press.
    case budgetsWithoutDecoding
    /// A decoding spec of a budget sweep decides its own target (`cache_budget`,
    /// `compression_ratio_decoding` or a kvpress alias of either).
    case budgetInSpec(spec: String, parameter: String)
    /// `eval` got a list of decoding specs.
    case oneDecodingSpec(Int)
    /// `--press prefill_decoding(…)` and `--decoding` both name a decoding press.
    case decodingGivenTwice

    public var description: String {
        switch self {
        case .budgetList(let text):
            return "--cache-budgets must be comma-separated integers of at least 1 (KV pairs kept per head), e.g. 128,256,384,512; got '\(text)'"
        case .invalidBudget(let budget):
            return "a cache budget must be at least 1 KV pair per head, got \(budget); sweep the decoding press none for no decoding compression"
        case .budgetsWithoutDecoding:
            return "--cache-budgets needs at least one decoding press in --decoding, e.g. --decoding h2o,snapkv"
        case .budgetInSpec(let spec, let parameter):
            return "decoding press '\(spec)' sets \(parameter), but --cache-budgets sets each configuration's cache_budget; "
                + "remove \(parameter) from the spec, or drop --cache-budgets"
        case .oneDecodingSpec(let count):
            return "eval takes one --decoding spec, got \(count); sweep runs a list of them"
        case .decodingGivenTwice:
            return "--press prefill_decoding(…) already names the decoding press; leave out --decoding"
        }
    }
}
