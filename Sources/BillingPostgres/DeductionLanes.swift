import BillingConcurrency
import BillingCore
import Foundation
import Synchronization

/// The deduction path: group commit over N lanes. A user always goes to the same lane
/// (a stable hash of the user id), so one user's deductions stay in arrival order and
/// lanes never contend for rows. Each lane owns one connection and one thread, takes
/// whatever is queued (up to `maxBatchCount`), applies it in one transaction with
/// BillingCore's `DeductionBatch`, and answers every waiter only after COMMIT.
public final class DeductionLanes: CallbackDeductionLedger, OperationLedger, ThreadOwningService {
    public struct Settings: Sendable {
        public var laneCount: Int
        public var maxBatchCount: Int
        /// Past this many waiting deductions a lane answers OVERLOADED at once.
        public var maxQueuedPerLane: Int
        /// Whether a batch of deductions of users whose rows the lane's last commit left is
        /// applied in one round trip, checking those rows instead of reading them first
        /// (`BatchApplier.applyKnown`; plain PostgreSQL only).
        public var knownRows: Bool

        /// One lane per core (at least 2, at most 16): each lane keeps one backend busy, and
        /// more lanes than cores only split batches without adding throughput.
        public static var defaultLaneCount: Int {
            min(16, max(2, ProcessInfo.processInfo.activeProcessorCount))
        }

        public init(
            laneCount: Int = Settings.defaultLaneCount, maxBatchCount: Int = 1_024, maxQueuedPerLane: Int = 16_384,
            knownRows: Bool = true
        ) {
            self.laneCount = laneCount
            self.maxBatchCount = maxBatchCount
            self.maxQueuedPerLane = maxQueuedPerLane
            self.knownRows = knownRows
        }
    }

    private let lanes: [DeductionLane]
    private let threads = WorkerThreads()
    /// On Citus, the shards as a lane last read them: users are then sent to lanes by shard,
    /// so a lane's batch holds few shards and splits into few, larger transactions.
    private let shards: ShardDispatch

    /// Stores the settings; `start()` (or `run()` in a ServiceGroup) starts the lane threads,
    /// which connect on their first batch.
    public init(
        config: PostgresConfig, catalog: ServiceCatalog, calendar: BillingCalendar, clock: any BillingClock,
        settings: Settings = Settings(), observer: (any LaneObserver)? = nil,
        listener: (any LaneCommitListener)? = nil, prices: StoredPrices? = nil
    ) {
        let prices = prices ?? StoredPrices(catalog: catalog)
        precondition(settings.laneCount > 0 && settings.maxBatchCount > 0, "at least one lane and one deduction")
        // Lane connections are told apart in pg_stat_activity by their application name.
        var laneConfig = config
        laneConfig.applicationName = config.applicationName + "-lane"
        let dispatch = ShardDispatch()
        shards = dispatch
        lanes = (0..<settings.laneCount).map { index in
            DeductionLane(
                index: index, config: laneConfig,
                applier: BatchApplier(
                    prices: prices, calendar: calendar, clock: clock,
                    knownUsers: KnownBalanceRows(limit: max(10_000, Self.knownUsersLimit / settings.laneCount)),
                    knownRows: settings.knownRows
                        ? LaneRowCache(limit: max(5_000, Self.knownRowsLimit / settings.laneCount)) : nil),
                maxBatchCount: settings.maxBatchCount, maxQueued: settings.maxQueuedPerLane, observer: observer,
                listener: listener, dispatch: dispatch)
        }
    }

    /// Users remembered as having a balance row, over all lanes (a few MB at most).
    static let knownUsersLimit = 200_000
    /// Users whose rows the lanes remember, over all lanes (a few hundred bytes each: ~20 MB).
    static let knownRowsLimit = 50_000

    public func start() {
        guard threads.beginOnce() else { return }
        for lane in lanes {
            threads.start(name: "deduction-lane-\(lane.index)") { lane.run() }
        }
    }

    public func deduct(_ request: DeductionRequest) async throws(BillingError) -> DeductionReceipt {
        try Self.receipt(await lanes[laneIndex(of: request.userId)].submitting(.deduct(request))).get()
    }

    /// A deduction's outcome as its receipt (any other outcome is the lane's fault).
    private static func receipt(_ outcome: Result<LedgerOutcome, BillingError>) -> Result<DeductionReceipt, BillingError> {
        outcome.flatMap { outcome in
            outcome.receipt.map { .success($0) } ?? .failure(.internalFailure("a deduction answered with something else"))
        }
    }

    /// Many deductions at once (a gateway's buffered batch): each goes to its user's lane,
    /// a lane's share queued in order at once, so one commit can carry many of them; each
    /// answered on its own (after its COMMIT), in the order given.
    public func deductAll(_ requests: [DeductionRequest]) async -> [Result<DeductionReceipt, BillingError>] {
        var byLane: [Int: [Int]] = [:]
        for (position, request) in requests.enumerated() {
            byLane[laneIndex(of: request.userId), default: []].append(position)
        }
        var results = [Result<DeductionReceipt, BillingError>](
            repeating: .failure(.internalFailure("no answer")), count: requests.count)
        await withTaskGroup(of: [(Int, Result<LedgerOutcome, BillingError>)].self) { group in
            for (lane, positions) in byLane {
                group.addTask {
                    let outcomes = await self.lanes[lane].submitAll(positions.map { .deduct(requests[$0]) })
                    return Array(zip(positions, outcomes))
                }
            }
            for await answered in group {
                for (position, outcome) in answered { results[position] = Self.receipt(outcome) }
            }
        }
        return results
    }

    /// A deduction answered through `completion`, on the lane's thread after COMMIT.
    public func deduct(
        _ request: DeductionRequest, completion: @escaping @Sendable (Result<DeductionReceipt, BillingError>) -> Void
    ) {
        lanes[laneIndex(of: request.userId)].push(.deduct(request)) { completion(Self.receipt($0)) }
    }

    /// Any ledger operation (holds included), in its user's lane, answered after COMMIT.
    public func perform(_ operation: LedgerOperation) async throws(BillingError) -> LedgerOutcome {
        try await lanes[laneIndex(of: operation.userId)].submit(operation)
    }

    /// Stops taking deductions, lets every queued one be committed and answered, then
    /// closes the lanes' connections.
    public func shutdown() async {
        start()
        for lane in lanes { lane.stop() }
        await threads.waitUntilFinished()
    }

    /// Deductions waiting in every lane now (not yet taken into a batch).
    public var queuedCount: Int { lanes.reduce(0) { $0 + $1.queuedCount } }

    /// Plain PostgreSQL: a stable hash of the user. Citus: the user's shard (once a lane has
    /// read the shards), so each lane serves whole shards. Either way one user's operations
    /// meet in one lane (the switch happens once, as the first lane connects).
    func laneIndex(of userId: String) -> Int {
        if let position = shards.position(of: userId) { return position % lanes.count }
        return Self.laneIndex(of: userId, laneCount: lanes.count)
    }

    /// FNV-1a: stable across processes, unlike `Hasher`, so a user's lane does not move.
    static func laneIndex(of userId: String, laneCount: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in userId.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(laneCount))
    }
}

/// What a lane reports, for metrics and benchmarks.
public protocol LaneObserver: Sendable {
    func batchCommitted(lane: Int, size: Int, attempts: Int)
    func batchFailed(lane: Int, size: Int, error: BillingError)
    /// Events a committed batch wrote to the outbox.
    func eventsWritten(_ types: [BillingEventType])
    /// How long a batch took: its transaction (retries included) and the cache write after it.
    func batchTimed(lane: Int, transaction: Duration, cache: Duration)
    /// A batch committed in one round trip, from the rows the lane's last commits left.
    func knownRowsCommitted(lane: Int)
}

extension LaneObserver {
    public func eventsWritten(_ types: [BillingEventType]) {}
    public func knownRowsCommitted(lane: Int) {}
    public func batchTimed(lane: Int, transaction: Duration, cache: Duration) {}
}

/// Told, before the waiters are answered, how a committed batch left the accounts (the
/// cache writes them). Called on the lane's own thread; it must bound how long it blocks.
public protocol LaneCommitListener: Sendable {
    func accountsCommitted(_ accounts: [String: AccountState], period: QuotaPeriod, lane: Int)
    /// A batch's commit could not be told: these accounts may now be at the given versions,
    /// with a state unknown here. The cache must stop serving anything older (a tombstone at
    /// that version, not a delete that a slower reader's older value could fill again).
    func accountsUnknown(_ versions: [String: Int64], period: QuotaPeriod, lane: Int)
    /// The lane's thread has answered its last batch and ends.
    func laneStopped(_ lane: Int)
}

/// The Citus shards shared by the lanes (for dispatch) once one of them has read them.
final class ShardDispatch: Sendable {
    private let shards = Mutex<CitusShards?>(nil)

    func update(_ new: CitusShards?) { shards.withLock { $0 = new } }

    /// The user's shard's position among the shards; nil on plain PostgreSQL.
    func position(of userId: String) -> Int? {
        shards.withLock { shards in
            guard let shards else { return nil }
            return shards.position(of: userId)
        }
    }
}

/// One lane: a queue of waiting deductions and the thread that commits them in batches.
final class DeductionLane: Sendable {
    struct Pending {
        let request: LedgerOperation
        /// Called once, on the lane's thread, after COMMIT (or with the error).
        let complete: @Sendable (Result<LedgerOutcome, BillingError>) -> Void
    }

    let index: Int
    private let config: PostgresConfig
    private let applier: BatchApplier
    private let maxBatchCount: Int
    private let queue: WorkQueue<Pending>
    private let observer: (any LaneObserver)?
    private let listener: (any LaneCommitListener)?
    /// The Citus shards as read on the lane's current connection (nil: plain PostgreSQL).
    private let shards = Mutex<CitusShards?>(nil)
    private let dispatch: ShardDispatch?

    init(
        index: Int, config: PostgresConfig, applier: BatchApplier, maxBatchCount: Int, maxQueued: Int,
        observer: (any LaneObserver)?, listener: (any LaneCommitListener)?, dispatch: ShardDispatch? = nil
    ) {
        self.index = index
        self.dispatch = dispatch
        self.config = config
        self.applier = applier
        self.maxBatchCount = maxBatchCount
        self.queue = WorkQueue(capacity: maxQueued)
        self.observer = observer
        self.listener = listener
    }

    func submit(_ request: LedgerOperation) async throws(BillingError) -> LedgerOutcome {
        try await submitting(request).get()
    }

    /// `submit`, its outcome as a value.
    func submitting(_ request: LedgerOperation) async -> Result<LedgerOutcome, BillingError> {
        await withCheckedContinuation { continuation in
            push(request) { continuation.resume(returning: $0) }
        }
    }

    /// Queues every operation at once, in order (so a request id repeated among them
    /// replays the earlier one), and answers each once its batch has committed.
    func submitAll(_ requests: [LedgerOperation]) async -> [Result<LedgerOutcome, BillingError>] {
        guard !requests.isEmpty else { return [] }
        let slots = Slots(count: requests.count)
        return await withCheckedContinuation { continuation in
            slots.onFull { continuation.resume(returning: $0) }
            for (index, request) in requests.enumerated() {
                push(request) { slots.fill(index, with: $0) }
            }
        }
    }

    func push(_ request: LedgerOperation, complete: @escaping @Sendable (Result<LedgerOutcome, BillingError>) -> Void) {
        if let refusal = queue.push(Pending(request: request, complete: complete)) {
            let error: BillingError =
                refusal == .full
                ? .overloaded("too many deductions waiting; retry with the same request_id")
                : .unavailable("the service is shutting down")
            complete(.failure(error))
        }
    }

    /// Results filled in any order; the waiter is told once all are in.
    final class Slots: Sendable {
        private let state: Mutex<(results: [Result<LedgerOutcome, BillingError>?], left: Int,
            done: (@Sendable ([Result<LedgerOutcome, BillingError>]) -> Void)?)>

        init(count: Int) { state = Mutex((Array(repeating: nil, count: count), count, nil)) }

        func onFull(_ done: @escaping @Sendable ([Result<LedgerOutcome, BillingError>]) -> Void) {
            state.withLock { $0.done = done }
        }

        func fill(_ index: Int, with result: Result<LedgerOutcome, BillingError>) {
            let finished: (([Result<LedgerOutcome, BillingError>]) -> Void, [Result<LedgerOutcome, BillingError>])? =
                state.withLock { state in
                    state.results[index] = result
                    state.left -= 1
                    guard state.left == 0, let done = state.done else { return nil }
                    return (done, state.results.map { $0 ?? .failure(.internalFailure("no answer")) })
                }
            if let (done, results) = finished { done(results) }
        }
    }

    func stop() { queue.stop() }

    var queuedCount: Int { queue.count }

    /// The lane's thread: runs until the queue is stopped and drained.
    func run() {
        var connection: PostgresConnection?
        while true {
            let batch = queue.take(max: maxBatchCount)
            if batch.isEmpty { break }
            let requests = batch.map(\.request)
            let started = ContinuousClock.now
            let commit = commitByShard(requests, connection: &connection)
            let committed = ContinuousClock.now
            // The cache first, so a check after an acknowledged deduction sees it.
            if let listener, let period = commit.period {
                if !commit.accounts.isEmpty { listener.accountsCommitted(commit.accounts, period: period, lane: index) }
                if !commit.unknown.isEmpty { listener.accountsUnknown(commit.unknown, period: period, lane: index) }
            }
            observer?.batchTimed(lane: index, transaction: committed - started, cache: ContinuousClock.now - committed)
            for (pending, outcome) in zip(batch, commit.outcomes) {
                pending.complete(outcome)
            }
        }
        connection?.close()
        listener?.laneStopped(index)
    }

    /// Applies a batch; retries once on a fresh connection when the first attempt was
    /// not committed for a reason a retry can cure. Never reports success for a
    /// deduction that is not in the database.
    /// A batch's outcomes, the accounts it left, and the accounts whose state it could not
    /// tell (a commit of unknown fate: user → the version they would have now).
    private struct LaneCommit {
        var outcomes: [Result<LedgerOutcome, BillingError>]
        var period: QuotaPeriod?
        var accounts: [String: AccountState] = [:]
        var unknown: [String: Int64] = [:]

        init(_ commit: BatchApplier.Commit) {
            outcomes = commit.outcomes
            period = commit.period
            accounts = commit.accounts
        }

        init(failing count: Int, with error: BillingError, unknown: BatchApplier.Commit?) {
            outcomes = Array(repeating: .failure(error), count: count)
            period = unknown?.period
            self.unknown = unknown?.accounts.mapValues(\.version) ?? [:]
        }

        /// Takes in the commit of the requests at `positions` (in that order).
        mutating func merge(_ part: LaneCommit, at positions: [Int]) {
            for (offset, position) in positions.enumerated() { outcomes[position] = part.outcomes[offset] }
            period = period ?? part.period
            accounts.merge(part.accounts) { _, new in new }
            unknown.merge(part.unknown) { _, new in new }
        }
    }

    /// On Citus, one transaction per shard of the batch: each is routed whole to one worker
    /// (a `FOR UPDATE` over two shards is refused, and a transaction over two workers would
    /// need two-phase commit). A user is on one shard, so its operations keep their order.
    /// On plain PostgreSQL, the batch as it is.
    private func commitByShard(_ requests: [LedgerOperation], connection: inout PostgresConnection?) -> LaneCommit {
        // The first batch connects here, to know the database before grouping; later ones
        // use the shards read at the last (re)connection.
        if connection == nil { try? reconnect(&connection) }
        guard let shards = shards.withLock({ $0 }) else { return commit(requests, connection: &connection) }
        var groups: [Int64: [Int]] = [:]
        var order: [Int64] = []
        for (position, request) in requests.enumerated() {
            let shard = shards.shard(of: request.userId)
            if groups[shard] == nil { order.append(shard) }
            groups[shard, default: []].append(position)
        }
        guard order.count > 1 else { return commit(requests, connection: &connection) }
        var merged = LaneCommit(failing: requests.count, with: .unavailable("database unavailable"), unknown: nil)
        for shard in order {
            let positions = groups[shard] ?? []
            merged.merge(commit(positions.map { requests[$0] }, connection: &connection), at: positions)
        }
        return merged
    }

    /// A fresh connection in place of `connection` (nil when it cannot be made), and the
    /// shards read on it: a shard split since the last connection shows up here.
    private func reconnect(_ connection: inout PostgresConnection?) throws {
        connection?.close()
        connection = nil
        let (fresh, shards) = try applier.connect(config)
        connection = fresh
        self.shards.withLock { $0 = shards }
        dispatch?.update(shards)
    }

    private func commit(_ requests: [LedgerOperation], connection: inout PostgresConnection?) -> LaneCommit {
        var lastError = BillingError.unavailable("database unavailable")
        var unknown: BatchApplier.Commit?
        attempts: for attempt in 1...2 {
            switch attemptOnce(requests, connection: &connection) {
            case .committed(let commit):
                observer?.batchCommitted(lane: index, size: requests.count, attempts: attempt)
                if !commit.readFirst { observer?.knownRowsCommitted(lane: index) }
                if !commit.events.isEmpty { observer?.eventsWritten(commit.events) }
                return LaneCommit(commit)
            case .retry(let error, let lockWait, let shardsMoved):
                lastError = error
                // A row lock held elsewhere past lock_timeout: retry user by user, so only
                // the user whose row is held waits and fails; the others are committed.
                if lockWait, Set(requests.map(\.userId)).count > 1 {
                    return commitPerUser(requests, connection: &connection)
                }
                // Shards split since the batch was grouped: grouped again by the shards just
                // read (when they do split it; else the retry below meets the same answer).
                if shardsMoved, let shards = shards.withLock({ $0 }),
                    Set(requests.map { shards.shard(of: $0.userId) }).count > 1
                {
                    return commitByShard(requests, connection: &connection)
                }
            case .fail(let error, let fateUnknown):
                lastError = error
                unknown = fateUnknown
                break attempts
            }
        }
        observer?.batchFailed(lane: index, size: requests.count, error: lastError)
        return LaneCommit(failing: requests.count, with: lastError, unknown: unknown)
    }

    /// One transaction per user of the batch, each tried once; outcomes back in request order.
    private func commitPerUser(_ requests: [LedgerOperation], connection: inout PostgresConnection?) -> LaneCommit {
        var groups: [String: [Int]] = [:]
        for (position, request) in requests.enumerated() { groups[request.userId, default: []].append(position) }
        var merged = LaneCommit(failing: requests.count, with: .unavailable("database unavailable"), unknown: nil)
        for positions in groups.values {
            let part = positions.map { requests[$0] }
            let commit: LaneCommit
            switch attemptOnce(part, connection: &connection) {
            case .committed(let done):
                observer?.batchCommitted(lane: index, size: part.count, attempts: 2)
                if !done.events.isEmpty { observer?.eventsWritten(done.events) }
                commit = LaneCommit(done)
            case .retry(let error, _, _):
                observer?.batchFailed(lane: index, size: part.count, error: error)
                commit = LaneCommit(failing: part.count, with: error, unknown: nil)
            case .fail(let error, let fateUnknown):
                observer?.batchFailed(lane: index, size: part.count, error: error)
                commit = LaneCommit(failing: part.count, with: error, unknown: fateUnknown)
            }
            merged.merge(commit, at: positions)
        }
        return merged
    }

    private enum Attempt {
        case committed(BatchApplier.Commit)
        /// `lockWait`: a row lock was waited for past lock_timeout. `shardsMoved`: Citus
        /// refused the batch as spanning shards; the shards have been read again.
        case retry(BillingError, lockWait: Bool = false, shardsMoved: Bool = false)
        /// `fateUnknown`: the batch may have committed with this result.
        case fail(BillingError, fateUnknown: BatchApplier.Commit? = nil)
    }

    private func attemptOnce(_ requests: [LedgerOperation], connection: inout PostgresConnection?) -> Attempt {
        do {
            if connection?.isAlive != true { try reconnect(&connection) }
            guard let live = connection else { return .fail(.unavailable("database unavailable")) }
            let citus = shards.withLock { $0 } != nil
            let settings = citus ? LaneStatement.citusTransactionSettings(config) : []
            return .committed(try applier.apply(requests, on: live, citus: citus, transactionSettings: settings))
        } catch let failure as BatchApplier.Failure {
            switch failure {
            case .notCommitted(let error, let retryable):
                if connection?.isOpen != true { connection = nil }
                // On Citus, a batch over two shards is refused (0A000): the shards were split
                // since they were read. A new connection reads them again; nothing was written,
                // so the batch can be grouped again and retried.
                if (error as? PostgresError)?.sqlState == "0A000", shards.withLock({ $0 }) != nil {
                    try? reconnect(&connection)
                    return .retry(.unavailable("the shards moved; retry with the same request_id"), shardsMoved: true)
                }
                let lockWait = (error as? PostgresError)?.sqlState == "55P03"
                return retryable
                    ? .retry(DatabaseErrors.map(error), lockWait: lockWait) : .fail(DatabaseErrors.map(error))
            case .commitUnknown(let error, let commit, let transactionId, let backendPID):
                // COMMIT was sent but its answer lost: a fresh connection asks the
                // transaction's own fate, waiting (or ending the old backend) while it is
                // still in progress. If that cannot be told, every waiter gets UNAVAILABLE:
                // a retry with the same request_id is safe either way.
                try? reconnect(&connection)
                guard let fresh = connection else { return .fail(DatabaseErrors.map(error), fateUnknown: commit) }
                // A batch applied in one round trip that lost its answers before naming its
                // transaction: its fate cannot be asked.
                guard transactionId != 0 else { return .fail(DatabaseErrors.map(error), fateUnknown: commit) }
                switch TransactionFate.resolve(transactionId: transactionId, backendPID: backendPID, on: fresh) {
                case .committed: return .committed(commit)
                case .aborted: return .retry(DatabaseErrors.map(error))
                case .unknown: return .fail(DatabaseErrors.map(error), fateUnknown: commit)
                }
            }
        } catch {
            // Connecting failed: the database is down or refusing; the caller may retry later.
            connection = nil
            return .fail(DatabaseErrors.map(error))
        }
    }
}
