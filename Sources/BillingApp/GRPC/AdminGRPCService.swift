import BillingCore
import BillingProto
import Foundation
import GRPCCore

/// billing.v1.BillingAdminService: the operators' price calls, the same use cases as the
/// admin HTTP routes. The admin token is the interceptor's job; the operator's name comes
/// from `x-operator` metadata.
struct AdminGRPCService: Billing_V1_BillingAdminService.SimpleServiceProtocol {
    let pricing: PriceAdministration
    let service: BillingService
    let audit: any AuditLog

    func adjust(request: Billing_V1_AdjustRequest, context: ServerContext) async throws -> Billing_V1_AdjustResponse {
        let adjustment = try AdjustmentRequest(
            adjustmentId: request.adjustmentID, userId: request.userID, amountFen: request.amountFen,
            reason: request.reason, operatorName: try Self.operatorName(context))
        return LedgerMessages.adjusted(try await service.adjust(adjustment))
    }

    func refund(request: Billing_V1_RefundRequest, context: ServerContext) async throws -> Billing_V1_RefundResponse {
        _ = try Self.operatorName(context)
        return LedgerMessages.refunded(try await service.refund(try LedgerMessages.refund(request)))
    }

    func getUserLedger(request: Billing_V1_GetUserLedgerRequest, context: ServerContext) async throws
        -> Billing_V1_ListRecordsResponse
    {
        _ = try Self.operatorName(context)
        let filter = try RecordFilter(type: request.type.isEmpty ? nil : try RecordType(name: request.type))
        let page = try PageRequest.make(
            page: nil, pageSize: request.pageSize == 0 ? nil : Int(request.pageSize),
            cursor: request.cursor.isEmpty ? nil : request.cursor)
        return LedgerMessages.page(try await service.records(userId: request.userID, filter: filter, page: page))
    }

    func listAudit(request: Billing_V1_ListAuditRequest, context: ServerContext) async throws
        -> Billing_V1_ListAuditResponse
    {
        _ = try Self.operatorName(context)
        let limit = request.pageSize == 0 ? Limits.defaultPageSize : Int(request.pageSize)
        guard (1...Limits.maxPageSize).contains(limit) else {
            throw BillingError.invalidArgument(field: "page_size", reason: "must be between 1 and \(Limits.maxPageSize)")
        }
        let entries = try await audit.entries(before: request.before == 0 ? nil : request.before, limit: limit)
        return .with { $0.entries = entries.map(LedgerMessages.audit) }
    }

    func addPriceVersion(request: Billing_V1_AddPriceVersionRequest, context: ServerContext) async throws
        -> Billing_V1_PriceVersion
    {
        let stored = try await pricing.addVersion(
            serviceName: request.serviceName, price: try Self.price(request.price, request.priceMicroFen),
            freeCallsPerMonth: request.hasFreeCallsPerMonth ? request.freeCallsPerMonth : nil,
            effectiveFrom: try RequestFields.date(request.effectiveFrom, field: "effective_from"),
            operatorName: try Self.operatorName(context))
        return Self.message(stored.value, replayed: stored.replayed)
    }

    func listPriceVersions(request: Billing_V1_ListPriceVersionsRequest, context: ServerContext) async throws
        -> Billing_V1_ListPriceVersionsResponse
    {
        _ = try Self.operatorName(context)
        let versions = try await pricing.versions(of: request.serviceName)
        return .with { $0.versions = versions.map { Self.message($0, replayed: false) } }
    }

    func addPriceOverride(request: Billing_V1_AddPriceOverrideRequest, context: ServerContext) async throws
        -> Billing_V1_PriceOverride
    {
        let stored = try await pricing.addOverride(
            userId: request.userID, serviceName: request.serviceName,
            price: try Self.price(request.price, request.priceMicroFen),
            from: try RequestFields.date(request.from, field: "from"),
            to: request.to.isEmpty ? nil : try RequestFields.date(request.to, field: "to"),
            operatorName: try Self.operatorName(context))
        return Self.message(stored.value, replayed: stored.replayed)
    }

    func listPriceOverrides(request: Billing_V1_ListPriceOverridesRequest, context: ServerContext) async throws
        -> Billing_V1_ListPriceOverridesResponse
    {
        _ = try Self.operatorName(context)
        let overrides = try await pricing.overrides(of: request.userID)
        return .with { $0.overrides = overrides.map { Self.message($0, replayed: false) } }
    }

    /// `x-operator` metadata, checked like the HTTP header.
    static func operatorName(_ context: ServerContext) throws(BillingError) -> String {
        guard let name = AdminOperatorMetadata.current, !name.isEmpty else { throw .operatorRequired }
        return name
    }

    /// Exactly one of yuan text and µfen (proto3 has no "absent" for the integer: 0 is absent,
    /// and a free price is written "0").
    static func price(_ text: String, _ microFen: Int64) throws(BillingError) -> UnitPrice {
        switch (text.isEmpty, microFen == 0) {
        case (false, true): return try UnitPrice(yuanText: text, field: "price")
        case (true, false): return try UnitPrice(microFen: microFen, field: "price_micro_fen")
        case (false, false): throw .invalidArgument(field: "price_micro_fen", reason: "give price or price_micro_fen, not both")
        case (true, true): throw .invalidArgument(field: "price", reason: "price (yuan text) or price_micro_fen is required")
        }
    }

    static func message(_ version: PriceVersion, replayed: Bool) -> Billing_V1_PriceVersion {
        .with {
            $0.id = version.id
            $0.serviceName = version.serviceName
            $0.effectiveFrom = RFC3339.format(version.effectiveFrom)
            $0.price = version.price.yuanText
            $0.priceMicroFen = version.price.microFen
            $0.freeCallsPerMonth = version.freeCallsPerMonth
            $0.replayed = replayed
        }
    }

    static func message(_ override: PriceOverride, replayed: Bool) -> Billing_V1_PriceOverride {
        .with {
            $0.id = override.id
            $0.userID = override.userId
            $0.serviceName = override.serviceName
            $0.price = override.price.yuanText
            $0.priceMicroFen = override.price.microFen
            $0.from = RFC3339.format(override.from)
            $0.to = override.to.map(RFC3339.format) ?? ""
            $0.replayed = replayed
        }
    }
}

/// The operator named by the current admin RPC's `x-operator` metadata, set by
/// `InternalAuthInterceptor` for the handler (SimpleServiceProtocol handlers see no metadata).
enum AdminOperatorMetadata {
    @TaskLocal static var current: String?
}
