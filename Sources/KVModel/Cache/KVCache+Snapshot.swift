import Foundation
import KVSpec
import KVSystem

/// The binary form of a `KVCache` inside a saved session (all integers little-endian).
///
/// Format 1 (plain caches, the original format): for each layer, for each KV head: u32 entry
/// count, u32 stored key width, u32 number of kept key channels (0 = all) and that many u16
/// channel indices, i32 original positions, then the keys and values exactly as stored (f16 or
/// f32 bit patterns).
///
/// Format 2 (quantized caches): u32 length and UTF-8 text of the quantization spec, then per head
/// the format-1 fields with the count of the residual window, where the quantized blocks come
/// between the key channels and the positions: u32 block count, i32 block lengths, i32 positions,
/// key codes, f16 key scales/minima, value codes, f16 value scales/minima, u32 count + key
/// outliers (u32 row, u16 channel, f16 value), the same for value outliers, then f16 key factors,
/// key bases, value factors, value bases (see `QuantizedKVBlocks`).
///
/// Format 3 (caches with merged heads, `minicache`): u32 number of shared direction sets, each as
/// u32 row count, i32 positions, key rows, value rows (f16 or f32); then per head u32 set number
/// + 1 (0 = not merged) and, when merged, u32 merged entry count and f32 key then value
/// magnitudes, followed by the format-1 fields of its own (residual) entries.
///
/// The header's `cacheFormat` says which; a missing value means format 1.
///
/// Restoring reproduces the cache bit for bit, so answers after a restore equal answers before it.
/// The file around it (header, checksum, atomic writes) is the daemon's; this is only the cache.
public enum KVCacheSnapshot {
    /// The payload format `encode` writes for `cache`.
    public static func format(of cache: KVCache) -> Int {
        cache.quantization != nil ? 2 : cache.layers.joined().contains { $0.merged != nil } ? 3 : 1
    }

    /// Serialises `cache` in `format(of: cache)`.
    public static func encode(_ cache: KVCache) -> [UInt8] {
        var w = Writer()
        w.bytes.reserveCapacity(cache.byteCount + cache.entryCount * 4 + 1024)
        if let q = cache.quantization {
            let spec = Array(q.description.utf8)
            w.put32(UInt32(spec.count))
            w.bytes += spec
        }
        let eb = cache.storage.elementBytes
        let shared = format(of: cache) == 3 ? cache.sharedDirections : []
        if !shared.isEmpty { w.put(shared) }
        for h in cache.layers.joined() {
            if let merged = h.merged {
                w.put32(UInt32(shared.firstIndex { $0 === merged.directions }! + 1))
                w.put32(UInt32(merged.count))
                for m in merged.keyMagnitudes + merged.valueMagnitudes { w.put32(m.bitPattern) }
            } else if !shared.isEmpty {
                w.put32(0)
            }
            w.put32(UInt32(h.residualCount))
            w.put32(UInt32(h.keyDimension))
            let channels = h.keyChannels ?? []
            w.put32(UInt32(channels.count))
            for c in channels { w.put16(UInt16(c)) }
            if let blocks = h.quantizedBlocks { w.put(blocks) }
            let rows = h.residualStart..<h.count
            for i in rows { w.put32(UInt32(bitPattern: Int32(h.position(i)))) }
            for r in rows { for c in 0..<h.keyDimension { w.putElement(h.key(r, c), bytes: eb) } }
            for r in rows { for c in 0..<h.valueDimension { w.putElement(h.value(r, c), bytes: eb) } }
        }
        return w.bytes
    }

    /// Fills the empty `cache` (shaped by the model) from `bytes` written in `format`.
    /// - Throws: `KVCacheSnapshotError.corrupt` when the bytes do not fit the cache's shape or format.
    public static func decode(_ bytes: [UInt8], format: Int = 1, into cache: KVCache) throws {
        guard (1...3).contains(format) else { throw KVCacheSnapshotError.corrupt(reason: "unknown cache format \(format)") }
        let eb = cache.storage.elementBytes
        let hd = cache.headDimension
        try bytes.withUnsafeBytes { raw in
            var r = Reader(raw: raw)
            var scheme: KVCacheQuantization?
            if format == 2 {
                let n = Int(try r.get32())
                let spec = String(decoding: try r.getBytes(n), as: UTF8.self)
                do { scheme = try KVCacheQuantization.parse(spec) } catch {
                    throw KVCacheSnapshotError.corrupt(reason: "bad quantization '\(spec)': \(error)")
                }
            }
            let shared = format == 3 ? try r.getDirections(cache.storage, width: hd) : []
            var keyRow = [Float](repeating: 0, count: hd)
            var valueRow = [Float](repeating: 0, count: hd)
            for h in cache.layers.joined() {
                if format == 3, let set = Int(exactly: try r.get32()), set > 0 {
                    guard set <= shared.count else { throw KVCacheSnapshotError.corrupt(reason: "unknown shared direction set \(set)") }
                    let n = Int(try r.get32())
                    try r.need(8 * n)
                    let magnitudes = try (0..<(2 * n)).map { _ in Float(bitPattern: try r.get32()) }
                    try h.restoreMerged(shared[set - 1], keyMagnitudes: Array(magnitudes[..<n]),
                                        valueMagnitudes: Array(magnitudes[n...]))
                }
                let count = Int(try r.get32())
                let keyDim = Int(try r.get32())
                let nChannels = Int(try r.get32())
                guard nChannels <= hd, keyDim == (nChannels == 0 ? hd : nChannels) else {
                    throw KVCacheSnapshotError.corrupt(reason: "key width \(keyDim) does not fit head dimension \(hd)")
                }
                var channels: [Int] = []
                for _ in 0..<nChannels { channels.append(Int(try r.get16())) }
                guard channels.allSatisfy({ $0 < hd }), zip(channels, channels.dropFirst()).allSatisfy({ $0 < $1 }) else {
                    throw KVCacheSnapshotError.corrupt(reason: "invalid key channels")
                }
                if !channels.isEmpty {
                    guard h.merged == nil else { throw KVCacheSnapshotError.corrupt(reason: "a merged head with narrowed keys") }
                    h.keepKeyChannels(channels)
                }
                if let scheme {
                    do { try h.restoreQuantized(try r.getBlocks(scheme, keyDimension: keyDim, valueDimension: hd)) } catch let error as KVQuantizationError {
                        throw KVCacheSnapshotError.corrupt(reason: "\(error)")
                    }
                }
                try r.need(count * (4 + (keyDim + hd) * eb))
                var positions: [Int] = []
                positions.reserveCapacity(count)
                for _ in 0..<count { positions.append(Int(Int32(bitPattern: try r.get32()))) }
                h.reserve(h.count + count)
                let keysStart = r.o
                let valuesStart = r.o + count * keyDim * eb
                for row in 0..<count {
                    r.o = keysStart + row * keyDim * eb
                    for i in 0..<hd { keyRow[i] = 0 }
                    for j in 0..<keyDim { keyRow[channels.isEmpty ? j : channels[j]] = try r.getElement(bytes: eb) }
                    r.o = valuesStart + row * hd * eb
                    for j in 0..<hd { valueRow[j] = try r.getElement(bytes: eb) }
                    keyRow.withUnsafeBufferPointer { k in
                        valueRow.withUnsafeBufferPointer { v in
                            h.append(keys: k.baseAddress!, values: v.baseAddress!, count: 1, firstPosition: positions[row])
                        }
                    }
                }
                r.o = valuesStart + count * hd * eb
                if let scheme, h.quantizedCount != h.count - count || count >= scheme.residualLength + scheme.groupSize {
                    throw KVCacheSnapshotError.corrupt(reason: "residual window of \(count) entries is longer than the quantization allows")
                }
            }
            guard r.o == raw.count else { throw KVCacheSnapshotError.corrupt(reason: "\(raw.count - r.o) unexpected bytes after the cache") }
        }
    }

    private struct Writer {
        var bytes: [UInt8] = []

        mutating func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func put16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func putElement(_ v: Float, bytes eb: Int) {
            if eb == 2 { put16(Float16(v).bitPattern) } else { put32(v.bitPattern) }
        }
        mutating func put(_ halves: [Float16]) { for h in halves { put16(h.bitPattern) } }

        mutating func put(_ sets: [SharedKVDirections]) {
            put32(UInt32(sets.count))
            for d in sets {
                put32(UInt32(d.count))
                for p in d.positions { put32(UInt32(bitPattern: p)) }
                let size = d.count * d.width * d.storage.elementBytes
                bytes += UnsafeRawBufferPointer(start: d.keys, count: size)
                bytes += UnsafeRawBufferPointer(start: d.values, count: size)
            }
        }

        mutating func put(_ b: QuantizedKVBlocks) {
            put32(UInt32(b.blockCount))
            for l in b.blockLengths { put32(UInt32(bitPattern: l)) }
            for p in b.positions { put32(UInt32(bitPattern: p)) }
            bytes += b.keyCodes
            put(b.keyParams)
            bytes += b.valueCodes
            put(b.valueParams)
            for outliers in [b.keyOutliers, b.valueOutliers] {
                put32(UInt32(outliers.count))
                for o in outliers { put32(o.row); put16(o.channel); put16(o.value.bitPattern) }
            }
            put(b.keyFactors)
            put(b.keyBases)
            put(b.valueFactors)
            put(b.valueBases)
        }
    }

    private struct Reader {
        var bytes: LittleEndianReader
        init(raw: UnsafeRawBufferPointer) { bytes = LittleEndianReader(raw) }
        static let endsEarly = KVCacheSnapshotError.corrupt(reason: "cache data ends early")

        /// Where the next read starts (the decoder skips around the keys and values it reads by row).
        var o: Int {
            get { bytes.offset }
            set { bytes.offset = newValue }
        }

        func need(_ n: Int) throws {
            guard bytes.has(n) else { throw Self.endsEarly }
        }
        mutating func get32() throws -> UInt32 { try read(UInt32.self) }
        mutating func get16() throws -> UInt16 { try read(UInt16.self) }
        private mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard let v = bytes.read(T.self) else { throw Self.endsEarly }
            return v
        }
        mutating func getElement(bytes eb: Int) throws -> Float {
            eb == 2 ? Float(Float16(bitPattern: try get16())) : Float(bitPattern: try get32())
        }
        mutating func getBytes(_ n: Int) throws -> [UInt8] {
            guard let b = bytes.take(n) else { throw Self.endsEarly }
            return Array(b)
        }
        mutating func getHalves(_ n: Int) throws -> [Float16] {
            try need(2 * n)
            return try (0..<n).map { _ in Float16(bitPattern: try get16()) }
        }
        mutating func getOutliers() throws -> [KVOutlier] {
            let n = Int(try get32())
            try need(8 * n)
            return try (0..<n).map { _ in
                KVOutlier(row: try get32(), channel: try get16(), value: Float16(bitPattern: try get16()))
            }
        }

        /// Reads the shared direction sets of format 3.
        mutating func getDirections(_ storage: KVStorageType, width: Int) throws -> [SharedKVDirections] {
            let sets = Int(try get32())
            return try (0..<sets).map { _ in
                let n = Int(try get32())
                try need(n * (4 + 2 * width * storage.elementBytes))
                let positions = try (0..<n).map { _ in Int32(bitPattern: try get32()) }
                let keys = try (0..<(n * width)).map { _ in try getElement(bytes: storage.elementBytes) }
                let values = try (0..<(n * width)).map { _ in try getElement(bytes: storage.elementBytes) }
                return SharedKVDirections(storage: storage, width: width, keys: keys, values: values, positions: positions)
            }
        }

        /// Reads one head's blocks; sizes follow from the block lengths, and the blocks' initializer checks the rest.
        mutating func getBlocks(_ scheme: KVCacheQuantization, keyDimension kd: Int, valueDimension vd: Int) throws -> QuantizedKVBlocks {
            let blocks = Int(try get32())
            try need(4 * blocks)
            let lengths = try (0..<blocks).map { _ in Int32(bitPattern: try get32()) }
            guard lengths.allSatisfy({ $0 > 0 && Int($0) <= scheme.groupSize }) else {
                throw KVCacheSnapshotError.corrupt(reason: "invalid quantized block lengths")
            }
            let rows = lengths.reduce(0) { $0 + Int($1) }, rank = scheme.rank
            let keyRowBytes = QuantizedKVBlocks.rowBytes(width: kd, bits: scheme.bits)
            let valueRowBytes = QuantizedKVBlocks.rowBytes(width: vd, bits: scheme.bits)
            try need(4 * rows)
            let positions = try (0..<rows).map { _ in Int32(bitPattern: try get32()) }
            let keyCodes = try getBytes(rows * keyRowBytes)
            let keyParams = try getHalves(blocks * 2 * kd)
            let valueCodes = try getBytes(rows * valueRowBytes)
            let valueParams = try getHalves(rows * 2 * (vd / scheme.groupSize))
            let keyOutliers = try getOutliers(), valueOutliers = try getOutliers()
            return try QuantizedKVBlocks(
                scheme: scheme, keyDimension: kd, valueDimension: vd, blockLengths: lengths, positions: positions,
                keyCodes: keyCodes, keyParams: keyParams, valueCodes: valueCodes, valueParams: valueParams,
                keyOutliers: keyOutliers, valueOutliers: valueOutliers, keyFactors: try getHalves(rows * rank),
                keyBases: try getHalves(blocks * rank * kd), valueFactors: try getHalves(rows * rank),
                valueBases: try getHalves(blocks * rank * vd))
        }
    }
}

/// Why saved cache bytes could not be restored.
public enum KVCacheSnapshotError: Error, Equatable, CustomStringConvertible {
    /// The bytes are truncated, padded, of an unknown format, or do not fit the cache's shape.
    case corrupt(reason: String)

    /// What does not fit, for the caller to wrap with the file it read.
    public var description: String {
        switch self {
        case .corrupt(let reason): return reason
        }
    }
}
