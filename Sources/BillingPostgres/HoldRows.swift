import BillingCore
import Foundation

/// Holds as rows of `hold` (alias `h`) and as the array parameters of the lanes' writes.
enum HoldRows {
    static let columns = """
        h.user_id, h.hold_id, h.service_name, h.app_id, h.count, h.ttl_seconds, h.period, h.free_held, h.paid_held,
        h.held_fen, h.price_micro_fen, h.price_version, h.price_override, h.status,
        \(microsecondsColumn("h.created_at")), \(microsecondsColumn("h.expires_at")),
        CASE WHEN h.resolved_at IS NULL THEN NULL ELSE \(microsecondsColumn("h.resolved_at")) END,
        h.settled_count, h.settle_record_ids, h.settle_free_count, h.settle_paid_count, h.settle_cost_fen,
        h.settle_balance_after_fen, h.settle_free_remaining_after, h.settle_available_after_fen
        """

    static func decode(_ row: PostgresRow) throws -> Hold {
        guard let status = HoldStatus(rawValue: try row.string(13)) else {
            throw BillingError.internalFailure("hold with an unknown status")
        }
        let price = AppliedPrice(
            price: try UnitPrice(microFen: row.int64(10), field: "hold.price_micro_fen"), versionId: try row.int64(11),
            overrideId: try row.optionalInt64(12))
        var receipt: DeductionReceipt?
        if let cost = try row.optionalInt64(21) {
            receipt = DeductionReceipt(
                recordIds: try PostgresText.parseInt64Array(row.optionalString(18) ?? "{}"),
                freeCount: try row.optionalInt64(19) ?? 0, paidCount: try row.optionalInt64(20) ?? 0, costFen: Fen(cost),
                balanceAfterFen: Fen(try row.optionalInt64(22) ?? 0), freeRemainingAfter: try row.optionalInt64(23) ?? 0,
                replayed: false, price: price, availableAfterFen: try row.optionalInt64(24).map(Fen.init))
        }
        return Hold(
            userId: try row.string(0), holdId: try row.string(1), serviceName: try row.string(2),
            appId: row.optionalString(3), count: try row.int64(4), ttlSeconds: try row.int64(5),
            period: try QuotaPeriod(text: row.string(6)), freeHeld: try row.int64(7), paidHeld: try row.int64(8),
            heldFen: Fen(try row.int64(9)), price: price, createdAt: PostgresText.date(microseconds: try row.int64(14)),
            expiresAt: PostgresText.date(microseconds: try row.int64(15)), status: status,
            resolvedAt: try row.optionalInt64(16).map(PostgresText.date(microseconds:)),
            settledCount: try row.optionalInt64(17), settleReceipt: receipt)
    }

    /// `insertHolds`' parameters.
    static func insertParameters(_ holds: [Hold]) -> [String?] {
        [
            PostgresText.textArray(holds.map(\.userId)), PostgresText.textArray(holds.map(\.holdId)),
            PostgresText.textArray(holds.map(\.serviceName)), PostgresText.textArray(holds.map(\.appId)),
            PostgresText.int64Array(holds.map(\.count)), PostgresText.int64Array(holds.map(\.ttlSeconds)),
            PostgresText.textArray(holds.map(\.period.text)), PostgresText.int64Array(holds.map(\.freeHeld)),
            PostgresText.int64Array(holds.map(\.paidHeld)), PostgresText.int64Array(holds.map(\.heldFen.value)),
            PostgresText.int64Array(holds.map(\.price.price.microFen)),
            PostgresText.int64Array(holds.map(\.price.versionId)),
            PostgresText.int64Array(holds.map(\.price.overrideId)),
            PostgresText.int64Array(holds.map { Int64(PostgresText.microseconds($0.createdAt)) ?? 0 }),
            PostgresText.int64Array(holds.map { Int64(PostgresText.microseconds($0.expiresAt)) ?? 0 }),
        ]
    }

    /// `updateHolds`' parameters: the end of each hold.
    static func updateParameters(_ holds: [Hold]) -> [String?] {
        let receipts = holds.map(\.settleReceipt)
        let recordIds = PostgresText.slicedArrays(receipts.map { $0?.recordIds })
        return [
            PostgresText.textArray(holds.map(\.userId)), PostgresText.textArray(holds.map(\.holdId)),
            PostgresText.textArray(holds.map(\.status.rawValue)),
            PostgresText.int64Array(holds.map { $0.resolvedAt.flatMap { Int64(PostgresText.microseconds($0)) } }),
            PostgresText.int64Array(holds.map(\.settledCount)), recordIds.low,
            PostgresText.int64Array(receipts.map { $0?.freeCount }), PostgresText.int64Array(receipts.map { $0?.paidCount }),
            PostgresText.int64Array(receipts.map { $0?.costFen.value }),
            PostgresText.int64Array(receipts.map { $0?.balanceAfterFen.value }),
            PostgresText.int64Array(receipts.map { $0?.freeRemainingAfter }),
            PostgresText.int64Array(receipts.map { $0?.availableAfterFen?.value }), recordIds.high, recordIds.flat,
        ]
    }
}
