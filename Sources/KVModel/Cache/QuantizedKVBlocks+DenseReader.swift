/// Per-element reads of the dense (non-outlier) reconstruction through raw pointers, and the
/// outliers' deltas against it.
///
/// Decode attention corrects each outlier by its delta (exact − dense), computed once when its block
/// is made or restored; dequantizing reads every dense element. Through the arrays' accessors each
/// read cost more than the arithmetic around it.
extension QuantizedKVBlocks {
    /// Raw views of one `QuantizedKVBlocks`' arrays; valid only inside `withDenseReader`.
    struct DenseReader {
        let keyCodes: UnsafeRawPointer, valueCodes: UnsafeRawPointer
        let keyParams: UnsafePointer<Float16>, valueParams: UnsafePointer<Float16>
        let keyFactors: UnsafePointer<Float16>, valueFactors: UnsafePointer<Float16>
        let keyBases: UnsafePointer<Float16>, valueBases: UnsafePointer<Float16>
        let keyDimension: Int, valueDimension: Int, keyRowBytes: Int, valueRowBytes: Int
        let bits: Int, rank: Int, groupSize: Int, groups: Int

        /// Key element `c` of `row` (in block `b`) without outliers: `min + scale·code + low-rank`.
        @inline(__always)
        func key(_ row: Int, _ c: Int, block b: Int) -> Float {
            let kd = keyDimension
            let code = QuantizedKVBlocks.code(keyCodes + row * keyRowBytes, c, bits: bits)
            var x = Float(keyParams[b * 2 * kd + kd + c]) + Float(keyParams[b * 2 * kd + c]) * Float(code)
            for i in 0..<rank { x += Float(keyFactors[row * rank + i]) * Float(keyBases[(b * rank + i) * kd + c]) }
            return x
        }

        /// Value element `c` of `row` (in block `b`) without outliers.
        @inline(__always)
        func value(_ row: Int, _ c: Int, block b: Int) -> Float {
            let g = c / groupSize, p = row * 2 * groups
            let code = QuantizedKVBlocks.code(valueCodes + row * valueRowBytes, c, bits: bits)
            var x = Float(valueParams[p + groups + g]) + Float(valueParams[p + g]) * Float(code)
            for i in 0..<rank { x += Float(valueFactors[row * rank + i]) * Float(valueBases[(b * rank + i) * valueDimension + c]) }
            return x
        }
    }

    /// `exact − dense` of each outlier in `outliers` (sorted by row, all inside the blocks).
    func deltas(of outliers: ArraySlice<KVOutlier>, keys: Bool) -> [Float] {
        guard let first = outliers.first else { return [] }
        return withDenseReader { reader in
            var b = block(containing: Int(first.row))
            return outliers.map { o in
                let row = Int(o.row), c = Int(o.channel)
                while blockStarts[b + 1] <= row { b += 1 }
                return Float(o.value) - (keys ? reader.key(row, c, block: b) : reader.value(row, c, block: b))
            }
        }
    }

    /// Calls `body` with raw views of the arrays (empty arrays get a pointer that is never read:
    /// a rank-0 scheme reads no factors or bases, and empty blocks no codes).
    func withDenseReader<R>(_ body: (DenseReader) -> R) -> R {
        keyCodes.withUnsafeBytes { kc in valueCodes.withUnsafeBytes { vc in
        keyParams.withUnsafeBufferPointer { kp in valueParams.withUnsafeBufferPointer { vp in
        keyFactors.withUnsafeBufferPointer { kf in valueFactors.withUnsafeBufferPointer { vf in
        keyBases.withUnsafeBufferPointer { kb in valueBases.withUnsafeBufferPointer { vb in
            let none = UnsafeRawPointer(bitPattern: MemoryLayout<Float16>.alignment)!
            func raw(_ p: UnsafeRawBufferPointer) -> UnsafeRawPointer { p.baseAddress ?? none }
            func half(_ p: UnsafeBufferPointer<Float16>) -> UnsafePointer<Float16> {
                p.baseAddress ?? none.assumingMemoryBound(to: Float16.self)
            }
            return body(DenseReader(
                keyCodes: raw(kc), valueCodes: raw(vc), keyParams: half(kp), valueParams: half(vp),
                keyFactors: half(kf), valueFactors: half(vf), keyBases: half(kb), valueBases: half(vb),
                keyDimension: keyDimension, valueDimension: valueDimension, keyRowBytes: keyRowBytes,
                valueRowBytes: valueRowBytes, bits: scheme.bits, rank: scheme.rank, groupSize: scheme.groupSize,
                groups: valueGroups))
        } } } } } } } }
    }
}
