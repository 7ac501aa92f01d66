import BillingCore
import Foundation

/// Webhook endpoints, deliveries and attempts. Several dispatchers share the work: fan-out
/// and claims take rows with `FOR UPDATE SKIP LOCKED`, and a claim leases a delivery by
/// moving its due time on, so a killed dispatcher's deliveries are taken up again later.
public struct PostgresWebhooks: Sendable {
    /// A delivery claimed for one attempt.
    public struct Job: Sendable, Hashable {
        public let deliveryId: Int64
        /// The attempt this is (1 for the first).
        public let attempt: Int
        public let url: String
        public let secret: String
        /// The JSON body: `{id, type, created_at, user_id, data}`.
        public let body: String
    }

    /// A delivery as the admin API lists it.
    public struct Delivery: Sendable, Hashable {
        public let id: Int64
        public let eventId: String
        public let eventType: String
        public let endpointId: Int64
        public let status: String
        public let attempts: Int
        public let lastStatus: Int?
        public let lastError: String?
        public let nextAttemptAt: Date
    }

    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func addEndpoint(url: String, secret: String, events: [BillingEventType], operatorName: String)
        async throws(BillingError) -> WebhookEndpoint
    {
        try await pool.withConnection { connection in
            let row = try connection.query(
                """
                INSERT INTO webhook_endpoint (url, secret, events, created_by) VALUES ($1, $2, $3::text[], $4)
                RETURNING id, url, array_to_string(events, ','), \(microsecondsColumn("created_at"))
                """, [url, secret, PostgresText.textArray(events.map(\.rawValue)), operatorName])[0]
            return try Self.endpoint(row)
        }
    }

    public func endpoints() async throws(BillingError) -> [WebhookEndpoint] {
        try await pool.withConnection { connection in
            try connection.query(
                """
                SELECT id, url, array_to_string(events, ','), \(microsecondsColumn("created_at")) FROM webhook_endpoint
                WHERE deleted_at IS NULL ORDER BY id
                """
            ).all.map(Self.endpoint)
        }
    }

    /// Removes an endpoint (its pending deliveries stop); false when there was none.
    public func removeEndpoint(_ id: Int64) async throws(BillingError) -> Bool {
        try await pool.withConnection { connection in
            try connection.transaction { tx in
                let removed = try tx.query(
                    "UPDATE webhook_endpoint SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL", [String(id)]
                ).affectedRows
                try tx.query(
                    """
                    UPDATE webhook_delivery SET status = 'failed', last_error = 'endpoint removed'
                    WHERE endpoint_id = $1 AND status = 'pending'
                    """, [String(id)])
                return removed > 0
            }
        }
    }

    /// Creates the deliveries of events not yet fanned out; returns how many events it took.
    public func fanOut(limit: Int = 1_000) async throws(BillingError) -> Int {
        try await pool.withConnection { connection in
            Int(
                try connection.query(
                    """
                    WITH picked AS (
                        SELECT id, type FROM billing_event WHERE NOT fanned_out ORDER BY id LIMIT $1
                        FOR UPDATE SKIP LOCKED
                    ), made AS (
                        INSERT INTO webhook_delivery (event_id, endpoint_id)
                        SELECT p.id, w.id FROM picked AS p
                        JOIN webhook_endpoint AS w ON w.deleted_at IS NULL AND p.type = ANY(w.events)
                        ON CONFLICT DO NOTHING
                    )
                    UPDATE billing_event SET fanned_out = true WHERE id IN (SELECT id FROM picked)
                    """, [String(limit)]
                ).affectedRows)
        }
    }

    /// Claims due deliveries for one attempt each, leasing them for `lease`.
    public func claim(limit: Int, lease: Duration) async throws(BillingError) -> [Job] {
        try await pool.withConnection { connection in
            try connection.query(
                """
                WITH due AS (
                    SELECT id FROM webhook_delivery WHERE status = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
                ), leased AS (
                    UPDATE webhook_delivery AS d SET next_attempt_at = now() + make_interval(secs => $2::int),
                        attempts = d.attempts + 1
                    FROM due WHERE d.id = due.id
                    RETURNING d.id, d.attempts, d.event_id, d.endpoint_id
                )
                SELECT l.id, l.attempts, w.url, w.secret,
                    json_build_object('id', e.event_id, 'type', e.type,
                        'created_at', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                        'user_id', e.user_id, 'data', e.data)::text
                FROM leased AS l JOIN billing_event AS e ON e.id = l.event_id
                JOIN webhook_endpoint AS w ON w.id = l.endpoint_id
                ORDER BY l.id
                """, [String(limit), String(lease.components.seconds)]
            ).all.map { row in
                Job(
                    deliveryId: try row.int64(0), attempt: Int(try row.int64(1)), url: try row.string(2),
                    secret: try row.string(3), body: try row.string(4))
            }
        }
    }

    /// Records an attempt: delivered, due again after `retryAfter`, or failed for good (nil).
    public func record(
        _ job: Job, status: Int?, error: String?, latency: Duration, delivered: Bool, retryAfter: TimeInterval?
    ) async throws(BillingError) {
        let milliseconds = latency.components.seconds * 1_000 + latency.components.attoseconds / 1_000_000_000_000_000
        let outcome = delivered ? "delivered" : (retryAfter == nil ? "failed" : "pending")
        let values: [String?] = [
            String(job.deliveryId), status.map(String.init), error, String(milliseconds), outcome,
            String(Int64((retryAfter ?? 0) * 1_000)),
        ]
        _ = try await pool.withConnection { connection in
            try connection.transaction { tx in
                try tx.query(
                    "INSERT INTO webhook_attempt (delivery_id, status, error, latency_ms) VALUES ($1, $2, $3, $4)",
                    Array(values.prefix(4)))
                try tx.query(
                    """
                    UPDATE webhook_delivery SET status = $4, last_status = $2::int, last_error = $3,
                        delivered_at = CASE WHEN $4 = 'delivered' THEN now() END,
                        next_attempt_at = now() + make_interval(secs => $5::bigint / 1000.0)
                    WHERE id = $1::bigint AND status = 'pending'
                    """, [values[0], values[1], values[2], values[4], values[5]])
            }
        }
    }

    /// The newest deliveries first.
    public func deliveries(limit: Int, before: Int64?) async throws(BillingError) -> [Delivery] {
        try await pool.withConnection { connection in
            try connection.query(
                """
                SELECT d.id, e.event_id, e.type, d.endpoint_id, d.status, d.attempts, d.last_status, d.last_error,
                    \(microsecondsColumn("d.next_attempt_at"))
                FROM webhook_delivery AS d JOIN billing_event AS e ON e.id = d.event_id
                WHERE $1::bigint IS NULL OR d.id < $1 ORDER BY d.id DESC LIMIT $2
                """, [before.map(String.init), String(limit)]
            ).all.map { row in
                Delivery(
                    id: try row.int64(0), eventId: try row.string(1), eventType: try row.string(2),
                    endpointId: try row.int64(3), status: try row.string(4), attempts: Int(try row.int64(5)),
                    lastStatus: try row.optionalInt64(6).map { Int($0) }, lastError: row.optionalString(7),
                    nextAttemptAt: PostgresText.date(microseconds: try row.int64(8)))
            }
        }
    }

    /// Sends a delivery again now (a new round of attempts); false when there is none.
    public func resend(_ id: Int64) async throws(BillingError) -> Bool {
        try await pool.withConnection { connection in
            try connection.query(
                """
                UPDATE webhook_delivery SET status = 'pending', attempts = 0, next_attempt_at = now()
                WHERE id = $1 AND endpoint_id IN (SELECT id FROM webhook_endpoint WHERE deleted_at IS NULL)
                """, [String(id)]
            ).affectedRows > 0
        }
    }

    /// Seconds since the oldest event still waiting for its delivery (0 when none).
    public func oldestPendingAge() async throws(BillingError) -> Double {
        try await pool.withConnection { connection in
            Double(
                try connection.query(
                    """
                    SELECT COALESCE(extract(epoch FROM now() - min(e.created_at)), 0)::float8::text
                    FROM webhook_delivery AS d JOIN billing_event AS e ON e.id = d.event_id WHERE d.status = 'pending'
                    """)[0].string(0)) ?? 0
        }
    }

    private static func endpoint(_ row: PostgresRow) throws -> WebhookEndpoint {
        WebhookEndpoint(
            id: try row.int64(0), url: try row.string(1),
            events: try row.string(2).split(separator: ",").compactMap { BillingEventType(rawValue: String($0)) },
            createdAt: PostgresText.date(microseconds: try row.int64(3)))
    }
}
