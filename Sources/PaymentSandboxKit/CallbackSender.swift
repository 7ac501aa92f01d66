import AsyncHTTPClient
import CallbackSigning
import Foundation
import NIOCore

/// Posts a payment's result to billing's notify_url, signed like the platform's Payment
/// Service signs it. Delivery is at least once: copies go out together when asked, and a
/// request without an answer or with a 5xx is tried again; a 4xx is billing's final word.
struct CallbackSender: Sendable {
    /// What a script may change about one delivery, to see billing refuse it.
    struct Tampering: Sendable {
        var amountFen: Int64?
        var forgeSignature = false
        var copies: Int?
    }

    let ledger: SandboxLedger
    let options: SandboxOptions
    let client: HTTPClient

    /// Sends the callback for a settled payment and returns each copy's final delivery.
    func deliver(_ payment: SandboxPayment, tampering: Tampering = .init()) async -> [SandboxPayment.Delivery] {
        let body = Self.body(of: payment, amountFen: tampering.amountFen ?? payment.amountFen)
        let signer = CallbackSignature(
            secret: tampering.forgeSignature ? "forged-\(options.callbackSecret)" : options.callbackSecret)
        let copies = max(1, tampering.copies ?? options.callbackCopies)
        return await withTaskGroup(of: SandboxPayment.Delivery.self) { group in
            for _ in 0..<copies {
                group.addTask { await send(body, to: payment.notifyURL, signer: signer, paymentId: payment.id) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    private func send(_ body: String, to url: String, signer: CallbackSignature, paymentId: String) async
        -> SandboxPayment.Delivery
    {
        var delivery = SandboxPayment.Delivery(outcome: "not sent", statusCode: nil, billingAnswer: "")
        for attempt in 0...max(0, options.callbackRetries) {
            if attempt > 0 {
                do { try await Task.sleep(for: .milliseconds(250 * attempt)) } catch { break }
            }
            delivery = await post(body, to: url, signer: signer)
            ledger.record(delivery, for: paymentId)
            if let status = delivery.statusCode, status < 500 { break }
        }
        return delivery
    }

    private func post(_ body: String, to url: String, signer: CallbackSignature) async -> SandboxPayment.Delivery {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        // Signed at each attempt: a retry minutes later must still be inside billing's window.
        let now = Int64(Date().timeIntervalSince1970)
        request.headers.add(name: CallbackSignature.headerName, value: signer.header(timestamp: now, body: Array(body.utf8)))
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(options.callbackTimeout.nanoseconds))
            let answer = String(buffer: try await response.body.collect(upTo: 64 * 1_024))
            return .init(outcome: "answered", statusCode: Int(response.status.code), billingAnswer: answer)
        } catch {
            return .init(outcome: "no answer (\(error))", statusCode: nil, billingAnswer: "")
        }
    }

    /// The callback's JSON, as api.md names its fields.
    static func body(of payment: SandboxPayment, amountFen: Int64) -> String {
        let status = payment.status == .succeeded ? "SUCCESS" : "FAILED"
        return #"{"order_id":\#(JSONText.quoted(payment.orderId)),"payment_id":\#(JSONText.quoted(payment.id)),"#
            + #""amount_fen":\#(amountFen),"status":"\#(status)"}"#
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
