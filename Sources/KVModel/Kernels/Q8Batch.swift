/// T activation rows quantized once for the batched integer kernels, in `Q8Vector`'s two-part
/// 8-bit format (per 32-block: int8 `qs`, int8 residual at 1/256 step, scale, exact sum).
///
/// Tokens are interleaved per block: block b of token t sits at `(b·S + t)·32` in `qs` and
/// `residuals`, so a kernel multiplying one weight block with a tile of consecutive tokens
/// reads one contiguous run. S (`interleave`) is T rounded up to odd: with S = 128 a token's
/// blocks were 4096 bytes apart, all in the same L1 sets, and T = 128 ran slower per token
/// than T = 96. Scales and sums are per token, `t·blockStride + b`, with
/// `blockStride` the block count rounded up to 8 (zero-padded), so a kernel reads eight
/// blocks' scales in one load. With T = 1 this is exactly `Q8Vector`'s layout, and the blocks
/// are bit-identical to `Q8Vector.quantize`'s.
///
/// Storage grows on demand and is never shrunk: no allocation once sized.
public final class Q8Batch: @unchecked Sendable {
    /// Tokens currently held.
    public private(set) var tokens = 0
    /// Elements per token currently held.
    public private(set) var columns = 0
    private(set) var qs: UnsafeMutablePointer<Int8>
    private(set) var residuals: UnsafeMutablePointer<Int8>
    private(set) var scales: UnsafeMutablePointer<Float>
    private(set) var sums: UnsafeMutablePointer<Float>
    private var blockCapacity = 0  // in (token, block) pairs, blocks padded to 8 per token

    /// An empty batch; `quantize` grows the storage.
    public init() {
        qs = .allocate(capacity: 32)
        residuals = .allocate(capacity: 32)
        scales = .allocate(capacity: 1)
        sums = .allocate(capacity: 1)
        blockCapacity = 1
    }

    deinit { qs.deallocate(); residuals.deallocate(); scales.deallocate(); sums.deallocate() }

    /// Blocks of 32 per token.
    public var blockCount: Int { (columns &+ 31) / 32 }

    /// Quantizes `tokens` rows of `columns` floats (row t at `x + t·stride`), splitting tokens over `pool`.
    /// A partial last block is zero-padded.
    public func quantize(_ x: UnsafePointer<Float>, stride: Int, tokens T: Int, columns: Int, pool: ThreadPool = .shared) {
        precondition(T >= 0 && columns >= 0 && (T <= 1 || stride >= columns), "bad batch shape")
        let nb = (columns &+ 31) / 32, stride8 = (nb &+ 7) / 8 &* 8, S = T | 1
        reserve(max(nb &* S, T &* stride8))
        self.tokens = T
        self.columns = columns
        let qs = self.qs, residuals = self.residuals, scales = self.scales, sums = self.sums
        pool.parallelFor(T, grain: max(1, 8192 / max(1, columns))) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { pad in
                for t in range {
                    let row = x + t &* stride
                    for b in 0..<nb {
                        var src = row + b &* 32
                        if b &* 32 &+ 32 > columns {
                            let n = columns &- b &* 32
                            pad.baseAddress!.update(from: src, count: n)
                            (pad.baseAddress! + n).update(repeating: 0, count: 32 &- n)
                            src = UnsafePointer(pad.baseAddress!)
                        }
                        let i = b &* S &+ t
                        (scales[t &* stride8 &+ b], sums[t &* stride8 &+ b]) = Q8Vector.quantizeBlock(src, qs + i &* 32, residuals + i &* 32)
                    }
                    for b in nb..<stride8 { scales[t &* stride8 &+ b] = 0; sums[t &* stride8 &+ b] = 0 }
                }
            }
        }
    }

    /// Tokens between two blocks in `qs`/`residuals`: T rounded up to odd.
    public var interleave: Int { tokens | 1 }

    /// Scales and sums of token t start at `t·blockStride`.
    public var blockStride: Int { (blockCount &+ 7) / 8 &* 8 }

    /// The value element `i` of token `t` stands for after quantization.
    public func quantizedValue(token t: Int, _ i: Int) -> Float {
        let k = (i / 32) &* interleave &+ t
        return scales[t &* blockStride &+ i / 32] * Float(256 * Int(qs[k &* 32 &+ i % 32]) + Int(residuals[k &* 32 &+ i % 32]))
    }

    /// The kernels' view of the batch.
    var rows: Q8Rows { Q8Rows(qs: qs, residuals: residuals, scales: scales, sums: sums, tokens: tokens, interleave: interleave,
                                blockStride: blockStride) }

    private func reserve(_ blocks: Int) {
        guard blocks > blockCapacity else { return }
        qs.deallocate(); residuals.deallocate(); scales.deallocate(); sums.deallocate()
        qs = .allocate(capacity: blocks &* 32)
        residuals = .allocate(capacity: blocks &* 32)
        scales = .allocate(capacity: blocks)
        sums = .allocate(capacity: blocks)
        blockCapacity = blocks
    }
}

/// Raw view of quantized activations for the integer kernels: block b of token t at
/// `(b·interleave + t)·32` bytes in `qs`/`residuals`, its scale and sum at `t·blockStride + b`
/// (zero past the last block up to a multiple of 8).
struct Q8Rows {
    let qs: UnsafeRawPointer
    let residuals: UnsafeRawPointer
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Float>
    /// Number of tokens (1 for a `Q8Vector`).
    let tokens: Int
    /// Tokens between two blocks of one token (≥ tokens).
    let interleave: Int
    /// Distance between two tokens' scales (and sums), a multiple of 8.
    let blockStride: Int

    init(qs: UnsafePointer<Int8>, residuals: UnsafePointer<Int8>, scales: UnsafePointer<Float>, sums: UnsafePointer<Float>,
         tokens: Int, interleave: Int, blockStride: Int) {
        self.qs = UnsafeRawPointer(qs)
        self.residuals = UnsafeRawPointer(residuals)
        self.scales = scales
        self.sums = sums
        self.tokens = tokens
        self.interleave = interleave
        self.blockStride = blockStride
    }

    /// One token; `Q8Vector` pads its scales and sums with zeros to a multiple of 8 blocks.
    init(_ v: Q8Vector) {
        self.init(qs: v.qs, residuals: v.residuals, scales: v.scales, sums: v.sums, tokens: 1, interleave: 1, blockStride: (v.blockCount &+ 7) / 8 &* 8)
    }

    /// Token t as the one-token kernels read it.
    @inline(__always)
    func token(_ t: Int) -> Q8Token {
        Q8Token(qs: qs + t &* 32, residuals: residuals + t &* 32, step: interleave &* 32,
                scales: scales + t &* blockStride, sums: sums + t &* blockStride)
    }
}

/// One token of a `Q8Rows`: block b's codes at `b·step` bytes from `qs`/`residuals` (32 for a
/// `Q8Vector`), its scale and sum at `scales[b]`, `sums[b]` (zero-padded to a multiple of 8 blocks).
/// The mat-vec kernels read a token through it, so a token in a batch and the same token alone
/// go through the same arithmetic.
struct Q8Token {
    let qs: UnsafeRawPointer
    let residuals: UnsafeRawPointer
    let step: Int
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Float>
}
