import ArgumentParser

@main
struct BillingCronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billing-cron",
        abstract: "Scheduled jobs of the Billing Service: monthly free-quota reset, order expiry, reconciliation.",
        subcommands: [Run.self, Once.self]
    )
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the scheduler as a daemon.")

    @Option(name: .long, help: "Path of the YAML configuration file.")
    var config: String = "configs/config.yaml"

    func run() async throws {
        throw NotYetAvailable(what: "the cron scheduler")
    }
}

struct Once: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one job now and exit.")

    @Argument(help: "The job: reset-free-quota, expire-recharge-orders or reconcile.")
    var job: String

    @Option(name: .long, help: "The period YYYY-MM (reset-free-quota only).")
    var period: String?

    @Option(name: .long, help: "Path of the YAML configuration file.")
    var config: String = "configs/config.yaml"

    func run() async throws {
        throw NotYetAvailable(what: "the job '\(job)'")
    }
}

/// Said, with a non-zero exit, by a command whose implementation has not landed yet.
struct NotYetAvailable: Error, CustomStringConvertible {
    let what: String

    var description: String { "\(what) is not available yet (issue #8)" }
}
