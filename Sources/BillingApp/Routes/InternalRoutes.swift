import BillingCore
import CallbackSigning
import Foundation
import HTTPTypes
import Hummingbird

/// The gateway's and the Payment Service's API under /internal/v1/billing.
struct InternalRoutes: Sendable {
    let service: BillingService
    let reader: RequestBodyReader
    let internalTokens: [String]
    let paymentTokens: [String]
    let signature: CallbackSignature
    let clock: any BillingClock

    func register(on router: Router<BasicRequestContext>) {
        let guarded = router.group("internal/v1/billing").add(
            middleware: InternalAuthMiddleware(tokens: internalTokens))
        guarded.post("check") { request, _ in
            var request = request
            let fields = try await self.reader.fields(&request)
            let answer = try await self.service.check(
                userId: fields.requiredString("user_id"), serviceName: fields.requiredString("service_name"),
                count: try Self.count(fields))
            return APIResponse.ok(Views.check(answer))
        }
        guarded.post("deduct") { request, _ in
            var request = request
            let deduction = try Self.deduction(try await self.reader.fields(&request))
            return APIResponse.ok(Views.deduction(try await self.service.deduct(deduction)))
        }
        guarded.post("holds") { request, _ in
            var request = request
            let fields = try await self.reader.fields(&request)
            let hold = try HoldRequest(
                userId: fields.requiredString("user_id"), serviceName: fields.requiredString("service_name"),
                count: try Self.count(fields), holdId: fields.requiredString("hold_id"),
                ttlSeconds: try fields.int64("ttl_seconds"), appId: fields.string("app_id"))
            return APIResponse.ok(Views.held(try await self.service.authorizeHold(hold)))
        }
        guarded.post("holds/:hold_id/settle") { request, context in
            var request = request
            let fields = try await self.reader.fields(&request)
            guard let count = try fields.int64("count") else {
                throw BillingError.invalidArgument(field: "count", reason: "is required")
            }
            let settlement = try HoldSettlement(
                userId: fields.requiredString("user_id"), holdId: try Self.holdId(context), count: count)
            let (receipt, hold) = try await self.service.settleHold(settlement)
            return APIResponse.ok(Views.settled(receipt, hold))
        }
        guarded.post("holds/:hold_id/void") { request, context in
            var request = request
            let fields = try await self.reader.fields(&request)
            let hold = try await self.service.voidHold(userId: fields.requiredString("user_id"), holdId: Self.holdId(context))
            return APIResponse.ok(Views.hold(hold))
        }
        // Buffered usage from a gateway: up to 1,000 deductions in one request (1 MiB), each
        // its own (idempotent by its request id, failing alone), answered in order.
        guarded.post("deduct/batch") { request, _ in
            var request = request
            let bytes = try await RequestBodyReader(limitBytes: Self.batchBodyLimit).bytes(&request)
            guard case .object(let members)? = try RequestBodyReader.parse(bytes),
                case .array(let items)? = members.last(where: { $0.0 == "items" })?.1
            else { throw BillingError.invalidArgument(field: "items", reason: "is required: an array of deductions") }
            guard items.count <= Limits.maxBatchItems else {
                throw BillingError.tooLarge("a batch holds at most \(Limits.maxBatchItems) items, not \(items.count)")
            }
            let requests = items.map { item -> Result<DeductionRequest, BillingError> in
                do throws(BillingError) {
                    let fields = try RequestFields(body: item, query: [:])
                    return .success(
                        try DeductionRequest(
                            userId: fields.requiredString("user_id"), serviceName: fields.requiredString("service_name"),
                            count: try Self.count(fields), appId: fields.string("app_id"),
                            requestId: fields.requiredString("request_id")))
                } catch {
                    return .failure(error)
                }
            }
            let results = try await self.service.deductBatch(requests)
            return APIResponse.json(bytes: Views.batchBytes(results), status: .ok)
        }
        guarded.post("refunds") { request, _ in
            var request = request
            let fields = try await self.reader.fields(&request)
            return APIResponse.ok(Views.refunded(try await self.service.refund(try Self.refund(fields))))
        }
        // Authenticated by its signature, or else by one of the Payment Service's bearer
        // tokens (never a gateway token: the gateway must not be able to credit wallets).
        router.group("internal/v1/billing").post("callback") { request, _ in
            var request = request
            let bytes = try await self.reader.bytes(&request)
            if let header = request.headers[.billingSignature] {
                try self.signature.verify(header: header, body: bytes, now: self.clock.now())
            } else if !BearerToken.authorizes(request.headers[.authorization], tokens: self.paymentTokens) {
                throw BillingError.unauthenticated("a callback needs a valid signature or payment service bearer token")
            }
            let fields = try RequestFields(body: RequestBodyReader.parse(bytes), query: [:])
            guard let amount = try fields.amount() else {
                throw BillingError.invalidArgument(field: "amount", reason: "amount or amount_fen is required")
            }
            let callback = try PaymentCallback(
                orderId: fields.string("order_id"),
                paymentId: try fields.string("payment_id") ?? fields.string("payment_order_id"),
                amountFen: amount, outcome: try PaymentCallback.Outcome(status: fields.requiredString("status")))
            let settlement = try await self.service.settle(callback)
            return APIResponse.ok(
                .object([
                    ("success", .bool(true)), ("orderId", .string(settlement.order.id)),
                    ("status", .string(settlement.order.status.rawValue)),
                    ("creditedFen", .int(settlement.creditedFen.value)),
                ]))
        }
    }

    /// `{refund_id, user_id, request_id | hold_id, count, reason}`: exactly one target.
    static func refund(_ fields: RequestFields) throws(BillingError) -> RefundRequest {
        let target: RefundTarget
        switch (try fields.string("request_id"), try fields.string("hold_id")) {
        case (let requestId?, nil): target = .deduction(requestId: requestId)
        case (nil, let holdId?): target = .hold(holdId: holdId)
        default: throw .invalidArgument(field: "request_id", reason: "give exactly one of request_id and hold_id")
        }
        return try RefundRequest(
            refundId: fields.requiredString("refund_id"), userId: fields.requiredString("user_id"), target: target,
            count: try count(fields), reason: fields.requiredString("reason"))
    }

    static func holdId(_ context: BasicRequestContext) throws(BillingError) -> String {
        guard let id = context.parameters.get("hold_id"), !id.isEmpty else {
            throw .invalidArgument(field: "hold_id", reason: "is required")
        }
        return id
    }

    /// The batch route's own body limit.
    static let batchBodyLimit = 1 << 20

    /// The deduction a deduct request's fields ask for (also `DeductFastPath`'s).
    static func deduction(_ fields: RequestFields) throws(BillingError) -> DeductionRequest {
        // `cost` from older gateways is accepted and ignored: the catalog price decides.
        try DeductionRequest(
            userId: fields.requiredString("user_id"), serviceName: fields.requiredString("service_name"),
            count: try count(fields), appId: fields.string("app_id"), requestId: fields.string("request_id"))
    }

    static func count(_ fields: RequestFields) throws(BillingError) -> Int64 {
        guard let count = try fields.int64("count") else {
            throw .invalidArgument(field: "count", reason: "is required")
        }
        return count
    }
}
