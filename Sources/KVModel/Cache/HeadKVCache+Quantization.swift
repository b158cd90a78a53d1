import KVSpec

/// Quantizing a head, flushing its residual window into blocks, and exact rollback across flushes.
extension HeadKVCache {
    /// Quantizes all but the residual window into blocks of `scheme.groupSize` entries; later
    /// appends flush as KIVI does. The caller checks `scheme.validate(headDimension:)`.
    public func quantize(_ scheme: KVCacheQuantization) {
        precondition(quantization == nil, "head is already quantized")
        quantization = scheme
        quantizedBlocks = QuantizedKVBlocks(scheme: scheme, keyDimension: keyDimension, valueDimension: valueDimension)
        flush()
        shrinkToFit()
    }

    /// Makes this empty head a quantized head holding `blocks` (restoring a saved cache); the
    /// residual window is appended afterwards. Narrow the key channels first.
    /// - Throws: `KVQuantizationError.invalid` when the blocks do not fit the head.
    func restoreQuantized(_ blocks: QuantizedKVBlocks) throws {
        guard count == 0, quantization == nil else { throw KVQuantizationError.invalid("only an empty plain head can be restored") }
        guard blocks.keyDimension == keyDimension, blocks.valueDimension == valueDimension else {
            throw KVQuantizationError.invalid("blocks of width \(blocks.keyDimension)/\(blocks.valueDimension) do not fit a head of width \(keyDimension)/\(valueDimension)")
        }
        try blocks.scheme.validate(headDimension: headDimension)
        quantization = blocks.scheme
        quantizedBlocks = blocks
        count = blocks.rowCount
    }

    /// Moves the oldest `groupSize` residual entries into a new block while the window holds at
    /// least `residualLength + groupSize` entries (so it keeps `residualLength`… entries in f16).
    func flush() {
        guard let scheme = quantization else { return }
        let rows = residualCount, g = scheme.groupSize
        guard rows >= scheme.residualLength + g else { return }
        let blocks = (rows - scheme.residualLength) / g
        let kd = keyDimension, vd = valueDimension, eb = storage.elementBytes
        var k = [Float](repeating: 0, count: g * kd), v = [Float](repeating: 0, count: g * vd)
        for b in 0..<blocks {
            k.withUnsafeMutableBufferPointer { kp in
                v.withUnsafeMutableBufferPointer { vp in
                    KVConvert.convert(keys! + b * g * kd * eb, storage, g * kd, kp.baseAddress!)
                    KVConvert.convert(values! + b * g * vd * eb, storage, g * vd, vp.baseAddress!)
                    quantizedBlocks!.appendBlock(keys: kp.baseAddress!, values: vp.baseAddress!,
                                                 positions: positionBuffer! + b * g, count: g)
                }
            }
        }
        let moved = blocks * g, left = rows - moved
        keys!.copyMemory(from: keys! + moved * kd * eb, byteCount: left * kd * eb)
        values!.copyMemory(from: values! + moved * vd * eb, byteCount: left * vd * eb)
        positionBuffer!.update(from: positionBuffer! + moved, count: left)
    }

    /// What a head held at a checkpoint: its length and, when quantized, a copy of its residual
    /// window (appends after the checkpoint may flush that window into new blocks).
    public struct Mark: Sendable, Equatable {
        /// Entries held.
        public let count: Int
        /// Whether the head was quantized (and its window copied) at the mark.
        let quantized: Bool
        let quantizedCount: Int
        let residualKeys: [UInt8]
        let residualValues: [UInt8]
        let residualPositions: [Int32]
    }

    /// Records this head's state for `restore(_:)`.
    public func mark() -> Mark {
        guard quantization != nil, residualCount > 0 else {
            return Mark(count: count, quantized: quantization != nil, quantizedCount: quantizedCount,
                        residualKeys: [], residualValues: [], residualPositions: [])
        }
        let eb = storage.elementBytes, rows = residualCount
        return Mark(count: count, quantized: true, quantizedCount: quantizedCount,
                    residualKeys: Array(UnsafeRawBufferPointer(start: keys!, count: rows * keyDimension * eb)),
                    residualValues: Array(UnsafeRawBufferPointer(start: values!, count: rows * valueDimension * eb)),
                    residualPositions: Array(UnsafeBufferPointer(start: positionBuffer!, count: rows)))
    }

    /// Returns to `mark` bit for bit, provided only appends happened since: blocks flushed after
    /// the mark are dropped whole and the residual window is copied back. (A mark taken before the
    /// head was quantized truncates instead: the entries before it stay quantized.)
    public func restore(_ mark: Mark) {
        guard mark.quantized, quantizedCount != mark.quantizedCount else { return truncate(to: mark.count) }
        precondition(quantizedCount > mark.quantizedCount, "only appends may happen between mark() and restore(_:)")
        quantizedBlocks!.truncate(rows: mark.quantizedCount)
        let rows = mark.residualPositions.count, eb = storage.elementBytes
        count = quantizedCount
        reserve(quantizedCount + rows)
        if rows > 0 {
            mark.residualKeys.withUnsafeBytes { keys!.copyMemory(from: $0.baseAddress!, byteCount: rows * keyDimension * eb) }
            mark.residualValues.withUnsafeBytes { values!.copyMemory(from: $0.baseAddress!, byteCount: rows * valueDimension * eb) }
            mark.residualPositions.withUnsafeBufferPointer { positionBuffer!.update(from: $0.baseAddress!, count: rows) }
        }
        count = mark.count
    }
}
