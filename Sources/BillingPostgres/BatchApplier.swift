import BillingCore
import Foundation

/// One lane transaction: lock the batch's rows in a fixed order, read the idempotency
/// keys already used, run `DeductionBatch`, write everything back with set-based
/// prepared statements, commit.
struct BatchApplier: Sendable {
    let prices: StoredPrices
    let calendar: BillingCalendar
    let clock: any BillingClock
    /// Users whose balance row this lane has seen committed (their batches skip `ensureBalances`).
    let knownUsers: KnownBalanceRows
    /// Whether this lane's batches read the stored answers of their request ids first.
    let replays = ReplayWatch()
    /// The rows this lane's commits left, for batches applied without reading first (nil:
    /// every batch reads).
    let knownRows: LaneRowCache?
    /// Record ids taken ahead, for those batches.
    let recordIds = RecordIdReservoir()

    init(
        prices: StoredPrices, calendar: BillingCalendar, clock: any BillingClock, knownUsers: KnownBalanceRows,
        knownRows: LaneRowCache? = nil
    ) {
        self.prices = prices
        self.calendar = calendar
        self.clock = clock
        self.knownUsers = knownUsers
        self.knownRows = knownRows
    }

    /// A user of the batch had no balance row under the lock although it was not ensured:
    /// the row was deleted since this lane saw it. Nothing is written; the retry ensures it.
    struct BalanceRowMissing: Error, CustomStringConvertible {
        let userId: String
        var description: String { "the balance row of \(userId) disappeared; retrying with it ensured" }
    }

    /// A committed batch: every request's outcome, and the accounts it changed as they now
    /// stand (for the cache).
    struct Commit {
        var outcomes: [Result<LedgerOutcome, BillingError>]
        var period: QuotaPeriod
        var accounts: [String: AccountState]
        /// The types of the events written to the outbox.
        var events: [BillingEventType] = []
        /// Whether the batch read its rows before writing (false: `applyKnown`).
        var readFirst = true
    }

    enum Failure: Error {
        /// Rolled back (or never begun): nothing of the batch is in the database.
        case notCommitted(any Error, retryable: Bool)
        /// COMMIT was sent and its answer lost. `commit` holds if the transaction
        /// `transactionId` (of backend `backendPID`) committed, which `TransactionFate` tells.
        case commitUnknown(any Error, commit: Commit, transactionId: Int64, backendPID: Int32)
    }

    /// A connection with the lane's statements prepared, and the shards of the user tables
    /// when the database is Citus (nil on plain PostgreSQL).
    func connect(_ config: PostgresConfig) throws -> (PostgresConnection, CitusShards?) {
        let connection = try PostgresConnection.connect(config)
        do {
            let shards = try CitusShards.load(on: connection)
            try LaneStatement.prepareAll(on: connection, citus: shards != nil)
            return (connection, shards)
        } catch {
            connection.close()
            throw error
        }
    }

    /// Two round trips: one pipeline that begins, locks and reads everything the batch
    /// needs (and takes enough record ids), one that writes and commits.
    ///
    /// The batch's instant is the database's `now()` in its transaction when `clock` is the
    /// `SystemClock` (real time: every server agrees on it, whatever its own clock says);
    /// any other clock (tests) is read here instead.
    /// `citus`: the database is Citus — inserts go as `INSERT … VALUES`, and
    /// `transactionSettings` (`SET LOCAL …`, the lane's lock timeout, which the coordinator
    /// passes on to the worker's transaction) run right after BEGIN.
    func apply(
        _ requests: [LedgerOperation], on connection: PostgresConnection, citus: Bool = false,
        transactionSettings: [String] = []
    ) throws -> Commit {
        // Citus passes a worker's error on without the constraint's name, so a replay could not
        // be told from another unique violation there: its lanes always read first.
        let reading = citus || replays.shouldRead()
        if !reading {
            let attempt = try applyKnown(requests, on: connection)
            switch attempt {
            case .committed(let commit): return commit
            case .storedAnswersNeeded, .refused:
                if case .storedAnswersNeeded = attempt { replays.replaySeen() }
                return try applyOnce(
                    requests, on: connection, citus: citus, transactionSettings: transactionSettings,
                    readIdempotency: true)
            case .notApplicable: break
            }
        }
        do {
            return try applyOnce(
                requests, on: connection, citus: citus, transactionSettings: transactionSettings,
                readIdempotency: reading)
        } catch Failure.notCommitted(let error, _) where !reading && Self.needsStoredAnswers(error) {
            // A request id already stored (or possibly so): the transaction was rolled back
            // whole. Again, this time reading the stored answers first.
            replays.replaySeen()
            return try applyOnce(
                requests, on: connection, citus: citus, transactionSettings: transactionSettings, readIdempotency: true)
        }
    }

    /// Applied without reading the stored answers, a deduction with a request id was refused:
    /// it may be the replay of one that was accepted (now refused for want of money, say).
    struct StoredAnswersNeeded: Error {}

    /// `StoredAnswersNeeded`, or the insert of a deduction's idempotency row met one already
    /// stored: an accepted replay.
    static func needsStoredAnswers(_ error: any Error) -> Bool {
        if error is StoredAnswersNeeded { return true }
        guard let error = error as? PostgresError, error.isUniqueViolation else { return false }
        return error.constraint == "billing_record_request"
    }

    static func refusesKeyedDeduction(
        _ requests: [LedgerOperation], _ results: [Result<LedgerOutcome, BillingError>]
    ) -> Bool {
        zip(requests, results).contains { operation, result in
            guard case .deduct(let request) = operation, request.requestId != nil, case .failure = result else {
                return false
            }
            return true
        }
    }

    /// `readIdempotency` false: the stored answers of the batch's request ids are not read;
    /// should one be stored, inserting it fails and nothing is committed (`apply` retries).
    private func applyOnce(
        _ requests: [LedgerOperation], on connection: PostgresConnection, citus: Bool,
        transactionSettings: [String], readIdempotency: Bool
    ) throws -> Commit {
        let fixedNow: Date? = clock is SystemClock ? nil : clock.now()
        let result: BatchResult
        let read: Snapshot
        let recordIds: [Int64]
        let existingQuotas: Dictionary<QuotaKey, QuotaUsage>.Keys
        let now: Date
        let period: QuotaPeriod
        do {
            let book = try prices.book(on: connection)
            read = try readSnapshot(
                requests, citus: citus, settings: transactionSettings,
                fixed: fixedNow.map { ($0, calendar.period(containing: $0)) }, readIdempotency: readIdempotency,
                on: connection)
            now = read.now
            period = read.period
            recordIds = read.recordIds
            existingQuotas = read.snapshot.quotas.keys
            // Records get negative local numbers (-1, -2, …) first; `renumber` swaps in the
            // real, positive ids taken up front (two per request, the most a request writes).
            var localId: Int64 = 0
            let batch = DeductionBatch(
                prices: book, period: period, periodStart: calendar.bounds(of: period).lowerBound, appliedAt: now)
            result = batch.apply(operations: requests, to: read.snapshot) {
                localId -= 1
                return localId
            }
            // A refusal might be a stored request's replay: only the read can tell.
            if !readIdempotency, Self.refusesKeyedDeduction(requests, result.results) { throw StoredAnswersNeeded() }
        } catch {
            if connection.isOpen { _ = try? connection.query("ROLLBACK") }
            if error is BalanceRowMissing { knownUsers.forgetAll() }
            knownRows?.forget(requests.map(\.userId))
            throw Failure.notCommitted(error, retryable: Self.isRetryable(error))
        }
        let outcomes = result.results.map { outcome in outcome.map { Self.renumber($0, ids: recordIds) } }
        let commit = Commit(
            outcomes: outcomes, period: period, accounts: Self.changedAccounts(result, period: period, versions: read.versions),
            events: result.events.map(\.type))
        var steps: [PipelineStep] = []
        let writes = !result.changedBalances.isEmpty || !result.records.isEmpty
        if writes {
            steps += writeSteps(
                result, existingQuotas: Set(existingQuotas), recordIds: recordIds, period: period, at: now)
        }
        let untouched = read.created.subtracting(result.changedBalances)
        if !untouched.isEmpty {
            steps.append(.prepared(LaneStatement.dropUntouched.rawValue, [PostgresText.textArray(untouched.sorted())]))
        }
        if citus {
            steps = try steps.flatMap { step throws(PostgresError) in
                guard let name = step.prepared, let statement = LaneStatement(rawValue: name) else { return [step] }
                return try statement.steps(step.textParameters, citus: true)
            }
        }
        steps.append(.sql("COMMIT"))
        // Ensured rows that exist once this commits (rows created here and dropped again do not);
        // the other users are known already, so a batch of known users remembers nothing.
        let committedUsers = read.ensured.filter { !untouched.contains($0) }
        do {
            _ = try connection.pipeline(steps)
        } catch {
            knownRows?.forget(requests.map(\.userId))
            if !error.isConnectionFailure {
                // The write failed and the server skipped the COMMIT: nothing landed.
                if connection.isOpen { _ = try? connection.query("ROLLBACK") }
                throw Failure.notCommitted(error, retryable: error.isRetryable)
            }
            // Rejections and replays answer the same whether or not this commit landed.
            guard writes else { return commit }
            throw Failure.commitUnknown(
                error, commit: commit, transactionId: read.transactionId, backendPID: read.backendPID)
        }
        if !committedUsers.isEmpty { knownUsers.remember(committedUsers) }
        var committed = commit
        // The accounts the batch read under lock and left as they were (replays, refusals) go to
        // the cache too, at the version read: a server killed between its commit and its cache
        // write leaves the cache behind the database, and its callers' retries come here as
        // replays, acknowledged now; a check after them must see what they acknowledge.
        for (user, account) in Self.unchangedAccounts(
            requests, result, period: period, versions: read.versions, dropped: untouched)
        {
            committed.accounts[user] = account
        }
        if let knownRows {
            let users = Set(requests.map(\.userId)).subtracting(untouched)
            knownRows.forget(users)
            let changes = BatchChanges(result, period: period)
            knownRows.remember(
                Self.readRows(of: users, in: read.snapshot, versions: read.versions, period: period).map { entry in
                    (entry.user, Self.committed(entry.rows, of: entry.user, after: result, changes: changes))
                },
                in: period)
        }
        return committed
    }

    /// The accounts whose balance row the batch changed, as they now stand (for the cache).
    /// Every changed balance row is updated once, so its version moves on by exactly one.
    static func changedAccounts(_ result: BatchResult, period: QuotaPeriod, versions: [String: Int64])
        -> [String: AccountState]
    {
        accounts(
            result.changedBalances.map { ($0, versions[$0, default: 0].addingReportingOverflow(1).partialValue) },
            result, period: period)
    }

    /// The accounts of the batch's users whose balance row it read and did not change, at the
    /// version read (users whose row it created and dropped again have none).
    static func unchangedAccounts(
        _ requests: [LedgerOperation], _ result: BatchResult, period: QuotaPeriod, versions: [String: Int64],
        dropped: Set<String>
    ) -> [String: AccountState] {
        var users: [(String, Int64)] = []
        for user in Set(requests.map(\.userId)) where !result.changedBalances.contains(user) && !dropped.contains(user) {
            if let version = versions[user] { users.append((user, version)) }
        }
        return users.isEmpty ? [:] : accounts(users, result, period: period)
    }

    /// The accounts of `users` (each with the version it has now) as the batch left them.
    private static func accounts(_ users: [(String, Int64)], _ result: BatchResult, period: QuotaPeriod)
        -> [String: AccountState]
    {
        // Quota rows and carries grouped by user once, not scanned again for every user.
        var quotasByUser: [String: [String: QuotaUsage]] = [:]
        for (key, usage) in result.snapshot.quotas where key.period == period {
            quotasByUser[key.userId, default: [:]][key.serviceName] = usage
        }
        var carriesByUser: [String: [String: Int64]] = [:]
        for (key, carry) in result.snapshot.carries where carry != 0 {
            carriesByUser[key.userId, default: [:]][key.serviceName] = carry
        }
        var accounts: [String: AccountState] = [:]
        for (user, version) in users {
            accounts[user] = Self.account(
                user, in: result.snapshot, quotas: quotasByUser[user] ?? [:], carries: carriesByUser[user] ?? [:],
                period: period, version: version)
        }
        return accounts
    }

    /// A user's account after the batch: balance, every quota row of the period, carries
    /// and overrides.
    static func account(
        _ user: String, in snapshot: LedgerSnapshot, quotas: [String: QuotaUsage], carries: [String: Int64],
        period: QuotaPeriod, version: Int64
    ) -> AccountState {
        AccountState(
            balanceFen: snapshot.balance(of: user), quotas: quotas, version: version, carries: carries,
            overrides: snapshot.overrides[user] ?? [], heldFen: snapshot.held(by: user),
            spentFen: snapshot.spend[user].flatMap { $0.period == period ? $0.fen : nil } ?? .zero,
            spendCapFen: snapshot.settings[user]?.monthlySpendCapFen)
    }

    static func isRetryable(_ error: any Error) -> Bool {
        if error is BalanceRowMissing { return true }
        return (error as? PostgresError).map { $0.isRetryable || $0.isConnectionFailure } ?? false
    }

    /// What the read pipeline learnt: the state, the ids to use, and what identifies the
    /// transaction should its COMMIT answer be lost.
    private struct Snapshot {
        var snapshot = LedgerSnapshot()
        var versions: [String: Int64] = [:]
        /// Balance rows this transaction created.
        var created: Set<String> = []
        /// Users this lane did not know to have a row, so the transaction ensured theirs.
        var ensured: [String] = []
        var recordIds: [Int64] = []
        var transactionId: Int64 = 0
        var backendPID: Int32 = 0
        /// The batch's instant and period.
        var now = Date(timeIntervalSince1970: 0)
        var period = QuotaPeriod.epochPeriod
    }

    /// `fixed` nil: the instant is the transaction's `now()` and the period is computed by
    /// PostgreSQL in the configured zone, then checked against this server's calendar.
    private func readSnapshot(
        _ operations: [LedgerOperation], citus: Bool, settings: [String], fixed: (now: Date, period: QuotaPeriod)?,
        readIdempotency: Bool, on connection: PostgresConnection
    ) throws -> Snapshot {
        let zone = calendar.timeZone.identifier
        let fixedMicros = fixed.map { PostgresText.microseconds($0.now) }
        let userIds = Array(Set(operations.map(\.userId))).sorted()
        let users = PostgresText.textArray(userIds)
        let unknownUsers = knownUsers.unknown(among: userIds)
        let keyed = operations.compactMap { operation -> (String, String)? in
            guard case .deduct(let request) = operation, let id = request.requestId else { return nil }
            return (request.userId, id)
        }.sorted { $0 < $1 }  // probed in index order
        let holdKeys = Array(Set(operations.compactMap(\.holdKey))).sorted { ($0.userId, $0.holdId) < ($1.userId, $1.holdId) }
        // Steps are tagged, since the hold and idempotency reads are sent only when needed.
        enum Read {
            case begin, ensure, balances, quotas, holdQuotas, holds, overrides, ids, clock, idempotency
            case refundTargets, refunds, adjustments, settings
        }
        var tags: [Read] = []
        var steps: [PipelineStep] = []
        func add(_ tag: Read, _ step: PipelineStep) {
            tags.append(tag)
            steps.append(step)
        }
        add(.begin, .sql("BEGIN"))
        for setting in settings { add(.begin, .sql(setting)) }
        if !unknownUsers.isEmpty {
            let ensured = PostgresText.textArray(unknownUsers)
            for step in try LaneStatement.ensureBalances.steps([ensured], citus: citus) { add(.ensure, step) }
        }
        add(.balances, .prepared(LaneStatement.lockBalances.rawValue, [users]))
        add(.quotas, .prepared(LaneStatement.lockQuotas.rawValue, [fixed?.period.text, users, zone]))
        if !holdKeys.isEmpty {
            let holdParameters = [
                PostgresText.textArray(holdKeys.map(\.userId)), PostgresText.textArray(holdKeys.map(\.holdId)),
            ]
            add(.holdQuotas, .prepared(LaneStatement.lockHoldQuotas.rawValue, holdParameters))
            add(.holds, .prepared(LaneStatement.lockHolds.rawValue, holdParameters))
        }
        add(.overrides, .prepared(LaneStatement.readOverrides.rawValue, [users, fixedMicros]))
        add(.settings, .prepared(LaneStatement.readSettings.rawValue, [users]))
        // The most records each operation writes: a deduction two, a settle four (held and overrun).
        let idsNeeded = operations.reduce(0) { count, operation in
            switch operation {
            case .deduct: count + 2
            // A settle's records are at most four (held and overrun, free and paid); a refund
            // writes one per record of its target.
            case .settle, .refund: count + 4
            case .adjust: count + 1
            default: count
            }
        }
        // With a reservoir, ids beyond this batch's are taken for batches that do not read.
        let idsTaken = idsNeeded + (knownRows != nil && !citus ? recordIds.shortfall(after: idsNeeded) : 0)
        add(.ids, .prepared(LaneStatement.takeRecordIds.rawValue, [String(idsTaken)]))
        add(.clock, .prepared(LaneStatement.transactionId.rawValue, [fixedMicros, zone]))
        let refunds = operations.compactMap { operation -> RefundRequest? in
            if case .refund(let request) = operation { return request }
            return nil
        }
        if !refunds.isEmpty {
            // Each target once: several refunds of one deduction read its records once.
            let keys = Array(Set(refunds.map(\.targetKey)))
            let targets = [
                PostgresText.textArray(keys.map(\.userId)), PostgresText.textArray(keys.map(\.target.kind)),
                PostgresText.textArray(keys.map(\.target.id)),
            ]
            add(.refundTargets, .prepared(LaneStatement.readRefundTargets.rawValue, targets))
            add(
                .refunds,
                .prepared(
                    LaneStatement.readRefunds.rawValue,
                    targets + [PostgresText.textArray(refunds.map(\.userId)), PostgresText.textArray(refunds.map(\.refundId))]))
        }
        let adjustments = operations.compactMap { operation -> AdjustmentRequest? in
            if case .adjust(let request) = operation { return request }
            return nil
        }
        if !adjustments.isEmpty {
            add(
                .adjustments,
                .prepared(
                    LaneStatement.readAdjustments.rawValue,
                    [
                        PostgresText.textArray(adjustments.map(\.userId)),
                        PostgresText.textArray(adjustments.map(\.adjustmentId)),
                    ]))
        }
        if readIdempotency, !keyed.isEmpty {
            add(
                .idempotency,
                .prepared(
                    LaneStatement.readIdempotency.rawValue,
                    [PostgresText.textArray(keyed.map(\.0)), PostgresText.textArray(keyed.map(\.1))]))
        }
        let results = try connection.pipeline(steps)
        func rows(_ tag: Read) -> [PostgresRow] { tags.firstIndex(of: tag).map { results[$0].all } ?? [] }

        var read = Snapshot(backendPID: connection.backendPID)
        read.ensured = unknownUsers
        let clockRow = rows(.clock).first
        read.transactionId = try clockRow?.int64(0) ?? 0
        if let fixed {
            (read.now, read.period) = fixed
        } else {
            read.now = PostgresText.date(microseconds: try clockRow?.int64(1) ?? 0)
            read.period = try QuotaPeriod(text: clockRow?.string(2) ?? "")
            // PostgreSQL's zone rules and this server's must agree on the month, or quota rows
            // of one period would be charged as another's.
            guard calendar.period(containing: read.now) == read.period else {
                throw BillingError.internalFailure(
                    "PostgreSQL puts \(read.now) in \(read.period.text) in \(zone), this server in another month")
            }
        }
        let period = read.period
        var snapshot = LedgerSnapshot()
        for row in rows(.ensure) { read.created.insert(try row.string(0)) }
        for row in rows(.balances) {
            let user = try row.string(0)
            snapshot.balances[user] = Fen(try row.int64(1))
            read.versions[user] = try row.int64(2)
            for (service, carry) in try CarryText.decode(row.string(3)) {
                snapshot.carries[ChargeKey(userId: user, serviceName: service)] = carry
            }
            let held = try row.int64(4)
            if held != 0 { snapshot.heldFen[user] = Fen(held) }
            if let spendPeriod = try? QuotaPeriod(text: row.string(5)) {
                snapshot.spend[user] = SpendState(period: spendPeriod, fen: Fen(try row.int64(6)))
            }
            var alerts = AlertState()
            alerts.lowBalanceArmed = try row.bool(7)
            alerts.depletedArmed = try row.bool(8)
            alerts.period = snapshot.spend[user]?.period
            alerts.firedPercents = Set(try PostgresText.parseInt64Array(row.string(9)).map { Int($0) })
            alerts.capReachedFired = try row.bool(10)
            if alerts != AlertState() { snapshot.alerts[user] = alerts }
        }
        for row in rows(.settings) {
            snapshot.settings[try row.string(0)] = try UserSettings(
                monthlySpendCapFen: try row.optionalInt64(1), lowBalanceThresholdFen: try row.optionalInt64(2),
                capAlertPercents: try PostgresText.parseInt64Array(row.string(3)).map { Int($0) })
        }
        // Every user's row is locked now: ensured here, or known to this lane (and not deleted since).
        if let missing = userIds.first(where: { snapshot.balances[$0] == nil }) {
            throw BalanceRowMissing(userId: missing)
        }
        snapshot.newUsers = read.created
        for row in rows(.quotas) {
            let key = QuotaKey(userId: try row.string(0), serviceName: try row.string(1), period: period)
            snapshot.quotas[key] = try QuotaRows.usage(total: row.int64(2), used: row.int64(3), held: row.int64(4))
        }
        for row in rows(.holdQuotas) {
            let key = QuotaKey(
                userId: try row.string(0), serviceName: try row.string(1), period: try QuotaPeriod(text: row.string(5)))
            snapshot.quotas[key] = try QuotaRows.usage(total: row.int64(2), used: row.int64(3), held: row.int64(4))
        }
        for row in rows(.holds) {
            let hold = try HoldRows.decode(row)
            snapshot.holds[hold.key] = hold
        }
        for row in rows(.overrides) {
            let override = try StoredPrices.decodeOverride(row)
            snapshot.overrides[override.userId, default: []].append(override)
        }
        read.recordIds = try rows(.ids).map { try $0.int64(0) }
        if idsTaken > idsNeeded || recordIds.count > 0 {
            // Older ids at hand go first: one lane's records keep ascending ids. (A read after
            // another can find the stock above its target and take no more than it needs; its
            // ids, the newest, still go behind the stock, or the next batch that does not read
            // would give older ids to users this one charged.)
            recordIds.add(read.recordIds)
            guard let ids = recordIds.take(idsNeeded) else {
                throw BillingError.internalFailure("the sequence gave fewer record ids than asked for")
            }
            read.recordIds = ids
        }
        for row in rows(.idempotency) {
            let key = IdempotencyKey(userId: try row.string(0), requestId: try row.string(1))
            let fingerprint = RequestFingerprint(
                serviceName: try row.string(2), count: try row.int64(3), appId: row.optionalString(4))
            let receipt = DeductionReceipt(
                recordIds: try PostgresText.parseInt64Array(row.string(5)), freeCount: try row.int64(6),
                paidCount: try row.int64(7), costFen: Fen(try row.int64(8)), balanceAfterFen: Fen(try row.int64(9)),
                freeRemainingAfter: try row.int64(10), replayed: false,
                price: try Self.appliedPrice(row, price: 11, version: 12, override: 13),
                availableAfterFen: try row.optionalInt64(14).map(Fen.init))
            snapshot.idempotency[key] = IdempotencyEntry(fingerprint: fingerprint, receipt: receipt)
        }
        for row in rows(.refundTargets) {
            let record = try PostgresLedgerQueries.decode(row)
            let key = RefundTargetKey(
                userId: record.userId, target: try RefundTarget(kind: row.string(15), id: row.string(16)))
            snapshot.refundTargets[key, default: []].append(record)
        }
        for row in rows(.refunds) {
            let stored = try Self.storedRefund(row)
            snapshot.refunds[stored.request.key] = stored
            var units = snapshot.refunded[stored.request.targetKey] ?? RefundedUnits()
            units.paid += stored.receipt.paidRefunded
            units.free += stored.receipt.freeRefunded
            snapshot.refunded[stored.request.targetKey] = units
        }
        for row in rows(.adjustments) {
            let request = try AdjustmentRequest(
                adjustmentId: row.string(1), userId: row.string(0), amountFen: row.int64(2), reason: row.string(3),
                operatorName: row.string(4))
            snapshot.adjustments[request.key] = StoredAdjustment(
                request: request,
                receipt: AdjustmentReceipt(
                    adjustmentId: request.adjustmentId, amountFen: request.amountFen,
                    balanceAfterFen: Fen(try row.int64(5)), availableAfterFen: Fen(try row.int64(6)),
                    recordId: try row.int64(7), replayed: false))
        }
        read.snapshot = snapshot
        return read
    }

    /// A refund row as the request it applied and the answer it gave.
    private static func storedRefund(_ row: PostgresRow) throws -> StoredRefund {
        let target = try RefundTarget(kind: row.string(2), id: row.string(3))
        let request = try RefundRequest(
            refundId: row.string(1), userId: row.string(0), target: target, count: row.int64(4), reason: row.string(5))
        let receipt = RefundReceipt(
            refundId: request.refundId, target: target, count: request.count, paidRefunded: try row.int64(6),
            freeRefunded: try row.int64(7), freeReturned: try row.int64(8), fenReturned: Fen(try row.int64(9)),
            balanceAfterFen: Fen(try row.int64(10)), recordIds: try PostgresText.parseInt64Array(row.string(11)),
            replayed: false)
        return StoredRefund(request: request, receipt: receipt)
    }

    /// `writeBalances`' spend and alert columns. The alerts' period is the spend's: cap
    /// alerts start over when the spend does.
    private static func alertParameters(_ users: [String], _ snapshot: LedgerSnapshot) -> [String?] {
        let alerts = users.map { snapshot.alerts[$0] ?? AlertState() }
        func bools(_ values: [Bool]) -> String { "{" + values.map { $0 ? "t" : "f" }.joined(separator: ",") + "}" }
        let fired = PostgresText.slicedArrays(alerts.map { $0.firedPercents.sorted().map { Int64($0) } })
        return [
            PostgresText.textArray(users.map { snapshot.spend[$0]?.period.text ?? "" }),
            PostgresText.int64Array(users.map { snapshot.spend[$0]?.fen.value ?? 0 }),
            bools(alerts.map(\.lowBalanceArmed)), bools(alerts.map(\.depletedArmed)),
            fired.low, bools(alerts.map(\.capReachedFired)), fired.high, fired.flat,
        ]
    }

    /// The stored price of a record or receipt; nil on rows written before prices were stored.
    static func appliedPrice(_ row: PostgresRow, price: Int, version: Int, override: Int) throws -> AppliedPrice? {
        guard let microFen = try row.optionalInt64(price) else { return nil }
        return AppliedPrice(
            price: try UnitPrice(microFen: microFen), versionId: try row.optionalInt64(version) ?? 0,
            overrideId: try row.optionalInt64(override))
    }

    /// One named statement per table that changed, in the lanes' lock order.
    /// `checkedAgainst`: what the changed balance rows (in their sorted order) are expected to
    /// hold (`expectedBalanceColumns`): the balance update is also their check
    /// (`writeBalancesChecked`).
    func writeSteps(
        _ result: BatchResult, existingQuotas: Set<QuotaKey>, recordIds: [Int64], period: QuotaPeriod, at now: Date?,
        checkedAgainst expected: [PostgresParameter]? = nil
    ) -> [PipelineStep] {
        var steps: [PipelineStep] = []
        let balances = result.changedBalances.sorted()
        // The carries of users whose carry moved, every service of theirs, as the balance row keeps them.
        var carried: [String: [(service: String, microFen: Int64)]] = [:]
        let carriesChanged = Set(result.changedCarries.map(\.userId))
        for (key, carry) in result.snapshot.carries where carriesChanged.contains(key.userId) {
            carried[key.userId, default: []].append((key.serviceName, carry))
        }
        if !balances.isEmpty {
            // The columns of many rows go as binary arrays (`PostgresParameter`).
            var values: [PostgresParameter] =
                [
                    .strings(balances),
                    .int64s(balances.map { result.snapshot.balance(of: $0).value }),
                    .texts(balances.map { user in carried[user].map(CarryText.encode) }),
                    .int64s(balances.map { result.snapshot.held(by: $0).value }),
                ] + Self.alertParameters(balances, result.snapshot).map(PostgresParameter.text)
            if let expected { values += expected }
            let statement = expected == nil ? LaneStatement.writeBalances : .writeBalancesChecked
            steps.append(.prepared(statement.rawValue, values: values))
        }
        // The period compares as its text does (four-digit years), without writing the text.
        let quotas = result.changedQuotas.sorted {
            ($0.userId, $0.period, $0.serviceName) < ($1.userId, $1.period, $1.serviceName)
        }
        for existed in [true, false] {
            let chosen = quotas.filter { existingQuotas.contains($0) == existed }
            guard !chosen.isEmpty else { continue }
            let usage = chosen.map { result.snapshot.quotas[$0] }
            var parameters = [
                PostgresText.textArray(chosen.map(\.period.text)), PostgresText.textArray(chosen.map(\.userId)),
                PostgresText.textArray(chosen.map(\.serviceName)),
            ]
            if !existed { parameters.append(PostgresText.int64Array(usage.map { $0?.total ?? 0 })) }
            parameters.append(PostgresText.int64Array(usage.map { $0?.used ?? 0 }))
            parameters.append(PostgresText.int64Array(usage.map { $0?.held ?? 0 }))
            steps.append(
                .prepared((existed ? LaneStatement.updateQuotas : LaneStatement.insertQuotas).rawValue, parameters))
        }
        // New holds, then ended ones (a settle's answer with its real record ids).
        let newHolds = result.newHolds.sorted { ($0.userId, $0.holdId) < ($1.userId, $1.holdId) }
            .compactMap { result.snapshot.holds[$0] }
        if !newHolds.isEmpty {
            steps.append(.prepared(LaneStatement.insertHolds.rawValue, HoldRows.insertParameters(newHolds)))
        }
        let endedHolds = result.changedHolds.subtracting(result.newHolds)
            .sorted { ($0.userId, $0.holdId) < ($1.userId, $1.holdId) }
            .compactMap { result.snapshot.holds[$0] }
            .map { hold in
                var hold = hold
                hold.settleReceipt = hold.settleReceipt.map { Self.renumber($0, ids: recordIds) }
                return hold
            }
        if !endedHolds.isEmpty {
            steps.append(.prepared(LaneStatement.updateHolds.rawValue, HoldRows.updateParameters(endedHolds)))
        }
        // In key order: neighbouring rows land on the same index pages one after another.
        let records = result.records.map { record in (record, Self.realId(record.id, ids: recordIds)) }
            .sorted { ($0.0.userId, $0.1) < ($1.0.userId, $1.1) }.map(\.0)
        if !records.isEmpty {
            let answers = Self.answers(result, recordIds: recordIds)
            let answer = records.map { answers[$0.id] }
            steps.append(
                .prepared(
                    LaneStatement.insertRecords.rawValue,
                    values: [
                        .text(now.map(PostgresText.microseconds)),
                        .int64s(records.map { Self.realId($0.id, ids: recordIds) }),
                        .strings(records.map(\.userId)),
                        .strings(records.map(\.serviceName)),
                        .texts(records.map(\.appId)),
                        .text(PostgresText.int64Array(records.map { Int64($0.type.rawValue) })),  // smallint[]
                        .int64s(records.map(\.count)),
                        .int64s(records.map(\.amountFen.value)),
                        .texts(records.map(\.requestId)),
                        .strings(records.map(\.period.text)),
                        .optionalInt64s(records.map { $0.price?.price.microFen }),
                        .optionalInt64s(records.map { $0.price?.versionId }),
                        .optionalInt64s(records.map { $0.price?.overrideId }),
                        .texts(records.map(\.holdId)),
                        .texts(records.map { $0.refersTo.isEmpty ? nil : PostgresText.int64Array($0.refersTo) }),
                        .optionalInt64s(answer.map { $0?.balanceAfterFen.value }),
                        .optionalInt64s(answer.map { $0?.freeRemainingAfter }),
                        .optionalInt64s(answer.map { $0?.availableAfterFen?.value }),
                        .optionalInt64s(answer.map { $0?.recordIds.dropFirst().first }),
                    ]))
        }
        let refunds = result.newRefunds.compactMap { result.snapshot.refunds[$0] }
        if !refunds.isEmpty {
            let receipts = refunds.map { Self.renumber($0.receipt, ids: recordIds) }
            steps.append(
                .prepared(
                    LaneStatement.insertRefunds.rawValue,
                    [
                        PostgresText.textArray(refunds.map(\.request.userId)),
                        PostgresText.textArray(refunds.map(\.request.refundId)),
                        PostgresText.textArray(refunds.map(\.request.target.kind)),
                        PostgresText.textArray(refunds.map(\.request.target.id)),
                        PostgresText.int64Array(refunds.map(\.request.count)),
                        PostgresText.textArray(refunds.map(\.request.reason)),
                        PostgresText.int64Array(receipts.map(\.paidRefunded)),
                        PostgresText.int64Array(receipts.map(\.freeRefunded)),
                        PostgresText.int64Array(receipts.map(\.freeReturned)),
                        PostgresText.int64Array(receipts.map(\.fenReturned.value)),
                        PostgresText.int64Array(receipts.map(\.balanceAfterFen.value)),
                        PostgresText.textArray(receipts.map { PostgresText.int64Array($0.recordIds) }),
                    ]))
        }
        let adjustments = result.newAdjustments.compactMap { result.snapshot.adjustments[$0] }
        if !adjustments.isEmpty {
            steps.append(
                .prepared(
                    LaneStatement.insertAdjustments.rawValue,
                    [
                        PostgresText.textArray(adjustments.map(\.request.userId)),
                        PostgresText.textArray(adjustments.map(\.request.adjustmentId)),
                        PostgresText.int64Array(adjustments.map(\.request.amountFen.value)),
                        PostgresText.textArray(adjustments.map(\.request.reason)),
                        PostgresText.textArray(adjustments.map(\.request.operatorName)),
                        PostgresText.int64Array(adjustments.map(\.receipt.balanceAfterFen.value)),
                        PostgresText.int64Array(adjustments.map(\.receipt.availableAfterFen.value)),
                        PostgresText.int64Array(adjustments.map { Self.realId($0.receipt.recordId, ids: recordIds) }),
                    ]))
        }
        if !result.events.isEmpty {
            steps.append(.prepared(LaneStatement.insertEvents.rawValue, EventRows.insertParameters(result.events)))
        }
        return steps
    }

    /// The answers of the batch's new keyed deductions, by the (local) id of each one's first
    /// record, which stores it; the receipts carry real record ids.
    static func answers(_ result: BatchResult, recordIds: [Int64]) -> [Int64: DeductionReceipt] {
        var answers: [Int64: DeductionReceipt] = [:]
        answers.reserveCapacity(result.newIdempotencyEntries.count)
        for entry in result.newIdempotencyEntries.values {
            // Every applied deduction writes a record (its count is positive).
            guard let first = entry.receipt.recordIds.first else { continue }
            answers[first] = renumber(entry.receipt, ids: recordIds)
        }
        return answers
    }

    static func realId(_ id: Int64, ids: [Int64]) -> Int64 {
        id < 0 ? ids[Int(-id - 1)] : id
    }

    /// An outcome with real record ids in its receipts.
    static func renumber(_ outcome: LedgerOutcome, ids: [Int64]) -> LedgerOutcome {
        switch outcome {
        case .deducted(let receipt): return .deducted(renumber(receipt, ids: ids))
        case .settled(let receipt, var hold):
            hold.settleReceipt = hold.settleReceipt.map { renumber($0, ids: ids) }
            return .settled(renumber(receipt, ids: ids), hold)
        case .refunded(let receipt): return .refunded(renumber(receipt, ids: ids))
        case .adjusted(let receipt):
            return .adjusted(
                AdjustmentReceipt(
                    adjustmentId: receipt.adjustmentId, amountFen: receipt.amountFen,
                    balanceAfterFen: receipt.balanceAfterFen, availableAfterFen: receipt.availableAfterFen,
                    recordId: realId(receipt.recordId, ids: ids), replayed: receipt.replayed))
        case .held, .released: return outcome
        }
    }

    private static func renumber(_ receipt: RefundReceipt, ids: [Int64]) -> RefundReceipt {
        RefundReceipt(
            refundId: receipt.refundId, target: receipt.target, count: receipt.count, paidRefunded: receipt.paidRefunded,
            freeRefunded: receipt.freeRefunded, freeReturned: receipt.freeReturned, fenReturned: receipt.fenReturned,
            balanceAfterFen: receipt.balanceAfterFen, recordIds: receipt.recordIds.map { realId($0, ids: ids) },
            replayed: receipt.replayed)
    }

    /// Replaces local record numbers with the real ids. A receipt replayed from storage
    /// already carries real ids; one replayed within this batch carries local ones.
    private static func renumber(_ receipt: DeductionReceipt, ids: [Int64]) -> DeductionReceipt {
        DeductionReceipt(
            recordIds: receipt.recordIds.map { realId($0, ids: ids) }, freeCount: receipt.freeCount,
            paidCount: receipt.paidCount, costFen: receipt.costFen, balanceAfterFen: receipt.balanceAfterFen,
            freeRemainingAfter: receipt.freeRemainingAfter, replayed: receipt.replayed, price: receipt.price,
            availableAfterFen: receipt.availableAfterFen)
    }
}
