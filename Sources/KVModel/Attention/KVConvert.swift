/// Converts a head's stored keys or values to contiguous floats (quantized entries dequantized,
/// merged entries scaled from their shared directions).
enum KVConvert {
    /// Keys of entries `start..<count` into `dst` (`keyDimension` floats each).
    static func keys(_ head: HeadKVCache, from start: Int = 0, into dst: UnsafeMutablePointer<Float>) {
        rows(head, from: start, keys: true, into: dst)
    }

    /// Values of entries `start..<count` into `dst` (`valueDimension` floats each).
    static func values(_ head: HeadKVCache, from start: Int = 0, into dst: UnsafeMutablePointer<Float>) {
        rows(head, from: start, keys: false, into: dst)
    }

    private static func rows(_ head: HeadKVCache, from start: Int, keys: Bool, into dst: UnsafeMutablePointer<Float>) {
        let width = keys ? head.keyDimension : head.valueDimension, q0 = head.quantizedCount
        if start < q0, let blocks = head.quantizedBlocks {
            dequantize(blocks, keys: keys, rows: start..<q0, into: dst)
        }
        let m0 = head.residualStart
        if start < m0, let merged = head.merged {
            for row in max(start, q0)..<m0 {
                let out = dst + (row - start) * width
                if keys {
                    for c in 0..<width { out[c] = merged.key(row, c) }
                } else {
                    for c in 0..<width { out[c] = merged.value(row, c) }
                }
            }
        }
        let first = max(start, m0) - m0
        guard let stored = keys ? head.keys : head.values else { return }
        convert(stored + first * width * head.storage.elementBytes, head.storage, (head.residualCount - first) * width,
                dst + (max(start, m0) - start) * width)
    }

    /// Reconstructed rows `rows` of quantized blocks (dense elements, then the exact outliers).
    private static func dequantize(_ blocks: QuantizedKVBlocks, keys: Bool, rows: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let width = keys ? blocks.keyDimension : blocks.valueDimension, first = rows.lowerBound
        blocks.withDenseReader { reader in
            var b = blocks.block(containing: first)
            for row in rows {
                while blocks.blockStarts[b + 1] <= row { b += 1 }
                let out = dst + (row - first) * width
                if keys {
                    for c in 0..<width { out[c] = reader.key(row, c, block: b) }
                } else {
                    for c in 0..<width { out[c] = reader.value(row, c, block: b) }
                }
            }
        }
        let outliers = keys ? blocks.keyOutliers : blocks.valueOutliers
        var i = QuantizedKVBlocks.firstOutlier(outliers, row: first)
        while i < outliers.count, Int(outliers[i].row) < rows.upperBound {
            dst[(Int(outliers[i].row) - first) * width + Int(outliers[i].channel)] = Float(outliers[i].value)
            i += 1
        }
    }

    static func convert(_ src: UnsafeMutableRawPointer?, _ storage: KVStorageType, _ n: Int, _ dst: UnsafeMutablePointer<Float>) {
        guard let src, n > 0 else { return }
        switch storage {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: n)
        case .f16:
            Half.toFloat(UnsafeRawPointer(src), dst, count: n)
        }
    }
}
