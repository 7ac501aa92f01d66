import Foundation

/// Holds in a batch (ledger-features.md §1): authorize keeps free units of the current
/// period and fen; settle charges from what was kept (an overrun is an ordinary deduction
/// at the settle's instant); void and expiry give everything back. Only `pending` holds
/// change, and a hold changes at most once more.
extension DeductionBatch {
    func authorize(_ request: HoldRequest, to result: inout BatchResult) throws(BillingError) -> HoldAnswer {
        let user = request.userId
        if let existing = result.snapshot.holds[request.key] {
            guard existing.matches(request) else { throw .idempotencyConflict(requestId: request.holdId) }
            return HoldAnswer(
                hold: existing, balanceFen: result.snapshot.balance(of: user),
                availableFen: result.snapshot.available(to: user), replayed: true)
        }
        let terms = try prices.terms(
            of: request.serviceName, at: appliedAt, periodStart: periodStart,
            overrides: result.snapshot.overrides[user] ?? [])
        let quotaKey = QuotaKey(userId: user, serviceName: request.serviceName, period: period)
        let quota = result.snapshot.quota(quotaKey, freeCalls: terms.freeCallsPerMonth)
        let freeHeld = min(request.count, quota.remaining)
        let paidHeld = request.count - freeHeld
        // ⌈paidHeld × price / 10⁶⌉ without a carry: the most a settle of these units can take.
        let heldFen =
            paidHeld == 0
            ? Fen.zero : try ExactCharge(units: paidHeld, price: terms.price.price, carryMicroFen: 0).requiredFen
        let available = result.snapshot.available(to: user)
        guard heldFen <= available else {
            noteRefusedForBalance(user, available: available, in: &result)
            throw .insufficientBalance(requiredFen: heldFen.value, availableFen: available.value)
        }
        // What a hold keeps counts against the cap at once.
        try checkCap(user, adding: heldFen, in: &result)

        let hold = Hold(
            userId: user, holdId: request.holdId, serviceName: request.serviceName, appId: request.appId,
            count: request.count, ttlSeconds: request.ttlSeconds, period: period, freeHeld: freeHeld,
            paidHeld: paidHeld, heldFen: heldFen, price: terms.price, createdAt: appliedAt,
            expiresAt: appliedAt.addingTimeInterval(TimeInterval(request.ttlSeconds)), status: .pending)
        if freeHeld > 0 {
            result.snapshot.quotas[quotaKey] = quota.holding(freeHeld)
            result.changedQuotas.insert(quotaKey)
        }
        result.snapshot.heldFen[user] = Fen(result.snapshot.held(by: user).value + heldFen.value)
        result.changedBalances.insert(user)
        result.snapshot.holds[hold.key] = hold
        result.newHolds.insert(hold.key)
        addSpend(user, heldFen.value, in: &result)
        noteAvailable(user, from: available, credit: false, in: &result)
        return HoldAnswer(
            hold: hold, balanceFen: result.snapshot.balance(of: user),
            availableFen: result.snapshot.available(to: user), replayed: false)
    }

    func settle(_ settlement: HoldSettlement, to result: inout BatchResult, nextRecordId: () -> Int64)
        throws(BillingError) -> LedgerOutcome
    {
        guard let hold = result.snapshot.holds[settlement.key] else { throw .holdNotFound(settlement.holdId) }
        switch hold.status {
        case .settled:
            guard hold.settledCount == settlement.count, let receipt = hold.settleReceipt else {
                throw .holdAlreadySettled(hold.holdId)
            }
            return .settled(receipt.markedAsReplay(), hold)
        case .voided: throw .holdVoided(hold.holdId)
        case .expired: throw .holdExpired(hold.holdId)
        case .pending: break
        }
        if appliedAt >= hold.expiresAt {
            release(hold, as: .expired, in: &result)
            throw .holdExpired(hold.holdId)
        }

        let user = hold.userId
        let chargeKey = ChargeKey(userId: user, serviceName: hold.serviceName)
        let heldQuotaKey = QuotaKey(userId: user, serviceName: hold.serviceName, period: hold.period)
        guard let heldQuota = result.snapshot.quotas[heldQuotaKey] ?? (hold.freeHeld == 0 ? .unused(0) : nil) else {
            throw .internalFailure("hold \(hold.holdId) keeps free units of a quota row that is missing")
        }
        // Held units first: free ones of the hold's period, then paid ones at the hold's price.
        let freeUsed = min(settlement.count, hold.freeHeld)
        let paidUsed = min(settlement.count - freeUsed, hold.paidHeld)
        let overrun = settlement.count - freeUsed - paidUsed
        let carry = result.snapshot.carry(chargeKey)
        // ⌊(carry + paidUsed × price) / 10⁶⌋ ≤ ⌈paidHeld × price / 10⁶⌉ = heldFen, as carry < 10⁶.
        let heldCharge =
            paidUsed == 0
            ? (fen: Fen.zero, carryAfter: carry)
            : try ExactCharge(units: paidUsed, price: hold.price.price, carryMicroFen: carry).settled
        guard heldCharge.fen <= hold.heldFen else {
            throw .internalFailure("hold \(hold.holdId) would charge more than it keeps")
        }

        // The state once the hold is released and its units paid: what the overrun sees.
        var snapshot = result.snapshot
        if hold.freeHeld > 0 { snapshot.quotas[heldQuotaKey] = heldQuota.releasing(hold.freeHeld, using: freeUsed) }
        snapshot.heldFen[user] = Fen(snapshot.held(by: user).value - hold.heldFen.value)
        snapshot.balances[user] = Fen(snapshot.balance(of: user).value - heldCharge.fen.value)
        snapshot.carries[chargeKey] = heldCharge.carryAfter

        let terms = try prices.terms(
            of: hold.serviceName, at: appliedAt, periodStart: periodStart, overrides: snapshot.overrides[user] ?? [])
        let quotaKey = QuotaKey(userId: user, serviceName: hold.serviceName, period: period)
        let quota = snapshot.quota(quotaKey, freeCalls: terms.freeCallsPerMonth)
        // The held units' spend becomes what they cost; an overrun is new spend at the settle's instant.
        let spendDelta = hold.period == period ? heldCharge.fen.value - hold.heldFen.value : 0
        var overrunPlan: DeductionPlan?
        if overrun > 0 {
            let plan = try DeductionPlan(
                count: overrun, freeRemaining: quota.remaining, price: terms.price.price,
                carryMicroFen: heldCharge.carryAfter)
            let available = snapshot.available(to: user)
            // Not payable: nothing changes, the hold stays pending.
            guard plan.isAffordable(with: available) else {
                noteRefusedForBalance(user, available: available, in: &result)
                throw .insufficientBalance(requiredFen: plan.requiredFen.value, availableFen: available.value)
            }
            let rules = rules(for: user, in: snapshot)
            let spentAfterRelease = Fen(max(0, spent(by: user, in: snapshot).value + spendDelta))
            if plan.costFen > .zero, !rules.capAllows(spent: spentAfterRelease, adding: plan.costFen) {
                var alerts = result.snapshot.alerts[user] ?? AlertState()
                result.events += rules.refusedByCap(&alerts, period: period, spent: spentAfterRelease, required: plan.costFen)
                result.snapshot.alerts[user] = alerts
                result.changedBalances.insert(user)
                throw .spendCapReached(
                    capFen: rules.settings.monthlySpendCapFen?.value ?? 0, spentFen: spentAfterRelease.value)
            }
            overrunPlan = plan
        }
        let availableBefore = result.snapshot.available(to: user)

        // Accepted: nothing below can fail.
        var recordIds: [Int64] = []
        func record(_ type: RecordType, _ count: Int64, _ amount: Fen, _ price: AppliedPrice, _ period: QuotaPeriod) {
            guard count > 0 else { return }
            let record = LedgerRecord(
                id: nextRecordId(), userId: user, serviceName: hold.serviceName, appId: hold.appId, type: type,
                count: count, amountFen: amount, requestId: nil, period: period, createdAt: appliedAt, price: price,
                holdId: hold.holdId)
            recordIds.append(record.id)
            result.records.append(record)
        }
        record(.free, freeUsed, .zero, hold.price, hold.period)
        record(.balance, paidUsed, heldCharge.fen, hold.price, hold.period)
        if let overrunPlan {
            record(.free, overrunPlan.freeCount, .zero, terms.price, period)
            record(.balance, overrunPlan.paidCount, overrunPlan.costFen, terms.price, period)
            snapshot.quotas[quotaKey] = quota.spending(overrunPlan.freeCount)
            snapshot.balances[user] = Fen(snapshot.balance(of: user).value - overrunPlan.costFen.value)
            snapshot.carries[chargeKey] = overrunPlan.carryAfterMicroFen
            result.changedQuotas.insert(quotaKey)
        }
        if hold.freeHeld > 0 { result.changedQuotas.insert(heldQuotaKey) }
        if snapshot.carry(chargeKey) != carry { result.changedCarries.insert(chargeKey) }
        result.changedBalances.insert(user)

        let freeCount = freeUsed + (overrunPlan?.freeCount ?? 0)
        let paidCount = paidUsed + (overrunPlan?.paidCount ?? 0)
        let cost = Fen(heldCharge.fen.value + (overrunPlan?.costFen.value ?? 0))
        let receipt = DeductionReceipt(
            recordIds: recordIds, freeCount: freeCount, paidCount: paidCount, costFen: cost,
            balanceAfterFen: snapshot.balance(of: user),
            freeRemainingAfter: snapshot.quota(quotaKey, freeCalls: terms.freeCallsPerMonth).remaining, replayed: false,
            price: hold.price, availableAfterFen: snapshot.available(to: user))
        var settled = hold
        settled.status = .settled
        settled.resolvedAt = appliedAt
        settled.settledCount = settlement.count
        settled.settleReceipt = receipt
        snapshot.holds[hold.key] = settled
        result.snapshot = snapshot
        result.changedHolds.insert(hold.key)
        addSpend(user, spendDelta + (overrunPlan?.costFen.value ?? 0), in: &result)
        noteAvailable(user, from: availableBefore, credit: false, in: &result)
        return .settled(receipt, settled)
    }

    func void(_ key: HoldKey, to result: inout BatchResult) throws(BillingError) -> Hold {
        guard let hold = result.snapshot.holds[key] else { throw .holdNotFound(key.holdId) }
        switch hold.status {
        case .settled: throw .holdAlreadySettled(hold.holdId)
        case .voided, .expired: return hold
        case .pending:
            return release(hold, as: appliedAt >= hold.expiresAt ? .expired : .voided, in: &result)
        }
    }

    func expire(_ key: HoldKey, to result: inout BatchResult) throws(BillingError) -> Hold {
        guard let hold = result.snapshot.holds[key] else { throw .holdNotFound(key.holdId) }
        guard hold.status == .pending, appliedAt >= hold.expiresAt else { return hold }
        return release(hold, as: .expired, in: &result)
    }

    /// Gives back everything a pending hold keeps, and ends it as `status`.
    @discardableResult
    func release(_ hold: Hold, as status: HoldStatus, in result: inout BatchResult) -> Hold {
        let user = hold.userId
        let availableBefore = result.snapshot.available(to: user)
        if hold.freeHeld > 0 {
            let key = QuotaKey(userId: user, serviceName: hold.serviceName, period: hold.period)
            if let quota = result.snapshot.quotas[key] {
                result.snapshot.quotas[key] = quota.releasing(hold.freeHeld, using: 0)
                result.changedQuotas.insert(key)
            }
        }
        result.snapshot.heldFen[user] = Fen(result.snapshot.held(by: user).value - hold.heldFen.value)
        result.changedBalances.insert(user)
        var ended = hold
        ended.status = status
        ended.resolvedAt = appliedAt
        result.snapshot.holds[hold.key] = ended
        result.changedHolds.insert(hold.key)
        if hold.period == period { addSpend(user, -hold.heldFen.value, in: &result) }
        noteAvailable(user, from: availableBefore, credit: false, in: &result)
        if status == .expired {
            emit(
                .holdExpired, user,
                [
                    "holdId": .text(hold.holdId), "serviceName": .text(hold.serviceName),
                    "heldFen": .int(hold.heldFen.value),
                ], in: &result)
        }
        return ended
    }
}
