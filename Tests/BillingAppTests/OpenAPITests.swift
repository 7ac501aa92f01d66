import BillingConfiguration
@testable import BillingApp
import BillingCore
import Foundation
import Testing

@Suite("The OpenAPI document matches the router")
struct OpenAPITests {
    @Test("the document's paths and the router's routes are the same set")
    func samePaths() async throws {
        let text = try String(contentsOf: TestApp.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        // Top-level path keys: two spaces, a slash, a colon at the end.
        let documented = Set(
            text.split(separator: "\n").filter { $0.hasPrefix("  /") && $0.hasSuffix(":") }.map {
                String($0.dropFirst(2).dropLast())
            })
        let environment = TestApp.environment(schema: "unused", extra: ["BILLING_DATABASE_MIGRATE_ON_START": "false"])
        let config = try BillingConfig(reader: try await BillingConfig.reader(filePath: nil, environment: environment))
        let (_, parts) = try await BillingApplication.build(config: config, logger: .init(label: "openapi-test"))
        let router = try BillingApplication.makeRouter(config: config, parts: parts, clock: SystemClock(), openAPIDocument: nil)
        let routed = Set(router.routes.map(\.path.description))
        await parts.lanes.shutdown()
        await parts.pool.shutdown()
        #expect(documented == routed)
        #expect(routed.count == 34)
    }
}
