import XCTest
@testable import KVBenchKit

/// Each loader reads its fixture (Fixtures/*.jsonl) into contexts and questions with the right scorer.
final class LoaderTests: XCTestCase {
    func fixture(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!.path
    }

    func testNestedLayout() throws {
        let d = try KVPressLayout.load(path: fixture("nested.jsonl"), name: "n")
        XCTAssertEqual(d.contexts.count, 2)
        XCTAssertEqual(d.contexts[0].id, "doc1")
        XCTAssertEqual(d.contexts[0].questions.map(\.question), ["Where does Alice live?", "Where does Bob live?"])
        XCTAssertEqual(d.contexts[0].questions[0].answerPrefix, "Answer:")
        XCTAssertEqual(d.contexts[0].questions[1].references, ["Rome", "Roma"])
        XCTAssertEqual(d.contexts[1].questions[0].references, ["4711"])
        XCTAssertEqual(d.contexts[1].questions[0].maxNewTokens, 8)
        XCTAssertEqual(d.contexts[0].questions[0].scorer, .contains)
    }

    func testFlatLayoutGroupsByContext() throws {
        let d = try KVPressLayout.load(path: fixture("flat.jsonl"), name: "f")
        XCTAssertEqual(d.contexts.count, 2)
        XCTAssertEqual(d.contexts[0].questions.map(\.task), ["t1", "t2"])
        XCTAssertEqual(d.contexts[1].questions[0].maxNewTokens, 12)
        XCTAssertEqual(d.questionCount, 3)
        XCTAssertEqual(d.limited(toQuestions: 1).questionCount, 1)
        XCTAssertEqual(d.sampled(fraction: 0.5, seed: 1).contexts.count, 1)
    }

    func testBadRecordNamesTheLine() {
        XCTAssertThrowsError(try KVPressLayout.load(path: fixture("bad.jsonl"), name: "b")) { error in
            XCTAssertEqual(error as? DatasetError, .badRecord(path: fixture("bad.jsonl"), line: 2, reason: "not a JSON object"))
        }
        XCTAssertThrowsError(try KVPressLayout.load(path: "/nonexistent.jsonl", name: "x"))
    }

    func testLongBenchMetrics() throws {
        let d = try LongContextBenchmark.longbench.load(path: fixture("longbench.jsonl"))
        let metrics = d.contexts.flatMap(\.questions).map(\.scorer)
        XCTAssertEqual(metrics, [.qaF1, .firstLine(.classification(classes: ["Human being", "Human", "Location"])),
                                 .retrieval, .codeSimilarity, .rougeL])
        XCTAssertEqual(d.contexts[0].questions[0].references, ["Paris"])
        XCTAssertEqual(try LongContextBenchmark.longbenchV2.load(path: fixture("longbench-v2.jsonl")).contexts[0].questions[0].scorer, .multipleChoice)
        let inf = try LongContextBenchmark.infinitebench.load(path: fixture("infinitebench.jsonl"))
        XCTAssertEqual(inf.contexts.flatMap(\.questions).map(\.scorer), [.firstInteger, .wordMatch, .choiceLetter])
    }

    func testReasoningSets() throws {
        let gsm = try ReasoningSet.gsm8k.load(path: fixture("gsm8k.jsonl"))
        XCTAssertEqual(gsm.contexts.flatMap(\.questions).map(\.references), [["7"], ["1200"]])
        XCTAssertTrue(gsm.contexts[0].questions[0].question.contains("\\boxed{}"))
        XCTAssertEqual(try ReasoningSet.math500.load(path: fixture("math-500.jsonl")).contexts[1].questions[0].references, ["\\frac{1}{2}"])
        XCTAssertEqual(try ReasoningSet.aime25.load(path: fixture("aime25.jsonl")).contexts[0].questions[0].scorer, .boxed)
        let csqa = try ReasoningSet.commonsenseqa.load(path: fixture("commonsenseqa.jsonl"))
        XCTAssertTrue(csqa.contexts[0].context.contains("A. fridge"))
        XCTAssertEqual(csqa.contexts[0].questions[0].references, ["A"])
        XCTAssertEqual(try ReasoningSet.openbookqa.load(path: fixture("openbookqa.jsonl")).contexts[0].questions[0].references, ["B"])
        XCTAssertEqual(try ReasoningSet.folio.load(path: fixture("folio.jsonl")).contexts[0].questions[0].references, ["True"])
        let drop = try ReasoningSet.drop.load(path: fixture("drop.jsonl"))
        XCTAssertEqual(drop.contexts.count, 1, "questions on one passage share a context")
        XCTAssertEqual(drop.contexts[0].questions.map(\.references), [["7"], ["The Bears"]])
        XCTAssertEqual(try ReasoningSet.strategyqa.load(path: fixture("strategyqa.jsonl")).contexts[0].questions[0].references, ["no"])
        XCTAssertEqual(try ReasoningSet.reclor.load(path: fixture("reclor.jsonl")).contexts[0].questions[0].references, ["B"])
        XCTAssertEqual(try ReasoningSet.logiqa.load(path: fixture("logiqa.jsonl")).contexts[0].questions[0].references, ["B"])
    }

    func testDatasetSpecParsing() throws {
        XCTAssertEqual(try DatasetSpec("ruler").kind, .ruler)
        XCTAssertEqual(try DatasetSpec("jsonl:/x.jsonl").kind, .jsonl(path: "/x.jsonl"))
        XCTAssertEqual(try DatasetSpec("longbench-v2:/x").kind, .longContext(.longbenchV2, path: "/x"))
        XCTAssertEqual(try DatasetSpec("math-500:/x").kind, .reasoning(.math500, path: "/x"))
        XCTAssertThrowsError(try DatasetSpec("squad:/x"))
    }

    func testPressChoiceRatioOverride() throws {
        let a = try PressChoice(spec: "snapkv:ratio=0.3", ratio: 0.5)
        XCTAssertEqual(a.base, "snapkv")
        XCTAssertEqual(a.spec, "snapkv:ratio=0.5")
        let b = try PressChoice(spec: "adakv(expected_attention):ratio=0.25", ratio: nil)
        XCTAssertEqual(b.base, "adakv(expected_attention)")
        XCTAssertEqual(b.ratio, 0.25)
        let c = try PressChoice(spec: "snapkv:window_size=32,ratio=0.2", ratio: nil)
        XCTAssertEqual(c.spec, "snapkv:window_size=32,ratio=0.2")
        XCTAssertTrue(try PressChoice(spec: "none", ratio: 0.5).isNone)
        let kvpressNone = try PressChoice(spec: "no_press", ratio: 0.5)
        XCTAssertTrue(kvpressNone.isNone)
        XCTAssertEqual(kvpressNone.spec, "none")
        XCTAssertTrue(try DecodingChoice(spec: "no_press", cacheBudget: nil).isNone)
        XCTAssertThrowsError(try PressChoice(spec: "nosuchpress", ratio: 0.5))
    }
}
