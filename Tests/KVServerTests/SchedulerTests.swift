import Foundation
import XCTest
@testable import KVServer

/// The scheduler's order, on its own: jobs run first in, first out; the ask starts at the head of
/// the queue start together; a step takes at most `maxBatch` asks, oldest first, and a question
/// prompt only while the step stays within `maxStepRows`.
final class SchedulerTests: XCTestCase {
    /// What the worker did, in order: job labels, and each step's asks. Worker thread only, read
    /// once the worker has ended.
    final class Record {
        var jobs: [String] = []
        var steps: [[String]] = []
        var current: [String] = []
    }

    /// Runs `jobs` behind a job that holds the worker until they are all queued, then drains.
    func run(_ jobs: (Record, Scheduler) -> [Scheduler.Job], maxBatch: Int, maxStepRows: Int = 512) throws -> Record {
        let backend = FakeBackend(), record = Record()
        backend.onStep = { record.steps.append(record.current); record.current = [] }
        let scheduler = Scheduler(backend: backend, maxQueue: 100, maxBatch: maxBatch, maxStepRows: maxStepRows)
        let gate = DispatchSemaphore(value: 0)
        try scheduler.submit(Scheduler.Job(label: "gate") { gate.wait(); record.jobs.append("gate") })
        for job in jobs(record, scheduler) { try scheduler.submit(job) }
        gate.signal()
        scheduler.drain(then: Scheduler.Job(label: "last") { record.jobs.append("last") })
        scheduler.waitUntilFinished(timeout: 30)
        return record
    }

    /// A job that starts an ask named `name` with `words` tokens to generate and a `prompt`-row question.
    func askStart(_ name: String, words: Int, prompt: Int = 1, _ record: Record, _ scheduler: Scheduler) -> Scheduler.Job {
        Scheduler.Job(label: "start \(name)", startsAsk: true) {
            record.jobs.append("start \(name)")
            let ask = FakeAsk(words: (0..<words).map { "\(name)\($0)" }, questionWords: prompt, shouldStop: { nil },
                              onToken: { _ in record.current.append(name) })
            scheduler.add(ask) {}
        }
    }

    func job(_ label: String, _ record: Record) -> Scheduler.Job {
        Scheduler.Job(label: label) { record.jobs.append(label) }
    }

    /// A load, three asks, a drop, a fourth ask, with two asks per step: the jobs run as sent; the
    /// three ask starts behind the load start together; the two oldest asks step until they end,
    /// then the other two.
    func testJobsRunInOrderAndAStepTakesTheOldestAsksUpToMaxBatch() throws {
        let r = try run({ record, s in
            [job("load", record), askStart("a", words: 3, record, s), askStart("b", words: 3, record, s),
             askStart("c", words: 3, record, s), job("drop", record), askStart("d", words: 3, record, s)]
        }, maxBatch: 2)
        XCTAssertEqual(r.jobs, ["gate", "load", "start a", "start b", "start c", "drop", "start d", "last"])
        XCTAssertEqual(r.steps, [["a", "b"], ["a", "b"], ["a", "b"], ["c", "d"], ["c", "d"], ["c", "d"]])
    }

    /// Question prompts of 300, 300 and 100 rows with 512 rows a step: the second waits (the
    /// third, which fits, does not wait behind it), then joins once the others decode one row each.
    func testAPromptJoinsAStepOnlyWithinMaxStepRows() throws {
        let r = try run({ record, s in
            [askStart("a", words: 2, prompt: 300, record, s), askStart("b", words: 2, prompt: 300, record, s),
             askStart("c", words: 2, prompt: 100, record, s)]
        }, maxBatch: 4)
        XCTAssertEqual(r.jobs, ["gate", "start a", "start b", "start c", "last"])
        XCTAssertEqual(r.steps, [["a", "c"], ["a", "b", "c"], ["b"]])
    }

    /// `max_queue` bounds the jobs waiting plus the asks in flight.
    func testAFullQueueRefusesWithItsLimit() throws {
        let backend = FakeBackend()
        let scheduler = Scheduler(backend: backend, maxQueue: 2, maxBatch: 1)
        let gate = DispatchSemaphore(value: 0), running = DispatchSemaphore(value: 0)
        try scheduler.submit(Scheduler.Job(label: "gate") { running.signal(); gate.wait() })
        running.wait()  // the running job no longer counts
        try scheduler.submit(Scheduler.Job(label: "one") {})
        try scheduler.submit(Scheduler.Job(label: "two") {})
        XCTAssertThrowsError(try scheduler.submit(Scheduler.Job(label: "three") {})) {
            XCTAssertEqual("\($0)", "\(ServerError.queueFull(limit: 2))")
        }
        gate.signal()
        scheduler.drain(then: Scheduler.Job(label: "last") {})
        scheduler.waitUntilFinished(timeout: 30)
    }
}
