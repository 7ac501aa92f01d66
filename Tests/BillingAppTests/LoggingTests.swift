@testable import BillingApp
import BillingLogging
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@Suite("Log lines: one per event, key=value or JSON, with the request id")
struct LoggingTests {
    final class Captured: Sendable {
        let lines = Mutex<[String]>([])
        var sink: LogSink { LogSink { line in self.lines.withLock { $0.append(line) } } }
        var all: [String] { lines.withLock { $0 } }
    }

    func logger(_ format: LogFormat, into captured: Captured) -> Logger {
        Logger(label: "test") { label in
            LineLogHandler(
                label: label, format: format, level: .debug, sink: captured.sink,
                metadataProvider: BillingLogging.requestIdProvider)
        }
    }

    @Test("key=value: quoted when needed, escaped, one line, metadata sorted after ts level label msg")
    func keyValue() throws {
        let captured = Captured()
        logger(.keyValue, into: captured).warning(
            "lane \"2\" failed\nretrying", metadata: ["b": "x=y", "a": "plain", "empty": ""])
        let line = try #require(captured.all.first)
        #expect(!line.contains("\n"))
        #expect(line.hasPrefix("ts="))
        #expect(line.contains(#" level=warning label=test msg="lane \"2\" failed\nretrying" a=plain b="x=y" empty="""#))
    }

    @Test("JSON: every line parses, values are strings, the request id of the task is there")
    func json() throws {
        let captured = Captured()
        let log = logger(.json, into: captured)
        RequestLogContext.$requestId.withValue("req-42") {
            log.info("deducted", metadata: ["user": "u\u{1}1", "hb.request.id": "hb-7"])
        }
        log.info("outside")
        let lines = captured.all
        #expect(lines.count == 2)
        let first = try #require(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        #expect(first["msg"] == "deducted" && first["level"] == "info" && first["request_id"] == "req-42")
        #expect(first["user"] == "u\u{1}1")
        #expect(first["hb.request.id"] == nil, "the request id replaces Hummingbird's")
        let second = try #require(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: String])
        #expect(second["request_id"] == nil)
    }

    @Test("over HTTP: the caller's X-Request-Id is on the lines of its request and echoed; a bad one is replaced")
    func http() async throws {
        let captured = Captured()
        let log = logger(.keyValue, into: captured)
        let router = Router()
        router.add(middleware: RequestIdMiddleware())
        router.get("work") { _, _ in
            log.info("working")
            return "ok"
        }
        let app = Application(router: router, logger: log)
        try await app.test(.router) { client in
            let good = try await client.execute(uri: "/work", method: .get, headers: [.requestId: "gw-123"])
            #expect(good.headers[.requestId] == "gw-123")
            let bad = try await client.execute(uri: "/work", method: .get, headers: [.requestId: "no spaces allowed"])
            let replaced = try #require(bad.headers[.requestId])
            #expect(replaced != "no spaces allowed" && !replaced.isEmpty)
            let lines = captured.all
            #expect(lines.filter { $0.contains("msg=working") && $0.contains("request_id=gw-123") }.count == 1)
            #expect(lines.filter { $0.contains("msg=request") && $0.contains("request_id=gw-123") && $0.contains("status=200") }.count == 1)
            #expect(lines.contains { $0.contains("msg=working") && $0.contains("request_id=\(replaced)") })
        }
    }
}
