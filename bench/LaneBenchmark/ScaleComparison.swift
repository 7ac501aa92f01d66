import BillingCore
import BillingPostgres
import Foundation

/// `BENCH_MODE=scale` (`make bench-scale`): the lanes on the single local PostgreSQL and on
/// the local Citus cluster (coordinator + two workers, `scripts/citus.sh`), in the same run,
/// alternating, with the same users and the same paid deduction. Prints a Markdown table.
enum ScaleComparison {
    static func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let single = PostgresConfig(
            host: "127.0.0.1", port: environment["PGPORT"].flatMap(Int.init) ?? 54329, user: "billing",
            database: "billing", applicationName: "billing-bench")
        let citus = PostgresConfig(
            host: "127.0.0.1", port: environment["BENCH_CITUS_PORT"].flatMap(Int.init) ?? 54340, user: "billing",
            database: "billing", applicationName: "billing-bench")
        let (singleConfig, dropSingle) = try prepare(single, distribute: false)
        defer { dropSingle() }
        let (citusConfig, dropCitus) = try prepare(citus, distribute: true)
        defer { dropCitus() }

        // On Citus a lane transaction holds one shard's users: one lane per shard (32) keeps
        // batches whole; BENCH_CITUS_LANES changes it.
        let citusLanes = Int(environment["BENCH_CITUS_LANES"] ?? "") ?? 32
        print(
            "lanes: \(LaneBenchmark.laneCount) (single), \(citusLanes) (Citus), callers: \(LaneBenchmark.callers), "
                + "\(LaneBenchmark.rounds) rounds of \(LaneBenchmark.seconds) s\n")
        print("| scenario | round | database | deductions/s | p50 ms | p99 ms | ratio |")
        print("|---|---:|---|---:|---:|---:|---:|")
        for (name, userCount) in [("10,000 users", LaneBenchmark.users), ("one hot user", 1)] {
            var singleTotal = 0.0
            var citusTotal = 0.0
            for round in 1...LaneBenchmark.rounds {
                let one = try await LaneBenchmark.runLanes(config: singleConfig, userCount: userCount, service: "passport", batches: nil)
                let batches = BatchSizes()
                let distributed = try await LaneBenchmark.runLanes(
                    config: citusConfig, userCount: userCount, service: "passport", batches: batches, lanes: citusLanes)
                singleTotal += one.rate
                citusTotal += distributed.rate
                print(one.row(name, round, "single PostgreSQL", baseline: one.rate))
                print(distributed.row(name, round, "Citus, 2 workers (\(batches.summary))", baseline: one.rate))
            }
            print("| \(name) | all | Citus ÷ single, summed over rounds | | | | **\(String(format: "%.2f×", citusTotal / singleTotal))** |")
        }
    }

    /// A new schema, migrated, distributed on Citus, with 10,000 rich users whose free quota
    /// is used up; and how to drop it.
    static func prepare(_ base: PostgresConfig, distribute: Bool) throws -> (PostgresConfig, () -> Void) {
        let schema = "bench_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PostgresConnection.connect(base)
        try admin.query("CREATE SCHEMA \(schema)")
        var config = base
        config.schema = schema
        let setup = try PostgresConnection.connect(config)
        defer { setup.close() }
        try Migrator(directory: URL(fileURLWithPath: "sql")).migrate(setup)
        if distribute {
            let script = try String(contentsOfFile: "sql/citus/distribute.sql", encoding: .utf8)
            let code = script.split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: "\n")
            for statement in code.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                try setup.query(String(statement))
            }
        }
        let period = BillingCalendar.platformDefault.period(containing: Date())
        try setup.query(
            "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, $1::int) g",
            [String(LaneBenchmark.users)])
        try setup.query(
            """
            INSERT INTO free_quota (user_id, period, service_name, total, used)
            SELECT 'u' || g, $2, 'passport', 10000, 10000 FROM generate_series(0, $1::int) g
            """, [String(LaneBenchmark.users), period.text])
        return (config, {
            _ = try? admin.query("DROP SCHEMA \(schema) CASCADE")
            admin.close()
        })
    }
}
