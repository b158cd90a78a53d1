import Foundation
import KVBenchKit

/// `serve-bench --json`: the setting, every round, and the ask sent during a long load. Keys are
/// the properties in snake_case.
struct ServeBenchReport: Encodable {
    let model, press: String
    let documents, documentTokens, facts, maxNewTokens, repeats: Int
    let cpu, kernels: String
    let rounds: [Round]
    let askDuringLoad: AskDuringLoad?

    /// One round as its clients measured it.
    struct Round: Encodable {
        let server: String
        let clients, asks: Int
        let wallS, sPerAsk, p50LatencyS, p99LatencyS, p50TtftS, p99TtftS, accuracy, meanTokens: Double
        let errors, rssBytes: Int

        init(_ r: ServeRound) {
            (server, clients, asks, wallS, sPerAsk) = (r.server, r.clients, r.asks.count, r.wall, r.secondsPerAsk)
            (p50LatencyS, p99LatencyS, p50TtftS, p99TtftS) = (r.latency(50), r.latency(99), r.firstToken(50), r.firstToken(99))
            (accuracy, meanTokens, errors, rssBytes) = (r.accuracy, r.meanTokens, r.errors, r.rssBytes ?? 0)
        }
    }

    /// `--load-tokens`: an ask sent while a document that long loads.
    struct AskDuringLoad: Encodable {
        let loadTokens: Int
        let loadS, ttftS, latencyS: Double
    }
}

/// `serve-bench --replicas N --json`: the setting and, per document and replica, the medians of its
/// repeats and every repeat. Keys are the properties in snake_case.
struct ReplicasReport: Encodable {
    let mode = "replicas"
    let model, press: String
    let replicas: Int
    let store, storePrefix: String
    let documents, documentTokens, maxNewTokens, repeats, threads: Int
    let cpu: String
    let cores: Int
    let kernels: String
    let results: [Result]

    /// One document on one replica.
    struct Result: Encodable {
        /// The document's session id.
        let document: String
        let replica, contextTokens, keptTokens: Int
        let remoteFirstAskS, remoteTtftS, storeMs: Double
        let storeBytes: Int
        let localLoadS, localAskS, localTtftS, sharedLoadS, publishMs: Double
        let publishBytes: Int
        let remoteAskOverLocalLoad: Double
        /// Repeats with the same tokens, repeats, and correct answers.
        let identical, repeats, remoteCorrect, localCorrect: Int
        let samples: [Sample]

        init(_ s: ReplicaSummary, document: String) {
            self.document = document
            (replica, contextTokens, keptTokens) = (s.replica, s.contextTokens, s.keptTokens)
            (remoteFirstAskS, remoteTtftS, storeMs) = (s.median(\.remoteAsk), s.median(\.remoteFirstToken), s.median(\.storeMs))
            storeBytes = Int(s.median { Double($0.storeBytes) })
            (localLoadS, localAskS, localTtftS) = (s.median(\.localLoad), s.median(\.localAsk), s.median(\.localFirstToken))
            (sharedLoadS, publishMs) = (s.median(\.sharedLoad), s.median(\.publishMs))
            publishBytes = Int(s.median { Double($0.publishBytes) })
            (remoteAskOverLocalLoad, identical, repeats) = (s.ratio, s.identicalCount, s.samples.count)
            remoteCorrect = s.samples.filter(\.remoteCorrect).count
            localCorrect = s.samples.filter(\.localCorrect).count
            samples = s.samples.map(Sample.init)
        }
    }

    /// One repeat.
    struct Sample: Encodable {
        let remoteFirstAskS, remoteTtftS, storeMs: Double
        let storeBytes: Int
        let localLoadS, localAskS, localTtftS, sharedLoadS, publishMs: Double
        let publishBytes: Int
        let identical: Bool

        init(_ x: ReplicaSample) {
            (remoteFirstAskS, remoteTtftS, storeMs, storeBytes) = (x.remoteAsk, x.remoteFirstToken, x.storeMs, x.storeBytes)
            (localLoadS, localAskS, localTtftS, sharedLoadS) = (x.localLoad, x.localAsk, x.localFirstToken, x.sharedLoad)
            (publishMs, publishBytes, identical) = (x.publishMs, x.publishBytes, x.identical)
        }
    }
}

/// One line of sorted snake_case JSON, as `--json` prints it.
func printSnakeCaseJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}
