import BillingCore
import HTTPTypes
import Hummingbird

/// Who the console request is for. In production the gateway authenticates and passes the
/// user in a trusted header; a `user_id` parameter that differs is FORBIDDEN. In development
/// (`auth.allow_user_id_param`) the parameter is used.
struct UserIdentity: Sendable {
    let headerName: HTTPField.Name
    /// The same header as gRPC metadata (whose keys are lower case).
    let metadataKey: String
    let allowUserIdParam: Bool

    init(headerName: String, allowUserIdParam: Bool) throws(BillingError) {
        guard let name = HTTPField.Name(headerName) else {
            throw .invalidConfiguration(key: "billing.auth.user_header", reason: "'\(headerName)' is not a header name")
        }
        self.headerName = name
        self.metadataKey = name.canonicalName
        self.allowUserIdParam = allowUserIdParam
    }

    func user(of request: Request, fields: RequestFields) throws(BillingError) -> String {
        try resolve(header: request.headers[headerName], parameter: fields.string("user_id"))
    }

    /// The rules for both transports: the gateway's header wins and must agree with a
    /// parameter; the parameter alone counts only in development mode.
    func resolve(header: String?, parameter: String?) throws(BillingError) -> String {
        let header = header.flatMap { $0.isEmpty ? nil : $0 }
        let parameter = parameter.flatMap { $0.isEmpty ? nil : $0 }
        switch (header, parameter) {
        case (let header?, let parameter?) where header != parameter:
            throw .forbidden("user_id does not match the authenticated user")
        case (let header?, _):
            return header
        case (nil, let parameter?) where allowUserIdParam:
            return parameter
        case (nil, _) where allowUserIdParam:
            throw .invalidArgument(field: "user_id", reason: "is required")
        default:
            throw .unauthenticated("missing \(headerName.rawName) header from the gateway")
        }
    }
}
