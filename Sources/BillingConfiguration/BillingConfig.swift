import BillingCore
import BillingPostgres
import BillingRedis
import Configuration
import Foundation
import SystemPackage

/// Every setting of the server, read once at start and validated: a bad value stops
/// the start with a message naming its key. Keys live under `billing.`; each can be
/// overridden by an environment variable (`billing.http.port` → `BILLING_HTTP_PORT`).
public struct BillingConfig: Sendable {
    public enum Environment: String, Sendable {
        case development, production
    }

    public struct HTTP: Sendable {
        public var host: String
        public var port: Int
        public var bodyLimitBytes: Int
    }

    public struct GRPC: Sendable {
        /// Off: the server answers HTTP only.
        public var enabled: Bool
        public var host: String
        public var port: Int
    }

    public struct Database: Sendable {
        public var postgres: PostgresConfig
        public var pool: PostgresPool.Settings
        public var migrateOnStart: Bool
        public var migrationsPath: String
    }

    public struct Auth: Sendable {
        public var allowUserIdParam: Bool
        public var userHeader: String
        /// The gateway's tokens: check and deduct.
        public var internalTokens: [String]
        /// The Payment Service's tokens: an unsigned callback with one of these is accepted.
        /// Gateway tokens never settle payments.
        public var paymentTokens: [String]
    }

    public struct PaymentService: Sendable {
        public var host: String
        public var port: Int
        public var timeoutMilliseconds: Int
        public var callbackSecret: String
        public var notifyURL: String
        /// Where the payer's browser goes after paying when the recharge named no return_url.
        public var defaultReturnURL: String?
        public var signatureWindowSeconds: Int
    }

    /// How deductions reach the database: the group-commit lanes, or the original
    /// transaction per call (a benchmark baseline, development only).
    public enum DeductionStrategy: String, Sendable {
        case lanes
        case perCall = "per_call"
    }

    public struct Redis: Sendable {
        /// Off: every read goes to PostgreSQL.
        public var enabled: Bool
        public var connection: RedisConfig
        public var poolSize: Int
        public var ttlSeconds: Int
        /// Key prefix: deployments (or test schemas) sharing one Redis must differ.
        public var namespace: String
    }

    /// The cron's schedules (six-field cron expressions, checked by billing-cron at start).
    public struct Cron: Sendable {
        public var schedules: [String: String]
        public var orderMaxAgeMinutes: Int
    }

    public var environment: Environment
    public var deductionStrategy: DeductionStrategy
    public var cron: Cron
    public var http: HTTP
    public var grpc: GRPC
    public var database: Database
    public var lanes: DeductionLanes.Settings
    public var auth: Auth
    public var paymentService: PaymentService
    public var redis: Redis
    public var catalog: ServiceCatalog
    public var calendar: BillingCalendar

    /// Secrets that make development work out of the box; refused in production.
    static let developmentInternalToken = "dev-internal-token"
    static let developmentCallbackSecret = "dev-callback-secret-change-me"

    public init(reader: ConfigReader) throws(BillingError) {
        let root = SettingsReader(reader: reader)
        // No default: a deployment that forgot the setting must not silently run with the
        // development secrets (the development file sets it).
        guard let environmentText = root.string("environment") else {
            throw .invalidConfiguration(key: "billing.environment", reason: "is required: development or production")
        }
        guard let environment = Environment(rawValue: environmentText) else {
            throw .invalidConfiguration(key: "billing.environment", reason: "must be development or production")
        }
        self.environment = environment
        calendar = try BillingCalendar(
            timeZoneIdentifier: root.string("time_zone", default: "Asia/Shanghai"), configKey: "billing.time_zone")

        let http = root.scoped("http")
        self.http = HTTP(
            host: http.string("host", default: "127.0.0.1"),
            port: try http.int("port", default: 8107, in: 0...65_535),
            bodyLimitBytes: try http.int("body_limit_bytes", default: 65_536, in: 1_024...1_048_576))

        let grpc = root.scoped("grpc")
        self.grpc = GRPC(
            enabled: try grpc.bool("enabled", default: true),
            host: grpc.string("host", default: "127.0.0.1"),
            port: try grpc.int("port", default: 9107, in: 0...65_535))

        let database = root.scoped("database")
        self.database = Database(
            postgres: PostgresConfig(
                host: database.string("host", default: "127.0.0.1"),
                port: try database.int("port", default: 54_329, in: 1...65_535),
                user: database.string("user", default: "billing"),
                password: database.string("password", isSecret: true),
                database: database.string("name", default: "billing"),
                connectTimeoutSeconds: try database.int("connect_timeout_seconds", default: 5, in: 1...60),
                schema: try Self.schemaName(database.string("schema")),
                lockTimeoutMilliseconds: try database.int("lock_timeout_ms", default: 2_000, in: 10...600_000),
                statementTimeoutMilliseconds: try database.int(
                    "statement_timeout_ms", default: 30_000, in: 100...3_600_000)),
            pool: PostgresPool.Settings(
                size: try database.int("pool_size", default: 8, in: 1...256),
                acquireTimeout: .milliseconds(try database.int("acquire_timeout_ms", default: 2_000, in: 1...60_000))),
            migrateOnStart: try database.bool("migrate_on_start", default: true),
            migrationsPath: database.string("migrations_path", default: "sql"))

        let strategyText = root.string("deduction_strategy", default: "lanes")
        guard let strategy = DeductionStrategy(rawValue: strategyText) else {
            throw .invalidConfiguration(key: "billing.deduction_strategy", reason: "must be lanes or per_call")
        }
        guard strategy == .lanes || environment == .development else {
            throw .invalidConfiguration(
                key: "billing.deduction_strategy", reason: "per_call has no idempotency keys: development only")
        }
        deductionStrategy = strategy

        let lanes = root.scoped("lanes")
        self.lanes = DeductionLanes.Settings(
            laneCount: try lanes.int("count", default: DeductionLanes.Settings.defaultLaneCount, in: 1...64),
            maxBatchCount: try lanes.int("max_batch", default: 256, in: 1...4_096),
            maxQueuedPerLane: try lanes.int("max_queued", default: 4_096, in: 1...1_000_000))

        let auth = root.scoped("auth")
        var tokens = auth.list("internal_tokens", isSecret: true)
        if tokens.isEmpty, environment == .development { tokens = [Self.developmentInternalToken] }
        let userHeader = auth.string("user_header", default: "X-User-Id")
        guard Self.isHeaderName(userHeader) else {
            throw .invalidConfiguration(key: "billing.auth.user_header", reason: "'\(userHeader)' is not a header name")
        }
        self.auth = Auth(
            allowUserIdParam: try auth.bool("allow_user_id_param", default: environment == .development),
            userHeader: userHeader, internalTokens: tokens, paymentTokens: auth.list("payment_tokens", isSecret: true))

        let payment = root.scoped("payment_service")
        let secret =
            payment.string("callback_secret", isSecret: true)
            ?? (environment == .development ? Self.developmentCallbackSecret : "")
        paymentService = PaymentService(
            host: payment.string("host", default: "127.0.0.1"),
            port: try payment.int("port", default: 9_101, in: 1...65_535),
            timeoutMilliseconds: try payment.int("timeout_ms", default: 5_000, in: 10...120_000),
            callbackSecret: secret,
            notifyURL: try payment.httpURL("notify_url") ?? "http://127.0.0.1:8107/internal/v1/billing/callback",
            defaultReturnURL: try payment.httpURL("return_url"),
            signatureWindowSeconds: try payment.int("signature_window_seconds", default: 300, in: 1...3_600))

        catalog = try Self.catalog(root.scoped("catalog"))

        let redis = root.scoped("redis")
        self.redis = Redis(
            enabled: try redis.bool("enabled", default: true),
            connection: RedisConfig(
                host: redis.string("host", default: "127.0.0.1"),
                port: try redis.int("port", default: 63_799, in: 1...65_535),
                connectTimeoutMilliseconds: try redis.int("connect_timeout_ms", default: 200, in: 1...10_000),
                commandTimeoutMilliseconds: try redis.int("command_timeout_ms", default: 200, in: 1...10_000)),
            poolSize: try redis.int("pool_size", default: 4, in: 1...64),
            ttlSeconds: try redis.int("ttl_seconds", default: 300, in: 1...86_400),
            namespace: redis.string("namespace", default: "billing"))

        let cron = root.scoped("cron")
        self.cron = Cron(
            schedules: [
                "reset-free-quota": cron.string("reset_free_quota", default: "0 0 0 1 * *"),
                "expire-recharge-orders": cron.string("expire_recharge_orders", default: "0 */5 * * * *"),
                "reconcile": cron.string("reconcile", default: "0 30 3 * * *"),
            ],
            orderMaxAgeMinutes: try cron.int("order_max_age_minutes", default: 120, in: 1...43_200))
        try validateSecrets()
    }

    /// The one line said at start-up, so an operator sees which rules apply.
    public var modeSummary: String {
        "environment=\(environment.rawValue) allow_user_id_param=\(auth.allowUserIdParam) user_header=\(auth.userHeader)"
            + " internal_tokens=\(auth.internalTokens.count) payment_tokens=\(auth.paymentTokens.count)"
            + " deduction_strategy=\(deductionStrategy.rawValue)"
    }

    /// A schema name goes into the connection's options: letters, digits and `_` only.
    static func schemaName(_ name: String?) throws(BillingError) -> String? {
        guard let name else { return nil }
        guard name.utf8.count <= 63, let first = name.unicodeScalars.first, !("0"..."9").contains(first),
            name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") })
        else {
            throw .invalidConfiguration(key: "billing.database.schema", reason: "'\(name)' is not a plain schema name")
        }
        return name
    }

    /// An HTTP field name: one or more token characters (RFC 9110).
    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar))
        }
    }

    private func validateSecrets() throws(BillingError) {
        guard environment == .production else { return }
        guard !auth.internalTokens.isEmpty else {
            throw .invalidConfiguration(key: "billing.auth.internal_tokens", reason: "required in production")
        }
        for token in auth.internalTokens where token.utf8.count < 16 || token == Self.developmentInternalToken {
            throw .invalidConfiguration(
                key: "billing.auth.internal_tokens", reason: "each token needs at least 16 characters in production")
        }
        for token in auth.paymentTokens where token.utf8.count < 16 || token == Self.developmentInternalToken {
            throw .invalidConfiguration(
                key: "billing.auth.payment_tokens", reason: "each token needs at least 16 characters in production")
        }
        guard Set(auth.paymentTokens).isDisjoint(with: auth.internalTokens) else {
            throw .invalidConfiguration(
                key: "billing.auth.payment_tokens", reason: "must differ from the gateway's internal tokens")
        }
        guard !auth.allowUserIdParam else {
            throw .invalidConfiguration(
                key: "billing.auth.allow_user_id_param",
                reason: "must be false in production: the user comes from the gateway's header")
        }
        guard paymentService.callbackSecret.utf8.count >= 16,
            paymentService.callbackSecret != Self.developmentCallbackSecret
        else {
            throw .invalidConfiguration(
                key: "billing.payment_service.callback_secret", reason: "required in production, at least 16 characters")
        }
    }

    /// `catalog.services` lists the names; `catalog.NAME.price_fen` and
    /// `catalog.NAME.free_calls_per_month` give each one. Without a list, the platform default.
    private static func catalog(_ settings: SettingsReader) throws(BillingError) -> ServiceCatalog {
        let names = settings.list("services")
        guard !names.isEmpty else { return .platformDefault }
        var entries: [CatalogEntry] = []
        for name in names {
            let service = settings.scoped(name)
            guard let price = try service.int64("price_fen", in: 0...ServiceCatalog.maxPriceFen.value) else {
                throw .invalidConfiguration(key: service.fullKey("price_fen"), reason: "is required")
            }
            guard let free = try service.int64("free_calls_per_month", in: 0...ServiceCatalog.maxFreeCallsPerMonth) else {
                throw .invalidConfiguration(key: service.fullKey("free_calls_per_month"), reason: "is required")
            }
            entries.append(CatalogEntry(name: name, priceFen: Fen(price), freeCallsPerMonth: free))
        }
        return try ServiceCatalog(entries: entries, configKey: "billing.catalog")
    }

    /// Environment first, then the YAML file (if any), then `defaults`.
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
