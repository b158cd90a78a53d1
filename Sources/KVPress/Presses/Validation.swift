/// Range checks shared by the presses' throwing initialisers.
enum Validate {
    /// `value` must lie in `[0, 1)`.
    static func ratio(_ value: Double, _ parameter: String = "compression_ratio", press: String) throws {
        guard value >= 0, value < 1 else {
            throw PressError.invalidValue(press: press, parameter: parameter, value: String(value), expected: "a number in [0, 1)")
        }
    }

    /// `value` must be at least `minimum`.
    static func atLeast(_ value: Int, _ minimum: Int, _ parameter: String, press: String) throws {
        guard value >= minimum else {
            throw PressError.invalidValue(press: press, parameter: parameter, value: String(value), expected: "an integer ≥ \(minimum)")
        }
    }
}
