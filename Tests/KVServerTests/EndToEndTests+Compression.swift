import Foundation
import KVEngine
import KVModel
import KVPress
import XCTest
@testable import KVServer

/// End-to-end: a quantized session and per-ask decoding compression through a real kvd.
extension EndToEndTests {
    static let quantization = "kivi:bits=8"
    static let decoding = "h2o:cache_budget=64,compression_interval=8"

    /// A knorm@0.5 + 8-bit session answers as the in-process library does; an ask with decoding
    /// compression reports its counters (wire and CSV) and leaves the context intact; bad specs
    /// are refused with what is valid; kvctl sends quantization specs in full and lists the methods;
    /// a restart restores the quantized cache bit for bit.
    func testQuantizedSessionWithDecodingCompression() throws {
        try requireModel()
        let document = try Self.document
        let model = try Model(path: Self.modelPath)
        let reference = try Session.load(id: try SessionID("ref"), model: model, document: document,
                                         press: try PressSpec.parse(Self.press),
                                         quantization: try KVCacheQuantization.parse(Self.quantization))
        let params = GenerateParameters(maxNewTokens: Int(Self.maxNewTokens))
        let plain = try reference.ask(question: Self.questions[0], parameters: params)
        let squeezed = try reference.ask(question: Self.questions[1], parameters: params,
                                         decoding: try DecodingSpec.parse(Self.decoding))
        XCTAssertGreaterThan(squeezed.metrics.decodingCompressions, 0, "the budget is below the kept context, so it must compress")

        var daemon: DaemonProcess? = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        let client = try daemon!.client()
        let loaded = try client.call(.load(LoadRequest(session: "q8", document: document, press: Self.press, kvQuant: Self.quantization)))
        guard case .load(let load) = loaded.body else { return XCTFail("load: \(loaded.body)\n\(daemon!.log)") }
        XCTAssertEqual(load.session.kvQuant, reference.cache.quantization?.description)
        XCTAssertEqual(Int(load.session.kvBytes), reference.loadMetrics.kvBytes)
        // Of the ~400 entries knorm keeps per head, the newest 128 stay f16 (the residual window).
        XCTAssertLessThan(Double(load.session.kvBytes), 0.4 * Double(load.session.kvBytesUncompressed),
                          "8-bit codes hold well under the f16 bytes of the kept half")

        func ask(_ q: String, decoding: String = "") throws -> AskResult {
            let r = try client.call(.ask(AskRequest(session: "q8", question: q, maxNewTokens: Self.maxNewTokens, decoding: decoding)))
            guard case .ask(let a) = r.body else {
                XCTFail("ask failed: \(r.body)\n\(daemon!.log)")
                throw CocoaError(.featureUnsupported)
            }
            return a
        }
        let first = try ask(Self.questions[0])
        XCTAssertEqual(first.answer, plain.answer)
        let withBudget = try ask(Self.questions[1], decoding: Self.decoding)
        XCTAssertEqual(withBudget.answer, squeezed.answer)
        let t = withBudget.metrics
        XCTAssertEqual(Int(t.decodingCompressions), squeezed.metrics.decodingCompressions)
        XCTAssertGreaterThan(t.decodingCompressMs, 0)
        XCTAssertEqual(UInt64(t.kvBytesBefore), load.session.kvBytes)
        XCTAssertLessThan(t.kvBytes, t.kvBytesBefore, "the budget holds fewer entries than the kept context")
        XCTAssertLessThanOrEqual(Int(t.finalCacheTokens), 64 + 8, "at most the budget plus one interval of new tokens")
        XCTAssertGreaterThan(t.peakRssBytes, 0)
        XCTAssertEqual(try ask(Self.questions[0]).tokenIDs, first.tokenIDs, "decoding compression never touches the stored context")

        let rows = try daemon!.telemetry("q8")
        XCTAssertEqual(rows.map { $0["event"] ?? "" }, ["load", "ask", "ask", "ask"])
        XCTAssertEqual(rows[0]["kv_quant"], load.session.kvQuant)
        XCTAssertEqual(rows[2]["decoding"], Self.decoding)
        XCTAssertEqual(Int(rows[2]["decoding_compressions"] ?? ""), squeezed.metrics.decodingCompressions)
        XCTAssertEqual(Int(rows[2]["kv_bytes_before"] ?? ""), t.kvBytesBefore)
        XCTAssertEqual(rows[3]["decoding"], "")
        XCTAssertEqual(rows[3]["decoding_compressions"], "0")

        // Bad specs: a clear error listing what is valid, and the daemon keeps serving.
        func refusal(_ op: Request.Operation) throws -> (WireCode?, String) {
            let r = try client.call(op)
            return (r.body.errorCode, r.body.errorMessage)
        }
        let bits = try refusal(.load(LoadRequest(session: "b", document: document, kvQuant: "kivi:bits=3")))
        XCTAssertEqual(bits.0, .invalidArgument)
        XCTAssertTrue(bits.1.contains("2, 4"), bits.1)
        let method = try refusal(.load(LoadRequest(session: "m", document: document, kvQuant: "zip:bits=4")))
        XCTAssertEqual(method.0, .invalidArgument)
        XCTAssertTrue(method.1.contains("kivi") && method.1.contains("gear"), method.1)
        let unknown = try refusal(.ask(AskRequest(session: "q8", question: "q", decoding: "squeeze")))
        XCTAssertEqual(unknown.0, .invalidArgument)
        XCTAssertTrue(unknown.1.contains("h2o") && unknown.1.contains("rkv"), unknown.1)
        XCTAssertEqual(try refusal(.ask(AskRequest(session: "q8", question: "q", decoding: "h2o:cache_budget=-1"))).0, .invalidArgument)
        XCTAssertEqual(try ask(Self.questions[0]).answer, plain.answer)

        // kvctl refuses a bad bit width before connecting.
        let kvctl = try Products.path("kvctl")
        let local = try run(kvctl, ["load", "--socket", daemon!.socket, "x", "/dev/null", "--kv-bits", "3"])
        XCTAssertNotEqual(local.status, 0)
        XCTAssertEqual(local.stderr.split(separator: "\n").first,
                       "Error: invalid value '3' for kivi.bits; expected one of 2, 4, 8 (kvctl presses lists the quantization methods)")
        // kvctl sends the spec with every parameter, so the session reports what it asked for.
        let short = dir.appendingPathComponent("short.txt")
        try "A short note about lighthouses.".write(to: short, atomically: true, encoding: .utf8)
        let gear = try run(kvctl, ["load", "--socket", daemon!.socket, "--json", "g", short.path, "--kv-quant", "gear:rank=1"])
        XCTAssertTrue(gear.stdout.contains("\"kv_quant\":\"gear:bits=4,group_size=32,residual=128,rank=1,outlier_ratio=0.01\""), gear.stdout + gear.stderr)

        // kvctl presses lists the quantization methods, from the catalog, after kvd's presses.
        let listed = try run(kvctl, ["presses", "--json", "--socket", daemon!.socket])
        let catalogs = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: [[String: Any]]]
        XCTAssertEqual(catalogs?["kv_quant"]?.compactMap { $0["name"] as? String }, ["kivi", "kvquant", "gear"])
        XCTAssertEqual((catalogs?["kv_quant"]?.last?["parameters"] as? [[String: Any]])?.compactMap { $0["name"] as? String },
                       ["bits", "group_size", "residual", "rank", "outlier_ratio"])
        // Each press says when it runs: a scorer in both phases, a wrapper or context press at load only.
        func phases(_ name: String) -> [String]? {
            catalogs?["presses"]?.first { $0["name"] as? String == name }?["phases"] as? [String]
        }
        XCTAssertEqual(phases("snapkv"), ["prefill", "decoding"], listed.stdout)
        XCTAssertEqual(phases("dms"), ["prefill", "decoding"])
        XCTAssertEqual(phases("kvzip"), ["prefill"])
        XCTAssertEqual(phases("adakv"), ["prefill"])
        let text = try run(kvctl, ["presses", "--socket", daemon!.socket]).stdout
        XCTAssertTrue(text.contains("\nsnapkv — scores by the attention of the last window_size queries [prefill, decoding]\n"), text)

        // Restart: the quantized cache is saved and restored exactly.
        XCTAssertEqual(daemon!.terminate(), 0, daemon!.log)
        daemon = nil
        let restarted = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        defer { restarted.terminate() }
        let again = try restarted.client().call(.ask(AskRequest(session: "q8", question: Self.questions[0], maxNewTokens: Self.maxNewTokens)))
        guard case .ask(let a) = again.body else { return XCTFail("\(again.body)\n\(restarted.log)") }
        XCTAssertEqual(a.tokenIDs, first.tokenIDs)
    }
}
