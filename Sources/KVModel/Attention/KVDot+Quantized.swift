#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Decode attention straight from quantized blocks, never dequantizing a block into a buffer.
///
/// Keys (per channel, per block): `q·k_j = Σ_c (q_c·scale_c)·code_jc + Σ_c q_c·min_c`, so each block
/// scales the queries once and runs the codes through the integer loops (`KVDot+QuantizedKeys`).
/// Values (per token, per group): `Σ_j w_j·v_jc = Σ_j (w_j·scale_jg)·code_jc + Σ_j w_j·min_jg`
/// (`KVDot+QuantizedValues`; value groups that are not a multiple of 8 channels go through floats).
/// GEAR's low-rank term costs `rank` dot products per block (`q·basis_i`, `Σ_j w_j·factor_ji`);
/// exact outliers add a correction each.
extension KVDot {
    static func quantizedScores(_ blocks: QuantizedKVBlocks, lo: Int, hi: Int, queries: UnsafePointer<Float>, queryStride: Int,
                                groupSize G: Int, scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        switch blocks.scheme.bits {
        case 8: quantizedScores(blocks, Codes8.self, lo, hi, queries, queryStride, G, scores, scoreStride)
        case 4: quantizedScores(blocks, Codes4.self, lo, hi, queries, queryStride, G, scores, scoreStride)
        default: quantizedScores(blocks, Codes2.self, lo, hi, queries, queryStride, G, scores, scoreStride)
        }
        if !blocks.keyOutliers.isEmpty {
            correctKeyOutliers(blocks, lo: lo, hi: hi, queries: queries, queryStride: queryStride, groupSize: G,
                               scores: scores, scoreStride: scoreStride)
        }
    }

    static func quantizedWeightedValues(_ blocks: QuantizedKVBlocks, lo: Int, hi: Int, weights: UnsafePointer<Float>,
                                        weightStride: Int, groupSize G: Int, output: UnsafeMutablePointer<Float>, outputStride: Int) {
        switch blocks.scheme.bits {
        case 8: quantizedWeightedValues(blocks, Codes8.self, lo, hi, weights, weightStride, G, output, outputStride)
        case 4: quantizedWeightedValues(blocks, Codes4.self, lo, hi, weights, weightStride, G, output, outputStride)
        default: quantizedWeightedValues(blocks, Codes2.self, lo, hi, weights, weightStride, G, output, outputStride)
        }
        if blocks.scheme.rank > 0 {
            lowRankValues(blocks, lo: lo, hi: hi, weights: weights, weightStride: weightStride, groupSize: G,
                          output: output, outputStride: outputStride)
        }
        if !blocks.valueOutliers.isEmpty {
            correctValueOutliers(blocks, lo: lo, hi: hi, weights: weights, weightStride: weightStride, groupSize: G,
                                 output: output, outputStride: outputStride)
        }
    }

    private static func quantizedScores<U: KVCodeUnpacker>(
        _ blocks: QuantizedKVBlocks, _: U.Type, _ lo: Int, _ hi: Int, _ queries: UnsafePointer<Float>, _ queryStride: Int,
        _ G: Int, _ scores: UnsafeMutablePointer<Float>, _ scoreStride: Int
    ) {
        let kd = blocks.keyDimension, rowBytes = blocks.keyRowBytes, rank = blocks.scheme.rank
        let layout = KeyCodeLayout(U.self, rowBytes: rowBytes), width = layout.channels
        let vecEnd = kd & ~7
        withUnsafeTemporaryAllocation(of: Float.self, capacity: G * (width + 2 + rank) + rank) { scratch in
        withUnsafeTemporaryAllocation(of: Int16.self, capacity: G * layout.parts * 16) { lanes in
            let scaled = scratch.baseAddress!, bias = scaled + G * width, steps = bias + G
            let projected = steps + G, factor = projected + G * rank
            blocks.keyCodes.withUnsafeBytes { codesBuffer in
            blocks.keyParams.withUnsafeBytes { paramBuffer in
            blocks.keyFactors.withUnsafeBufferPointer { factors in
            blocks.keyBases.withUnsafeBufferPointer { bases in
                let codes = codesBuffer.baseAddress!
                var b = blocks.block(containing: lo)
                while b < blocks.blockCount && blocks.blockStarts[b] < hi {
                    let r0 = max(lo, blocks.blockStarts[b]), r1 = min(hi, blocks.blockStarts[b + 1])
                    // q'_c = q_c·scale_c (zero past the key width) and bias = Σ_c q_c·min_c, once per block and query.
                    let scale = paramBuffer.baseAddress! + b * 4 * kd, minimum = scale + 2 * kd
                    for k in 0..<G {
                        let q = queries + k * queryStride, dst = scaled + k * width
                        var m = SIMD8<Float>()
                        var c = 0
                        while c < vecEnd {
                            let x = UnsafeRawPointer(q + c).loadUnaligned(as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(dst + c).storeBytes(of: x * Half.load8(scale, c * 2), as: SIMD8<Float>.self)
                            m.addProduct(x, Half.load8(minimum, c * 2))
                            c += 8
                        }
                        var s = m.sum()
                        while c < kd { dst[c] = q[c] * Half.load(scale, c * 2); s += q[c] * Half.load(minimum, c * 2); c += 1 }
                        while c < width { dst[c] = 0; c += 1 }
                        bias[k] = s
                    }
                    let out = scores + (r0 - lo)
                    #if arch(x86_64)
                    integerKeyScores(U.self, layout: layout, codes: codes, rowBytes: rowBytes, r0: r0, r1: r1, scaled: scaled,
                                     bias: bias, groupSize: G, lanes: lanes.baseAddress!, steps: steps,
                                     scores: out, scoreStride: scoreStride)
                    #else
                    floatScores(U.self, rows: codes, rowBytes: rowBytes, lo: r0, hi: r1, width: kd, queries: scaled, queryStride: width,
                                groupSize: G, scores: out, scoreStride: scoreStride)
                    for k in 0..<G { for j in 0..<(r1 - r0) { out[k * scoreStride + j] += bias[k] } }
                    #endif
                    if rank > 0 {
                        // Low-rank term: score_j += Σ_i factor_ji · (q · basis_i).
                        for k in 0..<G {
                            for i in 0..<rank {
                                projected[k * rank + i] = dotHalf(queries + k * queryStride, bases.baseAddress! + (b * rank + i) * kd, kd)
                            }
                        }
                        for j in r0..<r1 {
                            for i in 0..<rank { factor[i] = Float(factors[j * rank + i]) }
                            for k in 0..<G {
                                var s: Float = 0
                                for i in 0..<rank { s += factor[i] * projected[k * rank + i] }
                                out[k * scoreStride + j - r0] += s
                            }
                        }
                    }
                    b += 1
                }
            } } } }
        } }
    }

    private static func quantizedWeightedValues<U: KVCodeUnpacker>(
        _ blocks: QuantizedKVBlocks, _: U.Type, _ lo: Int, _ hi: Int, _ weights: UnsafePointer<Float>, _ weightStride: Int,
        _ G: Int, _ output: UnsafeMutablePointer<Float>, _ outputStride: Int
    ) {
        let vd = blocks.valueDimension, gs = blocks.scheme.groupSize, groups = blocks.valueGroups
        let rowBytes = blocks.valueRowBytes, bits = blocks.scheme.bits
        blocks.valueCodes.withUnsafeBytes { codesBuffer in
        blocks.valueParams.withUnsafeBytes { paramBuffer in
            let codes = codesBuffer.baseAddress!, params = paramBuffer.baseAddress!
            #if arch(x86_64)
            if gs % 8 == 0 {
                return integerWeightedValues(U.self, blocks, codes: codes, params: params, lo: lo, hi: hi, weights: weights,
                                             weightStride: weightStride, groupSize: G, output: output, outputStride: outputStride)
            }
            #endif
            // Value groups that split a run of eight channels (or no integer loops): dequantize 32
            // rows at a time into floats and run the float loop over them.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 * vd) { scratch in
                let rows = scratch.baseAddress!
                var r0 = lo
                while r0 < hi {
                    let r1 = min(hi, r0 + 32)
                    for j in r0..<r1 {
                        let rowCodes = codes + j * rowBytes, p = params + j * 4 * groups, row = rows + (j - r0) * vd
                        for g in 0..<groups {
                            let scale = Half.load(p, g * 2), minimum = Half.load(p, (groups + g) * 2)
                            for c in (g * gs)..<((g + 1) * gs) {
                                row[c] = minimum + scale * Float(QuantizedKVBlocks.code(rowCodes, c, bits: bits))
                            }
                        }
                    }
                    floatWeightedValues(F32Rows.self, rows: UnsafeRawPointer(rows), rowBytes: vd * 4, lo: 0, hi: r1 - r0, width: vd,
                                        weights: weights + (r0 - lo), weightStride: weightStride, groupSize: G,
                                        output: output, outputStride: outputStride)
                    r0 = r1
                }
            }
        } }
    }

    /// `output += Σ_j w_j · lowRank_j` per block: `Σ_i (Σ_j w_j·factor_ji) · basis_i`.
    private static func lowRankValues(_ blocks: QuantizedKVBlocks, lo: Int, hi: Int, weights: UnsafePointer<Float>,
                                      weightStride: Int, groupSize G: Int, output: UnsafeMutablePointer<Float>, outputStride: Int) {
        let rank = blocks.scheme.rank, vd = blocks.valueDimension
        withUnsafeTemporaryAllocation(of: Float.self, capacity: G * rank) { sums in
        blocks.valueFactors.withUnsafeBufferPointer { factors in
        blocks.valueBases.withUnsafeBufferPointer { bases in
            var b = blocks.block(containing: lo)
            while b < blocks.blockCount && blocks.blockStarts[b] < hi {
                let r0 = max(lo, blocks.blockStarts[b]), r1 = min(hi, blocks.blockStarts[b + 1])
                // Four running sums per (query, factor): one would chain every add through its latency.
                for k in 0..<G {
                    let w = weights + k * weightStride - lo
                    for i in 0..<rank {
                        var s = SIMD4<Float>()
                        var j = r0
                        while j + 4 <= r1 {
                            s.addProduct(SIMD4(w[j], w[j + 1], w[j + 2], w[j + 3]),
                                         SIMD4(Float(factors[j * rank + i]), Float(factors[(j + 1) * rank + i]),
                                               Float(factors[(j + 2) * rank + i]), Float(factors[(j + 3) * rank + i])))
                            j += 4
                        }
                        var total = s.sum()
                        while j < r1 { total += w[j] * Float(factors[j * rank + i]); j += 1 }
                        sums[k * rank + i] = total
                    }
                }
                for k in 0..<G {
                    for i in 0..<rank {
                        addScaledHalf(sums[k * rank + i], UnsafeRawPointer(bases.baseAddress! + (b * rank + i) * vd),
                                      to: output + k * outputStride, vd)
                    }
                }
                b += 1
            }
        } } }
    }

    /// Σ_c x[c]·h[c] over `n` floats and halves, eight lanes at a time.
    @inline(__always)
    private static func dotHalf(_ x: UnsafePointer<Float>, _ h: UnsafePointer<Float16>, _ n: Int) -> Float {
        let xr = UnsafeRawPointer(x), hr = UnsafeRawPointer(h)
        var acc = SIMD8<Float>()
        var c = 0
        while c + 8 <= n {
            acc.addProduct(xr.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self), Half.load8(hr, c * 2))
            c += 8
        }
        var s = acc.sum()
        while c < n { s += x[c] * Float(h[c]); c += 1 }
        return s
    }

    /// `dst[c] += a · h[c]` over `n` halves, eight lanes at a time.
    @inline(__always)
    private static func addScaledHalf(_ a: Float, _ h: UnsafeRawPointer, to dst: UnsafeMutablePointer<Float>, _ n: Int) {
        let dr = UnsafeMutableRawPointer(dst)
        var c = 0
        while c + 8 <= n {
            let at = c * 4
            dr.storeBytes(of: dr.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) + a * Half.load8(h, c * 2),
                          toByteOffset: at, as: SIMD8<Float>.self)
            c += 8
        }
        while c < n { dst[c] += a * Half.load(h, c * 2); c += 1 }
    }

    /// Replaces each outlier's dense reconstruction by its exact value in the scores.
    private static func correctKeyOutliers(_ blocks: QuantizedKVBlocks, lo: Int, hi: Int, queries: UnsafePointer<Float>,
                                           queryStride: Int, groupSize G: Int, scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        forEachOutlier(blocks.keyOutliers, blocks.keyOutlierDeltas, lo: lo, hi: hi) { row, c, delta in
            for k in 0..<G { scores[k * scoreStride + row - lo] += queries[k * queryStride + c] * delta }
        }
    }

    /// Replaces each outlier's dense reconstruction by its exact value in the weighted values.
    private static func correctValueOutliers(_ blocks: QuantizedKVBlocks, lo: Int, hi: Int, weights: UnsafePointer<Float>,
                                             weightStride: Int, groupSize G: Int, output: UnsafeMutablePointer<Float>, outputStride: Int) {
        forEachOutlier(blocks.valueOutliers, blocks.valueOutlierDeltas, lo: lo, hi: hi) { row, c, delta in
            for k in 0..<G { output[k * outputStride + c] += weights[k * weightStride + row - lo] * delta }
        }
    }

    /// Calls `body` with the row, channel and delta (exact − dense) of each outlier in rows `lo..<hi`.
    @inline(__always)
    private static func forEachOutlier(_ outliers: [KVOutlier], _ deltas: [Float], lo: Int, hi: Int,
                                       _ body: (Int, Int, Float) -> Void) {
        var i = QuantizedKVBlocks.firstOutlier(outliers, row: lo)
        outliers.withUnsafeBufferPointer { outliers in
            deltas.withUnsafeBufferPointer { deltas in
                while i < outliers.count, Int(outliers[i].row) < hi {
                    body(Int(outliers[i].row), Int(outliers[i].channel), deltas[i])
                    i += 1
                }
            }
        }
    }
}
