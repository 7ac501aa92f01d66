import BillingCore
import BillingProto
import GRPCCore

/// billing.v1.BillingInternalService: translates messages and calls the same use cases as
/// the HTTP routes. Authentication is the interceptor's job.
struct InternalGRPCService: Billing_V1_BillingInternalService.SimpleServiceProtocol {
    let service: BillingService

    func checkQuota(request: Billing_V1_CheckQuotaRequest, context: ServerContext) async throws
        -> Billing_V1_CheckQuotaResponse
    {
        let answer = try await service.check(
            userId: request.userID, serviceName: request.serviceName, count: request.count)
        return .with {
            $0.allowed = answer.allowed
            $0.reason = answer.reason
            $0.mode = answer.mode.rawValue
            $0.freeRemaining = answer.freeRemaining
            $0.balanceFen = answer.balanceFen.value
            $0.costFen = answer.costFen.value
            $0.requiredFen = answer.requiredFen.value
            $0.unitPrice = answer.price.price.yuanText
            $0.unitPriceMicroFen = answer.price.price.microFen
            $0.priceVersion = answer.price.versionId
            $0.priceOverrideID = answer.price.overrideId ?? 0
        }
    }

    func deductQuota(request: Billing_V1_DeductQuotaRequest, context: ServerContext) async throws
        -> Billing_V1_DeductQuotaResponse
    {
        // grpc-swift cancels the handler when the caller's deadline passes: a call whose caller
        // already gave up is not queued. Once queued it is committed and answered together with
        // its batch; if the caller left meanwhile, a retry with the same request_id replays it.
        if Task.isCancelled {
            throw RPCError(code: .deadlineExceeded, message: "the caller gave up before the deduction was queued")
        }
        let deduction = try DeductionRequest(
            userId: request.userID, serviceName: request.serviceName, count: request.count,
            appId: request.appID.isEmpty ? nil : request.appID,
            requestId: request.requestID.isEmpty ? nil : request.requestID)
        let receipt = try await service.deduct(deduction)
        return .with {
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
            if let price = receipt.price {
                $0.unitPrice = price.price.yuanText
                $0.unitPriceMicroFen = price.price.microFen
                $0.priceVersion = price.versionId
                $0.priceOverrideID = price.overrideId ?? 0
            }
        }
    }

    func rechargeCallback(request: Billing_V1_RechargeCallbackRequest, context: ServerContext) async throws
        -> Billing_V1_RechargeCallbackResponse
    {
        let callback = try PaymentCallback(
            orderId: request.orderID, paymentId: request.paymentID, amountFen: Fen(request.amountFen),
            outcome: try PaymentCallback.Outcome(status: request.status))
        let settlement = try await service.settle(callback)
        return .with {
            $0.success = true
            $0.orderID = settlement.order.id
            $0.status = settlement.order.status.rawValue
            $0.creditedFen = settlement.creditedFen.value
        }
    }

    func ping(request: Billing_V1_PingRequest, context: ServerContext) async throws -> Billing_V1_PingResponse {
        Billing_V1_PingResponse()
    }
}
