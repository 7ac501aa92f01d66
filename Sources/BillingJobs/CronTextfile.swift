import Foundation

/// Each job run's outcome in Prometheus' text format, for node_exporter's textfile
/// collector: when each job last ran and last succeeded, how long it took, whether it
/// failed or needs attention, and what reconciliation found. The file is rewritten whole
/// and renamed into place (the collector never reads half a file); the other jobs' lines
/// are kept, so the daemon and `billing-cron once` can share one file. The job is the
/// `cron_job` label (node_exporter's own scrape already has a `job` label).
public struct CronTextfile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public static let metrics: [(name: String, help: String)] = [
        ("billing_cron_job_last_run_timestamp_seconds", "When the job last finished, successfully or not"),
        ("billing_cron_job_last_success_timestamp_seconds", "When the job last finished without failing"),
        ("billing_cron_job_last_duration_seconds", "How long the job's last run took"),
        ("billing_cron_job_failed", "1 when the job's last run failed"),
        ("billing_cron_job_attention", "1 when the job's last run found something an operator must look at"),
        ("billing_reconcile_discrepancies", "What the last reconciliation found, by kind (0: the ledger explains every balance)"),
        ("billing_reset_rows_created", "Quota rows the last monthly reset created"),
    ]

    /// Records a run of `job`: its report, or nil when it failed.
    public func record(job: String, report: JobReport?, at instant: Date, duration: Duration) throws {
        let label = "cron_job=\"\(job)\""
        var samples = (try? String(contentsOfFile: path, encoding: .utf8))?
            .split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("#") && !$0.isEmpty } ?? []
        let previousSuccess = samples.first {
            $0.hasPrefix("billing_cron_job_last_success_timestamp_seconds{\(label)}")
        }
        samples.removeAll { $0.contains("{\(label)") }
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        samples.append("billing_cron_job_last_run_timestamp_seconds{\(label)} \(Int64(instant.timeIntervalSince1970))")
        if report != nil {
            samples.append("billing_cron_job_last_success_timestamp_seconds{\(label)} \(Int64(instant.timeIntervalSince1970))")
        } else if let previousSuccess {
            samples.append(previousSuccess)
        }
        samples.append("billing_cron_job_last_duration_seconds{\(label)} \(String(format: "%.3f", seconds))")
        samples.append("billing_cron_job_failed{\(label)} \(report == nil ? 1 : 0)")
        samples.append("billing_cron_job_attention{\(label)} \(report?.outcome == .attention ? 1 : 0)")
        for (measurement, value) in (report?.measurements ?? [:]).sorted(by: { $0.key < $1.key }) {
            samples.append("\(measurement.metric){\(label)\(measurement.labels)} \(value)")
        }
        var text = ""
        for metric in Self.metrics {
            let lines = samples.filter { $0.hasPrefix(metric.name + "{") }.sorted()
            guard !lines.isEmpty else { continue }
            text += "# HELP \(metric.name) \(metric.help)\n# TYPE \(metric.name) gauge\n"
            text += lines.joined(separator: "\n") + "\n"
        }
        let temporary = path + ".tmp.\(ProcessInfo.processInfo.processIdentifier)"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }
}

/// A measurement a job reports: a metric name and its extra labels.
public struct JobMeasurement: Sendable, Hashable, Comparable {
    public let metric: String
    /// Extra labels, already formatted (`,kind="balance"`), or empty.
    public let labels: String

    public init(metric: String, labels: [(String, String)] = []) {
        self.metric = metric
        self.labels = labels.map { ",\($0.0)=\"\($0.1)\"" }.joined()
    }

    public static func < (lhs: JobMeasurement, rhs: JobMeasurement) -> Bool {
        (lhs.metric, lhs.labels) < (rhs.metric, rhs.labels)
    }
}
