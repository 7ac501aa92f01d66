/// What a user's alerts remember between changes (ledger-features.md §3): whether the
/// balance alerts are armed, and which cap thresholds already fired in which period.
public struct AlertState: Sendable, Hashable, Codable {
    public var lowBalanceArmed = true
    public var depletedArmed = true
    /// The period `firedPercents` and `capReachedFired` belong to.
    public var period: QuotaPeriod?
    public var firedPercents: Set<Int> = []
    public var capReachedFired = false

    public init() {}

    /// The state as seen in `period`: cap alerts start over in a new period.
    func entering(_ period: QuotaPeriod) -> AlertState {
        guard self.period != period else { return self }
        var next = self
        next.period = period
        next.firedPercents = []
        next.capReachedFired = false
        return next
    }
}

/// The event types a user's changes can emit (written to the outbox with the change).
public enum BillingEventType: String, Sendable, Hashable, Codable, CaseIterable {
    case balanceLow = "balance.low"
    case balanceDepleted = "balance.depleted"
    case spendCapThreshold = "spend_cap.threshold"
    case spendCapReached = "spend_cap.reached"
    case holdExpired = "hold.expired"
    case rechargeSucceeded = "recharge.succeeded"
    case refundCreated = "refund.created"
    case adjustmentCreated = "adjustment.created"
}

/// One event: its type, its user and its data (integer and text fields).
public struct BillingEvent: Sendable, Hashable {
    public let type: BillingEventType
    public let userId: String
    public let data: [String: EventValue]

    public init(type: BillingEventType, userId: String, data: [String: EventValue]) {
        self.type = type
        self.userId = userId
        self.data = data
    }
}

public enum EventValue: Sendable, Hashable {
    case int(Int64)
    case text(String)
}

/// Decides which alerts a change fires, and how the alert state moves on. Pure: the lanes
/// call it with the amounts before and after each change of a batch.
public struct AlertRules: Sendable {
    public let settings: UserSettings
    public let userId: String

    public init(settings: UserSettings, userId: String) {
        self.settings = settings
        self.userId = userId
    }

    /// Available funds moved from `before` to `after`; `credit` when money came in (a
    /// recharge, a refund, a credit adjustment): only a credit that lifts available funds
    /// above the threshold re-arms the balance alerts.
    public func balanceChanged(_ state: inout AlertState, from before: Fen, to after: Fen, credit: Bool)
        -> [BillingEvent]
    {
        let threshold = settings.lowBalanceThresholdFen ?? .zero
        if credit {
            if after > threshold {
                state.lowBalanceArmed = true
                state.depletedArmed = true
            }
            return []
        }
        guard after < before else { return [] }
        var events: [BillingEvent] = []
        if let low = settings.lowBalanceThresholdFen, after < low, state.lowBalanceArmed {
            state.lowBalanceArmed = false
            events.append(event(.balanceLow, ["availableFen": .int(after.value), "thresholdFen": .int(low.value)]))
        }
        if after == .zero, state.depletedArmed {
            state.depletedArmed = false
            events.append(event(.balanceDepleted, ["availableFen": .int(0)]))
        }
        return events
    }

    /// A charge was refused for want of balance.
    public func refusedForBalance(_ state: inout AlertState, available: Fen) -> [BillingEvent] {
        guard state.depletedArmed else { return [] }
        state.depletedArmed = false
        return [event(.balanceDepleted, ["availableFen": .int(available.value)])]
    }

    /// Whether the cap leaves room for `adding` more fen of spend in the period.
    public func capAllows(spent: Fen, adding: Fen) -> Bool {
        guard let cap = settings.monthlySpendCapFen else { return true }
        let (total, overflow) = spent.value.addingReportingOverflow(adding.value)
        return !overflow && total <= cap.value
    }

    /// Spend of `period` moved from `before` to `after`: each alert percent crossed for the
    /// first time in the period fires once (a changed cap does not re-arm them).
    public func spendChanged(_ state: inout AlertState, period: QuotaPeriod, from before: Fen, to after: Fen)
        -> [BillingEvent]
    {
        state = state.entering(period)
        guard let cap = settings.monthlySpendCapFen, cap.value > 0, after > before else { return [] }
        var events: [BillingEvent] = []
        for percent in settings.capAlertPercents where !state.firedPercents.contains(percent) {
            // after ≥ cap × percent / 100 without dividing; cap × percent ≤ 10¹⁵, and a spend so
            // large that × 100 overflows is past every threshold.
            let (scaled, overflow) = after.value.multipliedReportingOverflow(by: 100)
            guard overflow || scaled >= cap.value * Int64(percent) else { continue }
            state.firedPercents.insert(percent)
            events.append(
                event(
                    .spendCapThreshold,
                    [
                        "percent": .int(Int64(percent)), "spentFen": .int(after.value), "capFen": .int(cap.value),
                        "period": .text(period.text),
                    ]))
        }
        return events
    }

    /// A paid charge was refused by the cap: the first refusal of the period fires.
    public func refusedByCap(_ state: inout AlertState, period: QuotaPeriod, spent: Fen, required: Fen)
        -> [BillingEvent]
    {
        state = state.entering(period)
        guard !state.capReachedFired, let cap = settings.monthlySpendCapFen else { return [] }
        state.capReachedFired = true
        return [
            event(
                .spendCapReached,
                [
                    "spentFen": .int(spent.value), "capFen": .int(cap.value), "requiredFen": .int(required.value),
                    "period": .text(period.text),
                ])
        ]
    }

    private func event(_ type: BillingEventType, _ data: [String: EventValue]) -> BillingEvent {
        BillingEvent(type: type, userId: userId, data: data)
    }
}
