import BillingCore
import Foundation
import Logging
import ServiceLifecycle

/// A job the scheduler runs on its schedule.
public struct ScheduledJob: Sendable {
    public let name: String
    public let schedule: CronExpression
    public let run: @Sendable () async throws -> JobReport

    public init(name: String, schedule: CronExpression, run: @escaping @Sendable () async throws -> JobReport) {
        self.name = name
        self.schedule = schedule
        self.run = run
    }
}

/// What a job run did, for the log and the exit code.
public struct JobReport: Sendable, Hashable, CustomStringConvertible {
    public enum Outcome: String, Sendable {
        case done
        /// Another instance held the job's lock.
        case skipped
        /// The job ran and found something an operator must look at (reconciliation).
        case attention
    }

    public let outcome: Outcome
    public let description: String
    /// Numbers for the metrics textfile (reconcile's discrepancies, the reset's rows).
    public let measurements: [JobMeasurement: Int64]

    public init(_ outcome: Outcome, _ description: String, measurements: [JobMeasurement: Int64] = [:]) {
        self.outcome = outcome
        self.description = description
        self.measurements = measurements
    }
}

/// Runs each job at its next fire time, one run at a time per job. After a pause (a
/// suspended machine, a long job) a missed fire time is run once and logged, never
/// replayed for every missed slot. On graceful shutdown no new run starts; a running job
/// finishes first.
public struct CronScheduler: Service {
    /// A fire time this far in the past counts as missed (logged, run once).
    public static let missedAfter: TimeInterval = 60
    /// Sleeps are cut into slices so a wall-clock change is noticed within one.
    static let maxSleepSeconds: TimeInterval = 30

    let jobs: [ScheduledJob]
    let timeZone: TimeZone
    let clock: any BillingClock
    let logger: Logger
    let textfile: CronTextfile?

    public init(
        jobs: [ScheduledJob], timeZone: TimeZone, clock: any BillingClock, logger: Logger, textfile: CronTextfile? = nil
    ) {
        self.jobs = jobs
        self.timeZone = timeZone
        self.clock = clock
        self.logger = logger
        self.textfile = textfile
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for job in jobs {
                group.addTask { await self.loop(job) }
            }
        }
    }

    private func loop(_ job: ScheduledJob) async {
        var after = clock.now()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            guard let fireTime = job.schedule.nextFire(after: after, in: timeZone) else {
                logger.error("job never fires", metadata: ["job": "\(job.name)", "schedule": "\(job.schedule)"])
                return
            }
            do {
                try await cancelWhenGracefulShutdown { try await self.sleep(until: fireTime) }
            } catch {
                return
            }
            let now = clock.now()
            if now.timeIntervalSince(fireTime) > Self.missedAfter {
                logger.warning(
                    "missed fire time, running once now",
                    metadata: ["job": "\(job.name)", "missed": "\(fireTime)"])
            }
            await Self.runLogged(job, logger: logger, textfile: textfile, clock: clock)
            // The next fire time counts from now: slots missed meanwhile are not replayed.
            after = max(fireTime, clock.now())
        }
    }

    private func sleep(until fireTime: Date) async throws {
        while true {
            let remaining = fireTime.timeIntervalSince(clock.now())
            if remaining <= 0 { return }
            try await Task.sleep(for: .seconds(min(remaining, Self.maxSleepSeconds)))
        }
    }

    /// Runs a job and logs its outcome; a failure is logged, never thrown, so one job's
    /// failure does not stop the others.
    @discardableResult
    public static func runLogged(
        _ job: ScheduledJob, logger: Logger, textfile: CronTextfile? = nil, clock: any BillingClock = SystemClock()
    ) async -> JobReport? {
        let started = ContinuousClock.now
        let report = await runReporting(job, logger: logger, started: started)
        if let textfile {
            do {
                try textfile.record(job: job.name, report: report, at: clock.now(), duration: ContinuousClock.now - started)
            } catch {
                logger.warning("metrics textfile not written", metadata: ["path": "\(textfile.path)", "error": "\(error)"])
            }
        }
        return report
    }

    private static func runReporting(_ job: ScheduledJob, logger: Logger, started: ContinuousClock.Instant) async
        -> JobReport?
    {
        do {
            let report = try await job.run()
            let level: Logger.Level = report.outcome == .attention ? .error : .info
            logger.log(
                level: level, "job finished",
                metadata: [
                    "job": "\(job.name)", "outcome": "\(report.outcome.rawValue)", "report": "\(report)",
                    "duration": "\(ContinuousClock.now - started)",
                ])
            return report
        } catch {
            logger.error("job failed", metadata: ["job": "\(job.name)", "error": "\(error)"])
            return nil
        }
    }
}
