import Foundation

/// A line chart as standalone SVG: score versus compression ratio, one line per press (kvpress's
/// leaderboard figure). No dependencies; text is escaped.
public struct SVGLineChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Drawn as a dashed horizontal line across the chart (a baseline such as no press).
        public var isBaseline: Bool
        public init(name: String, points: [(x: Double, y: Double)], isBaseline: Bool = false) {
            self.name = name
            self.points = points
            self.isBaseline = isBaseline
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var yRange: ClosedRange<Double> = 0...1
    public var width = 860.0, height = 460.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// The SVG document.
    public func render() -> String {
        let left = 70.0, right = 260.0, top = 50.0, bottom = 60.0
        let pw = width - left - right, ph = height - top - bottom
        let xs = series.filter { !$0.isBaseline }.flatMap { $0.points.map(\.x) }
        var x0 = min(0, xs.min() ?? 0), x1 = max(xs.max() ?? 1, 0.1)
        if x1 - x0 < 1e-9 { x0 -= 0.1; x1 += 0.1 }
        let pad = (x1 - x0) * 0.05
        x0 -= pad; x1 += pad
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + ph - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * ph }
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left + pw / 2)" y="28" text-anchor="middle" font-size="16">\(escapeXML(title))</text>

            """
        for i in 0...5 {
            let v = yRange.lowerBound + Double(i) / 5 * (yRange.upperBound - yRange.lowerBound)
            let y = py(v)
            s += "<line x1=\"\(left)\" y1=\(q(y)) x2=\"\(left + pw)\" y2=\(q(y)) stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(left - 8)\" y=\(q(y + 4)) text-anchor=\"end\" font-size=\"12\">\(fmt(v))</text>\n"
        }
        for x in Array(Set(xs + (x0 < 0 ? [0] : []))).sorted() {
            s += "<line x1=\(q(px(x))) y1=\"\(top + ph)\" x2=\(q(px(x))) y2=\"\(top + ph + 5)\" stroke=\"black\"/>\n"
            s += "<text x=\(q(px(x))) y=\"\(top + ph + 20)\" text-anchor=\"middle\" font-size=\"12\">\(fmt(x))</text>\n"
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(left + pw / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\" font-size=\"13\">\(escapeXML(xLabel))</text>\n"
        s += "<text transform=\"translate(20,\(top + ph / 2)) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">\(escapeXML(yLabel))</text>\n"
        for (i, line) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            if line.isBaseline, let y = line.points.first?.y {
                s += "<line x1=\"\(left)\" y1=\(q(py(y))) x2=\"\(left + pw)\" y2=\(q(py(y))) stroke=\"\(color)\" stroke-width=\"2\" stroke-dasharray=\"6,4\"/>\n"
            } else {
                let pts = line.points.sorted { $0.x < $1.x }.map { "\(fmt(px($0.x), 1)),\(fmt(py($0.y), 1))" }.joined(separator: " ")
                s += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                for p in line.points { s += "<circle cx=\(q(px(p.x))) cy=\(q(py(p.y))) r=\"3.5\" fill=\"\(color)\"/>\n" }
            }
            let ly = top + 10 + Double(i) * 20
            s += "<line x1=\"\(left + pw + 15)\" y1=\(q(ly)) x2=\"\(left + pw + 40)\" y2=\(q(ly)) stroke=\"\(color)\" stroke-width=\"2\"\(line.isBaseline ? " stroke-dasharray=\"6,4\"" : "")/>\n"
            s += "<text x=\"\(left + pw + 46)\" y=\(q(ly + 4)) font-size=\"12\">\(escapeXML(line.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}

func q(_ v: Double) -> String { "\"\(fmt(v, 1))\"" }

func fmt(_ v: Double, _ digits: Int = 2) -> String {
    var t = String(format: "%.\(digits)f", v)
    if t.contains(".") { while t.hasSuffix("0") { t.removeLast() }; if t.hasSuffix(".") { t.removeLast() } }
    return t
}

func escapeXML(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
