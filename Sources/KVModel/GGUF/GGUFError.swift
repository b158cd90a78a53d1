/// Why a GGUF file could not be read. Every case names the file and says what is wrong with it.
public struct GGUFError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, independent of which file it was.
    public enum Problem: Equatable, Sendable {
        /// The file could not be opened or mapped (missing, unreadable, a directory).
        case cannotOpen(String)
        /// The first four bytes are not `GGUF`.
        case badMagic
        /// A GGUF version this reader does not understand (it reads 2 and 3).
        case unsupportedVersion(UInt32)
        /// The file ends before a structure it declares.
        case truncated(String)
        /// A metadata value carries a type code outside the GGUF specification.
        case unknownValueType(UInt32, key: String)
        /// A tensor has a ggml type this reader has no kernels for.
        case unsupportedTensorType(UInt32, tensor: String)
        /// A tensor's shape is inconsistent (zero or too many dimensions, row not a whole number of blocks).
        case badTensorShape(String)
        /// A tensor's data would lie (partly) past the end of the file.
        case tensorOutOfBounds(String)
        /// A required metadata key is missing or has the wrong type.
        case missingKey(String)
        /// A required tensor is missing or has an unexpected shape.
        case missingTensor(String)
        /// The model's `general.architecture` is not one kvd can run.
        case unsupportedArchitecture(String)
        /// Any other structural problem, described in a sentence.
        case invalid(String)
    }

    /// The file the problem was found in.
    public let path: String
    /// What is wrong.
    public let problem: Problem

    /// `problem` found in the file at `path`.
    public init(path: String, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// `<path>: <what is wrong>`, one sentence for the user.
    public var description: String {
        let what: String
        switch problem {
        case .cannotOpen(let why): what = "cannot open the file: \(why)"
        case .badMagic: what = "not a GGUF file (the first four bytes are not 'GGUF')"
        case .unsupportedVersion(let v): what = "GGUF version \(v) is not supported (kvd reads versions 2 and 3)"
        case .truncated(let part): what = "the file is truncated: it ends inside \(part)"
        case .unknownValueType(let t, let key): what = "metadata key '\(key)' has unknown value type \(t)"
        case .unsupportedTensorType(let t, let name):
            let known = GGMLType.allCases.map(\.name).joined(separator: ", ")
            what = "tensor '\(name)' has ggml type \(t), which kvd does not support (supported: \(known))"
        case .badTensorShape(let why): what = "bad tensor shape: \(why)"
        case .tensorOutOfBounds(let name): what = "tensor '\(name)' lies past the end of the file (corrupt or truncated)"
        case .missingKey(let key): what = "required metadata key '\(key)' is missing or has the wrong type"
        case .missingTensor(let why): what = "tensor problem: \(why)"
        case .unsupportedArchitecture(let arch): what = "architecture '\(arch)' is not supported (kvd runs: \(ModelConfig.supportedArchitectures.joined(separator: ", ")))"
        case .invalid(let why): what = why
        }
        return "\(path): \(what)"
    }
}
