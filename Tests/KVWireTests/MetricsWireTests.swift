import XCTest
@testable import KVWire

/// The metrics record travels by name: every field arrives unchanged, and names one side does not
/// know are harmless.
final class MetricsWireTests: XCTestCase {
    /// A record whose every metric is set, each to a different value.
    private var everyMetricSet: Metrics {
        Metrics(values: Dictionary(uniqueKeysWithValues: Metrics().fields.enumerated().map { i, f in
            (f.name, Double(i + 1) * (f.isCount ? 1_000_003 : 1.5))
        }))
    }

    func testNamesAreTheSnakeCaseFieldsInDeclarationOrder() {
        XCTAssertEqual(Metrics.names.first, "context_tokens")
        XCTAssertLessThan(Metrics.names.firstIndex(of: "queue_ms")!, Metrics.names.firstIndex(of: "mean_batch_size")!)
        XCTAssertTrue(Metrics.names.contains("decoding_compressions"))
        XCTAssertTrue(Metrics.names.contains("peak_rss_bytes"))
        XCTAssertEqual(Set(Metrics.names).count, Metrics.names.count)
        XCTAssertEqual(Metrics(values: everyMetricSet.values), everyMetricSet)
        XCTAssertFalse(everyMetricSet.fields.contains { $0.value == 0 }, "every field is read back by its name")
    }

    func testEveryMetricRoundTripsThroughLoadAndAskResponses() throws {
        let m = everyMetricSet
        let load = Response(id: 1, .load(LoadResult(session: SessionInfo(), metrics: m)))
        let ask = Response(id: 2, .ask(AskResult(answer: "a", tokenIDs: [1], metrics: m, finishReason: .eos)))
        XCTAssertEqual(try WireCodec.decodeResponse(WireCodec.encode(load)), load)
        XCTAssertEqual(try WireCodec.decodeResponse(WireCodec.encode(ask)), ask)
    }

    /// `kvctl info` shows a session's fidelity from the load metrics its description carries.
    func testSessionDescriptionsCarryTheirLoadMetrics() throws {
        var info = SessionInfo()
        info.session = "doc"
        info.loadMetrics = everyMetricSet
        let response = Response(id: 3, .info(info))
        XCTAssertEqual(try WireCodec.decodeResponse(WireCodec.encode(response)), response)
        let json = try JSONEncoder().encode(info)
        XCTAssertEqual(try JSONDecoder().decode(SessionInfo.self, from: json).loadMetrics, everyMetricSet)
    }

    func testUnknownNamesAreIgnoredAndMissingOnesReadAsZero() throws {
        // Response{id: 1, ask: AskResponse{metrics: [{name: "from_a_newer_kvd", value: 1}, {name: "ttft_ms", value: 2.5}],
        //                                  finish_reason: "eos"}}
        func metric(_ name: String, _ value: Double) -> [UInt8] {
            let body = [0x0A, UInt8(name.utf8.count)] + Array(name.utf8) + [0x11] + withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
            return [0x2A, UInt8(body.count)] + body
        }
        let ask = metric("from_a_newer_kvd", 1) + metric("ttft_ms", 2.5) + [0x22, 0x03] + Array("eos".utf8)
        let bytes: [UInt8] = [0x08, 0x01, 0x62, UInt8(ask.count)] + ask
        guard case .ask(let r) = try WireCodec.decodeResponse(bytes).body else { return XCTFail("not an ask") }
        var expected = Metrics()
        expected.ttftMs = 2.5
        XCTAssertEqual(r.metrics, expected)
    }

    /// A record a kvd with other metrics wrote as JSON (a snapshot header's `info.loadMetrics`,
    /// kvbench's files): a missing metric reads as 0 and an unknown one is ignored, through every
    /// `Decodable` path (the record alone, or inside a session description).
    func testJSONMissingAMetricOrCarryingAnUnknownOneDecodes() throws {
        var expected = everyMetricSet
        expected.meanBatchSize = 0
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(everyMetricSet)) as? [String: Any])
        XCTAssertNotNil(json.removeValue(forKey: "meanBatchSize"))
        json["metricOfANewerKvd"] = 12.5
        let record = try JSONSerialization.data(withJSONObject: json)
        XCTAssertEqual(try JSONDecoder().decode(Metrics.self, from: record), expected)
        let info = Data(#"{"session": "doc", "asks": 3, "loadMetrics": "#.utf8) + record + Data("}".utf8)
        let decoded = try JSONDecoder().decode(SessionInfo.self, from: info)
        XCTAssertEqual(decoded.loadMetrics, expected)
        XCTAssertEqual(decoded.asks, 3)
        XCTAssertEqual(try JSONDecoder().decode(Metrics.self, from: Data("{}".utf8)), Metrics())
    }

    func testNamesAsSwiftSpellsThemReadToo() {
        // A session saved before the record wrote its load figures so (and in seconds, now unknown).
        let m = Metrics(values: ["contextTokens": 400, "keptTokens": 200, "kvBytes": 9000, "prefillSeconds": 1.5])
        var expected = Metrics()
        expected.contextTokens = 400
        expected.keptTokens = 200
        expected.kvBytes = 9000
        XCTAssertEqual(m, expected)
    }

    func testCountsThatAreNotWholeNumbersReadHarmlessly() {
        let m = Metrics(values: ["kv_bytes": 12.9, "generated_tokens": .infinity, "context_tokens": 1e300])
        XCTAssertEqual(m.kvBytes, 12)
        XCTAssertEqual(m.generatedTokens, 0)
        XCTAssertEqual(m.contextTokens, 0)
    }
}
