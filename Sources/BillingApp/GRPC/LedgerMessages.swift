import BillingCore
import BillingProto

/// Records, refunds, adjustments and audit entries as billing.v1 messages, shared by the
/// console, internal and admin services.
enum LedgerMessages {
    static func page(_ result: RecordPage) -> Billing_V1_ListRecordsResponse {
        .with {
            $0.records = result.records.map(record)
            $0.total = result.total ?? 0
            $0.page = Int32(result.page ?? 0)
            $0.pageSize = Int32(result.pageSize)
            $0.nextCursor = result.nextCursor?.text ?? ""
        }
    }

    static func record(_ record: LedgerRecord) -> Billing_V1_Record {
        .with {
            $0.id = record.id
            $0.serviceName = record.serviceName
            $0.appID = record.appId ?? ""
            $0.type = Int32(record.type.rawValue)
            $0.typeName = record.type.name
            $0.amountFen = record.amountFen.value
            $0.amount = record.amountFen.yuanText
            $0.count = record.count
            $0.requestID = record.requestId ?? ""
            $0.createdAt = RFC3339.format(record.createdAt)
            $0.holdID = record.holdId ?? ""
            if let price = record.price {
                $0.unitPrice = price.price.yuanText
                $0.unitPriceMicroFen = price.price.microFen
                $0.priceVersion = price.versionId
                $0.priceOverrideID = price.overrideId ?? 0
            }
        }
    }

    /// The request of a refund message: exactly one of request_id and hold_id.
    static func refund(_ message: Billing_V1_RefundRequest) throws(BillingError) -> RefundRequest {
        let target: RefundTarget
        switch (message.requestID.isEmpty, message.holdID.isEmpty) {
        case (false, true): target = .deduction(requestId: message.requestID)
        case (true, false): target = .hold(holdId: message.holdID)
        default: throw .invalidArgument(field: "request_id", reason: "give exactly one of request_id and hold_id")
        }
        return try RefundRequest(
            refundId: message.refundID, userId: message.userID, target: target, count: message.count,
            reason: message.reason)
    }

    static func refunded(_ receipt: RefundReceipt) -> Billing_V1_RefundResponse {
        .with {
            $0.refundID = receipt.refundId
            $0.paidRefunded = receipt.paidRefunded
            $0.freeRefunded = receipt.freeRefunded
            $0.freeReturned = receipt.freeReturned
            $0.refundedFen = receipt.fenReturned.value
            $0.balanceFen = receipt.balanceAfterFen.value
            $0.recordIds = receipt.recordIds
            $0.replayed = receipt.replayed
        }
    }

    static func adjusted(_ receipt: AdjustmentReceipt) -> Billing_V1_AdjustResponse {
        .with {
            $0.adjustmentID = receipt.adjustmentId
            $0.amountFen = receipt.amountFen.value
            $0.balanceFen = receipt.balanceAfterFen.value
            $0.availableFen = receipt.availableAfterFen.value
            $0.recordID = receipt.recordId
            $0.replayed = receipt.replayed
        }
    }

    static func audit(_ entry: AuditEntry) -> Billing_V1_AuditEntry {
        .with {
            $0.id = entry.id
            $0.at = RFC3339.format(entry.at)
            $0.operator = entry.operatorName ?? ""
            $0.action = entry.action
            $0.target = entry.target ?? ""
            $0.parameters = entry.parameters
            $0.status = Int32(entry.status)
            $0.code = entry.code ?? ""
        }
    }
}
