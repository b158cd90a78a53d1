import Foundation

/// LU-KV's budget curve: for every target ratio `1%…99%`, the prune ratio of each KV head of each
/// layer, `ratios[target][layer][head]`, as LU-KV's `generate_curve.sh` writes it to a NumPy `.npy`
/// file of shape `[99, layers, KV heads]` (little-endian `f4` or `f8`, C order).
public struct BudgetCurve: Equatable, Sendable {
    /// `[target][layer][head]` prune ratios (float32, as kvpress reads them).
    public let ratios: [[[Float]]]

    /// Layers and KV heads.
    public var layerCount: Int { ratios.first?.count ?? 0 }
    public var headCount: Int { ratios.first?.first?.count ?? 0 }

    public init(ratios: [[[Float]]]) { self.ratios = ratios }

    /// The curve kvpress falls back to without a model's curve: target `i` prunes `(i+1)/100` of
    /// every head.
    public static func uniform(layers: Int, heads: Int) -> BudgetCurve {
        BudgetCurve(ratios: (1...99).map { i in
            [[Float]](repeating: [Float](repeating: Float(i) / 100, count: heads), count: layers)
        })
    }

    /// The row of a compression ratio: `clamp(round(100·ratio) − 1, 0, 98)`, rounding half to even
    /// as Python does.
    public static func target(ratio: Double) -> Int {
        min(98, max(0, Int((ratio * 100).rounded(.toNearestOrEven)) - 1))
    }

    /// Reads a `.npy` file.
    /// - Throws: `PressError.badFile` when it cannot be read, is not a 3-d little-endian float
    ///   array in C order, or has fewer than 99 targets.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PressError.badFile(press: "lukv", path: path, reason: "cannot read the file")
        }
        try self.init(npy: data, path: path)
    }

    /// Parses the NumPy format: magic, version, header length (2 bytes in 1.0, 4 in 2.0/3.0), a
    /// Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (99, L, G), }`, data.
    public init(npy data: Data, path: String = "budget curve") throws {
        let bytes = [UInt8](data)
        let bad = { (reason: String) in PressError.badFile(press: "lukv", path: path, reason: reason) }
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw bad("not a NumPy .npy file") }
        let major = bytes[6]
        let (lengthBytes, start): (Int, Int) = major == 1 ? (2, 10) : (4, 12)
        guard major >= 1 && major <= 3, bytes.count >= start else { throw bad("unsupported .npy version \(major)") }
        var headerLength = 0
        for i in 0..<lengthBytes { headerLength |= Int(bytes[8 + i]) << (8 * i) }
        guard bytes.count >= start + headerLength,
              let header = String(bytes: bytes[start..<(start + headerLength)], encoding: .utf8) else {
            throw bad("truncated .npy header")
        }
        let compact = header.filter { !$0.isWhitespace }
        let width: Int
        if compact.contains("'descr':'<f4'") { width = 4 } else if compact.contains("'descr':'<f8'") { width = 8 } else {
            throw bad("expected little-endian float32 or float64 values ('<f4' or '<f8')")
        }
        guard compact.contains("'fortran_order':False") else { throw bad("expected C order (fortran_order False)") }
        guard let open = compact.range(of: "'shape':("),
              let close = compact[open.upperBound...].firstIndex(of: ")") else { throw bad("no shape in the .npy header") }
        let shape = compact[open.upperBound..<close].split(separator: ",").compactMap { Int($0) }
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
            throw bad("expected shape [99, layers, KV heads], got (\(compact[open.upperBound..<close]))")
        }
        guard shape[0] >= 99 else { throw bad("expected at least 99 targets (1%…99%), got \(shape[0])") }
        let count = shape[0] * shape[1] * shape[2], body = start + headerLength
        guard bytes.count >= body + count * width else { throw bad("expected \(count) values, the file is shorter") }
        var flat = [Float](repeating: 0, count: count)
        for i in 0..<count {
            var bits: UInt64 = 0
            for b in 0..<width { bits |= UInt64(bytes[body + i * width + b]) << (8 * b) }
            flat[i] = width == 4 ? Float(bitPattern: UInt32(bits)) : Float(Double(bitPattern: bits))
        }
        guard flat.allSatisfy(\.isFinite) else { throw bad("the curve holds a value that is not a finite number") }
        let (L, G) = (shape[1], shape[2])
        ratios = (0..<shape[0]).map { t in (0..<L).map { l in Array(flat[((t * L + l) * G)..<((t * L + l + 1) * G)]) } }
    }
}
