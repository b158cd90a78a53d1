import Foundation
import XCTest
import KVEngine
import KVWire
import KVModel
import KVPress

/// An ask's answer does not depend on who else is asking: greedy tokens alone equal the tokens among
/// 1, 3 and 7 other asks (on the same session and on others, joining at different steps, so its
/// prompt and its decode steps share forward passes with other prompts and decodes). On f16 and
/// quantized caches, with and without a press. (`BatchInvarianceForwardTests` checks the logits bit
/// for bit on every architecture.)
final class BatchInvarianceTests: XCTestCase {
    static let questions = [
        "Who designed the lighthouse?",
        "When was the light first lit?",
        "What did the original lamp burn?",
        "Who was the last keeper of the station?",
        "How tall is the tower?",
        "What did local people call the fog signal?",
        "How many flashes does the light show, and how often?",
        "When was the station electrified, and what was kept?",
    ]

    func document() throws -> String {
        let url = Bundle.module.url(forResource: "Fixtures/kestrel-point-lighthouse", withExtension: "txt")!
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// f16 and 4-bit caches, with and without snapkv at half.
    func sessions(_ model: Model) throws -> [Session] {
        let text = try document()
        let kivi = try KVCacheQuantization.parse("kivi:bits=4")
        return [
            try Session.load(id: SessionID("plain"), model: model, document: text, press: nil),
            try Session.load(id: SessionID("snapkv"), model: model, document: text, press: try PressSpec.parse("snapkv:ratio=0.5")),
            try Session.load(id: SessionID("kivi"), model: model, document: text, press: nil, quantization: kivi),
            try Session.load(id: SessionID("snapkv-kivi"), model: model, document: text,
                             press: try PressSpec.parse("snapkv:ratio=0.5"), quantization: kivi),
        ]
    }

    /// For every session, question 0 asked alone and then among `others` asks; every ask of the crowd
    /// must answer as it does alone. Others join at steps 0, 1 and 2, so prompts meet decodes.
    func checkInvariance(_ model: Model, maxNewTokens: Int, crowds: [Int]) throws {
        let parameters = GenerateParameters(maxNewTokens: maxNewTokens)
        let sessions = try sessions(model)
        var alone: [String: [Int]] = [:]
        func aloneAnswer(_ s: Int, _ q: Int) throws -> [Int] {
            let key = "\(s)/\(q)"
            if let ids = alone[key] { return ids }
            let ids = try sessions[s].ask(question: Self.questions[q], parameters: parameters).tokenIDs
            alone[key] = ids
            return ids
        }
        for target in sessions.indices {
            let expected = try aloneAnswer(target, 0)
            for others in crowds {
                // (session, question, step it joins at); the target first.
                var plan = [(target, 0, 0)]
                for k in 0..<others { plan.append(((target + k) % sessions.count, 1 + k % (Self.questions.count - 1), k % 3)) }
                var asks: [(plan: Int, ask: SessionAsk)] = []
                var step = 0
                while step < 3 || asks.contains(where: { !$0.ask.isFinished }) {
                    for (i, p) in plan.enumerated() where p.2 == step {
                        asks.append((i, try sessions[p.0].startAsk(question: Self.questions[p.1], parameters: parameters)))
                    }
                    AskBatch.step(asks.map(\.ask))
                    step += 1
                }
                for (i, ask) in asks {
                    let (s, q, _) = plan[i]
                    let tokens = try ask.report().tokenIDs
                    if i == 0 { XCTAssertEqual(tokens, expected, "\(sessions[s].id) alone vs among \(others) others") }
                    XCTAssertEqual(tokens, try aloneAnswer(s, q),
                                   "\(sessions[s].id), question \(q), among \(others) others: \(model.tokenizer.decode(tokens).debugDescription)")
                }
            }
        }
    }

    func testSmolLM2AnswersAloneAsInACrowd() throws {
        try checkInvariance(try SessionTests.requireModel(), maxNewTokens: 24, crowds: [1, 3, 7])
    }
}
