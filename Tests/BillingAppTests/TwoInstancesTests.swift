import AsyncHTTPClient
@testable import BillingApp
import BillingPostgres
import Foundation
import NIOCore
import Synchronization
import Testing
import TestSupport

/// Issue 20, several instances: everything that decides money is in PostgreSQL, so two
/// billing-server processes on one database and one Redis charge each request once, a retry
/// on the other instance replays, and kill -9 of one mid-load loses nothing acknowledged.
@Suite("Two servers on one database and one Redis", .serialized, .timeLimit(.minutes(3)))
struct TwoInstancesTests {
    struct Server {
        let process: Process
        let port: Int
        let log: URL
        var base: String { "http://127.0.0.1:\(port)" }
    }

    /// Up within a minute (two debug servers migrating one schema while the whole suite runs
    /// can take a while), or the test fails with the server's last log lines.
    static func waitUntilHealthy(_ server: Server) async throws {
        for _ in 0..<600 where server.process.isRunning {
            var probe = HTTPClientRequest(url: server.base + "/health")
            probe.method = .GET
            if (try? await HTTPClient.shared.execute(probe, timeout: .milliseconds(500)).status.code) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = (try? String(contentsOf: server.log, encoding: .utf8)) ?? ""
        Issue.record("server on \(server.port) not healthy: \(log.split(separator: "\n").suffix(15).joined(separator: "\n"))")
        throw CancellationError()
    }

    /// One deduction's fate as the client saw it: the record ids answered, or none (no answer).
    final class Answers: Sendable {
        let byRequest = Mutex<[String: [Int64]]>([:])
        let replays = Atomic<Int>(0)
        let retriedElsewhere = Atomic<Int>(0)
        let answered = Atomic<Int>(0)
        /// Set once a request to B got no answer: like a load balancer, callers stop sending there.
        let bDown = Atomic<Bool>(false)
    }

    static func deduct(_ base: String, user: String, requestId: String) async -> (status: Int, body: JSONValue?)? {
        var request = HTTPClientRequest(url: base + "/internal/v1/billing/deduct")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Bearer \(TestApp.internalToken)")
        request.body = .bytes(
            ByteBuffer(string: #"{"user_id": "\#(user)", "service_name": "payment", "count": 1, "request_id": "\#(requestId)"}"#))
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(3)),
            let body = try? await response.body.collect(upTo: 1 << 20)
        else { return nil }
        return (Int(response.status.code), try? JSONParser.parse(Array(buffer: body)))
    }

    static func recordIds(_ body: JSONValue?) -> [Int64]? {
        guard case .array(let ids)? = body?["data"]?["recordIds"] else { return nil }
        return ids.compactMap(\.int64)
    }

    @Test("both charge the same users, retries on the other replay, kill -9 of one mid-load loses nothing acknowledged",
        .freshSchema(migrated: false))
    func twoServers() async throws {
        let schema = try #require(TestSchema.current).name
        // Both migrate the new schema at once at start: the migration lock lets one do it.
        var servers: [Server] = []
        for _ in 0..<2 {
            let port = try FreePort.pick()
            var environment = ProcessInfo.processInfo.environment.merging(
                TestApp.environment(schema: schema, extra: ["BILLING_HTTP_PORT": String(port)])
            ) { _, new in new }
            environment["BILLING_REDIS_NAMESPACE"] = "two-\(schema)"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: GracefulShutdownTests.binary)
            process.arguments = ["serve", "--config", ""]
            process.environment = environment
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("two-\(schema)-\(port).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            servers.append(Server(process: process, port: port, log: log))
        }
        defer {
            for server in servers {
                if server.process.isRunning { server.process.terminate() }
                try? FileManager.default.removeItem(at: server.log)
            }
        }
        for server in servers { try await Self.waitUntilHealthy(server) }
        let (a, b) = (servers[0], servers[1])

        let admin = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { admin.close() }
        let users = (0..<20).map { "two\($0)" }
        for user in users {
            try admin.query(
                """
                INSERT INTO \(schema).recharge_order (id, user_id, amount_fen, currency, payment_method, status, created_at, paid_at)
                VALUES ($1, $2, 100000, 'CNY', 'alipay', 'success', now(), now())
                """, ["order-\(user)", user])
            try admin.query("INSERT INTO \(schema).user_balance (user_id, balance_fen) VALUES ($1, 100000)", [user])
            try admin.query(
                """
                INSERT INTO \(schema).free_quota (user_id, period, service_name, total, used)
                VALUES ($1, to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), 'payment', 1000, 1000)
                """, [user])
        }

        // 8 callers; each request goes to A or B by turns and is then retried on the other.
        // B is killed once 300 requests were answered; from then on a request sent to B gets
        // no answer and is retried on A, and callers stop sending to B (as a load balancer would).
        let answers = Answers()
        let (aBase, bBase, bPID) = (a.base, b.base, b.process.processIdentifier)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<8 {
                group.addTask {
                    for step in 0..<100 {
                        let user = users[(caller * 7 + step) % users.count]
                        let id = "c\(caller)-\(step)"
                        let (first, second) = step % 2 == 0 ? (aBase, bBase) : (bBase, aBase)
                        var ids: [Int64]?
                        func send(_ base: String) async -> (status: Int, body: JSONValue?)? {
                            if base == bBase, answers.bDown.load(ordering: .relaxed) { return nil }
                            let reply = await Self.deduct(base, user: user, requestId: id)
                            if reply == nil, base == bBase { answers.bDown.store(true, ordering: .relaxed) }
                            return reply
                        }
                        if let reply = await send(first), reply.status == 200 {
                            ids = Self.recordIds(reply.body)
                        }
                        if let retry = await send(second), retry.status == 200 {
                            let retried = Self.recordIds(retry.body)
                            if ids != nil {
                                #expect(retried == ids, "a retry on the other server answers the same records")
                                #expect(retry.body?["data"]?["replayed"] == .bool(true))
                                answers.replays.add(1, ordering: .relaxed)
                            } else {
                                answers.retriedElsewhere.add(1, ordering: .relaxed)
                            }
                            ids = ids ?? retried
                        }
                        if let ids { answers.byRequest.withLock { $0[id] = ids } }
                        answers.answered.add(1, ordering: .relaxed)
                    }
                }
            }
            group.addTask {
                while answers.answered.load(ordering: .relaxed) < 300 { try await Task.sleep(for: .milliseconds(5)) }
                kill(bPID, SIGKILL)
            }
            try await group.waitForAll()
        }
        let acknowledged = answers.byRequest.withLock { $0 }
        #expect(acknowledged.count == 800, "every request was answered by one server or the other")
        #expect(answers.replays.load(ordering: .relaxed) >= 250)
        #expect(answers.retriedElsewhere.load(ordering: .relaxed) >= 100, "B's requests after the kill went to A")

        // The ledger: each acknowledged request exactly once, with the records it was answered
        // with; each balance down by 10 fen per request of its user; nothing else.
        let rows = try admin.query(
            """
            SELECT request_id, array_remove(ARRAY[id, paired_record_id], NULL)::text FROM \(schema).billing_record
            WHERE balance_after_fen IS NOT NULL
            """
        ).all
        #expect(rows.count == 800)
        for row in rows {
            let id = try row.string(0)
            let stored = try row.string(1).trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
                .split(separator: ",").compactMap { Int64($0) }
            #expect(acknowledged[id] == stored, "\(id)")
        }
        #expect(try admin.query("SELECT count(*) FROM \(schema).billing_record")[0].int64(0) == 800)
        let spent = try admin.query("SELECT sum(100000 - balance_fen) FROM \(schema).user_balance")[0].int64(0)
        #expect(spent == 8_000)
        var config = TestEnvironment.postgres
        config.schema = schema
        let report = try await LedgerAudit.report(of: config)
        #expect(report.isClean, "\(report)")
        // The survivor's cached account agrees with the database.
        var account = HTTPClientRequest(url: a.base + "/api/v1/billing/account?user_id=\(users[0])")
        account.method = .GET
        let response = try await HTTPClient.shared.execute(account, timeout: .seconds(10))
        let body = try JSONParser.parse(Array(buffer: try await response.body.collect(upTo: 1 << 20)))
        let stored = try admin.query("SELECT balance_fen FROM \(schema).user_balance WHERE user_id = $1", [users[0]])[0].int64(0)
        #expect(body["data"]?["balanceFen"]?.int64 == stored)
    }
}
