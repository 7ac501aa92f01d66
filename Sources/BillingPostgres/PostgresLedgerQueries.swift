import BillingCore
import Foundation

/// Records and statistics, read from the ledger with the indexes of 0001_ledger.sql.
public struct PostgresLedgerQueries: LedgerQueries {
    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    // One SQL text for every filter combination: an absent filter is a NULL parameter.
    private static let filters = """
        user_id = $1
        AND ($2::text IS NULL OR service_name = $2)
        AND ($3::smallint IS NULL OR type = $3)
        AND ($4::text IS NULL OR app_id = $4)
        AND ($5::bigint IS NULL OR created_at >= \(timestampParameter(5)))
        AND ($6::bigint IS NULL OR created_at < \(timestampParameter(6)))
        """

    public func records(of userId: String, filter: RecordFilter, page: PageRequest) async throws(BillingError)
        -> RecordPage
    {
        let parameters: [String?] = [
            userId, filter.serviceName, filter.type.map { String($0.rawValue) }, filter.appId,
            filter.from.map(PostgresText.microseconds), filter.to.map(PostgresText.microseconds),
        ]
        return try await pool.withConnection { connection in
            let select = """
                SELECT id, user_id, service_name, app_id, type, count, amount_fen, request_id, period,
                    \(Self.recordTail)
                FROM billing_record WHERE \(Self.filters)
                """
            switch page {
            case .offset(let number, let size):
                let rows = try connection.query(
                    select + " ORDER BY id DESC LIMIT $7 OFFSET $8",
                    parameters + [String(size), String((number - 1) * size)])
                let total = try connection.query("SELECT count(*) FROM billing_record WHERE \(Self.filters)", parameters)[0]
                    .int64(0)
                let records = try rows.all.map(Self.decode)
                let hasMore = Int64((number - 1) * size + records.count) < total
                return RecordPage(
                    records: records, total: total, page: number, pageSize: size,
                    nextCursor: hasMore ? records.last.map { RecordCursor(lastId: $0.id) } : nil)
            case .after(let cursor, let size):
                // One extra row tells whether another page follows.
                let rows = try connection.query(
                    select + " AND id < $7 ORDER BY id DESC LIMIT $8",
                    parameters + [String(cursor.lastId), String(size + 1)])
                let records = try rows.all.prefix(size).map(Self.decode)
                return RecordPage(
                    records: records, total: nil, page: nil, pageSize: size,
                    nextCursor: rows.rows.count > size ? records.last.map { RecordCursor(lastId: $0.id) } : nil)
            }
        }
    }

    public func usage(of userId: String, serviceName: String?, in range: Range<Date>?) async throws(BillingError)
        -> [ServiceUsage]
    {
        let parameters: [String?] = [
            userId, serviceName, nil, nil, range.map { PostgresText.microseconds($0.lowerBound) },
            range.map { PostgresText.microseconds($0.upperBound) },
        ]
        return try await pool.withConnection { connection in
            let rows = try connection.query(
                """
                SELECT service_name,
                    \(Self.usageColumns)
                FROM billing_record WHERE \(Self.filters) AND type <> 4
                GROUP BY service_name ORDER BY service_name
                """, parameters)
            return try rows.all.map { row in try Self.usage(row, from: 0) }
        }
    }

    public func dailyUsage(of userId: String, over range: DayRange, calendar: BillingCalendar)
        async throws(BillingError) -> [LocalDay: [ServiceUsage]]
    {
        let start = calendar.bounds(of: range.from).lowerBound
        let end = calendar.bounds(of: range.to).upperBound
        return try await pool.withConnection { connection in
            // One pass over the user's records of the range (the primary key's user prefix,
            // narrowed by the BRIN index on created_at), grouped by the local day in the zone
            // ($4) and the service.
            let rows = try connection.query(
                """
                SELECT to_char(created_at AT TIME ZONE $4, 'YYYY-MM-DD') AS day, service_name,
                    \(Self.usageColumns)
                FROM billing_record
                WHERE user_id = $1 AND created_at >= \(timestampParameter(2)) AND created_at < \(timestampParameter(3))
                    AND type <> 4
                GROUP BY 1, 2 ORDER BY 1, 2
                """,
                [
                    userId, PostgresText.microseconds(start), PostgresText.microseconds(end),
                    calendar.timeZone.identifier,
                ])
            var days: [LocalDay: [ServiceUsage]] = [:]
            for row in rows.all {
                let day = try LocalDay(text: try row.string(0), field: "day")
                days[day, default: []].append(try Self.usage(row, from: 1))
            }
            return days
        }
    }

    /// A service's usage net of refunds (free, paid, cost, refunded units, refunded fen),
    /// aggregated over records grouped by service; adjustments (type 4) are not usage.
    static let usageColumns = """
        (COALESCE(sum(count) FILTER (WHERE type = 1), 0) - COALESCE(sum(count) FILTER (WHERE type = 5), 0))::bigint,
        (COALESCE(sum(count) FILTER (WHERE type = 2), 0) - COALESCE(sum(count) FILTER (WHERE type = 3), 0))::bigint,
        (COALESCE(sum(amount_fen) FILTER (WHERE type = 2), 0)
            - COALESCE(sum(amount_fen) FILTER (WHERE type = 3), 0))::bigint,
        COALESCE(sum(count) FILTER (WHERE type IN (3, 5)), 0)::bigint,
        COALESCE(sum(amount_fen) FILTER (WHERE type = 3), 0)::bigint
        """

    /// The service name at `column`, then the `usageColumns`.
    static func usage(_ row: PostgresRow, from column: Int) throws(PostgresError) -> ServiceUsage {
        ServiceUsage(
            serviceName: try row.string(column), freeCount: try row.int64(column + 1),
            paidCount: try row.int64(column + 2), totalCostFen: Fen(try row.int64(column + 3)),
            refundedCount: try row.int64(column + 4), refundedFen: Fen(try row.int64(column + 5)))
    }

    /// The columns after `period` of a record select, as `decode` reads them.
    static let recordTail =
        "\(microsecondsColumn("created_at")), price_micro_fen, price_version, price_override, hold_id, refers_to"
    static let recordColumns =
        "id, user_id, service_name, app_id, type, count, amount_fen, request_id, period, \(recordTail)"

    static func decode(_ row: PostgresRow) throws -> LedgerRecord {
        guard let type = RecordType(rawValue: Int(try row.int64(4))) else {
            throw BillingError.internalFailure("billing_record with an unknown type")
        }
        return LedgerRecord(
            id: try row.int64(0), userId: try row.string(1), serviceName: try row.string(2), appId: row.optionalString(3),
            type: type, count: try row.int64(5), amountFen: Fen(try row.int64(6)), requestId: row.optionalString(7),
            period: try QuotaPeriod(text: row.string(8)), createdAt: PostgresText.date(microseconds: try row.int64(9)),
            price: try BatchApplier.appliedPrice(row, price: 10, version: 11, override: 12),
            holdId: row.optionalString(13), refersTo: try row.optionalString(14).map(PostgresText.parseInt64Array) ?? [])
    }
}
