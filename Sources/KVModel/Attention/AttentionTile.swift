#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Compile-time sizes of the decode loops' register tiles.
///
/// The loops are generic over these counts and guard every use of a fourth accumulator with
/// `if N.value > 3`; once specialised the guards fold away, so each tile size gets straight-line
/// code whose accumulators stay in registers (a runtime count would keep them in memory).
protocol StaticCount {
    static var value: Int { get }
}

enum N0: StaticCount { static var value: Int { 0 } }
enum N1: StaticCount { static var value: Int { 1 } }
enum N2: StaticCount { static var value: Int { 2 } }
enum N3: StaticCount { static var value: Int { 3 } }
enum N4: StaticCount { static var value: Int { 4 } }
/// A head width known when compiling (`AnyWidth`: read at run time).
enum Width64: StaticCount { static var value: Int { 64 } }
enum AnyWidth: StaticCount { static var value: Int { 0 } }

/// How a KV head's `G` query heads are cut into tiles of at most four (read once per tile):
/// `ceil(G/4)` tiles as even as possible (7 → 4 + 3, 5 → 3 + 2, 8 → 4 + 4).
enum QueryTiles {
    /// Calls `body(first, count)` for each tile.
    @inline(__always)
    static func forEach(_ G: Int, _ body: (Int, Int) -> Void) {
        let tiles = (G + 3) / 4
        for i in 0..<tiles {
            let first = G * i / tiles
            body(first, G * (i + 1) / tiles - first)
        }
    }
}

/// Four eight-lane accumulators; loops use the first `n` (a specialised constant).
struct Accumulators4 {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()

    init() {}

    init(a0: SIMD8<Float>, a1: SIMD8<Float>, a2: SIMD8<Float>, a3: SIMD8<Float>) {
        self.a0 = a0; self.a1 = a1; self.a2 = a2; self.a3 = a3
    }

    /// Accumulator `i` (a specialised constant, so this folds to a register).
    @inline(__always)
    subscript(i: Int) -> SIMD8<Float> {
        switch i {
        case 0: return a0
        case 1: return a1
        case 2: return a2
        default: return a3
        }
    }

    /// `a_i += x_i · y` for `i < n`.
    @inline(__always)
    mutating func add(_ x: Accumulators4, times y: SIMD8<Float>, _ n: Int) {
        a0.addProduct(x.a0, y)
        if n > 1 { a1.addProduct(x.a1, y) }
        if n > 2 { a2.addProduct(x.a2, y) }
        if n > 3 { a3.addProduct(x.a3, y) }
    }

    /// The horizontal sum of each accumulator, as one vector (unused accumulators are zero).
    @inline(__always)
    func sums() -> SIMD4<Float> {
        #if arch(x86_64)
        let h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3))
        return h.lowHalf + h.highHalf
        #else
        return SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum())
        #endif
    }
}
