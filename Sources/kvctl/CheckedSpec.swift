import ArgumentParser
import KVSpec

/// Builds a spec with `make` and prints it, turning a spec problem into the usage error kvctl
/// exits with before sending anything; unknown names point to `kvctl presses`.
func checkedSpec(_ make: () throws -> SpecNode) throws -> String {
    do {
        return try make().description
    } catch let error as PressError {
        switch error {
        case .unknownPress, .unknownParameter: throw ValidationError("\(error) (kvctl presses lists their parameters)")
        default: throw ValidationError("\(error)")
        }
    }
}
