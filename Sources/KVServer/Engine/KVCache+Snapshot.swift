import Foundation
import KVModel

/// The binary form of a `KVCache` inside a saved session.
///
/// For each layer, for each KV head: u32 entry count, u32 stored key width, u32 number of kept
/// key channels (0 = all) and that many u16 channel indices, i32 original positions, then the
/// keys and values exactly as stored (f16 or f32 bit patterns, little-endian). Restoring
/// reproduces the cache bit for bit, so answers after a restore equal answers before it.
enum KVCacheSnapshot {
    /// Serialises `cache`.
    static func encode(_ cache: KVCache) -> [UInt8] {
        let eb = cache.storage.elementBytes
        var size = 0
        for layer in cache.layers {
            for h in layer {
                size += 12 + 2 * (h.keyChannels?.count ?? 0) + 4 * h.count + h.count * (h.keyDimension + h.valueDimension) * eb
            }
        }
        var out = [UInt8](repeating: 0, count: size)
        out.withUnsafeMutableBytes { raw in
            var o = 0
            func put32(_ v: UInt32) { raw.storeBytes(of: v.littleEndian, toByteOffset: o, as: UInt32.self); o += 4 }
            func put16(_ v: UInt16) { raw.storeBytes(of: v.littleEndian, toByteOffset: o, as: UInt16.self); o += 2 }
            func putElement(_ v: Float) {
                if eb == 2 { put16(Float16(v).bitPattern) } else { put32(v.bitPattern) }
            }
            for layer in cache.layers {
                for h in layer {
                    put32(UInt32(h.count))
                    put32(UInt32(h.keyDimension))
                    let channels = h.keyChannels ?? []
                    put32(UInt32(channels.count))
                    for c in channels { put16(UInt16(c)) }
                    for i in 0..<h.count { put32(UInt32(bitPattern: Int32(h.position(i)))) }
                    for r in 0..<h.count { for c in 0..<h.keyDimension { putElement(h.key(r, c)) } }
                    for r in 0..<h.count { for c in 0..<h.valueDimension { putElement(h.value(r, c)) } }
                }
            }
        }
        return out
    }

    /// Fills the empty `cache` (shaped by the model) from `bytes`.
    /// - Throws: `PersistenceError.corrupt` when the bytes do not fit the cache's shape.
    static func decode(_ bytes: [UInt8], into cache: KVCache, path: String) throws {
        let eb = cache.storage.elementBytes
        let hd = cache.headDimension
        try bytes.withUnsafeBytes { raw in
            var o = 0
            func need(_ n: Int) throws {
                guard n >= 0, o + n <= raw.count else { throw PersistenceError.corrupt(path: path, reason: "cache data ends early") }
            }
            func get32() throws -> UInt32 { try need(4); defer { o += 4 }; return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
            func get16() throws -> UInt16 { try need(2); defer { o += 2 }; return UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
            func getElement() throws -> Float {
                eb == 2 ? Float(Float16(bitPattern: try get16())) : Float(bitPattern: try get32())
            }
            var keyRow = [Float](repeating: 0, count: hd)
            var valueRow = [Float](repeating: 0, count: hd)
            for layer in cache.layers {
                for h in layer {
                    let count = Int(try get32())
                    let keyDim = Int(try get32())
                    let nChannels = Int(try get32())
                    guard nChannels <= hd, keyDim == (nChannels == 0 ? hd : nChannels) else {
                        throw PersistenceError.corrupt(path: path, reason: "key width \(keyDim) does not fit head dimension \(hd)")
                    }
                    var channels: [Int] = []
                    for _ in 0..<nChannels { channels.append(Int(try get16())) }
                    guard channels.allSatisfy({ $0 < hd }), zip(channels, channels.dropFirst()).allSatisfy({ $0 < $1 }) else {
                        throw PersistenceError.corrupt(path: path, reason: "invalid key channels")
                    }
                    try need(count * (4 + (keyDim + hd) * eb))
                    var positions: [Int] = []
                    positions.reserveCapacity(count)
                    for _ in 0..<count { positions.append(Int(Int32(bitPattern: try get32()))) }
                    if !channels.isEmpty { h.keepKeyChannels(channels) }
                    h.reserve(count)
                    let keysStart = o
                    let valuesStart = o + count * keyDim * eb
                    for r in 0..<count {
                        o = keysStart + r * keyDim * eb
                        for i in 0..<hd { keyRow[i] = 0 }
                        for j in 0..<keyDim { keyRow[channels.isEmpty ? j : channels[j]] = try getElement() }
                        o = valuesStart + r * hd * eb
                        for j in 0..<hd { valueRow[j] = try getElement() }
                        keyRow.withUnsafeBufferPointer { k in
                            valueRow.withUnsafeBufferPointer { v in
                                h.append(keys: k.baseAddress!, values: v.baseAddress!, count: 1, firstPosition: positions[r])
                            }
                        }
                    }
                    o = valuesStart + count * hd * eb
                }
            }
            guard o == raw.count else { throw PersistenceError.corrupt(path: path, reason: "\(raw.count - o) unexpected bytes after the cache") }
        }
    }
}
