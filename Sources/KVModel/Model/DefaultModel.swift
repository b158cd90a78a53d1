import Foundation

/// Where kvd's executables look for the default model (SmolLM2-135M-Instruct, Q4_1).
public enum DefaultModel {
    /// File name installed by `scripts/fetch-model`.
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    /// Environment variable that overrides the default path.
    public static let environmentVariable = "KVD_MODEL"

    /// Places searched, in order: `$KVD_MODEL`, `./models/`, the repository's `models/` next to a
    /// build directory (`.build/<config>/`), and the installed location `/usr/local/share/kvd/models/`.
    public static var candidates: [String] {
        var list: [String] = []
        if let env = ProcessInfo.processInfo.environment[environmentVariable], !env.isEmpty { list.append(env) }
        list.append(FileManager.default.currentDirectoryPath + "/models/" + fileName)
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        for up in ["../../models", "../../../models", "../share/kvd/models"] {
            list.append(exe.appendingPathComponent(up).appendingPathComponent(fileName).standardizedFileURL.path)
        }
        list.append("/usr/local/share/kvd/models/" + fileName)
        return list
    }

    /// The first candidate that exists (or `$KVD_MODEL` / `./models/...` when none does, so the
    /// error message names the place the user is expected to fill).
    public static var path: String {
        let c = candidates
        return c.first { FileManager.default.fileExists(atPath: $0) } ?? c[0]
    }
}
