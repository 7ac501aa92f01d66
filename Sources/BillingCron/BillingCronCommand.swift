import ArgumentParser
import BillingConfiguration
import BillingCore
import BillingJobs
import BillingLogging
import Foundation
import Logging
import ServiceLifecycle

@main
struct BillingCronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billing-cron",
        abstract: "Scheduled jobs of the Billing Service: monthly free-quota reset, order expiry, reconciliation.",
        subcommands: [Run.self, Once.self]
    )
}

extension ConfigFileOption {
    func load() async throws -> CronConfig { try CronConfig(reader: try await reader()) }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the scheduler as a daemon until SIGTERM or SIGINT.")

    @OptionGroup var options: ConfigFileOption

    func run() async throws {
        let config = try await options.load()
        BillingLogging.bootstrap(format: config.log.format, level: config.log.level)
        let logger = Logger(label: "billing-cron")
        logger.notice("mode environment=\(config.environment.rawValue)")
        let runtime = try CronRuntime(config: config)
        for job in runtime.schedules {
            logger.info("scheduled", metadata: ["job": "\(job.name)", "schedule": "\(job.schedule)"])
        }
        let scheduler = CronScheduler(
            jobs: runtime.schedules, timeZone: config.calendar.timeZone, clock: SystemClock(), logger: logger,
            textfile: config.metricsTextfile.map(CronTextfile.init))
        let group = ServiceGroup(
            configuration: .init(
                services: (runtime.services + [scheduler]).map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

struct Once: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one job now and exit: non-zero when it failed or reconciliation found a discrepancy.")

    @Argument(help: "The job: reset-free-quota, expire-recharge-orders or reconcile.")
    var job: String

    @Option(name: .long, help: "The period YYYY-MM (reset-free-quota only; default: the current and the next).")
    var period: String?

    @OptionGroup var options: ConfigFileOption

    func run() async throws {
        guard BillingJobs.names.contains(job) else {
            throw ValidationError("unknown job '\(job)': one of \(BillingJobs.names.joined(separator: ", "))")
        }
        let period = try period.map { text throws(BillingError) in try QuotaPeriod(text: text) }
        let config = try await options.load()
        BillingLogging.bootstrap(format: config.log.format, level: config.log.level)
        let runtime = try CronRuntime(config: config)
        runtime.start()
        let logger = Logger(label: "billing-cron")
        let started = ContinuousClock.now
        let textfile = config.metricsTextfile.map(CronTextfile.init)
        func record(_ report: JobReport?) {
            do {
                try textfile?.record(job: job, report: report, at: Date(), duration: ContinuousClock.now - started)
            } catch {
                logger.warning("metrics textfile not written", metadata: ["error": "\(error)"])
            }
        }
        let report: JobReport
        do {
            report = try await runtime.jobs.run(job, period: period)
        } catch {
            await runtime.shutdown()
            record(nil)
            logger.error("job failed", metadata: ["job": "\(job)", "error": "\(error)"])
            throw ExitCode.failure
        }
        await runtime.shutdown()
        record(report)
        print("\(job): \(report.outcome.rawValue): \(report)")
        if report.outcome == .attention { throw ExitCode(2) }
    }
}
