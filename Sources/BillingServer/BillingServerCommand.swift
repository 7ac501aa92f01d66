import ArgumentParser

@main
struct BillingServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billing-server",
        abstract: "The DevShare Billing Service: balances, free quotas, deductions and recharges.",
        subcommands: [Serve.self, Migrate.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the HTTP and gRPC APIs.")

    @Option(name: .long, help: "Path of the YAML configuration file.")
    var config: String = "configs/config.yaml"

    func run() async throws {
        throw NotYetAvailable(what: "serving the HTTP and gRPC APIs", issue: 4)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the database migrations in sql/ and exit.")

    @Option(name: .long, help: "Path of the YAML configuration file.")
    var config: String = "configs/config.yaml"

    func run() async throws {
        throw NotYetAvailable(what: "the migration runner", issue: 3)
    }
}

/// Said, with a non-zero exit, by a command whose implementation has not landed yet.
struct NotYetAvailable: Error, CustomStringConvertible {
    let what: String
    let issue: Int

    var description: String { "\(what) is not available yet (issue #\(issue))" }
}
