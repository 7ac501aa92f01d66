import BillingCore
import BillingJobs
import Foundation
import Testing

@Suite("The cron's outcomes as a node_exporter textfile")
struct CronTextfileTests {
    /// name{labels} → value, for every sample line; HELP and TYPE before each metric's samples.
    static func samples(_ path: String) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var samples: [String: String] = [:]
        var typed: Set<String> = []
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# TYPE ") { typed.insert(String(line.split(separator: " ")[2])) }
            if line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ")
            #expect(parts.count == 2, "\(line)")
            let name = String(parts[0].prefix { $0 != "{" })
            #expect(typed.contains(name), "\(name) has a TYPE line before its samples")
            samples[String(parts[0])] = String(parts[1])
        }
        return samples
    }

    @Test("reconcile's findings, a failed run keeping the last success, and the other jobs' lines kept")
    func record() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("billing-cron-\(UUID()).prom").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = CronTextfile(path: path)
        let kind = { (name: String) in JobMeasurement(metric: "billing_reconcile_discrepancies", labels: [("kind", name)]) }
        try file.record(
            job: "reconcile", report: JobReport(.attention, "1 balance discrepancy", measurements: [kind("balance"): 1, kind("carry"): 0]),
            at: Date(timeIntervalSince1970: 1_000), duration: .milliseconds(1_500))
        try file.record(
            job: "reset-free-quota", report: JobReport(.done, "ok", measurements: [JobMeasurement(metric: "billing_reset_rows_created"): 42]),
            at: Date(timeIntervalSince1970: 2_000), duration: .seconds(3))
        try file.record(job: "reset-free-quota", report: nil, at: Date(timeIntervalSince1970: 3_000), duration: .seconds(1))

        let samples = try Self.samples(path)
        #expect(samples[#"billing_reconcile_discrepancies{cron_job="reconcile",kind="balance"}"#] == "1")
        #expect(samples[#"billing_reconcile_discrepancies{cron_job="reconcile",kind="carry"}"#] == "0")
        #expect(samples[#"billing_cron_job_attention{cron_job="reconcile"}"#] == "1")
        #expect(samples[#"billing_cron_job_last_duration_seconds{cron_job="reconcile"}"#] == "1.500")
        #expect(samples[#"billing_cron_job_failed{cron_job="reset-free-quota"}"#] == "1")
        #expect(samples[#"billing_cron_job_last_run_timestamp_seconds{cron_job="reset-free-quota"}"#] == "3000")
        #expect(samples[#"billing_cron_job_last_success_timestamp_seconds{cron_job="reset-free-quota"}"#] == "2000")
        #expect(samples[#"billing_reset_rows_created{cron_job="reset-free-quota"}"#] == nil, "a failed run measured nothing")
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp.\(ProcessInfo.processInfo.processIdentifier)"))
    }

    @Test("the scheduler writes it after a real reconcile against PostgreSQL: a clean ledger is all zeros")
    func afterReconcile() async throws {
        try await JobsDatabase.with { db in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("billing-cron-\(UUID()).prom").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let job = ScheduledJob(name: "reconcile", schedule: try CronExpression("0 30 3 * * *")) {
                try await db.runtime.jobs.run("reconcile")
            }
            #expect(await CronScheduler.runLogged(job, logger: .init(label: "test"), textfile: CronTextfile(path: path)) != nil)
            let samples = try Self.samples(path)
            for kind in ["balance", "carry", "held", "overused_quota", "answer"] {
                #expect(samples[#"billing_reconcile_discrepancies{cron_job="reconcile",kind="\#(kind)"}"#] == "0", "\(kind)")
            }
            #expect(samples[#"billing_cron_job_failed{cron_job="reconcile"}"#] == "0")
        }
    }
}
