/// A run-time failure reported to the user as one sentence (no usage text, exit code 1).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
