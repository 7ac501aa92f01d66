import BillingCore
import BillingProto
import GRPCCore

/// billing.v1.BillingService: the console's use cases over gRPC, with the user resolved by
/// the same rules as HTTP (the gateway's configured user header as metadata, or `user_id`
/// in development).
struct ConsoleGRPCService: Billing_V1_BillingService.ServiceProtocol {
    let service: BillingService
    let identity: UserIdentity

    private func user(_ metadata: Metadata, _ parameter: String) throws(BillingError) -> String {
        try identity.resolve(
            header: metadata[stringValues: identity.metadataKey].first(where: { _ in true }), parameter: parameter)
    }

    func getAccount(request: ServerRequest<Billing_V1_GetAccountRequest>, context: ServerContext) async throws
        -> ServerResponse<Billing_V1_GetAccountResponse>
    {
        let account = try await service.account(userId: user(request.metadata, request.message.userID))
        return ServerResponse(
            message: .with {
                $0.userID = account.userId
                $0.balanceFen = account.balanceFen.value
                $0.balance = account.balanceFen.yuanText
                $0.currency = account.currency
                $0.heldFen = account.heldFen.value
                $0.availableFen = account.availableFen.value
                $0.quotas = account.quotas.map { quota in
                    .with {
                        $0.serviceName = quota.serviceName
                        $0.totalQuota = quota.usage.total
                        $0.usedQuota = quota.usage.used
                        $0.remainingQuota = quota.usage.remaining
                        $0.heldQuota = quota.usage.held
                        $0.resetMonth = quota.period.text
                        $0.unitPrice = quota.price.price.yuanText
                        $0.unitPriceMicroFen = quota.price.price.microFen
                        $0.priceVersion = quota.price.versionId
                        $0.priceOverrideID = quota.price.overrideId ?? 0
                    }
                }
            })
    }

    func getSettings(request: ServerRequest<Billing_V1_GetSettingsRequest>, context: ServerContext) async throws
        -> ServerResponse<Billing_V1_SettingsResponse>
    {
        let settings = try await service.settings(userId: user(request.metadata, request.message.userID))
        return ServerResponse(message: Self.message(settings))
    }

    func updateSettings(request: ServerRequest<Billing_V1_UpdateSettingsRequest>, context: ServerContext) async throws
        -> ServerResponse<Billing_V1_SettingsResponse>
    {
        let message = request.message
        guard !(message.setCapAlertPercents && message.resetCapAlertPercents) else {
            throw BillingError.invalidArgument(field: "cap_alert_percents", reason: "set or clear, not both")
        }
        let update = SettingsUpdate(
            monthlySpendCapFen: Self.change(
                message.hasMonthlySpendCapFen ? message.monthlySpendCapFen : nil, clear: message.removeMonthlySpendCap),
            lowBalanceThresholdFen: Self.change(
                message.hasLowBalanceThresholdFen ? message.lowBalanceThresholdFen : nil,
                clear: message.removeLowBalanceThreshold),
            capAlertPercents: message.resetCapAlertPercents
                ? .clear : message.setCapAlertPercents ? .set(message.capAlertPercents.map { Int($0) }) : .keep)
        let settings = try await service.updateSettings(userId: user(request.metadata, message.userID), update)
        return ServerResponse(message: Self.message(settings))
    }

    private static func change(_ value: Int64?, clear: Bool) -> SettingChange<Int64> {
        if clear { return .clear }
        return value.map { .set($0) } ?? .keep
    }

    private static func message(_ settings: UserSettings) -> Billing_V1_SettingsResponse {
        .with {
            if let cap = settings.monthlySpendCapFen { $0.monthlySpendCapFen = cap.value }
            if let threshold = settings.lowBalanceThresholdFen { $0.lowBalanceThresholdFen = threshold.value }
            $0.capAlertPercents = settings.capAlertPercents.map { Int32($0) }
        }
    }

    func listHolds(request: ServerRequest<Billing_V1_ListHoldsRequest>, context: ServerContext) async throws
        -> ServerResponse<Billing_V1_ListHoldsResponse>
    {
        let holds = try await service.pendingHolds(userId: user(request.metadata, request.message.userID))
        return ServerResponse(message: .with { $0.holds = holds.map(HoldMessages.hold) })
    }

    func recharge(request: ServerRequest<Billing_V1_RechargeRequest>, context: ServerContext) async throws
        -> ServerResponse<Billing_V1_RechargeResponse>
    {
        let message = request.message
        let recharge = try RechargeRequest(
            userId: user(request.metadata, message.userID), amountFen: Fen(message.amountFen),
            method: try PaymentMethod(text: message.paymentMethod),
            currency: message.currency.isEmpty ? "CNY" : message.currency,
            returnURL: message.returnURL.isEmpty ? nil : message.returnURL)
        let order = try await service.recharge(
            recharge, idempotencyKey: message.idempotencyKey.isEmpty ? nil : message.idempotencyKey,
            clientIP: ClientAddress.fromForwardedFor(
                request.metadata[stringValues: "x-forwarded-for"].first(where: { _ in true })))
        return ServerResponse(
            message: .with {
                $0.orderID = order.id
                $0.paymentURL = order.payURL ?? ""
                $0.amountFen = order.amountFen.value
                $0.amount = order.amountFen.yuanText
                $0.status = order.status.rawValue
            })
    }

    func listRecords(request: ServerRequest<Billing_V1_ListRecordsRequest>, context: ServerContext) async throws
        -> ServerResponse<Billing_V1_ListRecordsResponse>
    {
        let message = request.message
        let filter = try RecordFilter(
            serviceName: message.serviceName.isEmpty ? nil : message.serviceName,
            type: message.type.isEmpty ? nil : try RecordType(name: message.type),
            appId: message.appID.isEmpty ? nil : message.appID)
        let page = try PageRequest.make(
            page: message.page == 0 ? nil : Int(message.page), pageSize: message.pageSize == 0 ? nil : Int(message.pageSize),
            cursor: message.cursor.isEmpty ? nil : message.cursor)
        let result = try await service.records(userId: user(request.metadata, message.userID), filter: filter, page: page)
        return ServerResponse(message: LedgerMessages.page(result))
    }

    func getStatsToday(request: ServerRequest<Billing_V1_GetStatsRequest>, context: ServerContext) async throws
        -> ServerResponse<Billing_V1_StatsResponse>
    {
        try await stats(request, window: .today)
    }

    func getStatsMonth(request: ServerRequest<Billing_V1_GetStatsRequest>, context: ServerContext) async throws
        -> ServerResponse<Billing_V1_StatsResponse>
    {
        try await stats(request, window: .month)
    }

    private func stats(_ request: ServerRequest<Billing_V1_GetStatsRequest>, window: StatsWindow) async throws
        -> ServerResponse<Billing_V1_StatsResponse>
    {
        let message = request.message
        let stats = try await service.stats(
            userId: user(request.metadata, message.userID),
            serviceName: message.serviceName.isEmpty ? nil : message.serviceName, window: window)
        return ServerResponse(
            message: .with {
                $0.userID = stats.userId
                $0.serviceName = stats.serviceName ?? ""
                $0.period = stats.window.rawValue
                $0.totalCount = stats.usage.totalCount
                $0.freeCount = stats.usage.freeCount
                $0.paidCount = stats.usage.paidCount
                $0.totalCostFen = stats.usage.totalCostFen.value
                $0.totalCost = stats.usage.totalCostFen.yuanText
            })
    }

    func getDailyStats(request: ServerRequest<Billing_V1_GetDailyStatsRequest>, context: ServerContext) async throws
        -> ServerResponse<Billing_V1_DailyStatsResponse>
    {
        let message = request.message
        let range = try ManagementRoutes.dayRange(
            from: message.from.isEmpty ? nil : message.from, to: message.to.isEmpty ? nil : message.to,
            today: service.today)
        let stats = try await service.dailyStats(userId: user(request.metadata, message.userID), range: range)
        return ServerResponse(
            message: .with {
                $0.userID = stats.userId
                $0.timeZone = stats.timeZone
                $0.totalCount = stats.total.totalCount
                $0.totalCostFen = stats.total.totalCostFen.value
                $0.totalCost = stats.total.totalCostFen.yuanText
                $0.days = stats.days.map { day in
                    .with {
                        $0.day = day.day.description
                        $0.totalCount = day.total.totalCount
                        $0.freeCount = day.total.freeCount
                        $0.paidCount = day.total.paidCount
                        $0.totalCostFen = day.total.totalCostFen.value
                        $0.totalCost = day.total.totalCostFen.yuanText
                        $0.services = day.services.map(Self.serviceStats)
                    }
                }
            })
    }

    func getStatsSummary(request: ServerRequest<Billing_V1_GetStatsSummaryRequest>, context: ServerContext)
        async throws -> ServerResponse<Billing_V1_StatsSummaryResponse>
    {
        let summary = try await service.summary(userId: user(request.metadata, request.message.userID))
        return ServerResponse(
            message: .with {
                $0.userID = summary.userId
                $0.totalCount = summary.total.totalCount
                $0.totalCostFen = summary.total.totalCostFen.value
                $0.totalCost = summary.total.totalCostFen.yuanText
                $0.services = summary.services.map(Self.serviceStats)
            })
    }

    private static func serviceStats(_ usage: ServiceUsage) -> Billing_V1_ServiceStats {
        .with {
            $0.serviceName = usage.serviceName
            $0.totalCount = usage.totalCount
            $0.freeCount = usage.freeCount
            $0.paidCount = usage.paidCount
            $0.totalCostFen = usage.totalCostFen.value
            $0.totalCost = usage.totalCostFen.yuanText
        }
    }
}
