import Foundation

/// Refunds and operator adjustments in a batch (ledger-features.md §2). A refund gives back
/// paid units first (fen through the carry, the mirror of the charge), then free ones (to
/// the quota only while their period is current); per bucket never more than was charged.
extension DeductionBatch {
    func refund(_ request: RefundRequest, to result: inout BatchResult, nextRecordId: () -> Int64)
        throws(BillingError) -> RefundReceipt
    {
        if let existing = result.snapshot.refunds[request.key] {
            guard existing.request.target == request.target, existing.request.count == request.count else {
                throw .idempotencyConflict(requestId: request.refundId)
            }
            return existing.receipt.replay()
        }
        let targetKey = request.targetKey
        guard let records = result.snapshot.refundTargets[targetKey] else { throw request.target.notFound }
        let paidRecords = records.filter { $0.type == .balance }.sorted { $0.id > $1.id }
        let freeRecords = records.filter { $0.type == .free }.sorted { $0.id > $1.id }
        let already = result.snapshot.refunded[targetKey] ?? RefundedUnits()
        let paidLeft = paidRecords.reduce(0) { $0 + $1.count } - already.paid
        let freeLeft = freeRecords.reduce(0) { $0 + $1.count } - already.free
        guard request.count <= paidLeft + freeLeft else {
            throw .refundExceedsCharge(
                "refund of \(request.count) units exceeds what is left of \(request.target.kind) '\(request.target.id)': "
                    + "\(paidLeft) paid and \(freeLeft) free")
        }
        let paidUnits = min(request.count, paidLeft)
        let freeUnits = request.count - paidUnits

        // Accepted: nothing below can fail (the 128-bit refund of charged units stays in range).
        let user = request.userId
        let availableBefore = result.snapshot.available(to: user)
        var spendBack: Int64 = 0
        var snapshot = result.snapshot
        var recordIds: [Int64] = []
        var fenBack: Int64 = 0
        var freeReturned: Int64 = 0
        for (source, units) in Self.portions(paidRecords, skip: already.paid, take: paidUnits) {
            let chargeKey = ChargeKey(userId: user, serviceName: source.serviceName)
            let price = (try? UnitPrice(microFen: source.unitPriceMicroFen)) ?? .zero
            let carry = snapshot.carry(chargeKey)
            let back = (try? ExactRefund(units: units, price: price, carryMicroFen: carry))
                ?? ExactRefund.none(carry: carry)
            snapshot.carries[chargeKey] = back.carryAfterMicroFen
            if back.carryAfterMicroFen != carry { result.changedCarries.insert(chargeKey) }
            fenBack += back.fen.value
            if source.period == period { spendBack += back.fen.value }
            let record = refundRecord(
                source, type: .refund, units: units, amount: back.fen, refundId: request.refundId, id: nextRecordId())
            recordIds.append(record.id)
            result.records.append(record)
        }
        for (source, units) in Self.portions(freeRecords, skip: already.free, take: freeUnits) {
            let key = QuotaKey(userId: user, serviceName: source.serviceName, period: source.period)
            if source.period == period, let quota = snapshot.quotas[key] {
                let returned = min(units, quota.used)
                snapshot.quotas[key] = QuotaUsage(total: quota.total, used: quota.used - returned, held: quota.held)
                result.changedQuotas.insert(key)
                freeReturned += returned
            }
            let record = refundRecord(
                source, type: .freeRefund, units: units, amount: .zero, refundId: request.refundId, id: nextRecordId())
            recordIds.append(record.id)
            result.records.append(record)
        }
        snapshot.balances[user] = Fen(snapshot.balance(of: user).value + fenBack)
        result.changedBalances.insert(user)
        snapshot.refunded[targetKey] = RefundedUnits(paid: already.paid + paidUnits, free: already.free + freeUnits)
        let receipt = RefundReceipt(
            refundId: request.refundId, target: request.target, count: request.count, paidRefunded: paidUnits,
            freeRefunded: freeUnits, freeReturned: freeReturned, fenReturned: Fen(fenBack),
            balanceAfterFen: snapshot.balance(of: user), recordIds: recordIds, replayed: false)
        snapshot.refunds[request.key] = StoredRefund(request: request, receipt: receipt)
        result.newRefunds.append(request.key)
        result.snapshot = snapshot
        addSpend(user, -spendBack, in: &result)
        noteAvailable(user, from: availableBefore, credit: fenBack > 0, in: &result)
        emit(
            .refundCreated, user,
            [
                "refundId": .text(request.refundId), "target": .text(request.target.kind),
                "targetId": .text(request.target.id), "count": .int(request.count), "refundedFen": .int(fenBack),
            ], in: &result)
        return receipt
    }

    func adjust(_ request: AdjustmentRequest, to result: inout BatchResult, nextRecordId: () -> Int64)
        throws(BillingError) -> AdjustmentReceipt
    {
        if let existing = result.snapshot.adjustments[request.key] {
            guard existing.request.matches(request) else { throw .idempotencyConflict(requestId: request.adjustmentId) }
            let receipt = existing.receipt
            return AdjustmentReceipt(
                adjustmentId: receipt.adjustmentId, amountFen: receipt.amountFen, balanceAfterFen: receipt.balanceAfterFen,
                availableAfterFen: receipt.availableAfterFen, recordId: receipt.recordId, replayed: true)
        }
        let user = request.userId
        let available = result.snapshot.available(to: user)
        if request.amountFen.value < 0 {
            // A debit never takes what is not available (held money included).
            guard -request.amountFen.value <= available.value else {
                throw .insufficientBalance(requiredFen: -request.amountFen.value, availableFen: available.value)
            }
        }
        let (balance, overflow) = result.snapshot.balance(of: user).value.addingReportingOverflow(request.amountFen.value)
        guard !overflow else { throw .amountOutOfRange(field: "amount_fen") }

        let record = LedgerRecord(
            id: nextRecordId(), userId: user, serviceName: "", appId: nil, type: .adjustment, count: 1,
            amountFen: request.amountFen, requestId: request.adjustmentId, period: period, createdAt: appliedAt)
        result.records.append(record)
        result.snapshot.balances[user] = Fen(balance)
        result.changedBalances.insert(user)
        let receipt = AdjustmentReceipt(
            adjustmentId: request.adjustmentId, amountFen: request.amountFen, balanceAfterFen: Fen(balance),
            availableAfterFen: result.snapshot.available(to: user), recordId: record.id, replayed: false)
        result.snapshot.adjustments[request.key] = StoredAdjustment(request: request, receipt: receipt)
        result.newAdjustments.append(request.key)
        noteAvailable(user, from: available, credit: request.amountFen > .zero, in: &result)
        emit(
            .adjustmentCreated, user,
            [
                "adjustmentId": .text(request.adjustmentId), "amountFen": .int(request.amountFen.value),
                "reason": .text(request.reason),
            ], in: &result)
        return receipt
    }

    /// `take` units from `records` (newest first), after skipping the `skip` units earlier
    /// refunds took: every refund of a target allocates in the same order.
    static func portions(_ records: [LedgerRecord], skip: Int64, take: Int64) -> [(LedgerRecord, Int64)] {
        var skip = skip
        var take = take
        var portions: [(LedgerRecord, Int64)] = []
        for record in records where take > 0 {
            let skipped = min(skip, record.count)
            skip -= skipped
            let units = min(take, record.count - skipped)
            if units > 0 { portions.append((record, units)) }
            take -= units
        }
        return portions
    }

    private func refundRecord(
        _ source: LedgerRecord, type: RecordType, units: Int64, amount: Fen, refundId: String, id: Int64
    ) -> LedgerRecord {
        let price =
            source.price
            ?? AppliedPrice(price: (try? UnitPrice(microFen: source.unitPriceMicroFen)) ?? .zero, versionId: 0)
        return LedgerRecord(
            id: id, userId: source.userId, serviceName: source.serviceName, appId: source.appId, type: type,
            count: units, amountFen: amount, requestId: refundId, period: period, createdAt: appliedAt, price: price,
            holdId: source.holdId, refersTo: [source.id])
    }
}

extension ExactRefund {
    /// Nothing back (never reached for units that were charged).
    static func none(carry: Int64) -> ExactRefund { ExactRefund(fen: .zero, carryAfterMicroFen: carry) }
}
