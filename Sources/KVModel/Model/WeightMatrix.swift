import COpenBLAS

/// A weight matrix used in place from the memory-mapped GGUF file.
///
/// Shape `[outputs, inputs]`, row-major: row `r` holds the weights of output `r`
/// (GGUF `shape[0]` is `inputs`). Decoding multiplies single vectors with the quantized rows
/// directly; prefill dequantizes the matrix once per forward call and uses `cblas_sgemm`.
public struct WeightMatrix: @unchecked Sendable {
    /// The tensor's name in the GGUF file.
    public let name: String
    /// Element type of the stored rows.
    public let type: GGMLType
    /// Number of outputs (rows).
    public let outputs: Int
    /// Number of inputs (elements per row).
    public let inputs: Int
    /// Bytes per stored row.
    public let rowBytes: Int
    /// Start of the row data inside the mapping.
    public let data: UnsafeRawPointer

    /// Maps tensor `name` of `gguf` as an `[outputs, inputs]` matrix.
    /// - Throws: `GGUFError` when the tensor is missing or has another shape.
    public init(_ gguf: GGUFFile, _ name: String, outputs: Int, inputs: Int) throws {
        let info = try gguf.tensor(name)
        guard info.shape.count == 2, info.rowLength == inputs, info.rowCount == outputs else {
            throw GGUFError(path: gguf.path, .missingTensor("'\(name)' has shape \(info.shape), expected [\(inputs), \(outputs)]"))
        }
        self.name = name
        type = info.type
        self.outputs = outputs
        self.inputs = inputs
        rowBytes = info.byteCount / outputs
        data = gguf.data(of: info)
    }

    /// Bytes of weights stored.
    public var byteCount: Int { rowBytes * outputs }

    /// Dequantizes row `r` into `dst[0..<inputs]`.
    @inline(__always)
    public func dequantizeRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        type.interimDequantizeRow(data + r * rowBytes, dst, inputs)
    }

    /// Dequantizes the whole matrix into `dst` (`outputs × inputs` floats, row-major).
    public func dequantize(into dst: UnsafeMutablePointer<Float>) {
        ThreadPool.shared.parallelFor(outputs) { rows in
            for r in rows { dequantizeRow(r, into: dst + r * inputs) }
        }
    }

    /// `y[r] = Σ_c W[r, c] · x[c]` for one input vector.
    /// - Parameters:
    ///   - x: `inputs` floats.
    ///   - y: `outputs` floats, overwritten.
    public func multiply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        ThreadPool.shared.parallelFor(outputs) { rows in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: inputs) { tmp in
                for r in rows {
                    dequantizeRow(r, into: tmp.baseAddress!)
                    y[r] = Vector.dot(tmp.baseAddress!, x, inputs)
                }
            }
        }
    }
}
