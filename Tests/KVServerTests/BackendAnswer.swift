@testable import KVServer

extension InferenceBackend {
    /// Starts `request` on `session` and steps it alone to its end (a batch of one).
    func answer(_ request: AskRequest, on session: BackendSession, maxNewTokens: Int = 8) throws -> AskResult {
        let ask = try session.startAsk(request, defaultMaxNewTokens: maxNewTokens, shouldStop: { nil }, onToken: { _ in })
        while !ask.isFinished { step([ask]) }
        return try ask.result()
    }
}
