import Foundation

/// The shared store's layout in Redis and its operations, each atomic where it must be.
///
/// - `<prefix>:blob:<sha256>:<n>`: chunk `n` (≤ 4 MB) of a saved session's snapshot file, named
///   by the SHA-256 of the whole file: content-addressed, so equal sessions share their chunks.
/// - `<prefix>:refs:<sha256>`: how many index entries refer to that blob.
/// - `<prefix>:session:<fingerprint>:<id>`: the index entry, a hash: `version`, `header` (the
///   JSON `SharedEntry`: chunk hashes, size, info, load metrics), `sha`, `chunks`.
/// - `<prefix>:version`: the counter versions come from (every publish takes a new one).
/// - `<prefix>:dropped:<fingerprint>:<id>`: the version a drop removed, kept for a week: tells a
///   replica whose copy the store no longer holds whether it was dropped (forget the copy) or
///   lost (a Redis restarted without persistence, `maxmemory` eviction: publish the copy again).
/// - `<prefix>:events`: the pub/sub channel of `publish`/`drop` messages.
///
/// Chunks are written first with a time to live; one Lua script then checks that every chunk is
/// there, makes them permanent, swaps the index entry, counts references and publishes the
/// event, atomically. A writer killed before the script leaves only chunks that expire, never an
/// index entry pointing at missing chunks; two writers of one id end with one winner. Chunks no
/// entry refers to any more are deleted by the script that dropped the last reference.
struct SharedIndex {
    /// Largest chunk (LMCache's Redis connector found ~4 MB chunks best).
    static let chunkSize = 4 << 20
    /// How long chunks of an unfinished publish live.
    static let pendingChunkTTLMs = 600_000
    /// Bounds `list`'s SCAN (ids per deployment and fingerprint listed at most).
    static let listLimit = 100_000

    let prefix: String

    func indexKey(_ fingerprint: String, _ id: String) -> String { "\(prefix):session:\(fingerprint):\(id)" }
    func blobKey(_ sha: String, _ n: Int) -> String { "\(prefix):blob:\(sha):\(n)" }
    func refsKey(_ sha: String) -> String { "\(prefix):refs:\(sha)" }
    func droppedKey(_ fingerprint: String, _ id: String) -> String { "\(prefix):dropped:\(fingerprint):\(id)" }
    /// How long a drop is remembered (a replica away longer may publish its copy again).
    static let droppedTTLSeconds = 7 * 24 * 3600
    var versionKey: String { "\(prefix):version" }
    var channel: String { "\(prefix):events" }

    /// Publishes `snapshot` (a whole snapshot file) as session `id`, replacing any entry.
    /// - Returns: the new version and the bytes sent.
    func publish(_ c: RedisConnection, id: String, fingerprint: String, snapshot: [UInt8], info: SessionInfo,
                 origin: String) throws -> (version: UInt64, bytesSent: Int) {
        let sha = SHA256Digest.hex(snapshot)
        // The same bytes under the same id (a replica publishing a copy it fetched, after a
        // restart) keep the entry's version: nothing is sent, no replica reloads.
        if case .array(let held) = try c.command(["HMGET", indexKey(fingerprint, id), "sha", "version"]), held.count == 2,
           held[0].text == sha, let version = held[1].integer {
            return (UInt64(version), 0)
        }
        let ranges = stride(from: 0, to: max(snapshot.count, 1), by: Self.chunkSize).map { $0..<min($0 + Self.chunkSize, snapshot.count) }
        let entry = SharedEntry(session: id, fingerprint: fingerprint, sha256: sha, size: snapshot.count,
                                chunks: ranges.map { SHA256Digest.hex(snapshot[$0]) }, info: info,
                                publishedUnix: Date().timeIntervalSince1970, origin: origin)
        let header = try JSONEncoder().encode(entry)
        var sent = 0
        for attempt in 0..<2 {
            // A blob some entry already holds is not sent again (unless it vanished meanwhile).
            let held = attempt == 0 ? try c.command(["EXISTS", refsKey(sha)]).integer ?? 0 : 0
            let shared = held > 0
            if !shared {
                let sets = ranges.enumerated().map { n, r -> [[UInt8]] in
                    [Array("SET".utf8), Array(blobKey(sha, n).utf8), Array(snapshot[r]), Array("NX".utf8),
                     Array("PX".utf8), Array(String(Self.pendingChunkTTLMs).utf8)]
                }
                for reply in try c.pipeline(sets) { if case .error(let e) = reply { throw StoreError.refused(e) } }
                sent += snapshot.count
            }
            let keys = [indexKey(fingerprint, id), refsKey(sha), versionKey] + ranges.indices.map { blobKey(sha, $0) }
            let args = [String(decoding: header, as: UTF8.self), sha, String(ranges.count), prefix, channel,
                        "\(fingerprint) \(id)", origin, droppedKey(fingerprint, id)]
            let reply = try c.command(["EVAL", Self.publishScript, String(keys.count)] + keys + args)
            switch reply {
            case .integer(let v): return (UInt64(v), sent + header.count)
            case .error(let e) where e.hasPrefix("MISSING") && attempt == 0: continue
            case .error(let e): throw StoreError.refused(e)
            default: throw StoreError.refused("unexpected reply to the publish script: \(reply)")
            }
        }
        throw StoreError.refused("chunks of session \(id) vanished twice while it was published")
    }

    /// Deletes the index entry of `id` (and the blob, when no other entry refers to it) and
    /// tells the other replicas.
    /// - Returns: whether an entry existed.
    func drop(_ c: RedisConnection, id: String, fingerprint: String, origin: String) throws -> Bool {
        let reply = try c.command(["EVAL", Self.dropScript, "2", indexKey(fingerprint, id), droppedKey(fingerprint, id), prefix, channel,
                                   "\(fingerprint) \(id)", origin, String(Self.droppedTTLSeconds)])
        switch reply {
        case .integer(let n): return n > 0
        case .error(let e): throw StoreError.refused(e)
        default: throw StoreError.refused("unexpected reply to the drop script: \(reply)")
        }
    }

    /// The version of `id`'s entry, nil when there is none (one read).
    func version(_ c: RedisConnection, id: String, fingerprint: String) throws -> UInt64? {
        let reply = try c.command(["HGET", indexKey(fingerprint, id), "version"])
        if case .error(let e) = reply { throw StoreError.refused(e) }
        return reply.integer.map { UInt64($0) }
    }

    /// Whether a drop removed version `version` (or a later one) of `id`.
    func wasDropped(_ c: RedisConnection, id: String, fingerprint: String, version: UInt64) throws -> Bool {
        let reply = try c.command(["GET", droppedKey(fingerprint, id)])
        if case .error(let e) = reply { throw StoreError.refused(e) }
        return reply.integer.map { UInt64($0) >= version } ?? false
    }

    /// The entry of `id` without its chunks, nil when there is none.
    func entry(_ c: RedisConnection, id: String, fingerprint: String) throws -> (SharedEntry, version: UInt64)? {
        let reply = try c.command(["HMGET", indexKey(fingerprint, id), "header", "version"])
        guard case .array(let fields) = reply, fields.count == 2, let header = fields[0].bytes,
              let version = fields[1].integer else {
            if case .error(let e) = reply { throw StoreError.refused(e) }
            return nil
        }
        guard let entry = try? JSONDecoder().decode(SharedEntry.self, from: Data(header)) else {
            throw StoreError.damaged(session: id, reason: "unreadable index entry")
        }
        return (entry, UInt64(version))
    }

    /// What `fetch` found.
    enum Fetched {
        case found(snapshot: [UInt8], entry: SharedEntry, version: UInt64)
        /// No entry, or chunks gone (deleted by a replace meanwhile, or evicted by `maxmemory`).
        case miss
    }

    /// Fetches `id`'s snapshot, checking every chunk's hash and the whole file's. A mismatch is
    /// fetched once more, then reported as damaged: a wrong byte is never served.
    func fetch(_ c: RedisConnection, id: String, fingerprint: String) throws -> (Fetched, bytesReceived: Int) {
        var received = 0
        var lastProblem = ""
        for _ in 0..<2 {
            guard let (entry, version) = try self.entry(c, id: id, fingerprint: fingerprint) else { return (.miss, received) }
            guard entry.chunks.count <= 1 + entry.size / Self.chunkSize, entry.size >= 0 else {
                throw StoreError.damaged(session: id, reason: "index entry of \(entry.size) bytes lists \(entry.chunks.count) chunks")
            }
            let replies = try c.pipeline(entry.chunks.indices.map { [Array("GET".utf8), Array(blobKey(entry.sha256, $0).utf8)] })
            var snapshot = [UInt8]()
            snapshot.reserveCapacity(entry.size)
            var problem: String?
            for (n, reply) in replies.enumerated() {
                guard let bytes = reply.bytes else {
                    if case .error(let e) = reply { throw StoreError.refused(e) }
                    // Gone: a newer version replaced it, or Redis evicted it. An entry whose chunks
                    // were evicted is removed (not remembered as dropped), so that a replica
                    // holding a copy publishes it again at its next ask.
                    if try self.version(c, id: id, fingerprint: fingerprint) != version { problem = "replaced while fetched"; break }
                    _ = try c.command(["EVAL", Self.removeIfVersionScript, "1", indexKey(fingerprint, id), String(version), prefix])
                    return (.miss, received)
                }
                received += bytes.count
                if SHA256Digest.hex(bytes) != entry.chunks[n] { problem = "chunk \(n) does not match its hash"; break }
                snapshot += bytes
            }
            if problem == nil && (snapshot.count != entry.size || SHA256Digest.hex(snapshot) != entry.sha256) {
                problem = "the assembled snapshot does not match its hash"
            }
            guard let problem else { return (.found(snapshot: snapshot, entry: entry, version: version), received) }
            lastProblem = problem
        }
        throw StoreError.damaged(session: id, reason: lastProblem)
    }

    /// The ids of every entry of `fingerprint` (at most `listLimit`).
    func list(_ c: RedisConnection, fingerprint: String) throws -> [String] {
        let pattern = indexKey(fingerprint, "*")
        let keyPrefix = indexKey(fingerprint, "")
        var cursor = "0", ids: [String] = []
        repeat {
            let reply = try c.command(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"])
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].text,
                  case .array(let keys) = parts[1] else {
                if case .error(let e) = reply { throw StoreError.refused(e) }
                throw StoreError.refused("unexpected reply to SCAN")
            }
            ids += keys.compactMap { $0.text }.filter { $0.hasPrefix(keyPrefix) }.map { String($0.dropFirst(keyPrefix.count)) }
            cursor = next
        } while cursor != "0" && ids.count < Self.listLimit
        return Array(Set(ids)).sorted()
    }

    // KEYS: index, refs of the new blob, version counter, the new blob's chunks.
    // ARGV: header JSON, sha, chunk count, prefix, channel, "<fingerprint> <id>", origin, dropped key.
    static let publishScript = """
    for i = 4, #KEYS do
      if redis.call('EXISTS', KEYS[i]) == 0 then return redis.error_reply('MISSING ' .. KEYS[i]) end
    end
    local old = redis.call('HMGET', KEYS[1], 'sha', 'chunks')
    local v = redis.call('INCR', KEYS[3])
    redis.call('INCR', KEYS[2])
    for i = 4, #KEYS do redis.call('PERSIST', KEYS[i]) end
    redis.call('HSET', KEYS[1], 'version', v, 'header', ARGV[1], 'sha', ARGV[2], 'chunks', ARGV[3])
    redis.call('DEL', ARGV[8])
    if old[1] then
      local rk = ARGV[4] .. ':refs:' .. old[1]
      if redis.call('DECR', rk) <= 0 then
        redis.call('DEL', rk)
        for n = 0, tonumber(old[2]) - 1 do redis.call('DEL', ARGV[4] .. ':blob:' .. old[1] .. ':' .. n) end
      end
    end
    redis.call('PUBLISH', ARGV[5], 'publish ' .. ARGV[6] .. ' ' .. v .. ' ' .. ARGV[7])
    return v
    """

    // KEYS: index. ARGV: the version it must still have, prefix. Its reference goes with it.
    static let removeIfVersionScript = """
    local h = redis.call('HMGET', KEYS[1], 'version', 'sha', 'chunks')
    if h[1] ~= ARGV[1] then return 0 end
    redis.call('DEL', KEYS[1])
    local rk = ARGV[2] .. ':refs:' .. h[2]
    if redis.call('DECR', rk) <= 0 then
      redis.call('DEL', rk)
      for n = 0, tonumber(h[3]) - 1 do redis.call('DEL', ARGV[2] .. ':blob:' .. h[2] .. ':' .. n) end
    end
    return 1
    """

    // KEYS: index, dropped key. ARGV: prefix, channel, "<fingerprint> <id>", origin, seconds a drop is remembered.
    static let dropScript = """
    local old = redis.call('HMGET', KEYS[1], 'sha', 'chunks', 'version')
    if not old[1] then return 0 end
    redis.call('DEL', KEYS[1])
    redis.call('SET', KEYS[2], old[3], 'EX', ARGV[5])
    local rk = ARGV[1] .. ':refs:' .. old[1]
    if redis.call('DECR', rk) <= 0 then
      redis.call('DEL', rk)
      for n = 0, tonumber(old[2]) - 1 do redis.call('DEL', ARGV[1] .. ':blob:' .. old[1] .. ':' .. n) end
    end
    redis.call('PUBLISH', ARGV[2], 'drop ' .. ARGV[3] .. ' ' .. old[3] .. ' ' .. ARGV[4])
    return 1
    """
}

/// The JSON `header` of an index entry.
struct SharedEntry: Codable, Equatable {
    var session: String
    /// The model fingerprint the snapshot needs (`InferenceBackend.storeFingerprint`).
    var fingerprint: String
    /// SHA-256 of the whole snapshot file.
    var sha256: String
    var size: Int
    /// SHA-256 of each chunk, in order.
    var chunks: [String]
    /// The session's metadata as the publisher had it (load metrics included).
    var info: SessionInfo
    var publishedUnix: Double
    /// The replica that published it (`host:pid:nonce`).
    var origin: String
}

/// A message on the events channel: `publish|drop <fingerprint> <id> <version> <origin>`.
struct StoreEvent: Equatable {
    enum Kind: String { case publish, drop }
    var kind: Kind
    var fingerprint: String
    var session: String
    var version: UInt64
    var origin: String

    init?(_ text: String) {
        let parts = text.split(separator: " ").map(String.init)
        guard parts.count == 5, let kind = Kind(rawValue: parts[0]), let version = UInt64(parts[3]) else { return nil }
        self.kind = kind
        fingerprint = parts[1]
        session = parts[2]
        self.version = version
        origin = parts[4]
    }
}
