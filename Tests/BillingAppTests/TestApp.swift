import AsyncHTTPClient
import BillingConfiguration
@testable import BillingApp
import BillingCore
import BillingPostgres
import CallbackSigning
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Testing
import TestSupport

/// The real application over a fresh PostgreSQL schema, configured through the same
/// environment-variable route as production.
struct TestApp {
    static var root: URL { TestEnvironment.repositoryRoot }
    static let internalToken = "test-internal-token"
    static let paymentToken = "test-payment-token"
    static let callbackSecret = "test-callback-secret-0123456789"

    /// Sends one request to the app: through HummingbirdTesting, or over a real socket.
    typealias Transport = @Sendable (
        _ uri: String, _ method: HTTPRequest.Method, _ headers: HTTPFields, _ body: ByteBuffer?
    ) async throws -> Reply

    let transport: Transport
    let parts: BillingApplication.Parts
    let config: BillingConfig
    let signer: CallbackSignature

    /// The server's variables for a test: the test services and `schema`, test secrets,
    /// ports chosen by the system; `extra` wins.
    static func environment(schema: String, extra: [String: String]) -> [String: String] {
        TestEnvironment.billingVariables(
            schema: schema,
            extra: [
                "BILLING_DATABASE_POOL_SIZE": "4",
                "BILLING_HTTP_PORT": "0",
                "BILLING_GRPC_PORT": "0",
                "BILLING_LANES_COUNT": "2",
                "BILLING_AUTH_INTERNAL_TOKENS": internalToken,
                "BILLING_AUTH_PAYMENT_TOKENS": paymentToken,
                "BILLING_PAYMENT_SERVICE_CALLBACK_SECRET": callbackSecret,
                // Nothing listens on port 1: recharges fail fast at the Payment Service unless a
                // test starts a sandbox and points billing at it.
                "BILLING_PAYMENT_SERVICE_PORT": "1",
            ].merging(extra) { _, new in new })
    }

    /// The app through HummingbirdTesting (`.router`: no socket; `.live`: a socket on a
    /// port of its choosing).
    static func with(
        _ setup: TestingSetup = .router, environment extra: [String: String] = [:],
        _ body: @Sendable (TestApp) async throws -> Void
    ) async throws {
        try await withBuiltApp(environment: extra) { app, parts, config in
            try await app.test(setup) { client in
                let transport: Transport = { uri, method, headers, body in
                    try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
                        Reply(status: Int(response.status.code), body: String(buffer: response.body), headers: response.headers)
                    }
                }
                try await body(TestApp(transport: transport, parts: parts, config: config))
            }
        }
    }

    /// The app as the server runs it, on the port its configuration names (a test that
    /// hands its own URL to a peer, like the Payment Service's notify_url), reached over HTTP.
    static func serving(
        environment extra: [String: String], _ body: @Sendable (TestApp) async throws -> Void
    ) async throws {
        try await withBuiltApp(environment: extra) { app, parts, config in
            let base = "http://127.0.0.1:\(config.http.port)"
            let transport: Transport = { uri, method, headers, body in
                var request = HTTPClientRequest(url: base + uri)
                request.method = .init(rawValue: method.rawValue)
                for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
                if let body { request.body = .bytes(body) }
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                var fields = HTTPFields()
                for (name, value) in response.headers {
                    if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
                }
                let text = String(buffer: try await response.body.collect(upTo: 1 << 22))
                return Reply(status: Int(response.status.code), body: text, headers: fields)
            }
            let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "billing-test")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                defer { tasks.cancelAll() }
                let testApp = TestApp(transport: transport, parts: parts, config: config)
                // Ready once /health answers over the socket. Each probe is short: the HTTP
                // client keeps retrying a refused connection until its deadline.
                var ready = false
                for _ in 0..<100 where !ready {
                    var probe = HTTPClientRequest(url: base + "/health")
                    probe.method = .GET
                    ready = (try? await HTTPClient.shared.execute(probe, timeout: .milliseconds(200)).status.code) == 200
                    if !ready { try await Task.sleep(for: .milliseconds(25)) }
                }
                try #require(ready, "the server did not come up on \(base)")
                do {
                    try await body(testApp)
                } catch {
                    await group.triggerGracefulShutdown()
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.next()
            }
        }
    }

    /// A fresh schema and the app built over it; the ledger audit runs after `body`.
    private static func withBuiltApp(
        environment extra: [String: String],
        _ body: (any ApplicationProtocol, BillingApplication.Parts, BillingConfig) async throws -> Void
    ) async throws {
        // The app applies the migrations itself, as in production.
        try await TestSchema.with(prefix: "app", migrated: false) { schema in
            let environment = Self.environment(schema: schema.name, extra: extra)
            let config = try BillingConfig(reader: try await BillingConfig.reader(filePath: nil, environment: environment))
            var logger = Logger(label: "billing-test")
            logger.logLevel = .warning
            let (app, parts) = try await BillingApplication.build(
                config: config, logger: logger, openAPIPath: root.appendingPathComponent("docs/openapi.yaml").path)
            try await body(app, parts, config)
            let audit = try await LedgerAudit.report(of: config.database.postgres)
            #expect(audit.isClean, "ledger invariant: \(audit)")
        }
    }

    init(transport: @escaping Transport, parts: BillingApplication.Parts, config: BillingConfig) {
        self.transport = transport
        self.parts = parts
        self.config = config
        signer = CallbackSignature(secret: Self.callbackSecret, windowSeconds: 300)
    }

    // MARK: Requests

    struct Reply: Sendable {
        let status: Int
        let json: JSONValue?
        let headers: HTTPFields
        let text: String

        init(status: Int, body: String, headers: HTTPFields) {
            self.status = status
            self.text = body
            self.headers = headers
            json = try? JSONParser.parse(Array(body.utf8))
        }

        var data: JSONValue? { json?["data"] }
        var errorCode: String? {
            guard case .string(let code)? = json?["error"]?["code"] else { return nil }
            return code
        }
    }

    func send(
        _ method: HTTPRequest.Method, _ uri: String, json body: String? = nil, headers: [String: String] = [:]
    ) async throws -> Reply {
        var fields = HTTPFields()
        if body != nil { fields[.contentType] = "application/json" }
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        return try await transport(uri, method, fields, body.map { ByteBuffer(string: $0) })
    }

    func `internal`(_ path: String, _ body: String) async throws -> Reply {
        try await send(.post, "/internal/v1/billing/\(path)", json: body, headers: ["Authorization": "Bearer \(Self.internalToken)"])
    }

    func deduct(_ user: String, _ service: String, count: Int, requestId: String? = nil) async throws -> Reply {
        let id = requestId.map { #", "request_id": "\#($0)""# } ?? ""
        return try await self.internal("deduct", #"{"user_id": "\#(user)", "service_name": "\#(service)", "count": \#(count)\#(id)}"#)
    }

    /// Credits a user through a recharge order and a signed success callback: the order
    /// fails at the absent Payment Service (port 1), and the verified callback still credits it.
    func fund(_ user: String, yuan: String) async throws {
        let started = try await send(
            .post, "/api/v1/billing/recharge?user_id=\(user)", json: #"{"amount": "\#(yuan)", "payment_method": "alipay"}"#)
        #expect(started.status == 502)
        let orders = try await parts.pool.withConnection { connection in
            try connection.query(
                "SELECT id, amount_fen FROM recharge_order WHERE user_id = $1 AND status = 'failed' ORDER BY created_at DESC",
                [user]
            ).all.map { (try $0.string(0), try $0.int64(1)) }
        }
        let order = try #require(orders.first)
        let reply = try await signedCallback(#"{"order_id": "\#(order.0)", "amount_fen": \#(order.1), "status": "SUCCESS"}"#)
        #expect(reply.status == 200)
    }

    /// A recharge order of `user` that failed at the absent Payment Service (port 1), and
    /// its id: a verified success callback would still credit it.
    func failedOrder(_ user: String, amountFen: Int64) async throws -> String {
        let started = try await send(
            .post, "/api/v1/billing/recharge?user_id=\(user)",
            json: #"{"amount_fen": \#(amountFen), "payment_method": "alipay"}"#)
        #expect(started.status == 502)
        return try await parts.pool.withConnection { connection in
            try connection.query(
                "SELECT id FROM recharge_order WHERE user_id = $1 AND amount_fen = $2 ORDER BY created_at DESC",
                [user, String(amountFen)])[0].string(0)
        }
    }

    func signedCallback(_ body: String, at time: Date = Date()) async throws -> Reply {
        let header = signer.header(timestamp: Int64(time.timeIntervalSince1970), body: Array(body.utf8))
        return try await send(.post, "/internal/v1/billing/callback", json: body, headers: ["X-Billing-Signature": header])
    }
}

extension JSONValue {
    var int64: Int64? {
        guard case .number(let text) = self else { return nil }
        return Int64(text)
    }

    var text: String? {
        switch self {
        case .string(let value), .number(let value): value
        default: nil
        }
    }
}

extension JSONValue {
    subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
