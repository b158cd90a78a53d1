import CKVProto
import CProtobufC
#if canImport(Glibc)
import Glibc
#endif

/// Converts `Request`/`Response` values to and from protobuf bytes with libprotobuf-c
/// (the C code `scripts/generate-proto` generated from `Protos/kvd.proto`).
///
/// Decoding never crashes on hostile input: libprotobuf-c's `unpack` returns NULL on garbage,
/// which becomes `ProtocolError.malformedMessage`.
public enum WireCodec {
    // MARK: Request

    /// Protobuf bytes of `request` (without the frame header).
    public static func encode(_ request: Request) -> [UInt8] {
        let a = CArena()
        var m = Kvd__Request()
        kvd__request__init(&m)
        m.id = request.id
        m.deadline_ms = request.deadlineMs
        switch request.operation {
        case .load(let r):
            let p = a.make(kvd__load_request__init)
            p.pointee.session = a.string(r.session, "session", of: p)
            p.pointee.document = a.string(r.document, "document", of: p)
            p.pointee.press = a.string(r.press, "press", of: p)
            p.pointee.model = a.string(r.model, "model", of: p)
            p.pointee.replace = r.replace ? 1 : 0
            p.pointee.kv_storage = a.string(r.kvStorage, "kv_storage", of: p)
            p.pointee.kv_quant = a.string(r.kvQuant, "kv_quant", of: p)
            p.pointee.question = a.string(r.question, "question", of: p)
            p.pointee.shared = r.shared ? 1 : 0
            m.op_case = KVD__REQUEST__OP_LOAD
            m.load = p
        case .ask(let r):
            let p = a.make(kvd__ask_request__init)
            p.pointee.session = a.string(r.session, "session", of: p)
            p.pointee.question = a.string(r.question, "question", of: p)
            p.pointee.answer_prefix = a.string(r.answerPrefix, "answer_prefix", of: p)
            p.pointee.max_new_tokens = r.maxNewTokens
            p.pointee.stream = r.stream ? 1 : 0
            p.pointee.decoding = a.string(r.decoding, "decoding", of: p)
            if let s = r.sampling {
                let q = a.make(kvd__sampling__init)
                q.pointee.temperature = s.temperature
                q.pointee.top_k = s.topK
                q.pointee.top_p = s.topP
                q.pointee.repetition_penalty = s.repetitionPenalty
                q.pointee.seed = s.seed
                p.pointee.sampling = q
            }
            m.op_case = KVD__REQUEST__OP_ASK
            m.ask = p
        case .sessions:
            m.op_case = KVD__REQUEST__OP_SESSIONS
            m.sessions = a.make(kvd__sessions_request__init)
        case .info(let s):
            let p = a.make(kvd__info_request__init)
            p.pointee.session = a.string(s, "session", of: p)
            m.op_case = KVD__REQUEST__OP_INFO
            m.info = p
        case .drop(let s):
            let p = a.make(kvd__drop_request__init)
            p.pointee.session = a.string(s, "session", of: p)
            m.op_case = KVD__REQUEST__OP_DROP
            m.drop = p
        case .save(let s):
            let p = a.make(kvd__save_request__init)
            p.pointee.session = a.string(s, "session", of: p)
            m.op_case = KVD__REQUEST__OP_SAVE
            m.save = p
        case .restore(let s):
            let p = a.make(kvd__restore_request__init)
            p.pointee.session = a.string(s, "session", of: p)
            m.op_case = KVD__REQUEST__OP_RESTORE
            m.restore = p
        case .presses:
            m.op_case = KVD__REQUEST__OP_PRESSES
            m.presses = a.make(kvd__presses_request__init)
        case .models:
            m.op_case = KVD__REQUEST__OP_MODELS
            m.models = a.make(kvd__models_request__init)
        case .stats:
            m.op_case = KVD__REQUEST__OP_STATS
            m.stats = a.make(kvd__stats_request__init)
        case .health:
            m.op_case = KVD__REQUEST__OP_HEALTH
            m.health = a.make(kvd__health_request__init)
        case .cancel(let target):
            let p = a.make(kvd__cancel_request__init)
            p.pointee.target_id = target
            m.op_case = KVD__REQUEST__OP_CANCEL
            m.cancel = p
        }
        let n = kvd__request__get_packed_size(&m)
        return packed(n) { kvd__request__pack(&m, $0) }
    }

    /// Decodes a request's protobuf bytes.
    /// - Throws: `ProtocolError.malformedMessage` for bytes that are not a `kvd.Request`,
    ///   `ProtocolError.missingOperation` when no operation is set.
    public static func decodeRequest(_ bytes: [UInt8]) throws -> Request {
        let m: UnsafeMutablePointer<Kvd__Request>? = bytes.withUnsafeBufferPointer { b in
            withNonNilBase(b) { kvd__request__unpack(nil, b.count, $0) }
        }
        guard let m else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
        defer { kvd__request__free_unpacked(m, nil) }
        let r = m.pointee
        let op: Request.Operation
        /// The exact strings of the operation's message `p` (see `WireText`).
        func text(_ p: UnsafeMutableRawPointer?) throws -> WireText {
            guard let p else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            return try WireText(bytes, member: r.op_case.rawValue,
                                descriptor: p.assumingMemoryBound(to: ProtobufCMessage.self).pointee.descriptor)
        }
        switch r.op_case {
        case KVD__REQUEST__OP_LOAD:
            guard let p = r.load?.pointee else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            let s = try text(r.load)
            op = .load(LoadRequest(session: try s(p.session, "session"), document: try s(p.document, "document"),
                                   press: try s(p.press, "press"), model: try s(p.model, "model"), replace: p.replace != 0,
                                   kvStorage: try s(p.kv_storage, "kv_storage"), kvQuant: try s(p.kv_quant, "kv_quant"),
                                   question: try s(p.question, "question"), shared: p.shared != 0))
        case KVD__REQUEST__OP_ASK:
            guard let p = r.ask?.pointee else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            let s = try text(r.ask)
            let sampling = p.sampling.map { q in
                WireSampling(temperature: q.pointee.temperature, topK: q.pointee.top_k, topP: q.pointee.top_p,
                             repetitionPenalty: q.pointee.repetition_penalty, seed: q.pointee.seed)
            }
            op = .ask(AskRequest(session: try s(p.session, "session"), question: try s(p.question, "question"),
                                 answerPrefix: try s(p.answer_prefix, "answer_prefix"), maxNewTokens: p.max_new_tokens,
                                 sampling: sampling, stream: p.stream != 0, decoding: try s(p.decoding, "decoding")))
        case KVD__REQUEST__OP_SESSIONS: op = .sessions
        case KVD__REQUEST__OP_INFO: op = .info(session: try text(r.info)(r.info?.pointee.session, "session"))
        case KVD__REQUEST__OP_DROP: op = .drop(session: try text(r.drop)(r.drop?.pointee.session, "session"))
        case KVD__REQUEST__OP_SAVE: op = .save(session: try text(r.save)(r.save?.pointee.session, "session"))
        case KVD__REQUEST__OP_RESTORE: op = .restore(session: try text(r.restore)(r.restore?.pointee.session, "session"))
        case KVD__REQUEST__OP_PRESSES: op = .presses
        case KVD__REQUEST__OP_MODELS: op = .models
        case KVD__REQUEST__OP_STATS: op = .stats
        case KVD__REQUEST__OP_HEALTH: op = .health
        case KVD__REQUEST__OP_CANCEL: op = .cancel(targetID: r.cancel?.pointee.target_id ?? 0)
        default: throw ProtocolError.missingOperation
        }
        return Request(id: r.id, deadlineMs: r.deadline_ms, op)
    }

    /// The id of a request whose operation could not be decoded, if its bytes parse at all
    /// (so an error answer can carry the id back).
    public static func requestID(_ bytes: [UInt8]) -> UInt64? {
        let m: UnsafeMutablePointer<Kvd__Request>? = bytes.withUnsafeBufferPointer { b in
            withNonNilBase(b) { kvd__request__unpack(nil, b.count, $0) }
        }
        guard let m else { return nil }
        defer { kvd__request__free_unpacked(m, nil) }
        return m.pointee.id
    }

    // MARK: Response

    /// Protobuf bytes of `response` (without the frame header).
    public static func encode(_ response: Response) -> [UInt8] {
        let a = CArena()
        var m = Kvd__Response()
        kvd__response__init(&m)
        m.id = response.id
        switch response.body {
        case .error(let e):
            let p = a.make(kvd__error__init)
            p.pointee.code = Kvd__Code(rawValue: UInt32(bitPattern: e.code.rawValue))
            p.pointee.message = a.string(e.message, "message", of: p)
            m.body_case = KVD__RESPONSE__BODY_ERROR
            m.error = p
        case .load(let r):
            let p = a.make(kvd__load_response__init)
            p.pointee.session = sessionInfo(r.session, a)
            (p.pointee.n_metrics, p.pointee.metrics) = metrics(r.metrics, a)
            m.body_case = KVD__RESPONSE__BODY_LOAD
            m.load = p
        case .token(let t):
            let p = a.make(kvd__ask_token__init)
            p.pointee.token_id = t.tokenID
            p.pointee.text = a.string(t.text, "text", of: p)
            m.body_case = KVD__RESPONSE__BODY_TOKEN
            m.token = p
        case .ask(let r):
            let p = a.make(kvd__ask_response__init)
            p.pointee.answer = a.string(r.answer, "answer", of: p)
            let ids = a.array(UInt32.self, r.tokenIDs.count)
            for (i, t) in r.tokenIDs.enumerated() { ids[i] = t }
            p.pointee.n_token_ids = r.tokenIDs.count
            p.pointee.token_ids = ids
            (p.pointee.n_metrics, p.pointee.metrics) = metrics(r.metrics, a)
            p.pointee.finish_reason = a.string(r.finishReason.rawValue, "finish_reason", of: p)
            m.body_case = KVD__RESPONSE__BODY_ASK
            m.ask = p
        case .sessions(let list):
            let p = a.make(kvd__sessions_response__init)
            let items = a.array(UnsafeMutablePointer<Kvd__SessionInfo>?.self, list.count)
            for (i, s) in list.enumerated() { items[i] = sessionInfo(s, a) }
            p.pointee.n_sessions = list.count
            p.pointee.sessions = items
            m.body_case = KVD__RESPONSE__BODY_SESSIONS
            m.sessions = p
        case .info(let s):
            m.body_case = KVD__RESPONSE__BODY_INFO
            m.info = sessionInfo(s, a)
        case .drop(let dropped):
            let p = a.make(kvd__drop_response__init)
            p.pointee.dropped = dropped ? 1 : 0
            m.body_case = KVD__RESPONSE__BODY_DROP
            m.drop = p
        case .save(let path, let bytes):
            let p = a.make(kvd__save_response__init)
            p.pointee.path = a.string(path, "path", of: p)
            p.pointee.bytes = bytes
            m.body_case = KVD__RESPONSE__BODY_SAVE
            m.save = p
        case .restore(let s):
            let p = a.make(kvd__restore_response__init)
            p.pointee.session = sessionInfo(s, a)
            m.body_case = KVD__RESPONSE__BODY_RESTORE
            m.restore = p
        case .presses(let list):
            let p = a.make(kvd__presses_response__init)
            let items = a.array(UnsafeMutablePointer<Kvd__PressInfo>?.self, list.count)
            for (i, info) in list.enumerated() {
                let q = a.make(kvd__press_info__init)
                q.pointee.name = a.string(info.name, "name", of: q)
                q.pointee.summary = a.string(info.summary, "summary", of: q)
                q.pointee.wraps = info.wraps ? 1 : 0
                let phases = a.array(UnsafeMutablePointer<CChar>?.self, info.phases.count)
                for (j, phase) in info.phases.enumerated() { phases[j] = a.string(phase, "phases", of: q) }
                q.pointee.n_phases = info.phases.count
                q.pointee.phases = phases
                let params = a.array(UnsafeMutablePointer<Kvd__PressParameter>?.self, info.parameters.count)
                for (j, pp) in info.parameters.enumerated() {
                    let r = a.make(kvd__press_parameter__init)
                    r.pointee.name = a.string(pp.name, "name", of: r)
                    r.pointee.default_value = a.string(pp.defaultValue, "default_value", of: r)
                    r.pointee.help = a.string(pp.help, "help", of: r)
                    params[j] = r
                }
                q.pointee.n_parameters = info.parameters.count
                q.pointee.parameters = params
                items[i] = q
            }
            p.pointee.n_presses = list.count
            p.pointee.presses = items
            m.body_case = KVD__RESPONSE__BODY_PRESSES
            m.presses = p
        case .models(let list):
            let p = a.make(kvd__models_response__init)
            let items = a.array(UnsafeMutablePointer<Kvd__ModelInfo>?.self, list.count)
            for (i, info) in list.enumerated() {
                let q = a.make(kvd__model_info__init)
                modelInfoFields.write(info, to: q, a)
                items[i] = q
            }
            p.pointee.n_models = list.count
            p.pointee.models = items
            m.body_case = KVD__RESPONSE__BODY_MODELS
            m.models = p
        case .stats(let s):
            let p = a.make(kvd__stats_response__init)
            statsFields.write(s, to: p, a)
            m.body_case = KVD__RESPONSE__BODY_STATS
            m.stats = p
        case .health(let status, let version):
            let p = a.make(kvd__health_response__init)
            p.pointee.status = a.string(status, "status", of: p)
            p.pointee.version = a.string(version, "version", of: p)
            m.body_case = KVD__RESPONSE__BODY_HEALTH
            m.health = p
        case .cancel(let cancelled):
            let p = a.make(kvd__cancel_response__init)
            p.pointee.cancelled = cancelled ? 1 : 0
            m.body_case = KVD__RESPONSE__BODY_CANCEL
            m.cancel = p
        }
        let n = kvd__response__get_packed_size(&m)
        return packed(n) { kvd__response__pack(&m, $0) }
    }

    /// Decodes a response's protobuf bytes.
    /// - Throws: `ProtocolError.malformedMessage` or `.missingBody`.
    public static func decodeResponse(_ bytes: [UInt8]) throws -> Response {
        let m: UnsafeMutablePointer<Kvd__Response>? = bytes.withUnsafeBufferPointer { b in
            withNonNilBase(b) { kvd__response__unpack(nil, b.count, $0) }
        }
        guard let m else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
        defer { kvd__response__free_unpacked(m, nil) }
        let r = m.pointee
        let body: Response.Body
        /// The exact strings of the body's message `p` (see `WireText`): text a model or a user wrote.
        func text(_ p: UnsafeMutableRawPointer?) throws -> WireText {
            guard let p else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            return try WireText(bytes, member: r.body_case.rawValue,
                                descriptor: p.assumingMemoryBound(to: ProtobufCMessage.self).pointee.descriptor)
        }
        switch r.body_case {
        case KVD__RESPONSE__BODY_ERROR:
            guard let e = r.error?.pointee else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            let code = WireCode(rawValue: Int32(bitPattern: e.code.rawValue)) ?? .unknown
            body = .error(WireError(code, try text(r.error)(e.message, "message")))
        case KVD__RESPONSE__BODY_LOAD:
            guard let p = r.load?.pointee else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            body = .load(LoadResult(session: try sessionInfo(p.session), metrics: metrics(p.n_metrics, p.metrics)))
        case KVD__RESPONSE__BODY_TOKEN:
            guard let t = r.token?.pointee else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            body = .token(AskToken(tokenID: t.token_id, text: try text(r.token)(t.text, "text")))
        case KVD__RESPONSE__BODY_ASK:
            guard let p = r.ask?.pointee else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            let ids = (0..<p.n_token_ids).map { p.token_ids[$0] }
            body = .ask(AskResult(answer: try text(r.ask)(p.answer, "answer"), tokenIDs: ids, metrics: metrics(p.n_metrics, p.metrics),
                                  finishReason: try value(p.finish_reason, "finish_reason")))
        case KVD__RESPONSE__BODY_SESSIONS:
            guard let p = r.sessions?.pointee else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            body = .sessions(try (0..<p.n_sessions).map { try sessionInfo(p.sessions[$0]) })
        case KVD__RESPONSE__BODY_INFO:
            body = .info(try sessionInfo(r.info))
        case KVD__RESPONSE__BODY_DROP:
            body = .drop(dropped: (r.drop?.pointee.dropped ?? 0) != 0)
        case KVD__RESPONSE__BODY_SAVE:
            body = .save(path: str(r.save?.pointee.path), bytes: r.save?.pointee.bytes ?? 0)
        case KVD__RESPONSE__BODY_RESTORE:
            body = .restore(try sessionInfo(r.restore?.pointee.session))
        case KVD__RESPONSE__BODY_PRESSES:
            guard let p = r.presses?.pointee else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            body = .presses((0..<p.n_presses).compactMap { i in
                guard let q = p.presses[i]?.pointee else { return nil }
                let params = (0..<q.n_parameters).compactMap { j -> PressParameterInfo? in
                    guard let pp = q.parameters[j]?.pointee else { return nil }
                    return PressParameterInfo(name: str(pp.name), defaultValue: str(pp.default_value), help: str(pp.help))
                }
                return PressInfo(name: str(q.name), summary: str(q.summary), parameters: params, wraps: q.wraps != 0,
                                 phases: (0..<q.n_phases).map { str(q.phases[$0]) })
            })
        case KVD__RESPONSE__BODY_MODELS:
            guard let p = r.models?.pointee else { throw ProtocolError.malformedMessage(bytes: bytes.count) }
            body = .models(try (0..<p.n_models).compactMap { i in
                guard let q = p.models[i] else { return nil }
                var info = ModelInfo()
                try modelInfoFields.read(q, into: &info)
                return info
            })
        case KVD__RESPONSE__BODY_STATS:
            var s = DaemonStats()
            if let p = r.stats { try statsFields.read(p, into: &s) }
            body = .stats(s)
        case KVD__RESPONSE__BODY_HEALTH:
            body = .health(status: str(r.health?.pointee.status), version: str(r.health?.pointee.version))
        case KVD__RESPONSE__BODY_CANCEL:
            body = .cancel(cancelled: (r.cancel?.pointee.cancelled ?? 0) != 0)
        default:
            throw ProtocolError.missingBody
        }
        return Response(id: r.id, body)
    }

    // MARK: Helpers

    private static func sessionInfo(_ s: SessionInfo, _ a: CArena) -> UnsafeMutablePointer<Kvd__SessionInfo> {
        let p = a.make(kvd__session_info__init)
        sessionInfoFields.write(s, to: p, a)
        return p
    }

    private static func sessionInfo(_ p: UnsafeMutablePointer<Kvd__SessionInfo>?) throws -> SessionInfo {
        var s = SessionInfo()
        if let p { try sessionInfoFields.read(p, into: &s) }
        return s
    }

    /// `m` as `kvd.Metric`s, one per field in declaration order.
    static func metrics(_ m: Metrics, _ a: CArena) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<Kvd__Metric>?>) {
        let fields = m.fields
        let items = a.array(UnsafeMutablePointer<Kvd__Metric>?.self, fields.count)
        for (i, field) in fields.enumerated() {
            let q = a.make(kvd__metric__init)
            q.pointee.name = a.string(field.name, "name", of: q)
            q.pointee.value = field.value
            items[i] = q
        }
        return (fields.count, items)
    }

    /// The record named by `count` `kvd.Metric`s (see `Metrics.init(values:)`).
    static func metrics(_ count: Int, _ items: UnsafeMutablePointer<UnsafeMutablePointer<Kvd__Metric>?>?) -> Metrics {
        var values: [String: Double] = [:]
        for i in 0..<count {
            guard let q = items?[i]?.pointee else { continue }
            values[str(q.name)] = q.value
        }
        return Metrics(values: values)
    }

    /// A name, id, path or spec in a response: kvd writes these and they hold no NUL (ids are
    /// validated), so the C string is the whole field. Free text goes through `WireText`.
    static func str(_ p: UnsafeMutablePointer<CChar>?) -> String {
        guard let p else { return "" }
        return String(cString: p)
    }

    /// An enum field sent as text (`state`, `finish_reason`).
    /// - Throws: `ProtocolError.unknownValue` for text that is none of its raw values.
    static func value<T: RawRepresentable>(_ p: UnsafeMutablePointer<CChar>?, _ field: String) throws -> T where T.RawValue == String {
        let text = str(p)
        guard let v = T(rawValue: text) else { throw ProtocolError.unknownValue(field: field, value: text) }
        return v
    }

    private static func packed(_ n: Int, _ pack: (UnsafeMutablePointer<UInt8>) -> Int) -> [UInt8] {
        guard n > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: n) { buffer, count in
            count = pack(buffer.baseAddress!)
        }
    }

    private static func withNonNilBase<R>(_ b: UnsafeBufferPointer<UInt8>, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        if let base = b.baseAddress { return body(base) }
        var zero: UInt8 = 0
        return body(&zero)
    }
}

/// Owns the C memory of a message being built; everything is freed when the arena goes.
final class CArena {
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for s in strings { free(s) }
        for b in blocks { b.deallocate() }
    }

    /// A C copy of `s` for the string field `name` of message `m` (protobuf-c stores `char *`).
    ///
    /// protobuf-c packs a `char *` only up to its first NUL, so text holding a NUL travels as an
    /// unknown field of the same number instead, with every byte; every runtime reads that as
    /// the field itself (and kvd with `WireText`).
    func string<M>(_ s: String, _ name: String, of m: UnsafeMutablePointer<M>) -> UnsafeMutablePointer<CChar> {
        guard s.utf8.contains(0) else { return copy(s) }
        let message = UnsafeMutableRawPointer(m).assumingMemoryBound(to: ProtobufCMessage.self)
        guard let field = protobuf_c_message_descriptor_get_field_by_name(message.pointee.descriptor, name) else { return copy(s) }
        // protobuf-c writes an unknown field as its tag followed by `data` verbatim: the length goes in `data`.
        var bytes: [UInt8] = []
        var n = s.utf8.count
        while n >= 0x80 { bytes.append(UInt8(n & 0x7F) | 0x80); n >>= 7 }
        bytes.append(UInt8(n))
        bytes += s.utf8
        let data = array(UInt8.self, bytes.count)
        data.initialize(from: bytes, count: bytes.count)
        let count = Int(message.pointee.n_unknown_fields)
        let fields = array(ProtobufCMessageUnknownField.self, count + 1)
        if count > 0 { fields.update(from: message.pointee.unknown_fields, count: count) }
        fields[count] = ProtobufCMessageUnknownField(tag: field.pointee.id, wire_type: PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
                                                 len: bytes.count, data: data)
        message.pointee.n_unknown_fields = UInt32(count + 1)
        message.pointee.unknown_fields = fields
        return copy("")
    }

    private func copy(_ s: String) -> UnsafeMutablePointer<CChar> {
        let p = strdup(s) ?? strdup("")!
        strings.append(p)
        return p
    }

    /// Room for `count` values of `T` (at least one).
    func array<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        blocks.append(UnsafeMutableRawPointer(p))
        return p
    }

    /// A message initialised by its protoc-c `*_init` function.
    func make<T>(_ initialize: (UnsafeMutablePointer<T>?) -> Void) -> UnsafeMutablePointer<T> {
        let p = array(T.self, 1)
        initialize(p)
        return p
    }
}
