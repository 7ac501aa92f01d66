import CallbackSigning
import Foundation
import Hummingbird
import Synchronization

/// The sandbox as a webhook receiver (for `make run` and the tests): `POST /webhooks`
/// checks the signature with the shared secret, keeps every delivery it saw (duplicates
/// too, marked), and answers 500 to the first `failures` deliveries to exercise retries;
/// `GET /webhooks` lists what arrived.
public final class WebhookInbox: Sendable {
    public struct Received: Sendable, Hashable {
        public let eventId: String
        public let type: String
        public let signatureValid: Bool
        public let answered: Int
        public let body: String
    }

    private let state: Mutex<(received: [Received], failuresLeft: Int)>
    private let signer: CallbackSignature

    public init(secret: String, failures: Int = 0) {
        signer = CallbackSignature(secret: secret)
        state = Mutex(([], failures))
    }

    public var received: [Received] { state.withLock { $0.received } }

    /// Answers `failures` more deliveries with 500.
    public func fail(next failures: Int) { state.withLock { $0.failuresLeft = failures } }

    func receive(body: [UInt8], signature: String?) -> Int {
        let valid = signature.map { (try? signer.verify(header: $0, body: body, now: Date())) != nil } ?? false
        let fields = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        return state.withLock { state in
            let status: Int
            if !valid {
                status = 401
            } else if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                status = 500
            } else {
                status = 200
            }
            state.received.append(
                Received(
                    eventId: fields?["id"] as? String ?? "", type: fields?["type"] as? String ?? "",
                    signatureValid: valid, answered: status, body: String(decoding: body, as: UTF8.self)))
            return status
        }
    }

    func routes(on router: Router<BasicRequestContext>) {
        router.post("webhooks") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let status = self.receive(body: Array(buffer: body), signature: request.headers[.init(CallbackSignature.headerName)!])
            return Response(status: .init(code: status))
        }
        router.get("webhooks") { _, _ in
            let items = self.received.map { item in
                #"{"id":\#(JSONText.quoted(item.eventId)),"type":\#(JSONText.quoted(item.type)),"#
                    + #""signatureValid":\#(item.signatureValid),"answered":\#(item.answered)}"#
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(
                status: .ok, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: "[" + items.joined(separator: ",") + "]")))
        }
    }
}
