/// The needle-in-a-haystack heatmap as SVG: context length across, needle depth down, cell colour
/// from red (0) through yellow to green (1), the score written in each cell.
public struct SVGHeatmap {
    public var title: String
    public var columns: [Int]   // context lengths
    public var rows: [Int]      // depths in percent
    /// Score in [0, 1] per (row, column), nil where missing.
    public var value: (Int, Int) -> Double?

    public init(title: String, columns: [Int], rows: [Int], value: @escaping (Int, Int) -> Double?) {
        self.title = title
        self.columns = columns
        self.rows = rows
        self.value = value
    }

    /// Red → yellow → green.
    static func color(_ v: Double) -> String {
        let t = max(0, min(1, v))
        let r = t < 0.5 ? 220 : Int(220 - (t - 0.5) * 2 * 180)
        let g = t < 0.5 ? Int(60 + t * 2 * 160) : 200
        return "rgb(\(r),\(g),70)"
    }

    public func render() -> String {
        let cell = 56.0, left = 90.0, top = 60.0
        let width = left + cell * Double(columns.count) + 30, height = top + cell * Double(rows.count) + 60
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="28" text-anchor="middle" font-size="15">\(escapeXML(title))</text>

            """
        for (ri, depth) in rows.enumerated() {
            let y = top + Double(ri) * cell
            s += "<text x=\"\(left - 8)\" y=\(q(y + cell / 2 + 4)) text-anchor=\"end\" font-size=\"12\">\(depth)%</text>\n"
            for (ci, length) in columns.enumerated() {
                let x = left + Double(ci) * cell
                if let v = value(depth, length) {
                    s += "<rect x=\(q(x)) y=\(q(y)) width=\"\(cell)\" height=\"\(cell)\" fill=\"\(Self.color(v))\" stroke=\"white\"/>\n"
                    s += "<text x=\(q(x + cell / 2)) y=\(q(y + cell / 2 + 4)) text-anchor=\"middle\" font-size=\"11\">\(fmt(v))</text>\n"
                } else {
                    s += "<rect x=\(q(x)) y=\(q(y)) width=\"\(cell)\" height=\"\(cell)\" fill=\"#eeeeee\" stroke=\"white\"/>\n"
                }
            }
        }
        for (ci, length) in columns.enumerated() {
            s += "<text x=\(q(left + (Double(ci) + 0.5) * cell)) y=\(q(top + Double(rows.count) * cell + 18)) text-anchor=\"middle\" font-size=\"12\">\(length)</text>\n"
        }
        s += "<text x=\(q(left + cell * Double(columns.count) / 2)) y=\(q(height - 12)) text-anchor=\"middle\" font-size=\"13\">context length (tokens)</text>\n"
        s += "<text transform=\"translate(18,\(top + cell * Double(rows.count) / 2)) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">needle depth</text>\n"
        return s + "</svg>\n"
    }
}
