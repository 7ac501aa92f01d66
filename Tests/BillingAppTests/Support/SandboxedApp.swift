import AsyncHTTPClient
@testable import BillingApp
import NIOHTTP1
import Foundation
import NIOCore
import PaymentSandboxKit
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Billing listening on a real port, its Payment Service client pointed at a payment
/// sandbox running in the test process (real gRPC and HTTP sockets both ways).
struct SandboxedApp {
    let app: TestApp
    let sandbox: PaymentSandbox.Running

    static func with(
        sandbox options: SandboxOptions = .init(), timeoutMilliseconds: Int = 5_000,
        environment extra: [String: String] = [:], _ body: @Sendable (SandboxedApp) async throws -> Void
    ) async throws {
        var options = options
        options.grpcPort = 0
        options.httpPort = 0
        options.callbackSecret = TestApp.callbackSecret
        let port = try FreePort.pick()
        try await PaymentSandbox.withRunning(options: options) { sandbox in
            try await TestApp.serving(
                environment: [
                    "BILLING_HTTP_PORT": "\(port)",
                    "BILLING_PAYMENT_SERVICE_PORT": "\(sandbox.grpcPort)",
                    "BILLING_PAYMENT_SERVICE_TIMEOUT_MS": "\(timeoutMilliseconds)",
                    "BILLING_PAYMENT_SERVICE_NOTIFY_URL": "http://127.0.0.1:\(port)/internal/v1/billing/callback",
                ].merging(extra) { _, new in new }
            ) { app in
                try await body(SandboxedApp(app: app, sandbox: sandbox))
            }
        }
    }

    /// Starts a recharge over billing's HTTP API; returns the reply.
    func recharge(
        _ user: String, yuan: String, headers: [String: String] = [:]
    ) async throws -> TestApp.Reply {
        try await app.send(
            .post, "/api/v1/billing/recharge?user_id=\(user)",
            json: #"{"amount": "\#(yuan)", "payment_method": "alipay"}"#, headers: headers)
    }

    func order(_ user: String, _ orderId: String) async throws -> TestApp.Reply {
        try await app.send(.get, "/api/v1/billing/recharge/orders/\(orderId)?user_id=\(user)")
    }

    func balanceFen(_ user: String) async throws -> Int64? {
        try await app.send(.get, "/api/v1/billing/account?user_id=\(user)").data?["balanceFen"]?.int64
    }

    /// What a script does with the sandbox: `POST /sandbox/payments/{id}/succeed|fail`.
    func sandboxPost(_ path: String) async throws -> (status: Int, json: JSONValue?) {
        try await Self.http(.POST, "http://127.0.0.1:\(sandbox.httpPort)\(path)")
    }

    static func http(_ method: HTTPMethod, _ url: String) async throws -> (status: Int, json: JSONValue?) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), try? JSONParser.parse(Array(buffer: body)))
    }

    /// The payment id at the end of a pay_url.
    static func paymentId(_ reply: TestApp.Reply) -> String? {
        reply.data?["paymentUrl"]?.text.flatMap { $0.split(separator: "/").last.map(String.init) }
    }

    func orderStatus(_ orderId: String) async throws -> (status: String, reason: String?) {
        try await app.parts.pool.withConnection { connection in
            let row = try connection.query("SELECT status, failure_reason FROM recharge_order WHERE id = $1", [orderId])[0]
            return (try row.string(0), row.optionalString(1))
        }
    }
}

/// A TCP port nothing listens on right now, for a server that must know its own URL
/// before it starts (billing hands its callback URL to the Payment Service). Taken below
/// Linux's ephemeral range (32768-60999), so no outgoing connection of a parallel test
/// can grab it between this check and the server's bind, and from a counter, so two
/// tests of this process never get the same one.
enum FreePort {
    private static let next = Mutex(20_000 + Int.random(in: 0..<10_000))

    static func pick() throws -> Int {
        for _ in 0..<200 {
            let port = next.withLock { port in
                defer { port = port >= 32_000 ? 20_000 : port + 1 }
                return port
            }
            if isFree(port) { return port }
        }
        throw PortError()
    }

    private static func isFree(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    struct PortError: Error {}
}
