@testable import BillingApp
import Foundation
import HTTPTypes
import Testing

@Suite("The usage page is served with its script, locked to this origin", .timeLimit(.minutes(1)))
struct ConsolePageTests {
    @Test("/console is HTML that loads /console/console.js; both forbid other origins' scripts and framing")
    func served() async throws {
        try await TestApp.with { app in
            let page = try await app.send(.get, "/console")
            #expect(page.status == 200)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.text.contains(#"<script src="/console/console.js"></script>"#))
            #expect(!page.text.contains(#"src="http"#) && !page.text.contains(#"href="http"#), "no external assets")
            let script = try await app.send(.get, "/console/console.js")
            #expect(script.status == 200)
            #expect(script.headers[.contentType]?.hasPrefix("text/javascript") == true)
            for reply in [page, script] {
                let policy = reply.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"))
            }
            // Data is rendered as text only.
            #expect(!script.text.contains("innerHTML") && !script.text.contains("eval("))
            // Every API the page reads exists.
            for path in ["/api/v1/billing/account", "/api/v1/billing/stats/daily", "/api/v1/billing/records"] {
                #expect(script.text.contains(path))
                #expect(try await app.send(.get, "\(path)?user_id=page_user").status == 200, "\(path)")
            }
        }
    }
}
