import XCTest
import KVPress

/// The catalog is the one place a press's parameters are declared: every press builds from it,
/// prints its defaults back, and reads every parameter it declares.
final class PressCatalogTests: XCTestCase {
    /// A spec of `entry` with its defaults: wrappers hold `snapkv` (`composed` holds `knorm`), and
    /// required parameters get `required`.
    private func defaultSpec(_ entry: PressEntry) -> SpecNode {
        let inner: [SpecNode] = switch entry.inner {
        case .none: []
        case .one: [SpecNode(name: "snapkv")]
        case .many: [SpecNode(name: "knorm")]
        }
        let given = entry.parameters.filter { $0.defaultValue.isEmpty }.map { SpecNode.Parameter($0.name, requiredValue($0)) }
        return SpecNode(name: entry.name, inner: inner, parameters: given)
    }

    /// A valid value of a parameter without a default (`per_layer`'s ratios, `dms`'s threshold).
    private func requiredValue(_ p: PressParameter) -> String { p.kind == .anyNumber ? "-1.5" : "0.5;0.25" }

    /// A valid value of `p` other than its default.
    private func otherValue(_ p: PressParameter) -> String {
        let d = p.defaultValue
        switch p.kind {
        case .ratio, .innerRatio, .optionalRatio: return d == "0.25" ? "0.5" : "0.25"
        case .integer(let lo, let hi): return Int(d)! < hi ? String(Int(d)! + 1) : String(lo)
        case .optionalInteger: return "1000"
        case .number(let r): return String(Double(d)! == r.lowerBound ? min(r.lowerBound + 0.5, r.upperBound) : r.lowerBound)
        case .numberAbove(let lo, let hi): return String(hi.isFinite ? (lo + hi) / 2 : Double(d)! + 1)
        case .anyNumber: return String(Double(d)! + 1)
        case .optionalNumber: return "0.5"
        case .flag: return d == "true" ? "false" : "true"
        case .choice(let words): return words.first { $0 != d }!
        case .text: return "/nonexistent/\(p.name)"
        case .ratioList: return "0.25;0.5"
        }
    }

    /// The press's own state (everything but its arguments), to see whether a parameter reached it.
    private func state(_ object: AnyObject) -> String {
        Mirror(reflecting: object).children.filter { $0.label != "arguments" }
            .map { "\($0.label ?? ""): \(String(describing: $0.value))" }.joined(separator: "; ")
    }

    func testAggregationChoicesAreTheEnumCases() {
        XCTAssertEqual(PressCatalog.aggregation.kind, .choice(GQAScoreAggregation.allCases.map(\.rawValue)))
    }

    func testDefaultsRoundTripThroughTheSpec() throws {
        for entry in PressCatalog.all {
            let spec = defaultSpec(entry)
            let press = try PressSpec.parse(spec.description)
            XCTAssertEqual(press.name, entry.name)
            let expected = entry.parameters.filter { $0.kind != .innerRatio }
                .map { ($0.name, $0.defaultValue.isEmpty ? requiredValue($0) : $0.defaultValue) }
            XCTAssertEqual(press.parameterValues.map(\.0), expected.map(\.0), entry.name)
            XCTAssertEqual(press.parameterValues.map(\.1), expected.map(\.1), "\(entry.name): printed values are the catalog defaults")
            let again = try PressSpec.parse(press.description)
            XCTAssertEqual(again.description, press.description, entry.name)
            XCTAssertEqual(again.parameterValues.map(\.1), expected.map(\.1), entry.name)
        }
        // Every press that decodes is a plain scorer press (or dms, which wraps one: DMSPressTests),
        // and its decoding spec prints the scorer's parameters (without compression_ratio) and the schedule's.
        for entry in DecodingCatalog.entries where entry.name != DecodingCatalog.thresholdPress {
            XCTAssertEqual(entry.inner, .none, entry.name)
            XCTAssertTrue(try PressSpec.parse(entry.name) is ScorerPress, entry.name)
            let press = try DecodingSpec.parse(entry.name)
            XCTAssertEqual(press.name, entry.name)
            let own = DecodingCatalog.scorerParameters(entry)
            XCTAssertEqual(press.parameterValues.map(\.0),
                           own.map(\.name) + ["cache_budget", "compression_interval", "query_buffer"], entry.name)
            XCTAssertEqual(Array(press.parameterValues.map(\.1).prefix(own.count)), own.map(\.defaultValue), entry.name)
            XCTAssertEqual(try DecodingSpec.parse(press.description).description, press.description, entry.name)
        }
    }

    func testEveryParameterIsHonoured() throws {
        for entry in PressCatalog.all {
            let base = try PressSpec.parse(defaultSpec(entry).description)
            for p in entry.parameters where !p.defaultValue.isEmpty {
                let value = otherValue(p)
                let spec = defaultSpec(entry).setting(p.name, to: value)
                if p.kind == .text {
                    XCTAssertThrowsError(try PressSpec.parse(spec.description), "\(entry.name).\(p.name) is read") {
                        XCTAssertTrue("\($0)".contains(value), "\($0)")
                    }
                    continue
                }
                let changed = try PressSpec.parse(spec.description)
                if p.kind == .innerRatio {
                    XCTAssertEqual(changed.compressionRatio, Double(value), "\(entry.name).\(p.name) sets the inner ratio")
                    continue
                }
                XCTAssertTrue(changed.parameterValues.contains { $0 == (p.name, value) }, "\(entry.name).\(p.name)=\(value)")
                XCTAssertNotEqual(state(changed), state(base), "\(entry.name) reads \(p.name)")
            }
        }
        for entry in DecodingCatalog.entries where entry.inner == .none {
            let base = try DecodingSpec.parse(entry.name)
            for p in DecodingCatalog.allParameters(entry) {
                let value = otherValue(p)
                let changed = try DecodingSpec.parse("\(entry.name):\(p.name)=\(value)")
                XCTAssertTrue(changed.parameterValues.contains { $0 == (p.name, value) }, "\(entry.name).\(p.name)=\(value)")
                XCTAssertNotEqual(state(changed) + state(changed.makeScorer()), state(base) + state(base.makeScorer()),
                                  "\(entry.name) reads \(p.name)")
            }
        }
    }

    func testOutOfRangeValuesSayWhatIsValid() {
        func message(_ spec: String) -> String {
            do { _ = try PressSpec.parse(spec); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("snapkv:window_size=0"), "invalid value '0' for snapkv.window_size; expected an integer ≥ 1")
        XCTAssertEqual(message("knorm:ratio=1"), "invalid value '1' for knorm.compression_ratio; expected a number in [0, 1)")
        XCTAssertEqual(message("adakv(snapkv):alpha_safeguard=1.5"),
                       "invalid value '1.5' for adakv.alpha_safeguard; expected a number in [0.0, 1.0]")
        XCTAssertEqual(message("headkv:beta=1"), "invalid value '1' for headkv.beta; expected a number > 1.0")
        XCTAssertEqual(message("cur:leverage_type=both"),
                       "invalid value 'both' for cur.leverage_type; expected one of key, value, kv_avg, kv_product")
        XCTAssertEqual(message("lagkv:cross_scoring=maybe"), "invalid value 'maybe' for lagkv.cross_scoring; expected true or false")
        XCTAssertEqual(message("per_layer(knorm)"),
                       "invalid value '' for per_layer.compression_ratios; expected ratios in [0, 1) separated by ';', one per layer")
        do { _ = try DecodingSpec.parse("rkv_lsh:n_hash_bits=63"); XCTFail("63 bits") } catch {
            XCTAssertEqual("\(error)", "invalid value '63' for rkv_lsh.n_hash_bits; expected an integer in [1, 62]")
        }
    }
}
