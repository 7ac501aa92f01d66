/// Where and how to connect. Values go to libpq as separate keywords, never spliced into
/// a connection string.
public struct PostgresConfig: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var connectTimeoutSeconds: Int
    public var applicationName: String
    /// The schema searched first (tests give each suite its own); nil means the default.
    public var schema: String?
    /// How long a statement waits for a row lock before failing with 55P03 (nil: forever).
    /// Bounds every wait, so one stuck lock cannot stall a lane.
    public var lockTimeoutMilliseconds: Int?
    /// How long one statement may run (nil: no limit; migrations and the cron's long jobs).
    public var statementTimeoutMilliseconds: Int?
    /// TCP keepalive idle seconds: a peer that vanished is noticed within about
    /// idle + 3 × 10 s instead of the kernel's two hours.
    public var keepaliveIdleSeconds: Int

    public init(
        host: String = "127.0.0.1", port: Int = 54329, user: String = "billing", password: String? = nil,
        database: String = "billing", connectTimeoutSeconds: Int = 5, applicationName: String = "billing-service",
        schema: String? = nil, lockTimeoutMilliseconds: Int? = nil, statementTimeoutMilliseconds: Int? = nil,
        keepaliveIdleSeconds: Int = 30
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.applicationName = applicationName
        self.schema = schema
        self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.keepaliveIdleSeconds = keepaliveIdleSeconds
    }

    /// The same server without a statement time limit: for migrations and batch jobs whose
    /// statements are long by nature (their lock waits stay bounded).
    public var withoutStatementTimeout: PostgresConfig {
        var config = self
        config.statementTimeoutMilliseconds = nil
        return config
    }
}
