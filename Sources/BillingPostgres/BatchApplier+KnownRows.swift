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

    /// The steps of the one pipeline, in order (`checkClock` names the transaction).
    private enum Step: Int {
        case begin, takeIds, checkClock, checkBalances, checkQuotas
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
        let before = Self.snapshot(of: rows, period: period)
        var localId: Int64 = 0
        let batch = DeductionBatch(
            prices: book, period: period, periodStart: calendar.bounds(of: period).lowerBound, appliedAt: now)
        let result = batch.apply(operations: requests, to: before) {
            localId -= 1
            return localId
        }
        if Self.refusesKeyedDeduction(requests, result.results) { return .refused }
        guard !result.records.isEmpty, let ids = recordIds.take(idsNeeded) else { return .notApplicable }

        let versions = rows.mapValues(\.version)
        let refill = recordIds.shortfall(after: 0)
        var steps: [PipelineStep] = [
            .sql("BEGIN"),
            // Taken before anything can fail, so even a rolled-back batch leaves the ids at hand.
            .prepared(LaneStatement.takeRecordIds.rawValue, [String(refill)]),
            .prepared(
                LaneStatement.checkClock.rawValue,
                [
                    realTime ? PostgresText.microseconds(now) : nil,
                    String(Int64(Self.clockTolerance * 1_000_000)), calendar.timeZone.identifier, period.text,
                ]),
            .prepared(
                LaneStatement.checkBalances.rawValue,
                [
                    PostgresText.textArray(users), PostgresText.int64Array(users.map { rows[$0]?.version ?? -1 }),
                    PostgresText.int64Array(users.map { rows[$0]?.balance.value ?? -1 }),
                    PostgresText.int64Array(users.map { rows[$0]?.heldFen.value ?? -1 }),
                    PostgresText.textArray(
                        users.map { user in CarryText.encode((rows[user]?.carries ?? [:]).map { ($0.key, $0.value) }) }),
                    PostgresText.textArray(users.map { rows[$0]?.spend?.period.text ?? "" }),
                    PostgresText.int64Array(users.map { rows[$0]?.spend?.fen.value ?? 0 }),
                ]),
            Self.checkQuotasStep(users: users, rows: rows, period: period),
        ]
        // The records' instant is the transaction's now() (NULL), as when the batch reads it;
        // a test's fixed clock gives it instead, as there.
        steps += writeSteps(
            result, existingQuotas: Set(before.quotas.keys), recordIds: ids, period: period, at: realTime ? nil : now)
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
            keepIds(received)
            knownRows.forget(users)
            if !error.isConnectionFailure {
                if connection.isOpen { _ = try? connection.query("ROLLBACK") }
                if error.sqlState == "22012" {
                    // A check refused: the clocks disagree (read first for a while), or a row
                    // changed since this lane wrote it (forgotten above; read it now).
                    if received.count == Step.checkClock.rawValue { knownRows.pause(batches: Self.batchesAfterClockMiss) }
                    return .notApplicable
                }
                if Self.needsStoredAnswers(error) { return .storedAnswersNeeded }
                throw Failure.notCommitted(error, retryable: Self.isRetryable(error))
            }
            // The transaction is named by the clock check's answer, if it came before the break.
            guard received.count > Step.checkClock.rawValue else {
                throw Failure.commitUnknown(error, commit: commit, transactionId: 0, backendPID: connection.backendPID)
            }
            let transactionId = (try? received[Step.checkClock.rawValue].all.first?.int64(0)) ?? 0
            throw Failure.commitUnknown(
                error, commit: commit, transactionId: transactionId, backendPID: connection.backendPID)
        }
        keepIds(received)
        knownRows.remember(
            Self.committedRows(of: users, before: before, versions: versions, after: result, period: period), in: period)
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

    /// Ids the pipeline took ahead (its second step), kept whatever became of the batch.
    private func keepIds(_ received: [PostgresRows]) {
        guard received.count > Step.takeIds.rawValue,
            let ids = try? received[Step.takeIds.rawValue].all.map({ try $0.int64(0) })
        else { return }
        recordIds.add(ids)
    }

    private static func checkQuotasStep(users: [String], rows: [String: LaneRowCache.Rows], period: QuotaPeriod)
        -> PipelineStep
    {
        var owners: [String] = []
        var services: [String] = []
        var usage: [QuotaUsage] = []
        for user in users {
            for (service, quota) in rows[user]?.quotas ?? [:] {
                owners.append(user)
                services.append(service)
                usage.append(quota)
            }
        }
        return .prepared(
            LaneStatement.checkQuotas.rawValue,
            [
                period.text, PostgresText.textArray(users), PostgresText.textArray(owners), PostgresText.textArray(services),
                PostgresText.int64Array(usage.map(\.total)), PostgresText.int64Array(usage.map(\.used)),
                PostgresText.int64Array(usage.map(\.held)),
            ])
    }

    /// The snapshot a read of these rows would give.
    static func snapshot(of rows: [String: LaneRowCache.Rows], period: QuotaPeriod) -> LedgerSnapshot {
        var snapshot = LedgerSnapshot()
        for (user, row) in rows {
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

    /// The rows of `users` once a batch has committed, as a read would give them: what the
    /// batch wrote where it wrote, what was there before elsewhere. Users with price overrides
    /// are left out (`LaneRowCache`).
    static func committedRows<S: Sequence<String>>(
        of users: S, before: LedgerSnapshot, versions: [String: Int64], after result: BatchResult, period: QuotaPeriod
    ) -> [String: LaneRowCache.Rows] {
        let chosen = Set(users)
        let carriesMoved = Set(result.changedCarries.map(\.userId))
        var carries: [String: [(service: String, microFen: Int64)]] = [:]
        for (key, carry) in before.carries where chosen.contains(key.userId) && !carriesMoved.contains(key.userId) {
            carries[key.userId, default: []].append((key.serviceName, carry))
        }
        var moved: [String: [(service: String, microFen: Int64)]] = [:]
        for (key, carry) in result.snapshot.carries where carriesMoved.contains(key.userId) && chosen.contains(key.userId) {
            moved[key.userId, default: []].append((key.serviceName, carry))
        }
        for (user, list) in moved {
            // As `writeBalances` stores them and `lockBalances` reads them back.
            carries[user] = (try? CarryText.decode(CarryText.encode(list))) ?? list
        }
        var quotas: [String: [String: QuotaUsage]] = [:]
        for (key, usage) in before.quotas where key.period == period && chosen.contains(key.userId) {
            quotas[key.userId, default: [:]][key.serviceName] = usage
        }
        for key in result.changedQuotas where key.period == period && chosen.contains(key.userId) {
            quotas[key.userId, default: [:]][key.serviceName] = result.snapshot.quotas[key]
        }
        var committed: [String: LaneRowCache.Rows] = [:]
        for user in chosen {
            guard let version = versions[user], (before.overrides[user] ?? []).isEmpty else { continue }
            let changed = result.changedBalances.contains(user)
            // The balance row as written (`writeBalances`) and read back (`lockBalances`).
            let state = changed ? result.snapshot : before
            let spend = state.spend[user]
            var alerts = state.alerts[user] ?? AlertState()
            alerts.period = spend?.period
            var rows = LaneRowCache.Rows(
                balance: state.balance(of: user), version: changed ? version &+ 1 : version,
                heldFen: state.held(by: user), carries: [:], spend: spend,
                alerts: alerts == AlertState() ? nil : alerts, settings: before.settings[user],
                quotas: quotas[user] ?? [:])
            for (service, carry) in carries[user] ?? [] { rows.carries[service] = carry }
            committed[user] = rows
        }
        return committed
    }
}
