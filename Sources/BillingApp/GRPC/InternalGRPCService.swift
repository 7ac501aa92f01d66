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
            $0.availableFen = answer.availableFen.value
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
        return HoldMessages.charge(try await service.deduct(deduction))
    }

    func deductQuotaBatch(request: Billing_V1_DeductQuotaBatchRequest, context: ServerContext) async throws
        -> Billing_V1_DeductQuotaBatchResponse
    {
        guard request.items.count <= Limits.maxBatchItems else {
            throw BillingError.tooLarge("a batch holds at most \(Limits.maxBatchItems) items, not \(request.items.count)")
        }
        let items = request.items.map(Self.deduction)
        let results = try await service.deductBatch(items)
        return .with {
            $0.results = results.enumerated().map { index, result in
                .with {
                    $0.index = Int32(index)
                    $0.answer(result)
                }
            }
        }
    }

    /// Deductions in, results out as they commit. Messages are taken in groups (whatever has
    /// arrived since the last group was taken; `StreamInbox`), each group goes to the lanes
    /// at once like a batch request (a repeated request id replays the earlier one) and its
    /// results are written together; groups do not wait for each other, so a gateway can keep
    /// thousands in flight on one stream. Results carry the request id; a group's results
    /// come in its order, groups in the order they commit.
    func deductQuotaStream(
        request: RPCAsyncSequence<Billing_V1_DeductQuotaRequest, any Error>,
        response: RPCWriter<Billing_V1_DeductQuotaStreamResult>, context: ServerContext
    ) async throws {
        let writer = SerialWriter(writer: response)
        let inbox = StreamInbox<Billing_V1_DeductQuotaRequest>(maxGroup: Limits.maxBatchItems)
        let service = service
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                defer { inbox.finish() }
                for try await message in request { inbox.push(message) }
            }
            while let messages = await inbox.nextGroup() {
                group.addTask {
                    let answers = try await service.deductBatch(messages.map(Self.deduction))
                    try await writer.write(
                        contentsOf: zip(messages, answers).map { message, answer in
                            .with {
                                $0.requestID = message.requestID
                                $0.answer(answer)
                            }
                        })
                }
            }
        }
    }

    /// A batch or stream item as a deduction, or its own refusal.
    static func deduction(_ item: Billing_V1_DeductQuotaRequest) -> Result<DeductionRequest, BillingError> {
        do throws(BillingError) {
            return .success(
                try DeductionRequest(
                    userId: item.userID, serviceName: item.serviceName, count: item.count,
                    appId: item.appID.isEmpty ? nil : item.appID, requestId: item.requestID.isEmpty ? nil : item.requestID))
        } catch {
            return .failure(error)
        }
    }

    func authorizeHold(request: Billing_V1_AuthorizeHoldRequest, context: ServerContext) async throws
        -> Billing_V1_HoldResponse
    {
        let hold = try HoldRequest(
            userId: request.userID, serviceName: request.serviceName, count: request.count, holdId: request.holdID,
            ttlSeconds: request.ttlSeconds == 0 ? nil : request.ttlSeconds,
            appId: request.appID.isEmpty ? nil : request.appID)
        return HoldMessages.held(try await service.authorizeHold(hold))
    }

    func settleHold(request: Billing_V1_SettleHoldRequest, context: ServerContext) async throws
        -> Billing_V1_SettleHoldResponse
    {
        let (receipt, hold) = try await service.settleHold(
            try HoldSettlement(userId: request.userID, holdId: request.holdID, count: request.count))
        return .with {
            $0.charge = HoldMessages.charge(receipt)
            $0.hold = HoldMessages.hold(hold)
        }
    }

    func refund(request: Billing_V1_RefundRequest, context: ServerContext) async throws -> Billing_V1_RefundResponse {
        LedgerMessages.refunded(try await service.refund(try LedgerMessages.refund(request)))
    }

    func voidHold(request: Billing_V1_VoidHoldRequest, context: ServerContext) async throws -> Billing_V1_HoldResponse {
        let hold = try await service.voidHold(userId: request.userID, holdId: request.holdID)
        return .with { $0.hold = HoldMessages.hold(hold) }
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

/// One writer for many tasks: a stream's results are written one group at a time.
actor SerialWriter<Element: Sendable> {
    let writer: RPCWriter<Element>

    init(writer: RPCWriter<Element>) { self.writer = writer }

    func write(contentsOf elements: [Element]) async throws { try await writer.write(contentsOf: elements) }
}
