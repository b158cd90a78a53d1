import Foundation

/// Turns an SVG file into PNG with `rsvg-convert` or ImageMagick's `convert`, when installed.
public enum PNGConverter {
    /// Writes `png` from `svg`; returns the tool used, or nil when none is installed or it failed.
    @discardableResult
    public static func convert(svg: String, png: String) -> String? {
        for (tool, args) in [("rsvg-convert", ["-o", png, svg]), ("convert", [svg, png])] {
            guard let path = which(tool) else { continue }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: path)
            p.arguments = args
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { continue }
            p.waitUntilExit()
            if p.terminationStatus == 0 { return tool }
        }
        return nil
    }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
