import Synchronization

/// The sandbox's payments, in memory. CreatePayment is idempotent per order id, as a
/// real Payment Service is: billing retrying an order gets the same payment back.
public final class SandboxLedger: Sendable {
    private struct State {
        var payments: [String: SandboxPayment] = [:]
        var byOrder: [String: String] = [:]
        var order: [String] = []
        var nextNumber = 1
    }

    private let state = Mutex(State())

    public init() {}

    func create(orderId: String, _ make: (_ id: String) -> SandboxPayment) -> SandboxPayment {
        state.withLock { state in
            if let id = state.byOrder[orderId], let existing = state.payments[id] { return existing }
            let id = "pay_sandbox_\(state.nextNumber)_\(UInt32.random(in: 0...UInt32.max))"
            state.nextNumber += 1
            let payment = make(id)
            state.payments[id] = payment
            state.byOrder[payment.orderId] = id
            state.order.append(id)
            return payment
        }
    }

    public func payment(_ id: String) -> SandboxPayment? {
        state.withLock { $0.payments[id] }
    }

    /// Newest first.
    public func all() -> [SandboxPayment] {
        state.withLock { state in state.order.reversed().compactMap { state.payments[$0] } }
    }

    /// Moves a payment to its final status. Success wins over failure (a payer can pay
    /// after a failed attempt); a paid payment never becomes failed.
    func settle(_ id: String, as status: SandboxPayment.Status) -> Result<SandboxPayment, SandboxError> {
        state.withLock { state in
            guard var payment = state.payments[id] else { return .failure(.notFound(id)) }
            if payment.status == .succeeded, status == .failed {
                return .failure(.alreadyPaid(id))
            }
            payment.status = status
            state.payments[id] = payment
            return .success(payment)
        }
    }

    func record(_ delivery: SandboxPayment.Delivery, for id: String) {
        state.withLock { $0.payments[id]?.deliveries.append(delivery) }
    }
}

enum SandboxError: Error, Equatable {
    case notFound(String)
    case alreadyPaid(String)

    var message: String {
        switch self {
        case .notFound(let id): "no payment \(id)"
        case .alreadyPaid(let id): "payment \(id) is already paid"
        }
    }
}
