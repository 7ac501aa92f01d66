import BillingCore
import BillingPostgres
import Foundation
import Synchronization
import Testing

/// Components that own threads start nothing in `init`, refuse at once when full, and
/// answer everything queued when they stop. None of this needs a database: the address
/// below has nothing listening.
@Suite("Lifecycle and backpressure without a database", .timeLimit(.minutes(1)))
struct LifecycleTests {
    static let nowhere = PostgresConfig(host: "127.0.0.1", port: 1, connectTimeoutSeconds: 1)

    @Test("a lane that is full refuses at once with OVERLOADED; queued work is answered when it stops")
    func laneBackpressure() async throws {
        // Not started: nothing takes from the queue, so the third deduction finds it full.
        let lanes = DeductionLanes(
            config: Self.nowhere, catalog: .platformDefault, calendar: .platformDefault, clock: SystemClock(),
            settings: .init(laneCount: 1, maxBatchCount: 8, maxQueuedPerLane: 2))
        // Three callers, room for two: exactly one is refused at once, whichever came last.
        let answers = Answers()
        let callers = (0..<3).map { index in
            Task {
                do throws(BillingError) {
                    _ = try await lanes.deduct(try DeductionRequest(
                        userId: "u", serviceName: "passport", count: 1, requestId: "r\(index)"))
                    answers.set(index, "ok")
                } catch {
                    answers.set(index, error.code)
                }
            }
        }
        for _ in 0..<400 where answers.all.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        let early = answers.all
        #expect(early.count == 1 && early.values.first == "OVERLOADED", "\(early)")
        // Stopping starts the lane (it was never started), which answers the two queued
        // callers: the database is unreachable, so UNAVAILABLE; nothing is left waiting.
        await lanes.shutdown()
        for caller in callers { await caller.value }
        #expect(answers.all.values.sorted() == ["OVERLOADED", "UNAVAILABLE", "UNAVAILABLE"])
        // After stopping, a deduction is refused at once.
        await #expect(throws: BillingError.self) {
            _ = try await lanes.deduct(try DeductionRequest(userId: "u", serviceName: "passport", count: 1))
        }
    }

    @Test("a pool connects nothing before it starts, and a call queued meanwhile is answered once it stops")
    func poolStartsInRun() async throws {
        let pool = PostgresPool(config: Self.nowhere, settings: .init(size: 1, acquireTimeout: .seconds(30)))
        let call = Task { () -> String in
            do {
                _ = try await pool.withConnection { connection in try connection.query("SELECT 1") }
                return "ok"
            } catch {
                return (error as? BillingError)?.code ?? "\(error)"
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        await pool.shutdown()
        #expect(await call.value == "UNAVAILABLE")
    }

    @Test("as a Service, a pool runs until graceful shutdown and then drains")
    func poolAsService() async throws {
        let pool = PostgresPool(config: Self.nowhere, settings: .init(size: 1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            let answer: String
            do {
                _ = try await pool.withConnection { connection in try connection.query("SELECT 1") }
                answer = "ok"
            } catch {
                answer = (error as? BillingError)?.code ?? "\(error)"
            }
            #expect(answer == "UNAVAILABLE")
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}

/// Answers by caller, filled from other tasks.
final class Answers: Sendable {
    private let answers = Mutex<[Int: String]>([:])
    func set(_ index: Int, _ answer: String) { answers.withLock { $0[index] = answer } }
    var all: [Int: String] { answers.withLock { $0 } }
}
