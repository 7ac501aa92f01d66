import BillingCore
import BillingPostgres
import Foundation

extension PostgresConfig {
    /// `billing.database.*`: where PostgreSQL is and how long any wait may last.
    public init(_ database: SettingsReader) throws(BillingError) {
        self.init(
            host: database.string("host", default: "127.0.0.1"),
            port: try database.int("port", default: 54_329, in: 1...65_535),
            user: database.string("user", default: "billing"),
            password: database.string("password", isSecret: true),
            database: database.string("name", default: "billing"),
            connectTimeoutSeconds: try database.int("connect_timeout_seconds", default: 5, in: 1...60),
            schema: try Self.schemaName(database.string("schema"), key: database.fullKey("schema")),
            lockTimeoutMilliseconds: try database.int("lock_timeout_ms", default: 2_000, in: 10...600_000),
            statementTimeoutMilliseconds: try database.int("statement_timeout_ms", default: 30_000, in: 100...3_600_000))
    }

    /// A schema name goes into the connection's options: letters, digits and `_` only.
    static func schemaName(_ name: String?, key: String) throws(BillingError) -> String? {
        guard let name else { return nil }
        guard name.utf8.count <= 63, let first = name.unicodeScalars.first, !("0"..."9").contains(first),
            name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") })
        else {
            throw .invalidConfiguration(key: key, reason: "'\(name)' is not a plain schema name")
        }
        return name
    }
}

extension PostgresPool.Settings {
    /// `billing.database.pool_size` and `acquire_timeout_ms`.
    public init(_ database: SettingsReader) throws(BillingError) {
        self.init(
            size: try database.int("pool_size", default: 8, in: 1...256),
            acquireTimeout: .milliseconds(try database.int("acquire_timeout_ms", default: 2_000, in: 1...60_000)))
    }
}

extension DeductionLanes.Settings {
    /// `billing.lanes.*`.
    public init(_ lanes: SettingsReader) throws(BillingError) {
        self.init(
            laneCount: try lanes.int("count", default: DeductionLanes.Settings.defaultLaneCount, in: 1...64),
            maxBatchCount: try lanes.int("max_batch", default: 1_024, in: 1...4_096),
            maxQueuedPerLane: try lanes.int("max_queued", default: 16_384, in: 1...1_000_000),
            knownRows: try lanes.bool("known_rows", default: true))
    }
}
