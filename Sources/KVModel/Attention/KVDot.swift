/// Inner loops of decode attention over stored keys and values (f16 or f32), 8 lanes at a time.
enum KVDot {
    @inline(__always)
    static func load8(_ base: UnsafeRawPointer, _ element: Int, _ storage: KVStorageType) -> SIMD8<Float> {
        switch storage {
        case .f32: return base.loadUnaligned(fromByteOffset: element * 4, as: SIMD8<Float>.self)
        case .f16: return Half.load8(base, element * 2)
        }
    }

    @inline(__always)
    static func load1(_ base: UnsafeRawPointer, _ element: Int, _ storage: KVStorageType) -> Float {
        switch storage {
        case .f32: return base.load(fromByteOffset: element * 4, as: Float.self)
        case .f16: return Float(base.loadUnaligned(fromByteOffset: element * 2, as: Float16.self))
        }
    }

    /// `scores[k·scoreStride + (j - lo)] = queries[k] · key[j]` for `j` in `lo..<hi`, `k` in `0..<G`.
    static func scores(head: HeadKVCache, lo: Int, hi: Int, queries: UnsafePointer<Float>, queryStride: Int,
                       keyDimension kd: Int, groupSize G: Int, scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        guard let keys = head.keys else { return }
        #if arch(x86_64)
        if G == 3 && kd == 64 && head.storage == .f16 {
            return scoresF16Group3(keys: UnsafeRawPointer(keys), lo: lo, hi: hi, queries: queries, queryStride: queryStride,
                                   scores: scores, scoreStride: scoreStride)
        }
        #endif
        let base = UnsafeRawPointer(keys)
        let storage = head.storage
        let q = UnsafeRawPointer(queries)
        let vecEnd = kd & ~7
        for j in lo..<hi {
            let row = j * kd
            for k in 0..<G {
                var acc = SIMD8<Float>()
                var c = 0
                while c < vecEnd {
                    acc += load8(base, row + c, storage) * q.loadUnaligned(fromByteOffset: (k * queryStride + c) * 4, as: SIMD8<Float>.self)
                    c += 8
                }
                var s = acc.sum()
                while c < kd { s += load1(base, row + c, storage) * queries[k * queryStride + c]; c += 1 }
                scores[k * scoreStride + j - lo] = s
            }
        }
    }

    /// `output[k·outputStride + c] += Σ_j weights[k·weightStride + (j - lo)] · value[j][c]`.
    ///
    /// Each value row is read (and converted from f16) once and added into every query's
    /// accumulator, which stays in L1.
    static func weightedValues(head: HeadKVCache, lo: Int, hi: Int, weights: UnsafePointer<Float>, weightStride: Int,
                               groupSize G: Int, output: UnsafeMutablePointer<Float>, outputStride: Int) {
        guard let values = head.values else { return }
        #if arch(x86_64)
        if G == 3 && head.valueDimension == 64 && head.storage == .f16 {
            return weightedValuesF16Group3(values: UnsafeRawPointer(values), lo: lo, hi: hi, weights: weights,
                                           weightStride: weightStride, output: output, outputStride: outputStride)
        }
        #endif
        let base = UnsafeRawPointer(values)
        let storage = head.storage
        let D = head.valueDimension
        let vecEnd = D & ~7
        let out = UnsafeMutableRawPointer(output)
        for j in lo..<hi {
            let row = j * D
            var c = 0
            while c < vecEnd {
                let v = load8(base, row + c, storage)
                for k in 0..<G {
                    let o = (k * outputStride + c) * 4
                    let acc = out.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                    out.storeBytes(of: acc + weights[k * weightStride + j - lo] * v, toByteOffset: o, as: SIMD8<Float>.self)
                }
                c += 8
            }
            while c < D {
                let v = load1(base, row + c, storage)
                for k in 0..<G { output[k * outputStride + c] += weights[k * weightStride + j - lo] * v }
                c += 1
            }
        }
    }
}
