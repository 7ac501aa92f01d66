import BillingCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Records every call of the admin group in the audit log — refused ones too, so it wraps
/// the token check: operator (as named), action, target, parameters (query and body), and
/// the status and code it ended with. A call whose entry cannot be written fails with
/// UNAVAILABLE: an admin change that is not audited must not look done.
struct AuditMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: any AuditLog
    let bodyLimitBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var request = request
        let body = try await request.body.collect(upTo: bodyLimitBytes)
        request.body = RequestBody(buffer: body)
        let text = String(buffer: body)
        let query = request.uri.query.map { "?" + $0 } ?? ""
        let entry = { (status: Int, code: String?) in
            AuditEntry(
                operatorName: request.headers[.operatorName], action: "\(request.method.rawValue) \(request.uri.path)",
                target: Self.target(path: request.uri.path, body: text), parameters: query + text, status: status,
                code: code)
        }
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as BillingError {
            try await log.append(entry(Int(APIResponse.status(for: error.kind).code), error.code))
            throw error
        } catch {
            try await log.append(entry(500, "INTERNAL"))
            throw error
        }
        try await log.append(entry(Int(response.status.code), nil))
        return response
    }

    /// The user (body `user_id`, or the path's `users/{id}`) or service (`services/{name}`)
    /// the call is about.
    static func target(path: String, body: String) -> String? {
        if case .object(let members)? = try? JSONParser.parse(Array(body.utf8)),
            let user = members.last(where: { $0.0 == "user_id" || $0.0 == "userId" })?.1,
            case .string(let id) = user
        {
            return "user \(id)"
        }
        let parts = path.split(separator: "/")
        for (index, part) in parts.enumerated() where index + 1 < parts.count {
            if part == "users" { return "user \(parts[index + 1])" }
            if part == "services" { return "service \(parts[index + 1])" }
        }
        return nil
    }
}
