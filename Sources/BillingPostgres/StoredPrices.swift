import BillingCore
import Foundation
import Synchronization

/// The price versions as stored, loaded at most every `refreshInterval` and shared by one
/// process's lanes, checks and operator routes. Versions start at least a minute after
/// they are added, so a copy refreshed every 10 s is never stale when it matters; a load
/// seeds every configured service that has no version yet (from the epoch), which is how
/// configuration becomes the first version.
public final class StoredPrices: Sendable {
    public static let refreshInterval: Duration = .seconds(10)

    public let catalog: ServiceCatalog
    private let loaded = Mutex<(book: PriceBook, at: ContinuousClock.Instant)?>(nil)

    public init(catalog: ServiceCatalog) { self.catalog = catalog }

    /// The book, reloaded on `connection` first when older than `refreshInterval`.
    func book(on connection: PostgresConnection) throws -> PriceBook {
        if let fresh = cached() { return fresh }
        let book = try load(on: connection)
        loaded.withLock { $0 = (book, .now) }
        return book
    }

    /// The book as stored now, whatever the copy's age (operator changes decide on it).
    func reload(on connection: PostgresConnection) throws -> PriceBook {
        let book = try load(on: connection)
        loaded.withLock { $0 = (book, .now) }
        return book
    }

    /// An instant at the database's precision (whole microseconds), so an instant compares
    /// equal to itself after a round trip through a `timestamptz`.
    static func stored(_ instant: Date) -> Date {
        PostgresText.date(microseconds: Int64(PostgresText.microseconds(instant)) ?? 0)
    }

    /// The book when it is fresh enough to use without asking the database.
    func cached() -> PriceBook? {
        loaded.withLock { state in
            guard let state, ContinuousClock.now - state.at < Self.refreshInterval else { return nil }
            return state.book
        }
    }

    /// Seeds what is missing and names every configured service whose configured terms
    /// differ from the stored version in force at `now`: configuration only seeds, so an
    /// operator should know the file no longer says what is charged.
    public func seedAndCompare(on connection: PostgresConnection, at now: Date) throws -> [String] {
        let book = try load(on: connection)
        loaded.withLock { $0 = (book, .now) }
        return catalog.entries.compactMap { entry in
            guard let stored = try? book.version(of: entry.name, at: now),
                stored.price != entry.price || stored.freeCallsPerMonth != entry.freeCallsPerMonth
            else { return nil }
            return "catalog.\(entry.name): configured \(entry.price.yuanText) yuan and \(entry.freeCallsPerMonth) free calls,"
                + " stored version \(stored.id) charges \(stored.price.yuanText) yuan with \(stored.freeCallsPerMonth)"
                + " free calls; the stored version applies (change prices through the admin API)"
        }
    }

    /// Forgets the copy: this process just added a version.
    func invalidate() { loaded.withLock { $0 = nil } }

    /// Not a correlated `NOT EXISTS`: Citus refuses one next to a set-returning function.
    static let seedSQL = """
        INSERT INTO service_price (service_name, effective_from, price_micro_fen, free_calls_per_month, created_by)
        SELECT c.name, 'epoch', c.price, c.free, 'configuration'
        FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS c(name, price, free)
        WHERE c.name NOT IN (SELECT p.service_name FROM service_price AS p)
        ON CONFLICT DO NOTHING
        """

    static let selectSQL = """
        SELECT id, service_name, \(microsecondsColumn("effective_from")), price_micro_fen, free_calls_per_month
        FROM service_price ORDER BY service_name, effective_from
        """

    /// Seeds what is missing, then reads every version (two statements, so a seed committed
    /// meanwhile by another process is read too).
    private func load(on connection: PostgresConnection) throws -> PriceBook {
        let entries = catalog.entries
        try connection.query(
            Self.seedSQL,
            [
                PostgresText.textArray(entries.map(\.name)), PostgresText.int64Array(entries.map(\.price.microFen)),
                PostgresText.int64Array(entries.map(\.freeCallsPerMonth)),
            ])
        let versions = try connection.query(Self.selectSQL).all.map(Self.decodeVersion)
        return PriceBook(catalog: catalog, versions: versions)
    }

    static func decodeVersion(_ row: PostgresRow) throws -> PriceVersion {
        PriceVersion(
            id: try row.int64(0), serviceName: try row.string(1),
            effectiveFrom: PostgresText.date(microseconds: try row.int64(2)),
            price: try UnitPrice(microFen: row.int64(3), field: "service_price.price_micro_fen"),
            freeCallsPerMonth: try row.int64(4))
    }

    static let overrideColumns = """
        id, user_id, service_name, price_micro_fen, \(microsecondsColumn("valid_from")),
            CASE WHEN valid_to IS NULL THEN NULL ELSE \(microsecondsColumn("valid_to")) END
        """

    static func decodeOverride(_ row: PostgresRow) throws -> PriceOverride {
        PriceOverride(
            id: try row.int64(0), userId: try row.string(1), serviceName: try row.string(2),
            price: try UnitPrice(microFen: row.int64(3), field: "user_price.price_micro_fen"),
            from: PostgresText.date(microseconds: try row.int64(4)),
            to: try row.optionalInt64(5).map(PostgresText.date(microseconds:)))
    }
}
