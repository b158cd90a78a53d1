import Foundation
import KVWire
import XCTest

/// The telemetry row: its columns, the line the writer makes, and the reader that reads it back.
final class TelemetryRowTests: XCTestCase {
    func testColumnsAreTheEventTheMetricsAndTheOutcome() {
        XCTAssertEqual(TelemetryRow.columns, ["timestamp", "session", "event", "model", "press", "compression_ratio", "kv_quant", "decoding"]
                       + Metrics.names + ["finish_reason", "error_code", "detail"])
    }

    func testASpecWithCommasIsQuoted() {
        var r = TelemetryRow(event: .load, session: "s")
        r.press = "snapkv:ratio=0.5,window_size=64"
        XCTAssertTrue(r.line(timestamp: Date(timeIntervalSince1970: 0)).contains(",\"snapkv:ratio=0.5,window_size=64\","))
    }

    func testARowCarriesEveryMetric() throws {
        var row = TelemetryRow(event: .ask, session: "s")
        row.metrics = Metrics(values: Dictionary(uniqueKeysWithValues: Metrics().fields.enumerated().map { i, f in
            (f.name, Double(i + 1) * (f.isCount ? 1_000_003 : 1.125))
        }))
        let read = try XCTUnwrap(TelemetryRow.records(TelemetryRow.header + row.line(timestamp: Date())).first)
        XCTAssertEqual(read.count, TelemetryRow.columns.count)
        XCTAssertEqual(Metrics(values: read.compactMapValues(Double.init)), row.metrics)
        XCTAssertEqual(read["ttft_ms"], "7.875")
    }

    /// The enums are written as their raw values: the CSV text is what it was when they were strings.
    func testEventAndFinishReasonAreWrittenAsTheirWireText() throws {
        var row = TelemetryRow(event: .ask, session: "s")
        row.finishReason = .maxNewTokens
        let read = try XCTUnwrap(TelemetryRow.records(TelemetryRow.header + row.line(timestamp: Date())).first)
        XCTAssertEqual(read["event"], "ask")
        XCTAssertEqual(read["finish_reason"], "max_new_tokens")
        let load = try XCTUnwrap(TelemetryRow.records(TelemetryRow.header + TelemetryRow(event: .load).line(timestamp: Date())).first)
        XCTAssertEqual(load["finish_reason"], "")
    }

    /// A detail with a line break, a comma and quotes is one field of one row, whole.
    func testADetailWithANewlineACommaAndQuotesReadsBackWhole() {
        var failed = TelemetryRow(event: .error, session: "s")
        failed.detail = "unknown press 'knorm\nsnapkv', \"quoted\"\r\nend"
        var load = TelemetryRow(event: .load, session: "s")
        load.press = "snapkv:ratio=0.5,window_size=64"
        let rows = TelemetryRow.records(TelemetryRow.header + failed.line(timestamp: Date()) + load.line(timestamp: Date()))
        XCTAssertEqual(rows.map { $0["event"] }, ["error", "load"])
        XCTAssertEqual(rows.first?["detail"], failed.detail)
        XCTAssertEqual(rows.last?["press"], load.press)
    }

    /// A file being appended to may be read in the middle of a row, or of a quoted field's line
    /// break: the reader gives each row once it is whole.
    func testTheReaderWaitsForTheRestOfARow() {
        var row = TelemetryRow(event: .error, session: "s")
        row.detail = "first line\nsecond, \"line\""
        let text = TelemetryRow.header + row.line(timestamp: Date())
        let cut = text.range(of: "first line\n")!.upperBound
        var reader = TelemetryRow.Reader()
        XCTAssertEqual(reader.feed(String(text[..<cut])), [], "a quoted field is still open")
        let rows = reader.feed(String(text[cut...]))
        XCTAssertEqual(rows.map { $0["detail"] }, [row.detail])
        XCTAssertEqual(reader.feed(String(row.line(timestamp: Date()).dropLast())), [], "no line end yet")
        XCTAssertEqual(reader.feed("\n").map { $0["detail"] }, [row.detail])
    }
}
