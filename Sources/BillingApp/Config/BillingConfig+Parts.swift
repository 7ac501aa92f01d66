import BillingConfiguration
import BillingCore
import BillingPostgres
import BillingRedis
import Foundation

extension BillingConfig {
    /// `billing.http.*`.
    public struct HTTP: Sendable {
        public var host: String
        public var port: Int
        public var bodyLimitBytes: Int

        init(_ http: SettingsReader) throws(BillingError) {
            host = http.string("host", default: "127.0.0.1")
            port = try http.int("port", default: 8107, in: 0...65_535)
            bodyLimitBytes = try http.int("body_limit_bytes", default: 65_536, in: 1_024...1_048_576)
        }
    }

    /// `billing.grpc.*`. Off: the server answers HTTP only.
    public struct GRPC: Sendable {
        public var enabled: Bool
        public var host: String
        public var port: Int

        init(_ grpc: SettingsReader) throws(BillingError) {
            enabled = try grpc.bool("enabled", default: true)
            host = grpc.string("host", default: "127.0.0.1")
            port = try grpc.int("port", default: 9107, in: 0...65_535)
        }
    }

    /// `billing.database.*`: the connection, the pool, the migrations.
    public struct Database: Sendable {
        public var postgres: PostgresConfig
        public var pool: PostgresPool.Settings
        public var migrateOnStart: Bool
        public var migrationsPath: String

        init(_ database: SettingsReader) throws(BillingError) {
            postgres = try PostgresConfig(database)
            pool = try PostgresPool.Settings(database)
            migrateOnStart = try database.bool("migrate_on_start", default: true)
            migrationsPath = database.string("migrations_path", default: "sql")
        }
    }

    /// How deductions reach the database: the group-commit lanes, or the original
    /// transaction per call (a benchmark baseline, development only).
    public enum DeductionStrategy: String, Sendable {
        case lanes
        case perCall = "per_call"

        init(_ root: SettingsReader, environment: Environment) throws(BillingError) {
            guard let strategy = Self(rawValue: root.string("deduction_strategy", default: "lanes")) else {
                throw .invalidConfiguration(key: root.fullKey("deduction_strategy"), reason: "must be lanes or per_call")
            }
            guard strategy == .lanes || environment == .development else {
                throw .invalidConfiguration(
                    key: root.fullKey("deduction_strategy"), reason: "per_call has no idempotency keys: development only")
            }
            self = strategy
        }
    }

    /// `billing.auth.*`: who may call what.
    public struct Auth: Sendable {
        public var allowUserIdParam: Bool
        public var userHeader: String
        /// The gateway's tokens: check and deduct.
        public var internalTokens: [String]
        /// The Payment Service's tokens: an unsigned callback with one of these is accepted.
        /// Gateway tokens never settle payments.
        public var paymentTokens: [String]
        /// The operators' tokens: the admin API (prices, and later adjustments). Empty in
        /// production: no admin call is accepted.
        public var adminTokens: [String]

        /// Public in the repository on purpose, so production refuses it.
        static let developmentInternalToken = "dev-internal-token"
        static let developmentAdminToken = "dev-admin-token"

        init(_ auth: SettingsReader, environment: Environment) throws(BillingError) {
            internalTokens = auth.list("internal_tokens", isSecret: true)
            if internalTokens.isEmpty, environment == .development { internalTokens = [Self.developmentInternalToken] }
            paymentTokens = auth.list("payment_tokens", isSecret: true)
            adminTokens = auth.list("admin_tokens", isSecret: true)
            if adminTokens.isEmpty, environment == .development { adminTokens = [Self.developmentAdminToken] }
            userHeader = auth.string("user_header", default: "X-User-Id")
            guard Self.isHeaderName(userHeader) else {
                throw .invalidConfiguration(key: auth.fullKey("user_header"), reason: "'\(userHeader)' is not a header name")
            }
            allowUserIdParam = try auth.bool("allow_user_id_param", default: environment == .development)
        }

        /// An HTTP field name: one or more token characters (RFC 9110).
        static func isHeaderName(_ name: String) -> Bool {
            !name.isEmpty && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    && (CharacterSet.alphanumerics.contains(scalar) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar))
            }
        }
    }

    /// `billing.payment_service.*`: the Payment Service client and its callbacks.
    public struct PaymentService: Sendable {
        public var host: String
        public var port: Int
        public var timeoutMilliseconds: Int
        public var callbackSecret: String
        public var notifyURL: String
        /// Where the payer's browser goes after paying when the recharge named no return_url.
        public var defaultReturnURL: String?
        public var signatureWindowSeconds: Int

        /// Public in the repository on purpose, so production refuses it.
        static let developmentCallbackSecret = "dev-callback-secret-change-me"

        init(_ payment: SettingsReader, environment: Environment) throws(BillingError) {
            host = payment.string("host", default: "127.0.0.1")
            port = try payment.int("port", default: 9_101, in: 1...65_535)
            timeoutMilliseconds = try payment.int("timeout_ms", default: 5_000, in: 10...120_000)
            callbackSecret =
                payment.string("callback_secret", isSecret: true)
                ?? (environment == .development ? Self.developmentCallbackSecret : "")
            notifyURL = try payment.httpURL("notify_url") ?? "http://127.0.0.1:8107/internal/v1/billing/callback"
            defaultReturnURL = try payment.httpURL("return_url")
            signatureWindowSeconds = try payment.int("signature_window_seconds", default: 300, in: 1...3_600)
        }
    }

    /// `billing.redis.*`: the cache. Off: every read goes to PostgreSQL.
    public struct Redis: Sendable {
        public var enabled: Bool
        public var connection: RedisConfig
        public var poolSize: Int
        public var ttlSeconds: Int
        /// Key prefix: deployments (or test schemas) sharing one Redis must differ.
        public var namespace: String

        init(_ redis: SettingsReader) throws(BillingError) {
            enabled = try redis.bool("enabled", default: true)
            connection = RedisConfig(
                host: redis.string("host", default: "127.0.0.1"),
                port: try redis.int("port", default: 63_799, in: 1...65_535),
                clusterNodes: try Self.clusterNodes(redis.string("cluster_nodes"), key: redis.fullKey("cluster_nodes")),
                connectTimeoutMilliseconds: try redis.int("connect_timeout_ms", default: 200, in: 1...10_000),
                commandTimeoutMilliseconds: try redis.int("command_timeout_ms", default: 200, in: 1...10_000))
            poolSize = try redis.int("pool_size", default: 4, in: 1...64)
            ttlSeconds = try redis.int("ttl_seconds", default: 300, in: 1...86_400)
            namespace = redis.string("namespace", default: "billing")
        }

        /// `cluster_nodes`: `host:port` of some Redis Cluster nodes, comma-separated (empty or
        /// unset: one plain Redis at host and port).
        static func clusterNodes(_ text: String?, key: String) throws(BillingError) -> [RedisNode] {
            guard let text, !text.allSatisfy(\.isWhitespace) else { return [] }
            var nodes: [RedisNode] = []
            for part in text.split(separator: ",") {
                let trimmed = part.trimmingCharacters(in: .whitespaces)
                guard let node = RedisNode(trimmed), !node.host.isEmpty else {
                    throw .invalidConfiguration(key: key, reason: "'\(trimmed)' is not host:port")
                }
                nodes.append(node)
            }
            return nodes
        }
    }
}

extension BillingConfig {
    /// `billing.webhooks.*`: how often the dispatcher looks for work, and the retry delays
    /// (the spec's schedule by default; tests shorten it).
    public struct Webhooks: Sendable {
        public var interval: Duration
        public var schedule: RetrySchedule
        public var timeout: Duration

        init(_ settings: SettingsReader) throws(BillingError) {
            interval = .milliseconds(try settings.int("interval_ms", default: 1_000, in: 10...60_000))
            timeout = .milliseconds(try settings.int("timeout_ms", default: 10_000, in: 100...60_000))
            let delays = settings.list("retry_delays_ms")
            if delays.isEmpty {
                schedule = .standard
            } else {
                var seconds: [TimeInterval] = []
                for text in delays {
                    guard let milliseconds = Int(text), (0...86_400_000).contains(milliseconds) else {
                        throw .invalidConfiguration(
                            key: settings.fullKey("retry_delays_ms"), reason: "'\(text)' is not 0…86400000 milliseconds")
                    }
                    seconds.append(TimeInterval(milliseconds) / 1_000)
                }
                guard seconds.count <= 20 else {
                    throw .invalidConfiguration(key: settings.fullKey("retry_delays_ms"), reason: "at most 20 retries")
                }
                schedule = RetrySchedule(delays: seconds)
            }
        }
    }
}
