import Foundation

/// This period's spend of a user: paid fen charged + fen held by pending holds created in
/// the period − fen refunded of its charges. Adjustments never count.
public struct SpendState: Sendable, Hashable, Codable {
    public var period: QuotaPeriod
    public var fen: Fen

    public init(period: QuotaPeriod, fen: Fen) {
        self.period = period
        self.fen = fen
    }
}

/// Caps and alerts in a batch (ledger-features.md §3): every paid charge is checked against
/// the cap (free calls never are), and every change of available funds or spend asks
/// `AlertRules` which events it fires; they are written in the batch's transaction.
extension DeductionBatch {
    func rules(for user: String, in snapshot: LedgerSnapshot) -> AlertRules {
        AlertRules(settings: snapshot.settings[user] ?? .none, userId: user)
    }

    /// The user's spend in the batch's period.
    func spent(by user: String, in snapshot: LedgerSnapshot) -> Fen {
        guard let spend = snapshot.spend[user], spend.period == period else { return .zero }
        return spend.fen
    }

    /// Refuses `adding` fen of paid spend the cap has no room for (firing spend_cap.reached
    /// once a period); the refusal's event is kept even though the operation changes nothing.
    func checkCap(_ user: String, adding: Fen, in result: inout BatchResult) throws(BillingError) {
        guard adding > .zero else { return }
        let rules = rules(for: user, in: result.snapshot)
        let spent = spent(by: user, in: result.snapshot)
        guard !rules.capAllows(spent: spent, adding: adding) else { return }
        var state = result.snapshot.alerts[user] ?? AlertState()
        let events = rules.refusedByCap(&state, period: period, spent: spent, required: adding)
        record(events, alerts: state, of: user, in: &result)
        throw .spendCapReached(capFen: rules.settings.monthlySpendCapFen?.value ?? 0, spentFen: spent.value)
    }

    /// A charge refused for want of balance: balance.depleted once until a credit re-arms it.
    func noteRefusedForBalance(_ user: String, available: Fen, in result: inout BatchResult) {
        guard !result.snapshot.newUsers.contains(user) else { return }
        var state = result.snapshot.alerts[user] ?? AlertState()
        let events = rules(for: user, in: result.snapshot).refusedForBalance(&state, available: available)
        record(events, alerts: state, of: user, in: &result)
    }

    /// Moves the period's spend by `delta` fen (never below zero) and fires cap thresholds.
    func addSpend(_ user: String, _ delta: Int64, in result: inout BatchResult) {
        guard delta != 0 else { return }
        let before = spent(by: user, in: result.snapshot)
        let (sum, overflow) = before.value.addingReportingOverflow(delta)
        let after = Fen(overflow ? Int64.max : max(0, sum))
        result.snapshot.spend[user] = SpendState(period: period, fen: after)
        var state = result.snapshot.alerts[user] ?? AlertState()
        let events = rules(for: user, in: result.snapshot).spendChanged(&state, period: period, from: before, to: after)
        record(events, alerts: state, of: user, in: &result)
        result.changedBalances.insert(user)
    }

    /// Available funds moved from `before` to what they are now; `credit` when money came in.
    func noteAvailable(_ user: String, from before: Fen, credit: Bool, in result: inout BatchResult) {
        let after = result.snapshot.available(to: user)
        var state = result.snapshot.alerts[user] ?? AlertState()
        let events = rules(for: user, in: result.snapshot).balanceChanged(&state, from: before, to: after, credit: credit)
        record(events, alerts: state, of: user, in: &result)
    }

    func emit(_ type: BillingEventType, _ user: String, _ data: [String: EventValue], in result: inout BatchResult) {
        result.events.append(BillingEvent(type: type, userId: user, data: data))
    }

    private func record(_ events: [BillingEvent], alerts: AlertState, of user: String, in result: inout BatchResult) {
        if result.snapshot.alerts[user] != alerts {
            result.snapshot.alerts[user] = alerts
            result.changedBalances.insert(user)
            // The store keeps one period for spend and cap alerts: the cap alerts' period starts
            // the spend's too (with nothing spent yet).
            if let alertPeriod = alerts.period, result.snapshot.spend[user]?.period != alertPeriod {
                result.snapshot.spend[user] = SpendState(period: alertPeriod, fen: .zero)
            }
        }
        result.events += events
    }
}
