/// The long-context benchmarks kvpress evaluates, read from local JSONL in kvpress's layout
/// (see docs/evaluation.md: "Long-context and reasoning data"), each with its own scorer.
public enum LongContextBenchmark: String, CaseIterable, Sendable {
    case longbench
    case longbenchV2 = "longbench-v2"
    case loogle
    case zeroscrolls
    case infinitebench

    /// The scorer of one question, from its `task` column (and LongBench's `all_classes`).
    public func scorer(task: String, record: [String: Any]) -> AnswerScorer {
        switch self {
        case .longbench:
            let t = task.hasSuffix("-e") ? String(task.dropLast(2)) : task
            let m: AnswerScorer
            switch t {
            case "gov_report", "qmsum", "multi_news", "vcsum", "dureader", "samsum": m = .rougeL
            case "trec", "lsht": m = .classification(classes: (record["all_classes"] as? [String]) ?? [])
            case "passage_retrieval_en", "passage_retrieval_zh": m = .retrieval
            case "passage_count": m = .count
            case "lcc", "repobench-p": m = .codeSimilarity
            default: m = .qaF1
            }
            return ["trec", "triviaqa", "samsum", "lsht"].contains(t) ? .firstLine(m) : m
        case .longbenchV2:
            return .multipleChoice
        case .loogle:
            return task == "shortdep_cloze" ? .qaF1 : .rougeL
        case .zeroscrolls:
            return .qaF1
        case .infinitebench:
            switch task {
            case "passkey", "number_string": return .firstInteger
            case "kv_retrieval": return .wordMatch
            case "longbook_choice_eng", "code_debug": return .choiceLetter
            case "longdialogue_qa_eng": return .contains
            case "math_find", "code_run", "math_calc": return .number
            case "longbook_sum_eng": return .rougeL
            default: return .qaF1
            }
        }
    }

    /// Loads a file in kvpress's layout with this benchmark's metrics.
    public func load(path: String) throws -> EvalDataset {
        try KVPressLayout.load(path: path, name: rawValue.replacingOccurrences(of: "-", with: "_")) { task, record in
            scorer(task: task, record: record)
        }
    }
}
