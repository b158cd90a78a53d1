/// Why a dataset could not be read or generated.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// The file is missing or unreadable.
    case cannotRead(path: String)
    /// A line is not a JSON object, or lacks a field the layout needs.
    case badRecord(path: String, line: Int, reason: String)
    /// The file holds no records.
    case empty(path: String)
    /// The `--dataset` value names nothing kvbench knows.
    case unknownDataset(String, valid: [String])
    /// A generator setting is out of range.
    case invalidSetting(String)

    public var description: String {
        switch self {
        case .cannotRead(let path):
            return "cannot read \(path): check the path and permissions"
        case .badRecord(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .empty(let path):
            return "\(path) holds no records"
        case .unknownDataset(let name, let valid):
            return "unknown dataset '\(name)'; valid: \(valid.joined(separator: ", "))"
        case .invalidSetting(let why):
            return why
        }
    }
}
