import BillingConfiguration
import ArgumentParser
import BillingApp
import BillingLogging
import Logging

@main
struct BillingServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billing-server",
        abstract: "The DevShare Billing Service: balances, free quotas, deductions and recharges.",
        subcommands: [Serve.self, Migrate.self],
        defaultSubcommand: Serve.self
    )
}

extension ConfigFileOption {
    func load() async throws -> BillingConfig { try BillingConfig(reader: try await reader()) }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the HTTP API (and apply migrations first).")

    @OptionGroup var options: ConfigFileOption

    @Flag(name: .long, help: "Do not apply migrations on start.")
    var noMigrate = false

    func run() async throws {
        var config = try await options.load()
        if noMigrate { config.database.migrateOnStart = false }
        BillingLogging.bootstrap(format: config.log.format, level: config.log.level)
        let logger = Logger(label: "billing-server")
        logger.notice("mode \(config.modeSummary)")
        let (app, _) = try await BillingApplication.build(config: config, logger: logger)
        logger.info("listening", metadata: ["http": "\(config.http.host):\(config.http.port)"])
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the database migrations in sql/ and exit.")

    @OptionGroup var options: ConfigFileOption

    func run() async throws {
        let config = try await options.load()
        BillingLogging.bootstrap(format: config.log.format, level: config.log.level)
        try await BillingApplication.migrate(config: config, logger: Logger(label: "billing-migrate"))
    }
}
