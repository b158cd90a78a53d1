import Foundation
import KVModel
import KVSystem

/// Perplexity of a model on a text by llama.cpp's `llama-perplexity` protocol, so the two numbers
/// can be compared directly.
///
/// The text is tokenized once (BOS in front when the vocabulary adds one) and cut into
/// non-overlapping windows of `context` tokens (a trailing partial window is dropped). Each window
/// starts from an empty cache, its first token replaced by BOS when the vocabulary adds one, and
/// only its second half is scored: the log-likelihood of token `j + 1` given tokens `0...j`, for
/// `j` in `context/2 ..< context − 1`. Perplexity is `exp(mean negative log-likelihood)`.
public struct Perplexity: Sendable {
    /// `exp(mean NLL)` over every scored token.
    public let value: Double
    /// llama.cpp's ± figure: the standard error of the mean NLL, times the perplexity.
    public let uncertainty: Double
    /// Windows evaluated.
    public let windows: Int
    /// Tokens scored (`windows · (context − context/2 − 1)`).
    public let scoredTokens: Int
    /// Tokens in the whole text (BOS included).
    public let textTokens: Int
    /// Seconds spent in forward passes.
    public let seconds: Double

    /// Why perplexity cannot be computed.
    public enum Failure: Error, CustomStringConvertible {
        case textTooShort(tokens: Int, needed: Int)
        case invalidContext(Int)

        public var description: String {
            switch self {
            case .textTooShort(let n, let needed):
                return "the text has \(n) tokens; perplexity with this context needs at least \(needed) (two windows)"
            case .invalidContext(let n):
                return "the context must be between 4 tokens and the model's window, not \(n)"
            }
        }
    }

    /// Rows of logits computed per forward call while scoring (bounds memory: rows × vocabulary floats).
    static let scoringRows = 32

    /// Measures the perplexity of `model` on `text` with windows of `context` tokens.
    /// - Parameters:
    ///   - maxWindows: evaluate at most this many windows (nil: all of them).
    ///   - progress: called after each window with (windows done, total, perplexity so far).
    public static func measure(model: Model, text: String, context: Int, maxWindows: Int? = nil,
                               progress: ((Int, Int, Double) -> Void)? = nil) throws -> Perplexity {
        guard context >= 4, context <= model.config.contextLength else { throw Failure.invalidContext(context) }
        let tokenizer = model.tokenizer
        let bos = tokenizer.addsBOS ? tokenizer.bosID : nil
        let tokens = (bos.map { [$0] } ?? []) + tokenizer.encode(text)
        guard tokens.count >= 2 * context else { throw Failure.textTooShort(tokens: tokens.count, needed: 2 * context) }
        let windows = min(tokens.count / context, maxWindows ?? .max)
        let first = context / 2
        let V = model.config.vocabularySize
        var nll = 0.0, nll2 = 0.0, count = 0
        let start = ContinuousClock.now
        for w in 0..<windows {
            var window = Array(tokens[(w * context)..<((w + 1) * context)])
            if let bos { window[0] = bos }
            let cache = model.makeCache()
            _ = try model.forward(Array(window[0..<first]), cache: cache, logits: .none)
            var i = first
            while i < context - 1 {
                let end = min(i + scoringRows, context - 1)
                let logits = try model.forward(Array(window[i..<end]), cache: cache, logits: .all)
                for r in 0..<(end - i) {
                    let v = -logSoftmax(logits, row: r, width: V, at: window[i + r + 1])
                    nll += v
                    nll2 += v * v
                }
                count += end - i
                i = end
            }
            progress?(w + 1, windows, Foundation.exp(nll / Double(count)))
        }
        let seconds = start.secondsElapsed
        let mean = nll / Double(count)
        let variance = nll2 / Double(count) - mean * mean
        let ppl = Foundation.exp(mean)
        let se = variance > 0 && count > 1 ? (variance / Double(count - 1)).squareRoot() : 0
        return Perplexity(value: ppl, uncertainty: se * ppl, windows: windows, scoredTokens: count,
                          textTokens: tokens.count, seconds: seconds)
    }

    /// `log softmax(logits[row])[target]`, in double precision.
    static func logSoftmax(_ logits: [Float], row: Int, width V: Int, at target: Int) -> Double {
        logits.withUnsafeBufferPointer { buf in
            let x = buf.baseAddress! + row * V
            let m = Double(FastMath.max(x, V))
            var sum = 0.0
            for j in 0..<V { sum += Foundation.exp(Double(x[j]) - m) }
            return Double(x[target]) - m - Foundation.log(sum)
        }
    }
}
