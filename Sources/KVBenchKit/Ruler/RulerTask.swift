/// RULER's synthetic tasks, with the settings of RULER's `scripts/synthetic.yaml`.
public enum RulerTask: String, CaseIterable, Sendable {
    case niahSingle1 = "niah_single_1"
    case niahSingle2 = "niah_single_2"
    case niahSingle3 = "niah_single_3"
    case niahMultikey1 = "niah_multikey_1"
    case niahMultikey2 = "niah_multikey_2"
    case niahMultikey3 = "niah_multikey_3"
    case niahMultivalue = "niah_multivalue"
    case niahMultiquery = "niah_multiquery"
    case vt
    case cwe
    case fwe

    /// What a needle's key or value is made of.
    public enum NeedleKind: String, Sendable { case words, numbers, uuids }
    /// What fills the context between needles.
    public enum HaystackKind: String, Sendable {
        /// Repeated noise sentences.
        case `repeat`
        /// An essay (a text file); kvd falls back to noise when no `--haystack` is given.
        case essay
        /// Other needles with random keys and values.
        case needle
    }

    /// The settings of a needle-in-a-haystack task.
    public struct NIAH: Sendable {
        public var haystack: HaystackKind
        public var key: NeedleKind
        public var value: NeedleKind
        public var keys = 1
        public var valuesPerKey = 1
        public var queries = 1
    }

    /// The NIAH settings, or nil for vt/cwe/fwe.
    public var niah: NIAH? {
        switch self {
        case .niahSingle1: return NIAH(haystack: .repeat, key: .words, value: .numbers)
        case .niahSingle2: return NIAH(haystack: .essay, key: .words, value: .numbers)
        case .niahSingle3: return NIAH(haystack: .essay, key: .words, value: .uuids)
        case .niahMultikey1: return NIAH(haystack: .essay, key: .words, value: .numbers, keys: 4)
        case .niahMultikey2: return NIAH(haystack: .needle, key: .words, value: .numbers)
        case .niahMultikey3: return NIAH(haystack: .needle, key: .uuids, value: .uuids)
        case .niahMultivalue: return NIAH(haystack: .essay, key: .words, value: .numbers, valuesPerKey: 4)
        case .niahMultiquery: return NIAH(haystack: .essay, key: .words, value: .numbers, keys: 4, queries: 4)
        case .vt, .cwe, .fwe: return nil
        }
    }

    /// RULER's `tokens_to_generate` (kvpress's `max_new_tokens`) for the task family.
    public var maxNewTokens: Int {
        switch self {
        case .vt: return 30
        case .cwe: return 120
        case .fwe: return 50
        default: return 128
        }
    }

    /// RULER scores every synthetic task with `string_match_all`.
    public var scorer: AnswerScorer { .stringMatchAll }
}
