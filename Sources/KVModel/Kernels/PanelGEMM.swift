import CKVKernels
/// `y_t = W·x_t` for a long batch of tokens in f32 FMA, with the weights dequantized a small
/// panel at a time into cache: no f32 copy of the matrix, no BLAS.
///
/// Why not dequantize + OpenBLAS `sgemm`: the whole matrix went through memory twice in f32
/// (Qwen2.5-0.5B: 1.4 GB per forward), and OpenBLAS picks its kernels from the CPU model: on
/// CPUs newer than its release (this machine's Xeon, OpenBLAS 0.3.21) it fell back to SSE3
/// (`sgemm_kernel_PRESCOTT`, 2.5× slower than its Haswell kernel on Qwen's prefill).
///
/// Register tile: 6 weight rows × 16 tokens, 12 accumulators of eight tokens; per input element
/// two token loads and six weight broadcasts feed twelve FMAs. The tokens are packed once per
/// call (`pack`): block j holds tokens 16j..<16j+16 (zero past T), element k of its 16 tokens at
/// `16·k`, so the kernel reads them with contiguous 32-byte loads. Blocking: the input dimension in
/// chunks (`InputChunks`), tokens in chunks of `tc` so that a chunk's packed tokens stay in L2
/// while the panels go by; a panel (6 rows × kc, ≤ 24 KB) stays in L1 while the token blocks go by.
enum PanelGEMM {
    static let rowTile = 6
    static let tokenTile = 16

    /// Floats `pack` writes for `T` tokens of `K` inputs.
    static func packedCount(tokens T: Int, columns K: Int) -> Int { (T &+ 15) / 16 &* 16 &* K }

    /// How the input dimension is cut into chunks. Each chunk's products are summed in order from
    /// zero and then added to the output, chunk after chunk, so the cut decides the rounding.
    enum InputChunks {
        /// Whole rows up to 1024 inputs, else 512 (short batches).
        case panel
        /// OpenBLAS's cut in its SkylakeX sgemm (GEMM_Q = 448, GEMM_UNROLL_M = 16): 448 while two
        /// chunks' worth remain, then the rest in two halves rounded up to 16. With it a long
        /// prefill sums every product in the order of that sgemm, which the goldens pass with
        /// (`OPENBLAS_CORETYPE=SkylakeX`), where a single chain over a whole 4864-input row flipped
        /// the default model's near-tie needle answer.
        case openBLAS

        /// The chunks of `K` inputs.
        func ranges(columns K: Int) -> [Range<Int>] {
            var out: [Range<Int>] = []
            var k0 = 0
            while k0 < K {
                var n = K &- k0
                switch self {
                case .panel: n = K <= 1024 ? K : min(n, 512)
                case .openBLAS:
                    if n >= 2 &* 448 { n = 448 } else if n > 448 { n = (n / 2 &+ 15) / 16 &* 16 }
                }
                out.append(k0..<(k0 &+ n))
                k0 &+= n
            }
            return out
        }

        /// The longest chunk of `K` inputs.
        func longest(columns K: Int) -> Int {
            switch self {
            case .panel: return K <= 1024 ? K : 512
            case .openBLAS: return min(K, 448)
            }
        }
    }

    /// Floats of the weight panel `rows` needs for matrices of `K` columns (either cut).
    static func panelCount(columns K: Int) -> Int {
        rowTile &* max(InputChunks.panel.longest(columns: K), InputChunks.openBLAS.longest(columns: K))
    }

    /// The token chunk (a multiple of 16) for input chunks of at most `kc`: its packed tokens
    /// (`tc·kc` floats, ≤ 1 MB) stay in L2 while the panels go by.
    static func tokenChunk(inputChunk kc: Int) -> Int { max(16, (1 << 18) / max(1, kc) & ~15) }

    /// Packs T tokens (token t at `x + t·stride`, `K` floats) into `packed` (`packedCount` floats),
    /// token blocks split over `pool`.
    static func pack(_ x: UnsafePointer<Float>, stride: Int, tokens T: Int, columns K: Int,
                     into packed: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let blocks = (T &+ 15) / 16
        pool.parallelFor(blocks, grain: max(1, 4096 / max(1, K))) { range in
            for j in range {
                let dst = packed + j &* 16 &* K
                let n = min(16, T &- j &* 16)
                if n < 16 { dst.update(repeating: 0, count: 16 &* K) }
                for i in 0..<n {
                    let src = x + (j &* 16 &+ i) &* stride
                    var k = 0
                    while k < K { dst[k &* 16 &+ i] = src[k]; k &+= 1 }
                }
            }
        }
    }

    /// `y[t·outputStride + r] = Σ_c W[r, c]·x_t[c]` for r in `range`, every token of `packed`
    /// (single thread). `panel` holds `panelCount(columns:)` floats of scratch.
    static func rows(_ m: QuantizedMatrix, _ range: Range<Int>, packed: UnsafePointer<Float>, tokens T: Int,
                     _ y: UnsafeMutablePointer<Float>, outputStride ldc: Int, panel: UnsafeMutablePointer<Float>,
                     chunks: InputChunks = .panel) {
        let K = m.columns
        let tc = tokenChunk(inputChunk: chunks.longest(columns: K))
        let ranges = chunks.ranges(columns: K)
        // Chunks that cut through blocks dequantize the blocks they touch here first.
        let blocks = UnsafeMutablePointer<Float>.allocate(capacity: chunks.longest(columns: K) &+ 2 &* m.type.blockSize)
        defer { blocks.deallocate() }
        var t0 = 0
        while t0 < T {
            let tEnd = min(T, t0 &+ tc)
            for r in ranges {
                let k0 = r.lowerBound, kn = r.count
                var r0 = range.lowerBound
                while r0 < range.upperBound {
                    let nr = min(rowTile, range.upperBound &- r0)
                    for i in 0..<rowTile {
                        if i < nr { m.dequantize(row: r0 &+ i, from: k0, count: kn, into: panel + i &* kn, blocks: blocks) }
                        else { (panel + i &* kn).update(repeating: 0, count: kn) }
                    }
                    #if arch(x86_64)
                    if CPULevel.current == .avx512vnni {
                        // t0 is a multiple of 16 (tc is): the chunk's token blocks in one call.
                        kvk_avx512_panel(panel, kn, packed + (t0 / 16 &* K &+ k0) &* 16, K &* 16, tEnd &- t0,
                                         y + (t0 &* ldc &+ r0), ldc, nr, k0 > 0 ? 1 : 0)
                        r0 &+= rowTile
                        continue
                    }
                    #endif
                    var t = t0
                    while t < tEnd {
                        let a = packed + (t / 16 &* K &+ k0) &* 16, out = y + (t &* ldc &+ r0)
                        tile(panel, kn, a, out, ldc,
                             tokens: min(16, tEnd &- t), rows: nr, accumulate: k0 > 0)
                        t &+= 16
                    }
                    r0 &+= rowTile
                }
            }
            t0 = tEnd
        }
    }

    /// One 6-row × 16-token tile over `kn` inputs: `w` holds the rows (`kn` apart), `a` the token
    /// block's packed inputs. Writes (or adds to) `rows` outputs of `tokens` tokens.
    @inline(__always)
    static func tile(_ w: UnsafePointer<Float>, _ kn: Int, _ a: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                     _ ldc: Int, tokens: Int, rows: Int, accumulate: Bool) {
        let pa = UnsafeRawPointer(a)
        let w0 = w, w1 = w + kn, w2 = w + 2 &* kn, w3 = w + 3 &* kn, w4 = w + 4 &* kn, w5 = w + 5 &* kn
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        var k = 0
        while k < kn {
            let a0 = pa.loadUnaligned(fromByteOffset: k &* 64, as: SIMD8<Float>.self)
            let a1 = pa.loadUnaligned(fromByteOffset: k &* 64 &+ 32, as: SIMD8<Float>.self)
            var b = SIMD8<Float>(repeating: w0[k]); c00.addProduct(a0, b); c01.addProduct(a1, b)
            b = SIMD8<Float>(repeating: w1[k]); c10.addProduct(a0, b); c11.addProduct(a1, b)
            b = SIMD8<Float>(repeating: w2[k]); c20.addProduct(a0, b); c21.addProduct(a1, b)
            b = SIMD8<Float>(repeating: w3[k]); c30.addProduct(a0, b); c31.addProduct(a1, b)
            b = SIMD8<Float>(repeating: w4[k]); c40.addProduct(a0, b); c41.addProduct(a1, b)
            b = SIMD8<Float>(repeating: w5[k]); c50.addProduct(a0, b); c51.addProduct(a1, b)
            k &+= 1
        }
        // Transpose on the way out: the tile is [row][token], y is [token][row].
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 12) { buf in
            let c = buf.baseAddress!
            c[0] = c00; c[1] = c01; c[2] = c10; c[3] = c11; c[4] = c20; c[5] = c21
            c[6] = c30; c[7] = c31; c[8] = c40; c[9] = c41; c[10] = c50; c[11] = c51
            let f = UnsafeRawPointer(c).assumingMemoryBound(to: Float.self)
            for t in 0..<tokens {
                let yt = y + t &* ldc
                if accumulate { for r in 0..<rows { yt[r] += f[r &* 16 &+ t] } }
                else { for r in 0..<rows { yt[r] = f[r &* 16 &+ t] } }
            }
        }
    }
}
