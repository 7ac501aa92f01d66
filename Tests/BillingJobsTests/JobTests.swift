import BillingConfiguration
import BillingCore
@testable import BillingJobs
import BillingPostgres
import Foundation
import Synchronization
import Testing
import TestSupport

/// A fresh schema with the migrations applied, the cron's runtime over it.
struct JobsDatabase {
    static var root: URL { TestEnvironment.repositoryRoot }

    let schema: String
    let environment: [String: String]
    let config: CronConfig
    let runtime: CronRuntime
    let admin: PostgresConnection

    static func with(_ body: (JobsDatabase) async throws -> Void) async throws {
        try await TestSchema.with(prefix: "cron") { schema in
            let environment = TestEnvironment.billingVariables(schema: schema.name)
            let config = try CronConfig(reader: try await ConfigSources.reader(filePath: nil, environment: environment))
            let admin = try PostgresConnection.connect(schema.config)
            defer { admin.close() }
            let runtime = try CronRuntime(config: config)
            runtime.start()
            let database = JobsDatabase(
                schema: schema.name, environment: environment, config: config, runtime: runtime, admin: admin)
            do {
                try await body(database)
            } catch {
                await runtime.shutdown()
                throw error
            }
            await runtime.shutdown()
        }
    }

    func count(_ sql: String) throws -> Int64 { try admin.query(sql)[0].int64(0) }
}

@Suite("The cron's jobs against the real PostgreSQL", .timeLimit(.minutes(2)))
struct JobTests {
    @Test("reset for 10,000 users, run twice and twice concurrently: the same rows, counts right")
    func reset() async throws {
        try await JobsDatabase.with { db in
            try db.admin.query(
                "INSERT INTO user_balance (user_id) SELECT 'u' || g FROM generate_series(1, 5000) g")
            try db.admin.query(
                "INSERT INTO free_quota (user_id, period, service_name, total) SELECT 'q' || g, '2026-01', 'asset', 1000 FROM generate_series(1, 5000) g")
            let period = try QuotaPeriod(text: "2027-03")
            let first = try await db.runtime.jobs.run("reset-free-quota", period: period)
            #expect(first.outcome == .done)
            #expect(first.description.contains("30000 rows created for 10000 users"))
            let again = try await db.runtime.jobs.run("reset-free-quota", period: period)
            #expect(again.description.contains("0 rows created for 0 users"))

            let next = try QuotaPeriod(text: "2027-04")
            let concurrent = try await withThrowingTaskGroup(of: JobReport.self) { group in
                for _ in 0..<2 { group.addTask { try await db.runtime.jobs.run("reset-free-quota", period: next) } }
                return try await group.reduce(into: [JobReport]()) { $0.append($1) }
            }
            #expect(concurrent.filter { $0.outcome == .done }.count >= 1)
            #expect(try db.count("SELECT count(*) FROM free_quota WHERE period = '2027-03'") == 30_000)
            #expect(try db.count("SELECT count(*) FROM free_quota WHERE period = '2027-04'") == 30_000)
            #expect(try db.count("SELECT count(*) FROM free_quota WHERE period = '2027-04' AND used <> 0") == 0)
            #expect(
                try db.count(
                    "SELECT count(*) FROM free_quota WHERE period = '2027-04' AND service_name = 'passport' AND total = 10000"
                ) == 10_000)
        }
    }

    @Test("pending orders older than the configured age expire; newer ones and finished ones stay")
    func expiry() async throws {
        try await JobsDatabase.with { db in
            try db.admin.query(
                """
                INSERT INTO recharge_order (id, user_id, amount_fen, currency, payment_method, status, created_at, paid_at)
                VALUES ('old', 'u1', 100, 'CNY', 'alipay', 'pending', now() - interval '3 hours', NULL),
                       ('new', 'u1', 100, 'CNY', 'alipay', 'pending', now() - interval '1 hour', NULL),
                       ('paid', 'u1', 100, 'CNY', 'alipay', 'success', now() - interval '3 hours', now())
                """)
            let report = try await db.runtime.jobs.run("expire-recharge-orders")
            #expect(report.description.hasPrefix("1 pending orders"))
            let statuses = try db.admin.query("SELECT id, status FROM recharge_order ORDER BY id").all.map {
                "\(try $0.string(0))=\(try $0.string(1))"
            }
            #expect(statuses == ["new=pending", "old=expired", "paid=success"])
        }
    }

    @Test("reconciliation reports a discrepancy planted by hand, and changes no money")
    func reconcile() async throws {
        try await JobsDatabase.with { db in
            #expect(try await db.runtime.jobs.run("reconcile").outcome == .done)
            try db.admin.query("INSERT INTO user_balance (user_id, balance_fen) VALUES ('thief', 5000)")
            let report = try await db.runtime.jobs.run("reconcile")
            #expect(report.outcome == .attention)
            #expect(report.description.contains("user thief: balance 5000 fen"))
            #expect(try db.count("SELECT balance_fen FROM user_balance WHERE user_id = 'thief'") == 5_000)
        }
    }

    @Test("a job whose lock another instance holds is skipped")
    func lockHeld() async throws {
        try await JobsDatabase.with { db in
            let holder = try PostgresConnection.connect(db.config.postgres)
            try holder.query("SELECT pg_advisory_lock(hashtext('billing-cron:reconcile:' || current_schema()))")
            #expect(try await db.runtime.jobs.run("reconcile").outcome == .skipped)
            try holder.query("SELECT pg_advisory_unlock(hashtext('billing-cron:reconcile:' || current_schema()))")
            holder.close()
            #expect(try await db.runtime.jobs.run("reconcile").outcome == .done)
        }
    }

    @Test("two `billing-cron once reset-free-quota` processes at once create every row once")
    func twoProcesses() async throws {
        try await JobsDatabase.with { db in
            try db.admin.query("INSERT INTO user_balance (user_id) SELECT 'u' || g FROM generate_series(1, 20000) g")
            let binary = JobsDatabase.root.appendingPathComponent(".build/debug/billing-cron").path
            let environment = ProcessInfo.processInfo.environment.merging(db.environment) { _, new in new }
            let outputs = try await withThrowingTaskGroup(of: (Int32, String).self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        // Waited for on a thread of its own, not on the cooperative pool.
                        try await OwnThread.run {
                            let process = Process()
                            process.executableURL = URL(fileURLWithPath: binary)
                            process.arguments = ["once", "reset-free-quota", "--period", "2027-05", "--config", ""]
                            process.environment = environment
                            let pipe = Pipe()
                            process.standardOutput = pipe
                            process.standardError = FileHandle.nullDevice
                            try process.run()
                            let data = pipe.fileHandleForReading.readDataToEndOfFile()
                            process.waitUntilExit()
                            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
                        }
                    }
                }
                return try await group.reduce(into: [(Int32, String)]()) { $0.append($1) }
            }
            #expect(outputs.allSatisfy { $0.0 == 0 }, "\(outputs)")
            let created = outputs.compactMap { output -> Int? in
                guard let range = output.1.range(of: #"(\d+) rows created"#, options: .regularExpression) else { return nil }
                return Int(output.1[range].split(separator: " ")[0])
            }
            #expect(created.reduce(0, +) == 60_000, "\(outputs)")
            #expect(try db.count("SELECT count(*) FROM free_quota WHERE period = '2027-05'") == 60_000)
        }
    }
}

@Suite("The scheduler")
struct SchedulerTests {
    /// A clock that first reports a time far in the past, as after a long pause.
    final class PausedClock: BillingClock {
        private let calls = Mutex(0)
        func now() -> Date {
            let call = calls.withLock { count in
                count += 1
                return count
            }
            return call == 1 ? Date().addingTimeInterval(-2 * 366 * 86_400) : Date()
        }
    }

    @Test("after a pause of two years, the missed yearly run is run once, not once per missed slot")
    func noCatchUpStorm() async throws {
        let counter = RunCounter()
        let job = ScheduledJob(name: "yearly", schedule: try CronExpression("0 0 0 1 1 *")) {
            counter.increment()
            return JobReport(.done, "ticked")
        }
        let scheduler = CronScheduler(jobs: [job], timeZone: .gmt, clock: PausedClock(), logger: .init(label: "test"))
        let task = Task { try await scheduler.run() }
        try await counter.wait(atLeast: 1, within: .seconds(60))
        // A catch-up storm would run it once per missed year, right away.
        try await Task.sleep(for: .seconds(1))
        task.cancel()
        #expect(counter.value == 1)
    }

    @Test("a job on a one-second schedule runs again and again")
    func repeats() async throws {
        let counter = RunCounter()
        let job = ScheduledJob(name: "every-second", schedule: try CronExpression("* * * * * *")) {
            counter.increment()
            return JobReport(.done, "ticked")
        }
        let scheduler = CronScheduler(jobs: [job], timeZone: .gmt, clock: SystemClock(), logger: .init(label: "test"))
        let started = ContinuousClock.now
        let task = Task { try await scheduler.run() }
        try await counter.wait(atLeast: 3, within: .seconds(60))
        task.cancel()
        // Three runs one second apart need at least about two seconds.
        #expect(ContinuousClock.now - started > .milliseconds(1_900))
    }
}

final class RunCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }

    /// Polls until the count reaches `target`; a busy machine may be slow, not wrong (with
    /// the whole suite running on two cores, a one-second timer has fired seconds late: 2 of
    /// 3 runs within 20 s).
    func wait(atLeast target: Int, within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while value < target, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(value >= target, "reached \(value) of \(target) within \(limit)")
    }
}
