import BillingConfiguration
@testable import BillingApp
import BillingPostgres
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport

/// Holds survive the server: `kill -9` with holds pending, start a new server on the same
/// database, and every hold still settles or expires correctly.
@Suite("Holds across kill -9", .serialized, .timeLimit(.minutes(2)))
struct HoldRestartTests {
    @Test("after kill -9 with holds pending, a new server settles some and expires the rest; the ledger is exact",
        .freshSchema(migrated: false))
    func killNine() async throws {
        let schema = try #require(TestSchema.current).name
        let port = try FreePort.pick()
        var environment = ProcessInfo.processInfo.environment.merging(
            TestApp.environment(schema: schema, extra: ["BILLING_HTTP_PORT": String(port)])
        ) { _, new in new }
        environment["BILLING_LOG_LEVEL"] = "warning"

        func start() throws -> Process {
            let server = Process()
            server.executableURL = URL(fileURLWithPath: GracefulShutdownTests.binary)
            server.arguments = ["serve", "--config", ""]
            server.environment = environment
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            return server
        }
        func post(_ path: String, _ body: String) async throws -> (Int, String) {
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            fields[.authorization] = "Bearer \(TestApp.internalToken)"
            let headers = fields
            return try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                let response = try await client.execute(
                    .init("/internal/v1/billing/\(path)", method: .post, headers: headers, body: ByteBuffer(string: body)))
                return (Int(response.status.code), response.body.map { String(buffer: $0) } ?? "")
            }
        }

        let first = try start()
        defer { if first.isRunning { first.terminate() } }
        try await GracefulShutdownTests.waitUntilHealthy(port: port)
        let admin = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { admin.close() }
        // 1.00 yuan each, credited as production does: a successful order.
        for user in ["k1", "k2"] {
            try admin.query(
                """
                INSERT INTO \(schema).recharge_order (id, user_id, amount_fen, currency, payment_method, status, created_at, paid_at)
                VALUES ($1, $2, 100, 'CNY', 'alipay', 'success', now(), now())
                """, ["order-\(user)", user])
            try admin.query(
                "INSERT INTO \(schema).user_balance (user_id, balance_fen) VALUES ($1, 100)", [user])
            // This month's free payment calls used up: every held call is 10 fen.
            try admin.query(
                """
                INSERT INTO \(schema).free_quota (user_id, period, service_name, total, used)
                VALUES ($1, to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), 'payment', 1000, 1000)
                """, [user])
        }
        for index in 0..<6 {
            let user = index % 2 == 0 ? "k1" : "k2"
            let ttl = index < 3 ? 300 : 2
            let (status, body) = try await post(
                "holds",
                #"{"user_id": "\#(user)", "service_name": "payment", "count": 1, "hold_id": "kh\#(index)", "ttl_seconds": \#(ttl)}"#)
            #expect(status == 200, "\(body)")
        }
        kill(first.processIdentifier, SIGKILL)
        for _ in 0..<100 where first.isRunning { try await Task.sleep(for: .milliseconds(50)) }

        let second = try start()
        defer { if second.isRunning { second.terminate() } }
        try await GracefulShutdownTests.waitUntilHealthy(port: port)
        for index in 0..<3 {
            let user = index % 2 == 0 ? "k1" : "k2"
            let (status, body) = try await post("holds/kh\(index)/settle", #"{"user_id": "\#(user)", "count": 1}"#)
            #expect(status == 200 && body.contains(#""status":"settled""#), "\(body)")
        }
        // The short holds expire within 5 s of their expiresAt, by the new server's sweeper.
        var statuses: [String] = []
        for _ in 0..<80 {
            statuses = try admin.query("SELECT hold_id || '=' || status FROM \(schema).hold ORDER BY hold_id").all
                .map { try $0.string(0) }
            if !statuses.contains(where: { $0.hasSuffix("=pending") }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(statuses == ["kh0=settled", "kh1=settled", "kh2=settled", "kh3=expired", "kh4=expired", "kh5=expired"])
        let lag = try admin.query(
            "SELECT COALESCE(max(extract(epoch FROM resolved_at - expires_at)), 0)::float8::text FROM \(schema).hold WHERE status = 'expired'"
        )[0].string(0)
        #expect((Double(lag) ?? 99) <= 5, "expiry lag \(lag) s")
        // k1 settled two holds (10 fen each), k2 one; nothing held any more.
        let balances = try admin.query("SELECT user_id || '=' || balance_fen || '/' || held_fen FROM \(schema).user_balance ORDER BY user_id")
            .all.map { try $0.string(0) }
        #expect(balances == ["k1=80/0", "k2=90/0"])
        second.terminate()
        for _ in 0..<100 where second.isRunning { try await Task.sleep(for: .milliseconds(50)) }

        var config = TestEnvironment.postgres
        config.schema = schema
        let report = try await LedgerAudit.report(of: config)
        #expect(report.isClean, "\(report)")
    }
}
