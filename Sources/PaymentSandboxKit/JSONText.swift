import BillingCore

/// Just enough JSON writing for the sandbox's small answers.
enum JSONText {
    static func quoted(_ text: String) -> String { JSONString.literal(text) }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    static func payment(_ payment: SandboxPayment) -> String {
        object([
            ("paymentId", quoted(payment.id)), ("orderId", quoted(payment.orderId)), ("uid", quoted(payment.uid)),
            ("userId", String(payment.userId)), ("clientIp", quoted(payment.clientIP)),
            ("amountFen", String(payment.amountFen)), ("amount", quoted(payment.amountText)),
            ("currency", quoted(payment.currency)), ("method", quoted(payment.method)),
            ("subject", quoted(payment.subject)), ("status", quoted(payment.status.rawValue)),
            ("notifyUrl", quoted(payment.notifyURL)), ("returnUrl", quoted(payment.returnURL)),
            ("deliveries", "[" + payment.deliveries.map(delivery).joined(separator: ",") + "]"),
        ])
    }

    static func delivery(_ delivery: SandboxPayment.Delivery) -> String {
        object([
            ("outcome", quoted(delivery.outcome)), ("statusCode", delivery.statusCode.map(String.init) ?? "null"),
            ("billingAnswer", quoted(delivery.billingAnswer)),
        ])
    }

    static func error(_ code: String, _ message: String) -> String {
        object([("error", object([("code", quoted(code)), ("message", quoted(message))]))])
    }
}
