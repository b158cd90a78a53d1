import XCTest
@testable import KVWire

final class WireCodecTests: XCTestCase {
    func testRequestsRoundTrip() throws {
        let requests: [Request] = [
            Request(id: 1, deadlineMs: 500, .load(LoadRequest(session: "doc-1", document: "Hello ünïcode 🌍", press: "snapkv:ratio=0.5",
                                                             model: "m", replace: true, kvStorage: "f32", kvQuant: "kivi:bits=4", question: "Who?"))),
            Request(id: 2, .ask(AskRequest(session: "s", question: "why?", answerPrefix: "Because", maxNewTokens: 7,
                                           sampling: WireSampling(temperature: 0.7, topK: 40, topP: 0.9, repetitionPenalty: 1.1, seed: 42),
                                           stream: true, decoding: "h2o:cache_budget=64"))),
            Request(id: 3, .ask(AskRequest(session: "s", question: "q", stream: false))),
            Request(id: 4, .sessions), Request(id: 5, .info(session: "a")), Request(id: 6, .drop(session: "b")),
            Request(id: 7, .save(session: "c")), Request(id: 8, .restore(session: "d")), Request(id: 9, .presses),
            Request(id: 10, .models), Request(id: 11, .stats), Request(id: 12, .health),
            Request(id: UInt64.max, .cancel(targetID: 77)),
        ]
        for r in requests {
            XCTAssertEqual(try WireCodec.decodeRequest(WireCodec.encode(r)), r)
        }
    }

    func testResponsesRoundTrip() throws {
        var info = SessionInfo()
        info.session = "s"; info.press = "knorm:compression_ratio=0.5"; info.compressionRatio = 0.5
        info.contextTokens = 100; info.keptTokens = 50; info.kvBytes = 1234; info.state = .resident; info.asks = 3; info.failedAsks = 2
        info.kvQuant = "kivi:bits=4"
        var t = Metrics()
        t.contextTokens = 100; t.generatedTokens = 9; t.ttftMs = 12.5; t.kvBytesUncompressed = 99
        t.kvBytesBefore = 77; t.decodingCompressions = 3; t.decodingCompressMs = 1.5; t.finalCacheTokens = 64; t.peakRssBytes = 1 << 33
        var stats = DaemonStats()
        stats.sessionsResident = 2; stats.uptimeS = 3.5; stats.queueDepth = 4; stats.telemetryDir = "/var/log/kvd"
        var model = ModelInfo()
        model.name = "smollm"; model.layers = 30; model.isDefault = true
        let responses: [Response] = [
            Response(id: 1, .error(WireError(.notFound, "no session 'x'"))),
            Response(id: 2, .load(LoadResult(session: info, metrics: t))),
            Response(id: 3, .token(AskToken(tokenID: 17, text: " the"))),
            Response(id: 3, .ask(AskResult(answer: "the end", tokenIDs: [1, 2, 3], metrics: t, finishReason: .eos))),
            Response(id: 4, .sessions([info, info])), Response(id: 4, .sessions([])),
            Response(id: 5, .info(info)), Response(id: 6, .drop(dropped: true)),
            Response(id: 7, .save(path: "/var/lib/kvd/s.kvds", bytes: 4096)), Response(id: 8, .restore(info)),
            Response(id: 9, .presses([PressInfo(name: "snapkv", summary: "s", parameters: [PressParameterInfo(name: "window_size", defaultValue: "64", help: "h")], wraps: false)])),
            Response(id: 10, .models([model])), Response(id: 11, .stats(stats)),
            Response(id: 12, .health(status: "serving", version: "0.1")), Response(id: 13, .cancel(cancelled: false)),
        ]
        for r in responses {
            XCTAssertEqual(try WireCodec.decodeResponse(WireCodec.encode(r)), r)
        }
    }

    func testGarbageIsAnErrorNotACrash() {
        XCTAssertThrowsError(try WireCodec.decodeRequest([0xFF, 0xFF, 0xFF, 0xFF, 0xFF])) {
            XCTAssertEqual($0 as? ProtocolError, .malformedMessage(bytes: 5))
        }
        // An empty message is a valid protobuf but sets no operation.
        XCTAssertThrowsError(try WireCodec.decodeRequest([])) { XCTAssertEqual($0 as? ProtocolError, .missingOperation) }
        // Field 1 (id) = 5, no op.
        XCTAssertEqual(WireCodec.requestID([0x08, 0x05]), 5)
    }

    func testFramingSplitsAnyChunking() throws {
        let payloads: [[UInt8]] = [[], [1], Array(repeating: 7, count: 300), [9, 8, 7]]
        let stream = payloads.flatMap(FrameEncoder.frame)
        for chunk in [1, 2, 3, 5, 64, stream.count] {
            var d = FrameDecoder(maxFrameSize: 1000)
            var out: [[UInt8]] = []
            var i = 0
            while i < stream.count {
                let end = min(i + chunk, stream.count)
                d.append(Array(stream[i..<end]))
                while let f = try d.next() { out.append(f) }
                i = end
            }
            XCTAssertEqual(out, payloads, "chunk \(chunk)")
            XCTAssertNoThrow(try d.checkEndOfStream())
        }
    }

    func testOversizedFrameRejectedFromHeaderAlone() {
        var d = FrameDecoder(maxFrameSize: 16)
        d.append([0x7F, 0xFF, 0xFF, 0xFF])  // announces 2 GiB; only the header arrived
        XCTAssertThrowsError(try d.next()) {
            XCTAssertEqual($0 as? ProtocolError, .frameTooLarge(length: 0x7FFF_FFFF, limit: 16))
        }
        XCTAssertEqual(d.bufferedByteCount, 4)
    }

    func testTruncatedStreamIsReported() throws {
        var d = FrameDecoder()
        d.append([0, 0, 0, 10, 1, 2])
        XCTAssertNil(try d.next())
        XCTAssertThrowsError(try d.checkEndOfStream()) { XCTAssertEqual($0 as? ProtocolError, .truncatedFrame(have: 6, need: 14)) }
    }

    func testSessionInfoSavedByAnOlderKvdStillDecodes() throws {
        let old = #"{"session":"s","model":"m","press":"none","compressionRatio":0,"contextTokens":5,"keptTokens":5,"kvBytes":10,"kvBytesUncompressed":10,"state":"saved","asks":1,"createdUnix":1,"lastUsedUnix":2}"#
        let info = try JSONDecoder().decode(SessionInfo.self, from: Data(old.utf8))
        XCTAssertEqual(info.contextTokens, 5)
        XCTAssertEqual(info.kvQuant, "")
        var q = info
        q.kvQuant = "kivi:bits=4,group_size=32,residual=128"
        XCTAssertEqual(try JSONDecoder().decode(SessionInfo.self, from: JSONEncoder().encode(q)), q)
    }
}
