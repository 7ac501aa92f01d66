import BillingCore

/// The lane transaction's statements, prepared once per lane connection. Reads go in the
/// first pipeline (begin, lock, read, take ids); each table's write is its own named
/// statement in the second (write, commit): still two round trips a batch. Statements
/// about holds are sent only by batches with hold operations.
enum LaneStatement: String, CaseIterable {
    case ensureBalances, lockBalances, lockQuotas, lockHoldQuotas, lockHolds, readOverrides, readIdempotency
    case readRefundTargets, readRefunds, readAdjustments, readSettings
    case takeRecordIds, transactionId, dropUntouched
    case writeBalances, updateQuotas, insertQuotas, insertHolds, updateHolds, insertRecords
    case insertRefunds, insertAdjustments, insertEvents
    case checkClock, checkBalances, checkQuotas, writeBalancesChecked

    /// Statements of the batch applied without reading first (`BatchApplier.applyKnown`),
    /// which runs on plain PostgreSQL only.
    var isKnownRowsCheck: Bool {
        self == .checkClock || self == .checkBalances || self == .checkQuotas || self == .writeBalancesChecked
    }

    /// Session settings of a lane connection, set before the statements are prepared.
    ///
    /// The statements' plans must not depend on statistics: a generic plan cached while the
    /// tables were small (a new database, the first batches) survives a bulk load until an
    /// autovacuum ANALYZE invalidates it, and a sequential scan of every table in every batch
    /// until then took the lanes from ~10,000 to ~1,900 deductions/s. Every statement reaches
    /// its rows by key (an `= ANY` on an index, or a `LATERAL … LIMIT 1` lookup per key,
    /// which fixes the join order); with sequential scans priced out, the planner has no
    /// cheaper plan to pick whatever the statistics say. Lane connections run nothing else.
    /// (`LIMIT 1` or `OFFSET 0` keeps a LATERAL subquery from being flattened back into
    /// a join the planner may reorder.) `LanePlanTests` checks every statement's cached plan
    /// after a bulk insert.
    static let sessionSettings = ["SET enable_seqscan = off"]

    /// Sets the session settings and prepares every statement on `connection`, in the
    /// dialect of its database.
    static func prepareAll(on connection: PostgresConnection, citus: Bool = false) throws {
        for setting in sessionSettings + (citus ? citusSessionSettings : []) { try connection.query(setting) }
        for statement in allCases where !(citus && statement.isKnownRowsCheck) {
            try connection.prepare(name: statement.rawValue, sql: citus ? statement.citusSQL : statement.sql)
        }
    }

    /// `updateHolds` up to its WHERE clause (shared with the Citus form).
    static let holdEnds = """
        UPDATE hold AS h SET status = v.status, resolved_at = to_timestamp(v.resolved_at / 1000000.0),
            settled_count = v.settled_count,
            settle_record_ids = CASE WHEN v.ids_low IS NULL THEN NULL ELSE ($14::bigint[])[v.ids_low:v.ids_high] END,
            settle_free_count = v.free_count, settle_paid_count = v.paid_count, settle_cost_fen = v.cost_fen,
            settle_balance_after_fen = v.balance_after_fen, settle_free_remaining_after = v.free_remaining_after,
            settle_available_after_fen = v.available_after_fen
        FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[], $7::bigint[],
            $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::int[])
            AS v(user_id, hold_id, status, resolved_at, settled_count, ids_low, free_count, paid_count,
                cost_fen, balance_after_fen, free_remaining_after, available_after_fen, ids_high)
        """

    /// The balance row's update from the row `v` of `writeBalances`' arrays (shared with
    /// `writeBalancesChecked`).
    static let balanceUpdate = """
        UPDATE user_balance AS b SET balance_fen = v.balance_fen, carries = COALESCE(v.carries, b.carries),
            held_fen = v.held_fen, spend_period = v.spend_period, spend_fen = v.spend_fen, low_armed = v.low_armed,
            depleted_armed = v.depleted_armed, cap_alerts_fired = COALESCE(($12::int[])[v.fired_low:v.fired_high], '{}'),
            cap_reached_fired = v.cap_reached_fired, version = b.version + 1, updated_at = now()
        """

    /// How a lazily created quota row meets one the cron created meanwhile (shared with the
    /// Citus form).
    static let quotaUpsert = """
        ON CONFLICT (user_id, period, service_name)
        DO UPDATE SET used = EXCLUDED.used, held = EXCLUDED.held, version = free_quota.version + 1,
            updated_at = EXCLUDED.updated_at
        """

    /// A stored deduction as `readIdempotency` returns it, from its first record `a` (which
    /// holds the answer) and its second `p` (its paid part, if it had both): user, request id,
    /// service, count, app, record ids, free and paid counts, cost, the answer, the price.
    static let answerColumns = """
        a.user_id, a.request_id, a.service_name, a.count + COALESCE(p.count, 0), a.app_id,
            array_remove(ARRAY[a.id, p.id], NULL), CASE a.type WHEN 1 THEN a.count ELSE 0 END,
            CASE a.type WHEN 2 THEN a.count ELSE 0 END + COALESCE(p.count, 0), a.amount_fen + COALESCE(p.amount_fen, 0),
            a.balance_after_fen, a.free_remaining_after, a.price_micro_fen, a.price_version, a.price_override,
            a.available_after_fen
        """

    var sql: String {
        switch self {
        case .ensureBalances:
            // The balance row is the user's lock; rows created here for users the batch then
            // leaves untouched are dropped again (`dropUntouched`) before COMMIT.
            """
            INSERT INTO user_balance (user_id) SELECT u FROM unnest($1::text[]) AS u ORDER BY u ON CONFLICT DO NOTHING
            RETURNING user_id
            """
        case .lockBalances:
            """
            SELECT user_id, balance_fen, version, carries, held_fen, spend_period, spend_fen, low_armed, depleted_armed,
                cap_alerts_fired, cap_reached_fired
            FROM user_balance WHERE user_id = ANY($1::text[]) ORDER BY user_id FOR UPDATE
            """
        case .transactionId:
            // Names the transaction, so a lost COMMIT answer can be settled by its fate; and
            // the batch's one instant (µs) and month in the zone ($2): $1 when a test fixes
            // the time, else the transaction's now().
            """
            SELECT txid_current(), COALESCE($1::bigint, (extract(epoch FROM now()) * 1000000)::bigint),
                to_char(COALESCE(to_timestamp($1::bigint / 1000000.0), now()) AT TIME ZONE $2, 'YYYY-MM')
            """
        case .dropUntouched:
            // A rejected deduction of an unknown user leaves no account behind.
            "DELETE FROM user_balance WHERE user_id = ANY($1::text[]) AND balance_fen = 0 AND held_fen = 0"
        case .lockQuotas:
            // Every service's row of the batch's users: the cache gets whole accounts.
            // $1 the period, or NULL: the month of the transaction's now() in the zone $3.
            """
            SELECT user_id, service_name, total, used, held FROM free_quota
            WHERE period = COALESCE($1::text, to_char(now() AT TIME ZONE $3, 'YYYY-MM')) AND user_id = ANY($2::text[])
            ORDER BY user_id, service_name FOR UPDATE
            """
        case .lockHoldQuotas:
            // The rows of the periods the named holds ($1 users, $2 hold ids) were created in:
            // a settle after midnight on the 1st charges the old period's held free units.
            // Found from the named holds by their key, never by scanning a user's holds.
            """
            SELECT q.user_id, q.service_name, q.total, q.used, q.held, q.period FROM free_quota AS q
            WHERE q.user_id = ANY($1::text[]) AND (q.user_id, q.period, q.service_name) IN (
                SELECT h.user_id, h.period, h.service_name
                FROM unnest($1::text[], $2::text[]) AS k(user_id, hold_id)
                CROSS JOIN LATERAL (
                    SELECT * FROM hold AS h WHERE h.user_id = k.user_id AND h.hold_id = k.hold_id LIMIT 1) AS h)
            ORDER BY q.user_id, q.period, q.service_name FOR UPDATE OF q
            """
        case .lockHolds:
            // $1 users, $2 hold ids. Locked in the keys' order: the balance rows, locked
            // first, already serialize each user's batches, so no order can deadlock.
            """
            SELECT \(HoldRows.columns) FROM unnest($1::text[], $2::text[]) AS k(user_id, hold_id)
            CROSS JOIN LATERAL (
                SELECT * FROM hold WHERE user_id = k.user_id AND hold_id = k.hold_id LIMIT 1 FOR UPDATE) AS h
            """
        case .readOverrides:
            // Overrides that have not ended by the batch's instant ($2, µs): the cache keeps
            // those that start later too, so a check after they begin prices right.
            """
            SELECT \(StoredPrices.overrideColumns) FROM user_price
            WHERE user_id = ANY($1::text[])
                AND (valid_to IS NULL OR valid_to > COALESCE(\(timestampParameter(2)), now()))
            """
        case .readIdempotency:
            // A deduction's answer is on its first record, which names its second (`answerColumns`).
            """
            SELECT \(Self.answerColumns)
            FROM unnest($1::text[], $2::text[]) AS k(user_id, request_id)
            CROSS JOIN LATERAL (
                SELECT * FROM billing_record
                WHERE user_id = k.user_id AND request_id = k.request_id AND balance_after_fen IS NOT NULL LIMIT 1) AS a
            LEFT JOIN LATERAL (
                SELECT * FROM billing_record WHERE user_id = a.user_id AND id = a.paired_record_id LIMIT 1) AS p ON true
            """
        case .readRefundTargets:
            // The consumption records of each refund target ($1 users, $2 kinds, $3 ids): an
            // applied deduction's, or a settled hold's. No rows: no such target.
            """
            SELECT \(PostgresLedgerQueries.recordColumns), target_kind, target_id FROM (
                SELECT r.*, k.kind AS target_kind, k.id AS target_id
                FROM unnest($1::text[], $2::text[], $3::text[]) AS k(user_id, kind, id)
                JOIN LATERAL (
                    SELECT ARRAY[a.id, a.paired_record_id] AS ids FROM billing_record AS a
                    WHERE k.kind = 'deduction' AND a.user_id = k.user_id AND a.request_id = k.id
                        AND a.balance_after_fen IS NOT NULL
                    UNION ALL
                    SELECT h.settle_record_ids FROM hold AS h
                    WHERE k.kind = 'hold' AND h.user_id = k.user_id AND h.hold_id = k.id AND h.status = 'settled'
                ) AS t ON true
                CROSS JOIN LATERAL (
                    SELECT * FROM billing_record WHERE id = ANY(t.ids) AND user_id = k.user_id OFFSET 0) AS r
            ) AS x
            """
        case .readRefunds:
            // Refunds already applied to the batch's targets ($1 users, $2 kinds, $3 ids), and
            // under its refund ids ($4 users, $5 refund ids).
            """
            SELECT user_id, refund_id, target_kind, target_id, count, reason, paid_refunded, free_refunded,
                free_returned, fen_returned, balance_after_fen, record_ids
            FROM (
                SELECT f.* FROM unnest($1::text[], $2::text[], $3::text[]) AS k(user_id, kind, id)
                CROSS JOIN LATERAL (
                    SELECT * FROM refund WHERE user_id = k.user_id AND target_kind = k.kind AND target_id = k.id
                    OFFSET 0) AS f
                UNION
                SELECT f.* FROM unnest($4::text[], $5::text[]) AS k(user_id, id)
                CROSS JOIN LATERAL (
                    SELECT * FROM refund WHERE user_id = k.user_id AND refund_id = k.id LIMIT 1) AS f
            ) AS f
            """
        case .readAdjustments:
            // $1 users, $2 adjustment ids.
            """
            SELECT a.user_id, a.adjustment_id, a.amount_fen, a.reason, a.operator, a.balance_after_fen,
                a.available_after_fen, a.record_id
            FROM unnest($1::text[], $2::text[]) AS k(user_id, id)
            CROSS JOIN LATERAL (
                SELECT * FROM adjustment WHERE user_id = k.user_id AND adjustment_id = k.id LIMIT 1) AS a
            """
        case .readSettings:
            // Caps and thresholds of the batch's users (most have none: no row).
            """
            SELECT user_id, monthly_spend_cap_fen, low_balance_threshold_fen, cap_alert_percents FROM user_settings
            WHERE user_id = ANY($1::text[])
            """
        case .takeRecordIds:
            "SELECT nextval('billing_record_id_seq') FROM generate_series(1, $1::int) ORDER BY 1"
        case .writeBalances:
            // $1 users, $2 new balances (fen), $3 new carries (NULL: unchanged), $4 held fen,
            // $5 spend periods, $6 spend (fen), $7 low armed, $8 depleted armed, $10 cap reached
            // fired; the cap percents fired are the slices $9…$11 of $12 (PostgresText.slicedArrays).
            """
            \(Self.balanceUpdate)
            FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bool[],
                $8::bool[], $9::int[], $10::bool[], $11::int[])
                AS v(user_id, balance_fen, carries, held_fen, spend_period, spend_fen, low_armed, depleted_armed,
                    fired_low, cap_reached_fired, fired_high)
            WHERE b.user_id = ANY($1::text[]) AND b.user_id = v.user_id
            """
        case .writeBalancesChecked:
            // `writeBalances` that is also the check of its rows, for a batch that changes every
            // balance row it touches: each row is updated only if it still has the version $13,
            // balance $14, held fen $15, carries $16 and spend ($17 period, $18 fen) expected, and
            // the statement divides by zero unless every row was. The rows are locked as they are
            // updated, in the users' order ($1 sorted) as `lockBalances` would lock them.
            """
            WITH updated AS (
                \(Self.balanceUpdate)
                FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bool[],
                    $8::bool[], $9::int[], $10::bool[], $11::int[], $13::bigint[], $14::bigint[], $15::bigint[],
                    $16::text[], $17::text[], $18::bigint[])
                    AS v(user_id, balance_fen, carries, held_fen, spend_period, spend_fen, low_armed, depleted_armed,
                        fired_low, cap_reached_fired, fired_high, was_version, was_balance, was_held, was_carries,
                        was_spend_period, was_spend_fen)
                WHERE b.user_id = ANY($1::text[]) AND b.user_id = v.user_id AND b.version = v.was_version
                    AND b.balance_fen = v.was_balance AND b.held_fen = v.was_held AND b.carries = v.was_carries
                    AND b.spend_period = v.was_spend_period AND b.spend_fen = v.was_spend_fen
                RETURNING 1)
            SELECT 1 / (count(*) = cardinality($1::text[]))::int FROM updated
            """
        case .updateQuotas:
            // Rows read and locked by this transaction: a plain (often HOT) update.
            // $1 periods, $2 users, $3 services, $4 used, $5 held.
            """
            UPDATE free_quota AS q SET used = v.used, held = v.held, version = q.version + 1, updated_at = now()
            FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
                AS v(period, user_id, service_name, used, held)
            WHERE q.user_id = ANY($2::text[]) AND q.period = ANY($1::text[])
                AND q.user_id = v.user_id AND q.period = v.period AND q.service_name = v.service_name
            """
        case .insertQuotas:
            // Lazily created rows; should the cron have created one meanwhile, it has used = 0.
            // $1 periods, $2 users, $3 services, $4 totals, $5 used, $6 held.
            // (`EXCLUDED.updated_at` is the default now(): Citus refuses now() itself in DO UPDATE.)
            """
            INSERT INTO free_quota (user_id, period, service_name, total, used, held)
            SELECT v.user_id, v.period, v.service_name, v.total, v.used, v.held
            FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
                AS v(period, user_id, service_name, total, used, held)
            \(Self.quotaUpsert)
            """
        case .insertHolds:
            // One array per column of a new hold (HoldRows.insertParameters).
            """
            INSERT INTO hold (user_id, hold_id, service_name, app_id, count, ttl_seconds, period, free_held, paid_held,
                held_fen, price_micro_fen, price_version, price_override, status, created_at, expires_at)
            SELECT v.user_id, v.hold_id, v.service_name, v.app_id, v.count, v.ttl_seconds, v.period, v.free_held,
                v.paid_held, v.held_fen, v.price_micro_fen, v.price_version, v.price_override, 'pending',
                to_timestamp(v.created_at / 1000000.0), to_timestamp(v.expires_at / 1000000.0)
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[],
                $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[],
                $15::bigint[])
                AS v(user_id, hold_id, service_name, app_id, count, ttl_seconds, period, free_held, paid_held,
                    held_fen, price_micro_fen, price_version, price_override, created_at, expires_at)
            """
        case .updateHolds:
            // A hold's end: status, instant, and a settle's count and answer (HoldRows.updateParameters;
            // a settle's record ids are the slices $6…$13 of $14).
            """
            \(Self.holdEnds)
                CROSS JOIN LATERAL (
                    SELECT ctid AS tid FROM hold WHERE user_id = v.user_id AND hold_id = v.hold_id LIMIT 1) AS t
            WHERE h.ctid = t.tid AND h.status = 'pending'
            """
        case .insertRecords:
            // $1 instant (µs since the epoch; NULL: the transaction's now()), $2… one array per
            // column; $16…$19, a deduction's answer, on its first record only (NULL elsewhere).
            """
            INSERT INTO billing_record (id, user_id, service_name, app_id, type, count, amount_fen, request_id,
                period, created_at, price_micro_fen, price_version, price_override, hold_id, refers_to,
                balance_after_fen, free_remaining_after, available_after_fen, paired_record_id)
            SELECT v.id, v.user_id, v.service_name, v.app_id, v.type, v.count, v.amount_fen, v.request_id, v.period,
                COALESCE(to_timestamp($1::bigint / 1000000.0), now()), v.price_micro_fen, v.price_version, v.price_override, v.hold_id,
                v.refers_to::bigint[], v.balance_after_fen, v.free_remaining_after, v.available_after_fen,
                v.paired_record_id
            FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::bigint[],
                $8::bigint[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[],
                $15::text[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[])
                AS v(id, user_id, service_name, app_id, type, count, amount_fen, request_id, period, price_micro_fen,
                    price_version, price_override, hold_id, refers_to, balance_after_fen, free_remaining_after,
                    available_after_fen, paired_record_id)
            """
        case .insertRefunds:
            // One array per column of refund.
            """
            INSERT INTO refund (user_id, refund_id, target_kind, target_id, count, reason, paid_refunded, free_refunded,
                free_returned, fen_returned, balance_after_fen, record_ids)
            SELECT v.user_id, v.refund_id, v.target_kind, v.target_id, v.count, v.reason, v.paid_refunded,
                v.free_refunded, v.free_returned, v.fen_returned, v.balance_after_fen, v.record_ids::bigint[]
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[],
                $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[])
                AS v(user_id, refund_id, target_kind, target_id, count, reason, paid_refunded, free_refunded,
                    free_returned, fen_returned, balance_after_fen, record_ids)
            """
        case .insertEvents:
            // The outbox, in the batch's order: $1 users, $2 types, $3 data (JSON text).
            """
            INSERT INTO billing_event (user_id, type, data)
            SELECT v.user_id, v.type, v.data::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY
                AS v(user_id, type, data, position) ORDER BY v.position
            """
        case .checkClock:
            // Names the transaction (as `transactionId`), and divides by zero — rolling the batch
            // back — unless the transaction's now() is within $2 µs of the lane's instant $1 and
            // in the period $4 in the zone $3. $1 NULL: a test's fixed clock, nothing to check.
            """
            SELECT txid_current(), 1 / ($1::bigint IS NULL OR (
                abs((extract(epoch FROM now()) * 1000000)::bigint - $1::bigint) <= $2::bigint
                AND to_char(now() AT TIME ZONE $3, 'YYYY-MM') = $4))::int
            """
        case .checkBalances:
            // Locks the balance rows ($1 users, sorted) as `lockBalances` does, and divides by
            // zero unless each is there with the version $2, balance $3, held fen $4, carries $5
            // and spend ($6 period, $7 fen) expected. The version alone would do for every writer
            // but the per-call strategy (balance only); the money columns are compared anyway.
            """
            SELECT 1 / (count(*) = cardinality($1::text[]) AND coalesce(bool_and(
                b.version = e.version AND b.balance_fen = e.balance_fen AND b.held_fen = e.held_fen
                AND b.carries = e.carries AND b.spend_period = e.spend_period AND b.spend_fen = e.spend_fen), true))::int
            FROM (
                SELECT user_id, version, balance_fen, held_fen, carries, spend_period, spend_fen FROM user_balance
                WHERE user_id = ANY($1::text[]) ORDER BY user_id FOR UPDATE) AS b
            JOIN unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::bigint[])
                AS e(user_id, version, balance_fen, held_fen, carries, spend_period, spend_fen)
                ON e.user_id = b.user_id
            """
        case .checkQuotas:
            // Locks the users' ($2) quota rows of the period $1 as `lockQuotas` does, and divides
            // by zero unless they are exactly the rows expected ($3 users, $4 services, $5 totals,
            // $6 used, $7 held): none more, none missing, none different.
            """
            SELECT 1 / ((SELECT count(*) = cardinality($3::text[]) AND coalesce(bool_and(coalesce(
                    e.total = q.total AND e.used = q.used AND e.held = q.held, false)), true)
                FROM (
                    SELECT user_id, service_name, total, used, held FROM free_quota
                    WHERE period = $1::text AND user_id = ANY($2::text[])
                    ORDER BY user_id, service_name FOR UPDATE) AS q
                LEFT JOIN unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[])
                    AS e(user_id, service_name, total, used, held)
                    ON e.user_id = q.user_id AND e.service_name = q.service_name))::int
            """
        case .insertAdjustments:
            // One array per column of adjustment.
            """
            INSERT INTO adjustment (user_id, adjustment_id, amount_fen, reason, operator, balance_after_fen,
                available_after_fen, record_id)
            SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[],
                $7::bigint[], $8::bigint[])
            """
        }
    }
}
