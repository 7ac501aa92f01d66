import BillingCore
import BillingPostgres
import Foundation
import Synchronization

/// Deductions per second through the store (no network server): the group-commit lanes
/// against the original design (one transaction per deduction with SELECT … FOR UPDATE),
/// on the same database in the same run. Prints a Markdown table.
@main
struct LaneBenchmark {
    static let callers = 64
    static let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "") ?? 5
    static let users = 10_000
    static let laneCount =
        Int(ProcessInfo.processInfo.environment["BENCH_LANES"] ?? "") ?? DeductionLanes.Settings.defaultLaneCount
    /// Designs alternate this many times per scenario, so a slow phase of the machine
    /// (a checkpoint, another process) does not land on one design only.
    static let rounds = 2
    /// passport at 1 fen (its free quota used up below) and tokens at 0.3 fen with no free
    /// calls: the same paid deduction, once at a whole-fen price and once with a carry to keep.
    static let catalog = try! ServiceCatalog(entries: [
        CatalogEntry(name: "passport", priceFen: Fen(1), freeCallsPerMonth: 10_000),
        CatalogEntry(name: "tokens", price: try! UnitPrice(yuanText: "0.003"), freeCallsPerMonth: 0),
    ])

    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        if environment["BENCH_MODE"] == "scale" { return try await ScaleComparison.run() }
        let schema = "bench_\(UInt32.random(in: 0...UInt32.max))"
        var config = PostgresConfig(
            host: environment["PGHOST"] ?? "127.0.0.1", port: environment["PGPORT"].flatMap(Int.init) ?? 54329,
            user: environment["PGUSER"] ?? "billing", database: environment["PGDATABASE"] ?? "billing",
            applicationName: "billing-bench")
        let admin = try PostgresConnection.connect(config)
        try admin.query("CREATE SCHEMA \(schema)")
        defer {
            _ = try? admin.query("DROP SCHEMA \(schema) CASCADE")
            admin.close()
        }
        config.schema = schema
        let setup = try PostgresConnection.connect(config)
        try Migrator(directory: URL(fileURLWithPath: "sql")).migrate(setup)
        let period = BillingCalendar.platformDefault.period(containing: Date())
        // Every user rich and with the free quota used up, so every deduction is a paid one.
        try setup.query(
            """
            INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, $1::int) g
            """, [String(users)])
        try setup.query(
            """
            INSERT INTO free_quota (user_id, period, service_name, total, used)
            SELECT 'u' || g, $2, s.name, s.total, s.total FROM generate_series(0, $1::int) g,
                (VALUES ('passport', 10000), ('tokens', 0)) AS s(name, total)
            """, [String(users), period.text])
        setup.close()

        print("lanes: \(laneCount), callers: \(callers), \(rounds) rounds of \(seconds) s per design and scenario\n")
        print("| scenario | round | design | deductions/s | p50 ms | p99 ms | ratio |")
        print("|---|---:|---|---:|---:|---:|---:|")
        for (name, userCount) in [("10,000 users", users), ("one hot user", 1)] {
            var naiveTotal = 0.0
            var lanesTotal = 0.0
            var subFenTotal = 0.0
            let batches = BatchSizes()
            for round in 1...rounds {
                let naive = try await runNaive(config: config, userCount: userCount)
                let grouped = try await runLanes(config: config, userCount: userCount, service: "passport", batches: batches)
                let subFen = try await runLanes(config: config, userCount: userCount, service: "tokens", batches: nil)
                naiveTotal += naive.rate
                lanesTotal += grouped.rate
                subFenTotal += subFen.rate
                print(naive.row(name, round, "naive (tx per deduction)", baseline: naive.rate))
                print(grouped.row(name, round, "lanes (group commit)", baseline: naive.rate))
                print(subFen.row(name, round, "lanes, 0.3 fen a call (carry kept)", baseline: naive.rate))
            }
            print("| \(name) | all | lanes ÷ naive, summed over rounds | | | | **\(String(format: "%.1f×", lanesTotal / naiveTotal))** |")
            print("| \(name) | all | lanes at 0.3 fen ÷ lanes at 1 fen | | | | **\(String(format: "%.2f×", subFenTotal / lanesTotal))** |")
            print("| \(name) | all | lane batch sizes: \(batches.summary) | | | | |")
        }

        print("\n| scenario | round | design | authorize+settle pairs/s | p50 ms | p99 ms | ratio |")
        print("|---|---:|---|---:|---:|---:|---:|")
        for (name, userCount) in [("10,000 users", users), ("one hot user", 1)] {
            var perCallTotal = 0.0
            var lanesTotal = 0.0
            for round in 1...rounds {
                let perCall = try await HoldPairs.perCall(config: config, userCount: userCount)
                let grouped = try await HoldPairs.lanes(config: config, userCount: userCount)
                perCallTotal += perCall.rate
                lanesTotal += grouped.rate
                print(perCall.row(name, round, "two per-call transactions", baseline: perCall.rate))
                print(grouped.row(name, round, "lanes (group commit)", baseline: perCall.rate))
            }
            print("| \(name) | all | lanes ÷ per-call, summed over rounds | | | | **\(String(format: "%.1f×", lanesTotal / perCallTotal))** |")
        }
    }

    /// The lanes charging `service` for `seconds`.
    static func runLanes(
        config: PostgresConfig, userCount: Int, service: String, batches: BatchSizes?, lanes laneCount: Int = laneCount
    ) async throws -> Measurement {
        let lanes = DeductionLanes(
            config: config, catalog: catalog, calendar: .platformDefault, clock: SystemClock(),
            settings: .init(laneCount: laneCount), observer: batches
        ).started()
        let measurement = try await run(userCount: userCount) { user in
            _ = try await lanes.deduct(DeductionRequest(userId: user, serviceName: service, count: 1))
        }
        await lanes.shutdown()
        return measurement
    }

    static func runNaive(config: PostgresConfig, userCount: Int) async throws -> Measurement {
        let pool = PostgresPool(config: config, settings: .init(size: callers)).started()
        let naive = PerCallDeductionLedger(
            pool: pool, catalog: catalog, calendar: .platformDefault, clock: SystemClock())
        let measurement = try await run(userCount: userCount) { user in
            _ = try await naive.deduct(DeductionRequest(userId: user, serviceName: "passport", count: 1))
        }
        await pool.shutdown()
        return measurement
    }

    /// Runs `callers` concurrent loops for `seconds`, timing every call.
    static func run(userCount: Int, _ call: @escaping @Sendable (String) async throws -> Void) async throws
        -> Measurement
    {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var mine: [Duration] = []
                    var index = caller
                    while ContinuousClock.now < deadline {
                        let user = "u\(index % userCount)"
                        index += callers
                        let begin = ContinuousClock.now
                        try await call(user)
                        mine.append(ContinuousClock.now - begin)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }
        }
        return Measurement(latencies: latencies.sorted(), elapsed: ContinuousClock.now - started)
    }
}

struct Measurement {
    let latencies: [Duration]
    let elapsed: Duration

    var rate: Double { Double(latencies.count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) }

    func percentile(_ p: Double) -> String {
        guard !latencies.isEmpty else { return "-" }
        let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        let milliseconds = Double(value.components.seconds) * 1000 + Double(value.components.attoseconds) / 1e15
        return String(format: "%.2f", milliseconds)
    }

    func row(_ scenario: String, _ round: Int, _ design: String, baseline: Double) -> String {
        "| \(scenario) | \(round) | \(design) | \(Int(rate)) | \(percentile(0.5)) | \(percentile(0.99)) | \(String(format: "%.1f×", rate / baseline)) |"
    }
}

final class BatchSizes: LaneObserver {
    private let sizes = Mutex<[Int]>([])

    func batchCommitted(lane: Int, size: Int, attempts: Int) { sizes.withLock { $0.append(size) } }
    func batchFailed(lane: Int, size: Int, error: BillingError) {}

    var summary: String {
        let all = sizes.withLock { $0 }.sorted()
        guard !all.isEmpty else { return "none" }
        return "\(all.count) batches, median \(all[all.count / 2]), p90 \(all[all.count * 9 / 10]), max \(all.last ?? 0)"
    }
}
