// Interim until the kernels branch lands.
enum Half {
    static func toFloat(_ src: UnsafePointer<Float16>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { dst[i] = Float(src[i]) }
    }
}
