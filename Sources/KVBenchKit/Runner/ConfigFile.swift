import Foundation
import KVModel

/// config.json: what produced one configuration's results: the dataset, the press, the options,
/// the model, the environment and the command line.
public struct ConfigFile: Codable, Sendable {
    public var dataset: Dataset
    public var press: Press
    public var options: EvalOptions.Record
    public var model: RunInfo.ModelIdentity
    public var environment: RunInfo.Environment
    public var sampling = "greedy"
    /// The command line as kvbench read it (`nil` when run from code).
    public var arguments: Arguments?

    /// The dataset and how much of it ran.
    public struct Dataset: Codable, Sendable {
        public var name: String
        /// Settings that produced it (generator parameters, source file).
        public var settings: [String: String]
        public var contexts: Int
        public var questions: Int
    }

    /// The press as built (`spec`), as named in the results' directory (`name`), and its ratio.
    public struct Press: Codable, Sendable {
        public var spec: String
        public var name: String
        public var compressionRatio: Double

        enum CodingKeys: String, CodingKey {
            case spec, name
            case compressionRatio = "compression_ratio"
        }
    }

    /// `kvbench eval`'s or `sweep`'s arguments. `ratio` is written even when not given (`null`);
    /// `cacheBudget` is written by a sweep only, as `null` when it set no budget.
    public struct Arguments: Codable, Sendable {
        public var dataset: String
        public var outputDir: String
        public var force: Bool
        /// RULER's task and context length.
        public var task: String?
        public var contextLength: Int?
        /// The needle test's grid.
        public var needleLengths: String?
        public var needleDepths: String?
        public var haystack: String?
        /// The press as written (eval) or its base without a ratio (sweep).
        public var press: String?
        public var ratio: Double?
        /// Sweeps only: the decoding spec, its budget, and whether one prefill fed every press.
        public var decoding: String?
        public var cacheBudget: Int??
        public var sharedPrefill: Bool?

        public init(dataset: String, outputDir: String, force: Bool) {
            self.dataset = dataset
            self.outputDir = outputDir
            self.force = force
        }

        enum CodingKeys: String, CodingKey {
            case dataset, force, task, haystack, press, ratio, decoding
            case outputDir = "output_dir", contextLength = "context_length", needleLengths = "needle_lengths"
            case needleDepths = "needle_depths", cacheBudget = "cache_budget", sharedPrefill = "shared_prefill"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(dataset, forKey: .dataset)
            try c.encode(outputDir, forKey: .outputDir)
            try c.encode(force, forKey: .force)
            try c.encodeIfPresent(task, forKey: .task)
            try c.encodeIfPresent(contextLength, forKey: .contextLength)
            try c.encodeIfPresent(needleLengths, forKey: .needleLengths)
            try c.encodeIfPresent(needleDepths, forKey: .needleDepths)
            try c.encodeIfPresent(haystack, forKey: .haystack)
            try c.encodeIfPresent(press, forKey: .press)
            try c.encode(ratio, forKey: .ratio)
            try c.encodeIfPresent(decoding, forKey: .decoding)
            if let cacheBudget { try c.encode(cacheBudget, forKey: .cacheBudget) }
            try c.encodeIfPresent(sharedPrefill, forKey: .sharedPrefill)
        }
    }
}
