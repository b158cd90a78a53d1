/// A weight matrix of the model, read from the memory-mapped GGUF file.
///
/// Shape `[outputs, inputs]`, row-major: row `r` holds the weights of output `r`
/// (GGUF `shape[0]` is `inputs`). Products run on the quantized rows (`QuantizedMatrix`, with
/// an integer kernel for every quantized type; q4_0/q4_1/q5_0/q5_1/q8_0 rows repacked once at
/// load). `Linear.apply` is the one entry point for T tokens: mat-vecs, the batched integer
/// kernel, or (long batches) the matrix dequantized per call and `cblas_sgemm`.
public struct WeightMatrix: @unchecked Sendable {
    /// The tensor's name in the GGUF file.
    public let name: String
    /// Element type of the stored rows.
    public let type: GGMLType
    /// Number of outputs (rows).
    public let outputs: Int
    /// Number of inputs (elements per row).
    public let inputs: Int
    /// Bytes per stored row in the file.
    public let rowBytes: Int
    /// Start of the row data inside the mapping (GGUF layout).
    public let data: UnsafeRawPointer
    /// The quantized rows for matrix-vector products.
    public let matrix: QuantizedMatrix

    /// Maps tensor `name` of `gguf` as an `[outputs, inputs]` matrix.
    /// - Parameter repack: copy q4_0/q4_1/q5_0/q5_1/q8_0 rows into their integer-kernel layouts (the model does;
    ///   code that only dequantizes need not).
    /// - Throws: `GGUFError` when the tensor is missing or has another shape.
    public init(_ gguf: GGUFFile, _ name: String, outputs: Int, inputs: Int, repack: Bool = false) throws {
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
        matrix = QuantizedMatrix(info, in: gguf, repack: repack)
    }

    /// Bytes of weights stored in the file.
    public var byteCount: Int { rowBytes * outputs }

    /// Dequantizes row `r` into `dst[0..<inputs]`.
    @inline(__always)
    public func dequantizeRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        Dequantize.row(type, from: data + r * rowBytes, to: dst, count: inputs)
    }

    /// Dequantizes the whole matrix into `dst` (`outputs × inputs` floats, row-major), on all threads.
    public func dequantize(into dst: UnsafeMutablePointer<Float>) {
        Dequantize.tensor(type, from: data, to: dst, rows: outputs, rowLength: inputs)
    }
}
