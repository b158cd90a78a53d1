import KVSpec

/// An element of a quantized key or value kept exactly: a sparse outlier, or part of the attention sink.
///
/// Stored as 8 bytes (u32 row, u16 channel, f16 value); arrays of them are sorted by row, then channel.
public struct KVOutlier: Sendable, Equatable {
    /// Row in the quantized part of the head.
    public var row: UInt32
    /// Channel (index into the stored key or value).
    public var channel: UInt16
    /// The exact (f16) element.
    public var value: Float16

    /// The element at `row` (within the quantized part) and `channel`, kept as `value`.
    init(row: UInt32, channel: UInt16, value: Float16) {
        self.row = row
        self.channel = channel
        self.value = value
    }
}

/// The quantized entries of one KV head: the oldest entries, in blocks of up to `groupSize` tokens.
///
/// Layout (all arrays dense, row = entry index within the quantized part):
/// - `keyCodes`: per row `rowBytes(width: keyDimension, bits:)` bytes, in 8-byte chunks of
///   `64/bits` codes (see `codeLocation`).
/// - `keyParams`: per block, `keyDimension` f16 scales then `keyDimension` f16 minima (per-channel keys).
/// - `valueCodes`: per row `rowBytes(width: valueDimension, bits:)` bytes, packed as keys.
/// - `valueParams`: per row, `valueDimension/groupSize` f16 scales then as many f16 minima (per-token values).
/// - `keyOutliers`, `valueOutliers`: elements kept exactly (kvquant, gear).
/// - `keyFactors`/`valueFactors` (`rows × rank` f16) and `keyBases`/`valueBases`
///   (`blocks × rank × dimension` f16): GEAR's low-rank error term, `Σ_i factor[row,i]·basis[block,i,c]`.
///
/// Element `(row, c)` = `min + scale·code` + low-rank term, unless an outlier replaces it.
/// Blocks shrink when `keep` drops rows: a kept row's codes stay valid with its block's parameters.
public struct QuantizedKVBlocks: Sendable, Equatable {
    /// The configuration the blocks were made with.
    public let scheme: KVCacheQuantization
    /// Width of a stored key (narrower than the head after `keepKeyChannels`).
    public private(set) var keyDimension: Int
    /// Width of a stored value.
    public let valueDimension: Int
    /// Tokens in each block (each ≤ `scheme.groupSize`, > 0).
    public private(set) var blockLengths: [Int32] = []
    /// `blockStarts[b]` = first row of block `b`; one extra element holds the row count.
    private(set) var blockStarts: [Int] = [0]
    /// Original token position of each row.
    public private(set) var positions: [Int32] = []
    /// Key codes, `keyRowBytes` per row, in 8-byte chunks of `64/bits` codes.
    public private(set) var keyCodes: [UInt8] = []
    /// Per block, `keyDimension` f16 scales then `keyDimension` f16 minima.
    public private(set) var keyParams: [Float16] = []
    /// Value codes, `valueRowBytes` per row, packed as the keys are.
    public private(set) var valueCodes: [UInt8] = []
    /// Per row, `valueGroups` f16 scales then `valueGroups` f16 minima.
    public private(set) var valueParams: [Float16] = []
    /// Key elements kept exactly (kvquant, gear; kvquant's attention sink too), by row then channel.
    public private(set) var keyOutliers: [KVOutlier] = []
    /// Value elements kept exactly, as `keyOutliers`.
    public private(set) var valueOutliers: [KVOutlier] = []
    /// Per outlier, its exact value minus the dense element it replaces (same order as the outliers).
    /// Derived and kept in step by every change, so decode attention corrects an outlier with one
    /// multiply-add per query instead of rebuilding the dense element (measured: ~30 cycles each).
    private(set) var keyOutlierDeltas: [Float] = []
    private(set) var valueOutlierDeltas: [Float] = []
    /// GEAR: per row, `scheme.rank` f16 factors of the key error term (empty for other methods).
    public private(set) var keyFactors: [Float16] = []
    /// GEAR: per row, `scheme.rank` f16 factors of the value error term.
    public private(set) var valueFactors: [Float16] = []
    /// GEAR: per block, `scheme.rank × keyDimension` f16 bases of the key error term.
    public private(set) var keyBases: [Float16] = []
    /// GEAR: per block, `scheme.rank × valueDimension` f16 bases of the value error term.
    public private(set) var valueBases: [Float16] = []

    /// Empty blocks for heads of the given widths.
    public init(scheme: KVCacheQuantization, keyDimension: Int, valueDimension: Int) {
        self.scheme = scheme
        self.keyDimension = keyDimension
        self.valueDimension = valueDimension
    }

    /// Entries held.
    public var rowCount: Int { positions.count }
    /// Number of blocks.
    public var blockCount: Int { blockLengths.count }
    /// Bytes of one row's key codes.
    public var keyRowBytes: Int { Self.rowBytes(width: keyDimension, bits: scheme.bits) }
    /// Bytes of one row's value codes.
    public var valueRowBytes: Int { Self.rowBytes(width: valueDimension, bits: scheme.bits) }

    /// Bytes of a row of `width` packed codes: whole 8-byte chunks of `64/bits` codes each.
    public static func rowBytes(width: Int, bits: Int) -> Int { (width * bits + 63) / 64 * 8 }
    /// Value groups per row.
    public var valueGroups: Int { valueDimension / scheme.groupSize }

    /// Exact bytes of the quantized data: codes + f16 scales/minima + 8 per outlier + f16 low-rank
    /// factors and bases. Positions and block lengths are bookkeeping, as positions are for f16 heads.
    public var byteCount: Int {
        keyCodes.count + valueCodes.count
            + 2 * (keyParams.count + valueParams.count + keyFactors.count + valueFactors.count + keyBases.count + valueBases.count)
            + MemoryLayout<KVOutlier>.stride * (keyOutliers.count + valueOutliers.count)
    }

    /// Bytes allocated by every array, including spare capacity and bookkeeping.
    public var allocatedBytes: Int {
        keyCodes.capacity + valueCodes.capacity + 4 * (positions.capacity + blockLengths.capacity) + 8 * blockStarts.capacity
            + 2 * (keyParams.capacity + valueParams.capacity + keyFactors.capacity + valueFactors.capacity
                + keyBases.capacity + valueBases.capacity)
            + MemoryLayout<KVOutlier>.stride * (keyOutliers.capacity + valueOutliers.capacity)
            + 4 * (keyOutlierDeltas.capacity + valueOutlierDeltas.capacity)
    }

    /// The block holding `row`.
    @inline(__always)
    public func block(containing row: Int) -> Int {
        var lo = 0, hi = blockLengths.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if blockStarts[mid] <= row { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Where channel `c`'s code sits in a packed row: byte offset and bit shift. Chunks of 8 bytes
    /// hold `64/bits` channels; channel `i` of a chunk is in byte `i % 8` at bit `bits·(i / 8)`, so
    /// widening a chunk's 8 bytes to 8 lanes and shifting by an immediate gives 8 consecutive codes.
    @inline(__always)
    static func codeLocation(_ c: Int, bits: Int) -> (byte: Int, shift: Int) {
        // 64/bits channels per chunk, a power of two: shifts and masks instead of divisions.
        let chunkShift = 6 - bits.trailingZeroBitCount, i = c & ((1 << chunkShift) - 1)
        return ((c >> chunkShift) * 8 + (i & 7), bits * (i >> 3))
    }

    /// The code of channel `c` in a row of packed `bits`-bit codes.
    @inline(__always)
    static func code(_ row: UnsafeRawPointer, _ c: Int, bits: Int) -> Int {
        let (byte, shift) = codeLocation(c, bits: bits)
        return Int(row.load(fromByteOffset: byte, as: UInt8.self) >> UInt8(shift)) & ((1 << bits) - 1)
    }

    /// Stores `code` for channel `c` into a zero-initialised packed row.
    @inline(__always)
    static func setCode(_ row: UnsafeMutablePointer<UInt8>, _ c: Int, bits: Int, _ code: Int) {
        let (byte, shift) = codeLocation(c, bits: bits)
        row[byte] |= UInt8(code << shift)
    }

    /// Index of the first outlier at or after `(row, channel)` in a sorted outlier array.
    static func firstOutlier(_ outliers: [KVOutlier], row: Int, channel: Int = 0) -> Int {
        var lo = 0, hi = outliers.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let o = outliers[mid]
            if Int(o.row) < row || (Int(o.row) == row && Int(o.channel) < channel) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private static func exact(_ outliers: [KVOutlier], _ row: Int, _ c: Int) -> Float? {
        let i = firstOutlier(outliers, row: row, channel: c)
        guard i < outliers.count, Int(outliers[i].row) == row, Int(outliers[i].channel) == c else { return nil }
        return Float(outliers[i].value)
    }

    /// Key element `c` of `row` without outliers: `min + scale·code + low-rank`.
    func denseKey(_ row: Int, _ c: Int, block b: Int) -> Float {
        withDenseReader { $0.key(row, c, block: b) }
    }

    /// Value element `c` of `row` without outliers.
    func denseValue(_ row: Int, _ c: Int, block b: Int) -> Float {
        withDenseReader { $0.value(row, c, block: b) }
    }
    /// The reconstructed key element `c` of `row`.
    public func key(_ row: Int, _ c: Int) -> Float {
        if !keyOutliers.isEmpty, let x = Self.exact(keyOutliers, row, c) { return x }
        return denseKey(row, c, block: block(containing: row))
    }

    /// The reconstructed value element `c` of `row`.
    public func value(_ row: Int, _ c: Int) -> Float {
        if !valueOutliers.isEmpty, let x = Self.exact(valueOutliers, row, c) { return x }
        return denseValue(row, c, block: block(containing: row))
    }

    /// Keeps only the rows at `indices` (ascending, unique, each `< rowCount`), without re-quantizing:
    /// each kept row keeps its codes and its block's parameters; emptied blocks disappear.
    public mutating func keep(_ indices: [Int]) {
        let r = scheme.rank, kd = keyDimension, vd = valueDimension, groups = valueGroups
        var newIndex = [Int32](repeating: -1, count: rowCount)
        var lengths: [Int32] = [], kParams: [Float16] = [], kBases: [Float16] = [], vBases: [Float16] = []
        var kCodes: [UInt8] = [], vCodes: [UInt8] = [], vParams: [Float16] = []
        var pos: [Int32] = [], kFactors: [Float16] = [], vFactors: [Float16] = []
        kCodes.reserveCapacity(indices.count * keyRowBytes)
        vCodes.reserveCapacity(indices.count * valueRowBytes)
        var b = 0, inBlock: Int32 = 0
        func closeBlock() {
            guard inBlock > 0 else { return }
            lengths.append(inBlock)
            kParams += keyParams[(b * 2 * kd)..<((b + 1) * 2 * kd)]
            kBases += keyBases[(b * r * kd)..<((b + 1) * r * kd)]
            vBases += valueBases[(b * r * vd)..<((b + 1) * r * vd)]
            inBlock = 0
        }
        for (n, i) in indices.enumerated() {
            precondition(i < rowCount && (n == 0 || i > indices[n - 1]), "keep indices must be ascending and in range")
            while blockStarts[b + 1] <= i { closeBlock(); b += 1 }
            inBlock += 1
            newIndex[i] = Int32(n)
            kCodes += keyCodes[(i * keyRowBytes)..<((i + 1) * keyRowBytes)]
            vCodes += valueCodes[(i * valueRowBytes)..<((i + 1) * valueRowBytes)]
            vParams += valueParams[(i * 2 * groups)..<((i + 1) * 2 * groups)]
            kFactors += keyFactors[(i * r)..<((i + 1) * r)]
            vFactors += valueFactors[(i * r)..<((i + 1) * r)]
            pos.append(positions[i])
        }
        closeBlock()
        // A kept row keeps its codes, parameters and factors, so its outliers keep their deltas.
        func remap(_ outliers: [KVOutlier], _ deltas: [Float]) -> ([KVOutlier], [Float]) {
            var kept: [KVOutlier] = [], keptDeltas: [Float] = []
            for (o, d) in zip(outliers, deltas) where newIndex[Int(o.row)] >= 0 {
                kept.append(KVOutlier(row: UInt32(newIndex[Int(o.row)]), channel: o.channel, value: o.value))
                keptDeltas.append(d)
            }
            return (kept, keptDeltas)
        }
        (keyOutliers, keyOutlierDeltas) = remap(keyOutliers, keyOutlierDeltas)
        (valueOutliers, valueOutlierDeltas) = remap(valueOutliers, valueOutlierDeltas)
        blockLengths = lengths
        blockStarts = Self.starts(lengths)
        keyParams = kParams; keyBases = kBases; valueBases = vBases
        keyCodes = kCodes; valueCodes = vCodes; valueParams = vParams
        keyFactors = kFactors; valueFactors = vFactors; positions = pos
    }

    /// Keeps the first `rows` rows (exact: at a block boundary whole blocks go, otherwise the last block shrinks).
    public mutating func truncate(rows: Int) {
        guard rows < rowCount else { return }
        keep(Array(0..<rows))
    }

    /// Keeps only the key channels at `channels` (ascending indices into the stored key).
    /// Per-channel codes do not depend on other channels, so nothing is re-quantized.
    public mutating func keepKeyChannels(_ channels: [Int]) {
        let oldKD = keyDimension, oldRowBytes = keyRowBytes, bits = scheme.bits
        keyDimension = channels.count
        let newRowBytes = keyRowBytes
        var codes = [UInt8](repeating: 0, count: rowCount * newRowBytes)
        keyCodes.withUnsafeBytes { src in
            for row in 0..<rowCount {
                for (j, c) in channels.enumerated() {
                    let q = Self.code(src.baseAddress! + row * oldRowBytes, c, bits: bits)
                    codes.withUnsafeMutableBufferPointer { Self.setCode($0.baseAddress! + row * newRowBytes, j, bits: bits, q) }
                }
            }
        }
        keyCodes = codes
        keyParams = (0..<blockCount).flatMap { b in
            channels.map { keyParams[b * 2 * oldKD + $0] } + channels.map { keyParams[b * 2 * oldKD + oldKD + $0] }
        }
        keyBases = (0..<(blockCount * scheme.rank)).flatMap { i in channels.map { keyBases[i * oldKD + $0] } }
        var newChannel = [Int](repeating: -1, count: oldKD)
        for (j, c) in channels.enumerated() { newChannel[c] = j }
        let kept = keyOutliers.indices.filter { newChannel[Int(keyOutliers[$0].channel)] >= 0 }
        keyOutlierDeltas = kept.map { keyOutlierDeltas[$0] }
        keyOutliers = kept.map { i in
            let o = keyOutliers[i]
            return KVOutlier(row: o.row, channel: UInt16(newChannel[Int(o.channel)]), value: o.value)
        }
    }

    /// Replaces `row`'s value by `src`, re-quantized per token (its outliers and low-rank term dropped).
    public mutating func setValue(_ row: Int, _ src: UnsafePointer<Float>) {
        let groups = valueGroups
        let kept = valueOutliers.indices.filter { Int(valueOutliers[$0].row) != row }
        valueOutlierDeltas = kept.map { valueOutlierDeltas[$0] }
        valueOutliers = kept.map { valueOutliers[$0] }
        for i in 0..<scheme.rank { valueFactors[row * scheme.rank + i] = 0 }
        let (codes, params) = quantizeValueRow(src, outlier: nil)
        for (i, byte) in codes.enumerated() { valueCodes[row * valueRowBytes + i] = byte }
        for (i, p) in params.enumerated() { valueParams[row * 2 * groups + i] = p }
    }

    static func starts(_ lengths: [Int32]) -> [Int] {
        var s = [0]
        s.reserveCapacity(lengths.count + 1)
        for l in lengths { s.append(s.last! + Int(l)) }
        return s
    }

    /// Appends one already-encoded block (used by `appendBlock` and by restoring a saved cache).
    mutating func append(_ block: EncodedBlock) {
        let base = UInt32(rowCount)
        let firstKey = keyOutliers.count, firstValue = valueOutliers.count
        blockLengths.append(Int32(block.positions.count))
        blockStarts.append(rowCount + block.positions.count)
        positions += block.positions
        keyCodes += block.keyCodes; keyParams += block.keyParams
        valueCodes += block.valueCodes; valueParams += block.valueParams
        keyOutliers += block.keyOutliers.map { KVOutlier(row: $0.row + base, channel: $0.channel, value: $0.value) }
        valueOutliers += block.valueOutliers.map { KVOutlier(row: $0.row + base, channel: $0.channel, value: $0.value) }
        keyFactors += block.keyFactors; keyBases += block.keyBases
        valueFactors += block.valueFactors; valueBases += block.valueBases
        let keyDeltas = deltas(of: keyOutliers[firstKey...], keys: true)
        let valueDeltas = deltas(of: valueOutliers[firstValue...], keys: false)
        keyOutlierDeltas += keyDeltas
        valueOutlierDeltas += valueDeltas
    }
}

/// Rebuilding blocks from saved arrays, with every size and index checked (saved data may be corrupt).
extension QuantizedKVBlocks {
    /// Blocks holding exactly the given arrays (laid out as `QuantizedKVBlocks` documents).
    /// - Throws: `KVQuantizationError.invalid` naming the first array whose size or contents do not fit.
    init(scheme: KVCacheQuantization, keyDimension kd: Int, valueDimension vd: Int, blockLengths: [Int32],
         positions: [Int32], keyCodes: [UInt8], keyParams: [Float16], valueCodes: [UInt8], valueParams: [Float16],
         keyOutliers: [KVOutlier], valueOutliers: [KVOutlier], keyFactors: [Float16], keyBases: [Float16],
         valueFactors: [Float16], valueBases: [Float16]) throws {
        self.init(scheme: scheme, keyDimension: kd, valueDimension: vd)
        try scheme.validate(headDimension: vd)
        guard kd > 0, kd <= 65536 else { throw KVQuantizationError.invalid("key width \(kd) is out of range") }
        guard blockLengths.allSatisfy({ $0 > 0 && Int($0) <= scheme.groupSize }) else {
            throw KVQuantizationError.invalid("block lengths must be 1…\(scheme.groupSize)")
        }
        let rows = blockLengths.reduce(0) { $0 + Int($1) }, blocks = blockLengths.count, r = scheme.rank
        let expected: [(String, Int, Int)] = [
            ("positions", positions.count, rows), ("key codes", keyCodes.count, rows * keyRowBytes),
            ("key scales", keyParams.count, blocks * 2 * kd), ("value codes", valueCodes.count, rows * valueRowBytes),
            ("value scales", valueParams.count, rows * 2 * valueGroups), ("key factors", keyFactors.count, rows * r),
            ("key bases", keyBases.count, blocks * r * kd), ("value factors", valueFactors.count, rows * r),
            ("value bases", valueBases.count, blocks * r * vd),
        ]
        for (name, count, want) in expected where count != want {
            throw KVQuantizationError.invalid("\(name): \(count) elements, expected \(want)")
        }
        for (name, outliers, width) in [("key", keyOutliers, kd), ("value", valueOutliers, vd)] {
            for (i, o) in outliers.enumerated() {
                guard Int(o.row) < rows, Int(o.channel) < width,
                      i == 0 || (outliers[i - 1].row, outliers[i - 1].channel) < (o.row, o.channel) else {
                    throw KVQuantizationError.invalid("\(name) outliers must be sorted and inside the blocks")
                }
            }
        }
        self.blockLengths = blockLengths
        blockStarts = Self.starts(blockLengths)
        self.positions = positions
        self.keyCodes = keyCodes
        self.keyParams = keyParams
        self.valueCodes = valueCodes
        self.valueParams = valueParams
        self.keyOutliers = keyOutliers
        self.valueOutliers = valueOutliers
        self.keyFactors = keyFactors
        self.keyBases = keyBases
        self.valueFactors = valueFactors
        self.valueBases = valueBases
        keyOutlierDeltas = deltas(of: keyOutliers[...], keys: true)
        valueOutlierDeltas = deltas(of: valueOutliers[...], keys: false)
    }
}
