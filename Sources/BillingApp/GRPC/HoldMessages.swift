import BillingCore
import BillingProto

/// Holds and charges as billing.v1 messages, shared by the internal and console services.
enum HoldMessages {
    static func hold(_ hold: Hold) -> Billing_V1_Hold {
        .with {
            $0.holdID = hold.holdId
            $0.status = hold.status.rawValue
            $0.serviceName = hold.serviceName
            $0.count = hold.count
            $0.freeHeld = hold.freeHeld
            $0.paidHeld = hold.paidHeld
            $0.heldFen = hold.heldFen.value
            $0.period = hold.period.text
            $0.createdAt = RFC3339.format(hold.createdAt)
            $0.expiresAt = RFC3339.format(hold.expiresAt)
            $0.resolvedAt = hold.resolvedAt.map(RFC3339.format) ?? ""
            $0.unitPrice = hold.price.price.yuanText
            $0.unitPriceMicroFen = hold.price.price.microFen
            $0.priceVersion = hold.price.versionId
        }
    }

    static func held(_ answer: HoldAnswer) -> Billing_V1_HoldResponse {
        .with {
            $0.hold = hold(answer.hold)
            $0.balanceFen = answer.balanceFen.value
            $0.availableFen = answer.availableFen.value
            $0.replayed = answer.replayed
        }
    }

    /// The deduct fields of a receipt (a deduction's or a settle's).
    static func charge(_ receipt: DeductionReceipt) -> Billing_V1_DeductQuotaResponse {
        .with {
            $0.success = true
            $0.recordID = receipt.recordIds.first ?? 0
            $0.recordIds = receipt.recordIds
            $0.freeCount = receipt.freeCount
            $0.paidCount = receipt.paidCount
            $0.amountFen = receipt.costFen.value
            $0.balanceFen = receipt.balanceAfterFen.value
            $0.freeRemaining = receipt.freeRemainingAfter
            $0.replayed = receipt.replayed
            $0.mode = receipt.mode.rawValue
            $0.availableFen = receipt.availableAfterFen?.value ?? receipt.balanceAfterFen.value
            if let price = receipt.price {
                $0.unitPrice = price.price.yuanText
                $0.unitPriceMicroFen = price.price.microFen
                $0.priceVersion = price.versionId
                $0.priceOverrideID = price.overrideId ?? 0
            }
        }
    }
}
