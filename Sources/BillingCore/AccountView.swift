/// One service's free quota as the console shows it.
public struct QuotaView: Sendable, Hashable {
    public let serviceName: String
    public let usage: QuotaUsage
    public let period: QuotaPeriod
    /// The unit price the user pays now (an override when one is in force).
    public let price: AppliedPrice

    public init(serviceName: String, usage: QuotaUsage, period: QuotaPeriod, price: AppliedPrice) {
        self.serviceName = serviceName
        self.usage = usage
        self.period = period
        self.price = price
    }
}

/// A user's account as the console shows it: balance and this period's quotas.
public struct AccountView: Sendable, Hashable {
    public let userId: String
    public let balanceFen: Fen
    /// Fen kept by pending holds, and the balance less that.
    public let heldFen: Fen
    public let availableFen: Fen
    public let currency: String
    /// Every catalog service, in catalog order.
    public let quotas: [QuotaView]

    /// This period's spend, and with a cap what is left of it.
    public let spentFen: Fen
    public let capRemainingFen: Fen?

    public init(
        userId: String, balanceFen: Fen, heldFen: Fen = .zero, currency: String, quotas: [QuotaView],
        spentFen: Fen = .zero, spendCapFen: Fen? = nil
    ) {
        self.spentFen = spentFen
        self.capRemainingFen = spendCapFen.map { Fen(max(0, $0.value - spentFen.value)) }
        self.userId = userId
        self.balanceFen = balanceFen
        self.heldFen = heldFen
        self.availableFen = Fen(balanceFen.value - heldFen.value)
        self.currency = currency
        self.quotas = quotas
    }
}
