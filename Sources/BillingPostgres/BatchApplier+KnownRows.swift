import BillingCore
import Foundation

/// A batch of deductions applied in one round trip: when the lane's own last commits left
/// every row the batch depends on (`LaneRowCache`), the batch is computed from those rows and
/// sent with its writes and COMMIT at once, behind statements that lock the same rows and roll
/// the transaction back unless they are exactly as expected. A guess that was wrong costs the
/// batch a rollback and the usual two round trips, never a charge computed from stale rows.
extension BatchApplier {
    enum KnownRowsAttempt {
        case committed(Commit)
        /// A keyed deduction's request id is stored already: apply the batch reading the stored
        /// answers (as the next batches will for a while: replays come in runs).
        case storedAnswersNeeded
        /// A keyed deduction was refused, which may be the replay of one accepted before: apply
        /// this batch reading the stored answers (found before anything was sent).
        case refused
        /// Applied as usual instead (rows unknown or changed, the clock in doubt, not plain
        /// deductions); nothing was committed.
        case notApplicable
    }

    /// How far the lane's clock may be from PostgreSQL's for a batch priced at the lane's
    /// instant: no month or price version may start within it on either side.
    static let clockTolerance: TimeInterval = 0.5

    /// Batches that read first after the clocks disagreed once.
    static let batchesAfterClockMiss = 1_000

    /// The first steps of the one pipeline: BEGIN, ids for later batches when the lane runs
    /// low (`takeIds`), then `checkClock`, which names the transaction; the balance and quota
    /// rows' checks and the writes follow.
    private struct Steps {
        let takesIds: Bool
        let takeIds = 1
        var checkClock: Int { takesIds ? 2 : 1 }
    }

    func applyKnown(_ requests: [LedgerOperation], on connection: PostgresConnection) throws -> KnownRowsAttempt {
        guard let knownRows, !knownRows.isPaused() else { return .notApplicable }
        var services = Set<String>()
        for operation in requests {
            guard case .deduct(let request) = operation, request.requestId != nil else { return .notApplicable }
            services.insert(request.serviceName)
        }
        let realTime = clock is SystemClock
        let now = realTime ? Date() : clock.now()
        let period = calendar.period(containing: now)
        let book = try knownBook(on: connection)
        if realTime {
            // Priced at this server's instant, the batch must price as at PostgreSQL's.
            let early = now.addingTimeInterval(-Self.clockTolerance)
            let late = now.addingTimeInterval(Self.clockTolerance)
            guard calendar.period(containing: early) == period, calendar.period(containing: late) == period else {
                return .notApplicable
            }
            for service in services {
                guard let first = try? book.version(of: service, at: early).id,
                    let last = try? book.version(of: service, at: late).id, first == last
                else { return .notApplicable }
            }
        }
        let users = Array(Set(requests.map(\.userId))).sorted()
        let idsNeeded = requests.count * 2
        guard recordIds.count >= idsNeeded, let rows = knownRows.rows(of: users, in: period) else {
            return .notApplicable
        }
        let before = Self.snapshot(of: users, rows: rows, period: period)
        var localId: Int64 = 0
        let batch = DeductionBatch(
            prices: book, period: period, periodStart: calendar.bounds(of: period).lowerBound, appliedAt: now)
        let result = batch.apply(operations: requests, to: before) {
            localId -= 1
            return localId
        }
        if Self.refusesKeyedDeduction(requests, result.results) { return .refused }
        guard !result.records.isEmpty, let ids = recordIds.take(idsNeeded) else { return .notApplicable }

        var versions: [String: Int64] = [:]
        versions.reserveCapacity(users.count)
        for (user, row) in zip(users, rows) { versions[user] = row.version }
        // Ids for later batches only once the lane runs low: a statement in every batch cost
        // about as much as three deductions' records.
        let refill = recordIds.refill()
        let step = Steps(takesIds: refill > 0)
        var steps: [PipelineStep] = [.sql("BEGIN")]
        // Taken before anything can fail, so even a rolled-back batch leaves the ids at hand.
        if step.takesIds { steps.append(.prepared(LaneStatement.takeRecordIds.rawValue, [String(refill)])) }
        steps.append(
            .prepared(
                LaneStatement.checkClock.rawValue,
                [
                    realTime ? PostgresText.microseconds(now) : nil,
                    String(Int64(Self.clockTolerance * 1_000_000)), calendar.timeZone.identifier, period.text,
                ]))
        let checkQuotas = Self.checkQuotasStep(users: users, rows: rows, period: period)
        // The records' instant is the transaction's now() (NULL), as when the batch reads it;
        // a test's fixed clock gives it instead, as there.
        let at = realTime ? nil : now
        if result.changedBalances.count == users.count {
            // Every balance row changes: its update is its check (and its lock, in the same
            // order), then the quota rows are checked before they are written. The rows it
            // updates are `users` in the same (sorted) order.
            let writes = writeSteps(
                result, existingQuotas: Set(before.quotas.keys), recordIds: ids, period: period, at: at,
                checkedAgainst: Self.expectedBalanceColumns(rows))
            steps += writes.prefix(1) + [checkQuotas] + writes.dropFirst()
        } else {
            steps.append(
                .prepared(
                    LaneStatement.checkBalances.rawValue,
                    values: [.strings(users)] + Self.expectedBalanceColumns(rows)))
            steps.append(checkQuotas)
            steps += writeSteps(
                result, existingQuotas: Set(before.quotas.keys), recordIds: ids, period: period, at: at)
        }
        steps.append(.sql("COMMIT"))
        let outcomes = result.results.map { outcome in outcome.map { Self.renumber($0, ids: ids) } }
        let commit = Commit(
            outcomes: outcomes, period: period,
            accounts: Self.changedAccounts(result, period: period, versions: versions),
            events: result.events.map(\.type), readFirst: false)

        var received: [PostgresRows] = []
        do {
            try connection.pipeline(steps, received: &received)
        } catch {
            keepIds(received, step)
            knownRows.forget(users)
            if !error.isConnectionFailure {
                if connection.isOpen { _ = try? connection.query("ROLLBACK") }
                if error.sqlState == "22012" {
                    // A check refused: the clocks disagree (read first for a while), or a row
                    // changed since this lane wrote it (forgotten above; read it now).
                    if received.count == step.checkClock { knownRows.pause(batches: Self.batchesAfterClockMiss) }
                    return .notApplicable
                }
                if Self.needsStoredAnswers(error) { return .storedAnswersNeeded }
                throw Failure.notCommitted(error, retryable: Self.isRetryable(error))
            }
            // The transaction is named by the clock check's answer, if it came before the break.
            guard received.count > step.checkClock else {
                throw Failure.commitUnknown(error, commit: commit, transactionId: 0, backendPID: connection.backendPID)
            }
            let transactionId = (try? received[step.checkClock].all.first?.int64(0)) ?? 0
            throw Failure.commitUnknown(
                error, commit: commit, transactionId: transactionId, backendPID: connection.backendPID)
        }
        keepIds(received, step)
        let changes = BatchChanges(result, period: period)
        knownRows.remember(
            zip(users, rows).map { user, row in (user, Self.committed(row, of: user, after: result, changes: changes)) },
            in: period)
        return .committed(commit)
    }

    /// The price book, as the usual path gets it.
    private func knownBook(on connection: PostgresConnection) throws -> PriceBook {
        do {
            return try prices.book(on: connection)
        } catch {
            throw Failure.notCommitted(error, retryable: Self.isRetryable(error))
        }
    }

    /// What the balance rows are expected to hold, as the checks compare them: version,
    /// balance, held fen, carries (as stored), spend period and spend.
    static func expectedBalanceColumns(_ rows: [LaneRowCache.Rows]) -> [PostgresParameter] {
        [
            .int64s(rows.map(\.version)), .int64s(rows.map(\.balance.value)), .int64s(rows.map(\.heldFen.value)),
            .strings(rows.map { CarryText.encode($0.carries.map { ($0.key, $0.value) }) }),
            .strings(rows.map { $0.spend?.period.text ?? "" }), .int64s(rows.map { $0.spend?.fen.value ?? 0 }),
        ]
    }

    /// Ids the pipeline took ahead (its second step, if it took any), kept whatever became
    /// of the batch.
    private func keepIds(_ received: [PostgresRows], _ step: Steps) {
        guard step.takesIds, received.count > step.takeIds,
            let ids = try? received[step.takeIds].all.map({ try $0.int64(0) })
        else { return }
        recordIds.add(ids)
    }

    private static func checkQuotasStep(users: [String], rows: [LaneRowCache.Rows], period: QuotaPeriod)
        -> PipelineStep
    {
        var owners: [String] = []
        var services: [String] = []
        var usage: [QuotaUsage] = []
        for (user, row) in zip(users, rows) {
            for (service, quota) in row.quotas {
                owners.append(user)
                services.append(service)
                usage.append(quota)
            }
        }
        return .prepared(
            LaneStatement.checkQuotas.rawValue,
            values: [
                .text(period.text), .strings(users), .strings(owners), .strings(services), .int64s(usage.map(\.total)),
                .int64s(usage.map(\.used)), .int64s(usage.map(\.held)),
            ])
    }

    /// The snapshot a read of these rows (`rows[i]` of `users[i]`) would give.
    static func snapshot(of users: [String], rows: [LaneRowCache.Rows], period: QuotaPeriod) -> LedgerSnapshot {
        var snapshot = LedgerSnapshot()
        snapshot.balances.reserveCapacity(users.count)
        snapshot.quotas.reserveCapacity(users.count)
        for (user, row) in zip(users, rows) {
            snapshot.balances[user] = row.balance
            if row.heldFen != .zero { snapshot.heldFen[user] = row.heldFen }
            for (service, carry) in row.carries { snapshot.carries[ChargeKey(userId: user, serviceName: service)] = carry }
            if let spend = row.spend { snapshot.spend[user] = spend }
            if let alerts = row.alerts { snapshot.alerts[user] = alerts }
            if let settings = row.settings { snapshot.settings[user] = settings }
            for (service, quota) in row.quotas {
                snapshot.quotas[QuotaKey(userId: user, serviceName: service, period: period)] = quota
            }
        }
        return snapshot
    }

    /// The rows of `users` as a read found them (the batch's snapshot before it applied) at
    /// their `versions`. Users with price overrides are left out (`LaneRowCache`).
    static func readRows<S: Sequence<String>>(
        of users: S, in snapshot: LedgerSnapshot, versions: [String: Int64], period: QuotaPeriod
    ) -> [(user: String, rows: LaneRowCache.Rows)] {
        var chosen: [String: LaneRowCache.Rows] = [:]
        for user in users {
            guard let version = versions[user], (snapshot.overrides[user] ?? []).isEmpty else { continue }
            chosen[user] = LaneRowCache.Rows(
                balance: snapshot.balance(of: user), version: version, heldFen: snapshot.held(by: user), carries: [:],
                spend: snapshot.spend[user], alerts: snapshot.alerts[user], settings: snapshot.settings[user],
                quotas: [:])
        }
        for (key, carry) in snapshot.carries where chosen[key.userId] != nil {
            chosen[key.userId]?.carries[key.serviceName] = carry
        }
        for (key, usage) in snapshot.quotas where key.period == period && chosen[key.userId] != nil {
            chosen[key.userId]?.quotas[key.serviceName] = usage
        }
        return chosen.map { ($0.key, $0.value) }
    }

    /// What a committed batch wrote, by user (the period's quota rows; carries as stored).
    struct BatchChanges {
        var quotas: [String: [String: QuotaUsage]] = [:]
        var carries: [String: [String: Int64]] = [:]

        init(_ result: BatchResult, period: QuotaPeriod) {
            for key in result.changedQuotas where key.period == period {
                if let usage = result.snapshot.quotas[key] { quotas[key.userId, default: [:]][key.serviceName] = usage }
            }
            let moved = Set(result.changedCarries.map(\.userId))
            guard !moved.isEmpty else { return }
            var lists: [String: [(service: String, microFen: Int64)]] = [:]
            for (key, carry) in result.snapshot.carries where moved.contains(key.userId) {
                lists[key.userId, default: []].append((key.serviceName, carry))
            }
            for user in moved {
                // As `writeBalances` stores them and `lockBalances` reads them back.
                let list = lists[user] ?? []
                var stored: [String: Int64] = [:]
                for (service, carry) in (try? CarryText.decode(CarryText.encode(list))) ?? list { stored[service] = carry }
                carries[user] = stored
            }
        }
    }

    /// A user's rows once a batch has committed, as a read would give them: what the batch
    /// wrote where it wrote (`writeBalances` writes only the users whose balance row
    /// changed, carries only where they moved), `before` elsewhere.
    static func committed(
        _ before: LaneRowCache.Rows, of user: String, after result: BatchResult, changes: BatchChanges
    ) -> LaneRowCache.Rows {
        var rows = before
        if result.changedBalances.contains(user) {
            rows.version = before.version &+ 1
            rows.balance = result.snapshot.balance(of: user)
            rows.heldFen = result.snapshot.held(by: user)
            rows.spend = result.snapshot.spend[user]
            var alerts = result.snapshot.alerts[user] ?? AlertState()
            alerts.period = rows.spend?.period
            rows.alerts = alerts == AlertState() ? nil : alerts
            if let carries = changes.carries[user] { rows.carries = carries }
        }
        for (service, usage) in changes.quotas[user] ?? [:] { rows.quotas[service] = usage }
        return rows
    }
}
