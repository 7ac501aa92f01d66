import Hummingbird

/// The sandbox's HTTP side: pay pages with Pay/Fail buttons for people, and
/// `/sandbox/payments` for scripts and tests.
struct SandboxRoutes: Sendable {
    let ledger: SandboxLedger
    let sender: CallbackSender
    let queue: CallbackQueue
    let options: SandboxOptions
    let webhooks: WebhookInbox

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        webhooks.routes(on: router)
        router.get("health") { _, _ in "ok" }
        router.get("/") { _, _ in Self.html(.ok, PayPage.index(ledger.all())) }
        router.get("pay/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let payment = ledger.payment(id) else { return Self.html(.notFound, PayPage.notFound(id)) }
            return Self.html(.ok, PayPage.page(payment))
        }
        // The buttons: settle, send the callback, and show the page again (POST → 303 → GET).
        router.post("pay/:id/:action") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let status = Self.status(of: context.parameters.get("action")) else {
                return Self.html(.notFound, PayPage.notFound(id))
            }
            switch await settle(id, as: status, tampering: .init()) {
            case .failure(.notFound): return Self.html(.notFound, PayPage.notFound(id))
            case .success, .failure(.alreadyPaid):
                return Response(status: .seeOther, headers: [.location: "/pay/\(id)"])
            }
        }
        router.get("sandbox/payments") { _, _ in
            Self.json(.ok, "[" + ledger.all().map(JSONText.payment).joined(separator: ",") + "]")
        }
        router.get("sandbox/payments/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let payment = ledger.payment(id) else {
                return Self.json(.notFound, JSONText.error("NOT_FOUND", "no payment \(id)"))
            }
            return Self.json(.ok, JSONText.payment(payment))
        }
        // For scripts: ?amount_fen=N sends a different amount, ?forge_signature=true signs
        // with a wrong secret, ?copies=N sends N copies at once.
        router.post("sandbox/payments/:id/:action") { request, context in
            let id = context.parameters.get("id") ?? ""
            guard let status = Self.status(of: context.parameters.get("action")) else {
                return Self.json(.notFound, JSONText.error("NOT_FOUND", "actions are succeed and fail"))
            }
            let query = request.uri.queryParameters
            var tampering = CallbackSender.Tampering()
            if let text = query["amount_fen"] {
                guard let amount = Int64(String(text)) else {
                    return Self.json(.badRequest, JSONText.error("INVALID_ARGUMENT", "amount_fen must be an integer"))
                }
                tampering.amountFen = amount
            }
            tampering.forgeSignature = query["forge_signature"] == "true"
            if let text = query["copies"] {
                guard let copies = Int(String(text)), (1...100).contains(copies) else {
                    return Self.json(.badRequest, JSONText.error("INVALID_ARGUMENT", "copies must be 1 to 100"))
                }
                tampering.copies = copies
            }
            switch await settle(id, as: status, tampering: tampering) {
            case .failure(let error):
                let (status, code) = error == .notFound(id) ? (HTTPResponse.Status.notFound, "NOT_FOUND") : (.conflict, "ALREADY_PAID")
                return Self.json(status, JSONText.error(code, error.message))
            case .success(let (payment, deliveries)):
                let sent = deliveries.map { "[" + $0.map(JSONText.delivery).joined(separator: ",") + "]" } ?? "null"
                return Self.json(
                    deliveries == nil ? .accepted : .ok,
                    JSONText.object([("payment", JSONText.payment(payment)), ("deliveries", sent)]))
            }
        }
        return router
    }

    /// Settles the payment and sends its callback: at once (answering with the deliveries)
    /// or, with a callback delay, later (nil deliveries).
    private func settle(_ id: String, as status: SandboxPayment.Status, tampering: CallbackSender.Tampering) async
        -> Result<(SandboxPayment, [SandboxPayment.Delivery]?), SandboxError>
    {
        switch ledger.settle(id, as: status) {
        case .failure(let error): return .failure(error)
        case .success(let payment):
            if options.callbackDelay > .zero {
                queue.enqueue(payment, tampering: tampering)
                return .success((payment, nil))
            }
            let deliveries = await sender.deliver(payment, tampering: tampering)
            return .success((ledger.payment(id) ?? payment, deliveries))
        }
    }

    private static func status(of action: String?) -> SandboxPayment.Status? {
        switch action {
        case "succeed": .succeeded
        case "fail": .failed
        default: nil
        }
    }

    private static func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
