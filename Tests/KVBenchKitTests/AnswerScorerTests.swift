import XCTest
@testable import KVBenchKit

/// Every scorer against values computed by hand (see the comments).
final class AnswerScorerTests: XCTestCase {
    func testStringMatch() {
        // 2 of 3 references occur → 2/3; any → 1.
        XCTAssertEqual(StringMatch.all("The numbers are 123 and 456", ["123", "456", "789"]), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(StringMatch.part("The numbers are 123", ["999", "123"]), 1)
        XCTAssertEqual(StringMatch.part("nothing", ["999"]), 0)
        XCTAssertEqual(AnswerScorer.contains.score("It is PARIS.", references: ["paris"]), 1)
        XCTAssertEqual(StringMatch.clean("  \u{1}7 \n"), "7")
    }

    func testQAF1() {
        // "cat sat on mat" vs "cat on mat": 3 common, P = 3/4, R = 1 → 6/7.
        XCTAssertEqual(QAF1.normalize("The cat, sat on the mat!"), "cat sat on mat")
        XCTAssertEqual(QAF1.score("The cat sat on the mat", "a cat on a mat"), 6.0 / 7, accuracy: 1e-12)
        XCTAssertEqual(QAF1.score("dog", "cat"), 0)
        XCTAssertEqual(AnswerScorer.qaF1.score("Paris", references: ["London", "Paris"]), 1)
    }

    func testRougeL() {
        // LCS 6 of 7 predicted and 6 reference tokens: P = 6/7, R = 1 → 12/13.
        XCTAssertEqual(RougeL.f1("the cat was found under the bed", "the cat was under the bed"), 12.0 / 13, accuracy: 1e-12)
        XCTAssertEqual(RougeL.lcs(Array("ABCBDAB"), Array("BDCABA")), 4)
        XCTAssertEqual(RougeL.f1("", "x"), 0)
    }

    func testEditSimilarity() {
        // kitten/sitting: LCS "ittn" = 4, 2·4/13 = 0.615 → 62 % (fuzz.ratio gives 62).
        XCTAssertEqual(EditSimilarity.ratio("kitten", "sitting"), 0.62)
        XCTAssertEqual(EditSimilarity.codeScore("```python\n    return 1\n", "    return 1"), 1)
        XCTAssertEqual(EditSimilarity.codeScore("# comment\nabcd", "abce"), 0.75)
    }

    func testLongBenchScores() {
        let classes = ["Human being", "Human", "Location"]
        XCTAssertEqual(LongBenchScores.classification("Human being", "Human being", classes: classes), 1)
        XCTAssertEqual(LongBenchScores.classification("Human or Location", "Human being", classes: classes), 0)
        XCTAssertEqual(LongBenchScores.classification("Human being or Location", "Human being", classes: classes), 0.5)
        XCTAssertEqual(LongBenchScores.retrieval("Paragraph 2, not 3", "Paragraph 2"), 0.5)
        XCTAssertEqual(LongBenchScores.count("There are 5 unique paragraphs among 10", "5"), 0.5)
        XCTAssertEqual(AnswerScorer.firstLine(.qaF1).score("\nParis\nand more words", references: ["Paris"]), 1)
    }

    func testExtraction() {
        XCTAssertEqual(AnswerExtraction.firstInteger("The pass key is 71432. Or 5"), "71432")
        XCTAssertEqual(AnswerExtraction.boxed("so \\boxed{\\frac{1}{2}}."), "\\frac{1}{2}")
        XCTAssertNil(AnswerExtraction.boxed("no box"))
        XCTAssertEqual(AnswerExtraction.normalizeMath("\\dfrac{1}{2}"), AnswerExtraction.normalizeMath("\\frac{1}{2}"))
        XCTAssertEqual(AnswerExtraction.lastNumber("costs 1,200.50 then 72.0"), "72")
        XCTAssertEqual(AnswerExtraction.lastNumber("-3 degrees"), "-3")
        XCTAssertEqual(AnswerExtraction.choiceLetter("The answer is (C)."), "C")
        XCTAssertEqual(AnswerExtraction.choiceLetter("B) plants sprouting"), "B")
        XCTAssertEqual(AnswerExtraction.choiceLetter("I think it's D"), "D")
        XCTAssertEqual(AnswerExtraction.lastLabel("It is not True; the answer is Uncertain.", options: ["True", "False", "Uncertain"]), "Uncertain")
        XCTAssertEqual(AnswerExtraction.words("{\"a\": \"b\"}"), ["a", "b"])
    }

    func testReasoningMetrics() {
        XCTAssertEqual(AnswerScorer.number.score("We get 8, then \\boxed{7}", references: ["7"]), 1)
        XCTAssertEqual(AnswerScorer.number.score("So 1,200 cents.", references: ["1200"]), 1)
        XCTAssertEqual(AnswerScorer.boxed.score("\\boxed{\\dfrac{1}{2}}", references: ["\\frac{1}{2}"]), 1)
        XCTAssertEqual(AnswerScorer.boxed.score("1/2", references: ["\\frac{1}{2}"]), 0)
        XCTAssertEqual(AnswerScorer.choiceLetter.score("Answer: b", references: ["B"]), 1)
        XCTAssertEqual(AnswerScorer.label(options: ["yes", "no"]).score("Cats cannot fly, so no.", references: ["no"]), 1)
        XCTAssertEqual(AnswerScorer.multipleChoice.score("**The correct answer is (B)**", references: ["B"]), 1)
        XCTAssertEqual(AnswerScorer.multipleChoice.score("The correct answer is A", references: ["B"]), 0)
        XCTAssertEqual(AnswerScorer.firstInteger.score("pass key 71432", references: ["71432"]), 1)
        XCTAssertEqual(AnswerScorer.wordMatch.score("the value is: b.", references: ["b"]), 1)
    }

    func testEvalMetricsSummary() {
        func p(_ task: String, _ score: Double, refs: [String] = ["x"]) -> Prediction {
            Prediction(id: task, contextID: "c", task: task, question: "q", prediction: "", reference: refs, score: score,
                       metric: "contains")
        }
        // Scored: 1, 0.5, 0 → 0.5; task a: (1 + 0.5) / 2 = 0.75; one unscored (no references).
        let m = EvalMetrics([p("a", 1), p("a", 0.5), p("b", 0), p("c", 0, refs: [])])
        XCTAssertEqual(m.accuracy, 0.5)
        XCTAssertEqual(m.n, 3)
        XCTAssertEqual(m.unscored, 1)
        XCTAssertEqual(m.perTask["a"]?.score, 0.75)
        XCTAssertEqual(m.tasks["a"], MetricsFile.TaskScore(score: 0.75, n: 2, percentKey: "contains", percent: 75))
    }
}
