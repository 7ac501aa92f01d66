import BillingConfiguration
import BillingCore
import BillingPostgres
import BillingRedis
import Configuration
import Foundation

/// Every setting of the server, read once at start and validated: a bad value stops the
/// start with a message naming its key. Keys live under `billing.`; each can be overridden
/// by an environment variable (`billing.http.port` → `BILLING_HTTP_PORT`). Each part reads
/// its own scope (`HTTP(settings.scoped("http"))`, `PostgresConfig(…)`, …).
public struct BillingConfig: Sendable {
    public typealias Environment = DeploymentEnvironment

    public var environment: Environment
    public var deductionStrategy: DeductionStrategy
    public var http: HTTP
    public var grpc: GRPC
    public var database: Database
    public var lanes: DeductionLanes.Settings
    public var auth: Auth
    public var paymentService: PaymentService
    public var redis: Redis
    public var catalog: ServiceCatalog
    public var calendar: BillingCalendar
    public var webhooks: Webhooks
    public var log: LogSettings

    public init(reader: ConfigReader) throws(BillingError) {
        let root = SettingsReader(reader: reader)
        environment = try Environment(root)
        calendar = try BillingCalendar(root)
        http = try HTTP(root.scoped("http"))
        grpc = try GRPC(root.scoped("grpc"))
        database = try Database(root.scoped("database"))
        deductionStrategy = try DeductionStrategy(root, environment: environment)
        lanes = try DeductionLanes.Settings(root.scoped("lanes"))
        auth = try Auth(root.scoped("auth"), environment: environment)
        paymentService = try PaymentService(root.scoped("payment_service"), environment: environment)
        catalog = try ServiceCatalog(root.scoped("catalog"))
        redis = try Redis(root.scoped("redis"))
        webhooks = try Webhooks(root.scoped("webhooks"))
        log = try LogSettings(root.scoped("log"))
        try ProductionRules.check(self)
    }

    /// Environment first, then the YAML file (if any), then `defaults`.
    public static func reader(
        filePath: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        defaults: [AbsoluteConfigKey: ConfigValue] = [:]
    ) async throws -> ConfigReader {
        try await ConfigSources.reader(filePath: filePath, environment: environment, defaults: defaults)
    }

    /// The one line said at start-up, so an operator sees which rules apply.
    public var modeSummary: String {
        "environment=\(environment.rawValue) allow_user_id_param=\(auth.allowUserIdParam) user_header=\(auth.userHeader)"
            + " internal_tokens=\(auth.internalTokens.count) payment_tokens=\(auth.paymentTokens.count)"
            + " admin_tokens=\(auth.adminTokens.count)"
            + " deduction_strategy=\(deductionStrategy.rawValue)"
    }
}
