import XCTest
@testable import KVBenchKit

/// The RULER generator with a stand-in tokenizer (one token per whitespace-separated word), so
/// structure and length fitting are checked without the model.
final class RulerGeneratorTests: XCTestCase {
    let words: (String) -> Int = { $0.split(whereSeparator: { $0.isWhitespace }).count }

    func generate(_ task: RulerTask, length: Int = 1024, seed: UInt64 = 7, haystack: Haystack = .noise) throws -> [RulerPrompt] {
        try RulerGenerator(task: task, contextLength: length, haystack: haystack, seed: seed, countTokens: words).generate(samples: 3)
    }

    func testEveryTaskFitsAndHidesItsAnswers() throws {
        for task in RulerTask.allCases {
            for p in try generate(task) {
                XCTAssertLessThanOrEqual(words(p.input), 1024 - task.maxNewTokens, "\(task)")
                XCTAssertGreaterThan(words(p.input), 400, "\(task) haystack should fill most of the budget")
                XCTAssertFalse(p.answers.isEmpty, "\(task)")
                for a in p.answers { XCTAssertTrue(p.context.contains(a), "\(task): answer \(a) not in context") }
            }
        }
    }

    func testNIAHSingleMatchesRULERsPrompt() throws {
        let p = try generate(.niahSingle1)[0]
        XCTAssertTrue(p.context.hasPrefix("A special magic number is hidden within the following text. Make sure to memorize it. I will quiz you about the number afterwards.\nThe grass is green."))
        XCTAssertTrue(p.context.hasSuffix("\n"))
        XCTAssertTrue(p.question.hasPrefix("What is the special magic number for "))
        XCTAssertTrue(p.question.hasSuffix(" mentioned in the provided text? "))
        XCTAssertTrue(p.answerPrefix.hasPrefix("The special magic number for "))
        XCTAssertTrue(p.answerPrefix.hasSuffix(" mentioned in the provided text is"))
        XCTAssertEqual(p.answers.count, 1)
        XCTAssertEqual(p.answers[0].count, 7)
        XCTAssertTrue(p.context.contains("One of the special magic numbers for "))
        XCTAssertTrue(p.context.contains(" is: \(p.answers[0])."))
    }

    func testMultiQueryAsksFourKeys() throws {
        let p = try generate(.niahMultiquery)[0]
        XCTAssertEqual(p.answers.count, 4)
        XCTAssertTrue(p.question.hasPrefix("What are all the special magic numbers for "))
        XCTAssertTrue(p.question.contains(", and "))
        XCTAssertTrue(p.answerPrefix.hasSuffix("are"))
        let uuid = try generate(.niahMultikey3)[0].answers[0]
        XCTAssertEqual(uuid.count, 36)
        XCTAssertEqual(Array(uuid)[14], "4")
    }

    func testSeedsAreDeterministic() throws {
        XCTAssertEqual(try generate(.niahSingle1, seed: 1), try generate(.niahSingle1, seed: 1))
        XCTAssertNotEqual(try generate(.niahSingle1, seed: 1)[0].answers, try generate(.niahSingle1, seed: 2)[0].answers)
    }

    func testVariableTrackingChain() throws {
        let p = try generate(.vt)[0]
        XCTAssertEqual(p.answers.count, 5)
        XCTAssertTrue(p.question.hasPrefix("Question: Find all variables that are assigned the value "))
        XCTAssertTrue(p.answerPrefix.contains("5 variables are assgined the value"))
        XCTAssertTrue(p.context.contains("VAR \(p.answers[1]) = VAR \(p.answers[0])"))
        XCTAssertTrue(p.context.hasPrefix(" Memorize and track"), "the one-shot example comes first")
    }

    func testCommonAndFrequentWords() throws {
        let c = try generate(.cwe)[0]
        XCTAssertEqual(c.answers.count, 10)
        let counts = Dictionary(grouping: c.context.split(separator: " ").map(String.init), by: { $0 }).mapValues(\.count)
        XCTAssertGreaterThan(counts[c.answers[0]] ?? 0, 3)
        let f = try generate(.fwe)[0]
        XCTAssertEqual(f.answers.count, 3)
        let fc = Dictionary(grouping: f.context.split(separator: " ").map(String.init), by: { $0 }).mapValues(\.count)
        XCTAssertGreaterThanOrEqual(fc[f.answers[0]] ?? 0, fc[f.answers[2]] ?? 0)
    }

    func testTextHaystack() throws {
        let url = Bundle.module.url(forResource: "Fixtures/haystack", withExtension: "txt")!
        let p = try generate(.niahSingle2, length: 512, haystack: try Haystack.file(url.path))[0]
        XCTAssertTrue(p.context.contains("quiet village"))
        XCTAssertTrue(p.context.contains(p.answers[0]))
        XCTAssertThrowsError(try RulerGenerator(task: .niahSingle1, contextLength: 100, countTokens: words).generate(samples: 1))
    }
}
