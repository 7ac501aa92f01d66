import HTTPTypes
import Hummingbird
import NIOCore

/// GET /console and its script. Static: the page holds no data of its own; it reads the
/// console API with whatever identity the request carries (the gateway's header, or
/// `user_id` in development).
struct ConsoleRoutes: Sendable {
    func register(on router: Router<BasicRequestContext>) {
        router.get("console") { _, _ in
            Self.response(ConsolePage.html, type: "text/html; charset=utf-8")
        }
        router.get("console/console.js") { _, _ in
            Self.response(ConsoleScript.javascript, type: "text/javascript; charset=utf-8")
        }
    }

    static func response(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        // Only this origin's script; inline styles only (the page's own <style>).
        headers[.contentSecurityPolicy] =
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
