import Configuration
import Foundation
import SystemPackage

/// Where settings come from, for every executable: environment variables first
/// (`billing.http.port` ← `BILLING_HTTP_PORT`), then the YAML file (if any), then `defaults`.
public enum ConfigSources {
    public static func reader(
        filePath: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        defaults: [AbsoluteConfigKey: ConfigValue] = [:]
    ) async throws -> ConfigReader {
        var providers: [any ConfigProvider] = [EnvironmentVariablesProvider(environmentVariables: environment)]
        if let filePath {
            providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(filePath)))
        }
        providers.append(InMemoryProvider(values: defaults))
        return ConfigReader(providers: providers)
    }
}
