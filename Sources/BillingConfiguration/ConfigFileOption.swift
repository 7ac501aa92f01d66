import ArgumentParser
import Configuration

/// `--config FILE` for every executable. No default: without it (or with `--config ''`)
/// the `BILLING_…` environment variables alone configure.
public struct ConfigFileOption: ParsableArguments {
    @Option(
        name: .long,
        help: """
            Path of the YAML configuration file (configs/config.yaml for development); without it (or empty), \
            BILLING_… environment variables alone configure. They override the file.
            """)
    public var config: String?

    public init() {}

    /// The settings: environment variables over the file (if any).
    public func reader() async throws -> ConfigReader {
        try await ConfigSources.reader(filePath: config.flatMap { $0.isEmpty ? nil : $0 })
    }
}
