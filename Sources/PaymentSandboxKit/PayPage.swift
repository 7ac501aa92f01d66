/// The sandbox's HTML: the page a payer lands on from billing's pay_url, with Pay and
/// Fail buttons, and an index of every payment. Every value from a request is escaped.
enum PayPage {
    static func page(_ payment: SandboxPayment) -> String {
        let id = html(payment.id)
        let deliveries =
            payment.deliveries.isEmpty
            ? "<p>No callback sent yet.</p>"
            : "<ol id=\"deliveries\">"
                + payment.deliveries.map { delivery in
                    "<li>\(delivery.statusCode.map { "HTTP \($0)" } ?? "no answer"): "
                        + "<code>\(html(delivery.statusCode == nil ? delivery.outcome : delivery.billingAnswer))</code></li>"
                }.joined() + "</ol>"
        let buttons =
            payment.status == .succeeded
            ? "<p>Paid. Pressing Pay again re-sends the callback.</p>" + button(id, "succeed", "pay", "Pay again")
            : button(id, "succeed", "pay", "Pay ¥\(html(payment.amountText))") + button(id, "fail", "fail", "Fail")
        let back =
            safeLink(payment.returnURL).map { "<p><a id=\"return\" href=\"\($0)\">Back to where you came from</a></p>" } ?? ""
        return document(
            title: "Pay \(payment.amountText) \(payment.currency)",
            body: """
                <h1>DevShare payment sandbox</h1>
                <p class="note">A local stand-in for the Payment Service: no money moves.</p>
                <dl>
                  <dt>Payment</dt><dd id="payment-id">\(id)</dd>
                  <dt>Order</dt><dd id="order-id">\(html(payment.orderId))</dd>
                  <dt>User</dt><dd>\(html(payment.uid))</dd>
                  <dt>Amount</dt><dd id="amount">¥\(html(payment.amountText)) \(html(payment.currency))</dd>
                  <dt>Method</dt><dd>\(html(payment.method))</dd>
                  <dt>Subject</dt><dd>\(html(payment.subject))</dd>
                  <dt>Status</dt><dd id="status" class="\(payment.status.rawValue)">\(payment.status.rawValue)</dd>
                </dl>
                <div class="buttons">\(buttons)</div>
                <h2>Callbacks to billing</h2>
                \(deliveries)
                \(back)
                <p><a href="/">All payments</a></p>
                """)
    }

    static func index(_ payments: [SandboxPayment]) -> String {
        let rows = payments.map { payment in
            "<tr><td><a href=\"/pay/\(html(payment.id))\">\(html(payment.id))</a></td><td>\(html(payment.orderId))</td>"
                + "<td>¥\(html(payment.amountText))</td><td>\(payment.status.rawValue)</td></tr>"
        }.joined()
        return document(
            title: "Payment sandbox",
            body: """
                <h1>DevShare payment sandbox</h1>
                <p class="note">Payments billing created here, newest first.</p>
                <table><tr><th>Payment</th><th>Order</th><th>Amount</th><th>Status</th></tr>\(rows)</table>
                """)
    }

    static func notFound(_ id: String) -> String {
        document(title: "No such payment", body: "<h1>No such payment</h1><p>\(html(id)) is not known here.</p>")
    }

    private static func button(_ id: String, _ action: String, _ elementId: String, _ label: String) -> String {
        "<form method=\"post\" action=\"/pay/\(id)/\(action)\"><button id=\"\(elementId)\" type=\"submit\">\(label)</button></form>"
    }

    private static func document(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(html(title))</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; color: #222; }
        .note { color: #666; } dt { font-weight: 600; float: left; width: 6rem; } dd { margin: 0 0 .4rem 6.5rem; }
        .buttons form { display: inline-block; margin-right: .5rem; }
        button { font-size: 1rem; padding: .5rem 1.2rem; cursor: pointer; }
        #pay { background: #1677ff; color: white; border: none; border-radius: 4px; }
        .succeeded { color: #1a7f37; font-weight: 600; } .failed { color: #cf222e; font-weight: 600; }
        table { border-collapse: collapse; } td, th { padding: .2rem .6rem; text-align: left; }
        </style></head>
        <body>
        \(body)
        </body></html>
        """
    }

    /// Only http(s) links: a return_url is the payer's next stop, never a script.
    private static func safeLink(_ url: String) -> String? {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { return nil }
        return html(url)
    }

    static func html(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
