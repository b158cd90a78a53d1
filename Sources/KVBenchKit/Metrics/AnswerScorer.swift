/// How a prediction is compared with its references. Every score is in [0, 1].
///
/// The rules follow the scorers of kvpress's `evaluation/benchmarks/*/calculate_metrics.py`
/// (RULER, LongBench, LongBench-v2, InfiniteBench, AIME/MATH-500) and the usual answer extraction
/// of the reasoning sets.
public indirect enum AnswerScorer: Sendable, Equatable {
    /// Score only the first line of the prediction with the inner metric (LongBench trec, triviaqa, samsum, lsht).
    case firstLine(AnswerScorer)
    /// Some reference appears in the prediction, ignoring case (the default for `jsonl:`).
    case contains
    /// RULER `string_match_all`: the fraction of references that appear, ignoring case.
    case stringMatchAll
    /// RULER `string_match_part`: 1 if any reference appears, ignoring case.
    case stringMatchPart
    /// SQuAD-style token F1 after normalisation (lowercase, no punctuation or articles).
    case qaF1
    /// ROUGE-L F-measure over lowercase word tokens.
    case rougeL
    /// LongBench classification: the reference class is among the class names found, split by
    /// how many were found.
    case classification(classes: [String])
    /// LongBench passage retrieval: share of numbers in the prediction equal to "Paragraph N"'s N.
    case retrieval
    /// LongBench passage count: share of numbers in the prediction equal to the reference.
    case count
    /// LongBench code: edit similarity (fuzzywuzzy ratio) of the first code line.
    case codeSimilarity
    /// LongBench-v2: the prediction says "The correct answer is (X)" or "… is X".
    case multipleChoice
    /// InfiniteBench passkey / number_string: the first integer equals the reference.
    case firstInteger
    /// InfiniteBench kv_retrieval: the reference is one of the prediction's words.
    case wordMatch
    /// A choice letter extracted from the prediction equals the reference letter.
    case choiceLetter
    /// The content of the last `\boxed{…}` equals the reference (after light normalisation).
    case boxed
    /// The last number in the prediction equals the reference number (GSM8K, DROP numbers).
    case number
    /// The last of the given labels mentioned equals the reference (True/False/Uncertain, yes/no).
    case label(options: [String])

    /// Name written to metrics.json.
    public var name: String {
        switch self {
        case .firstLine(let m): return m.name
        case .contains: return "contains"
        case .stringMatchAll: return "string_match_all"
        case .stringMatchPart: return "string_match_part"
        case .qaF1: return "qa_f1"
        case .rougeL: return "rouge_l"
        case .classification: return "classification"
        case .retrieval: return "retrieval"
        case .count: return "count"
        case .codeSimilarity: return "code_sim"
        case .multipleChoice: return "multiple_choice"
        case .firstInteger: return "first_integer"
        case .wordMatch: return "word_match"
        case .choiceLetter: return "choice_letter"
        case .boxed: return "boxed"
        case .number: return "number"
        case .label: return "label"
        }
    }

    /// Scores `prediction` against `references` (best reference wins, except for
    /// `stringMatchAll`, which counts them all).
    public func score(_ prediction: String, references: [String]) -> Double {
        guard !references.isEmpty else { return 0 }
        switch self {
        case .firstLine(let inner):
            let trimmed = prediction.drop { $0.isWhitespace }
            return inner.score(String(trimmed.prefix { $0 != "\n" }), references: references)
        case .stringMatchAll:
            return StringMatch.all(prediction, references)
        case .stringMatchPart, .contains:
            return StringMatch.part(prediction, references)
        default:
            return references.map { scoreOne(prediction, $0) }.max() ?? 0
        }
    }

    private func scoreOne(_ p: String, _ r: String) -> Double {
        switch self {
        case .contains, .stringMatchAll, .stringMatchPart, .firstLine: return StringMatch.part(p, [r])
        case .qaF1: return QAF1.score(p, r)
        case .rougeL: return RougeL.f1(p, r)
        case .classification(let classes): return LongBenchScores.classification(p, r, classes: classes)
        case .retrieval: return LongBenchScores.retrieval(p, r)
        case .count: return LongBenchScores.count(p, r)
        case .codeSimilarity: return EditSimilarity.codeScore(p, r)
        case .multipleChoice: return AnswerExtraction.longBenchV2Correct(p, r) ? 1 : 0
        case .firstInteger: return AnswerExtraction.firstInteger(p) == r.trimmingSpaces ? 1 : 0
        case .wordMatch: return AnswerExtraction.words(p).contains(r.trimmingSpaces) ? 1 : 0
        case .choiceLetter: return AnswerExtraction.choiceLetter(p) == r.trimmingSpaces.uppercased() ? 1 : 0
        case .boxed:
            guard let b = AnswerExtraction.boxed(p) else { return 0 }
            return AnswerExtraction.normalizeMath(b) == AnswerExtraction.normalizeMath(r) ? 1 : 0
        case .number:
            guard let n = AnswerExtraction.lastNumber(AnswerExtraction.boxed(p) ?? p), let ref = AnswerExtraction.lastNumber(r) else { return 0 }
            return n == ref ? 1 : 0
        case .label(let options):
            guard let found = AnswerExtraction.lastLabel(p, options: options) else { return 0 }
            return found.lowercased() == r.trimmingSpaces.lowercased() ? 1 : 0
        }
    }
}

extension String {
    var trimmingSpaces: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

import Foundation
