import BillingCore
import HTTPTypes
import Hummingbird

/// The envelope of every answer: `{"success": true, "data": …}` or
/// `{"success": false, "error": {"code": …, "message": …}}`, always JSON.
enum APIResponse {
    static func ok(_ data: JSONValue) -> Response {
        json(okEnvelope(data), status: .ok)
    }

    static func failure(code: String, message: String, status: HTTPResponse.Status) -> Response {
        json(failureEnvelope(code: code, message: message), status: status)
    }

    static func okEnvelope(_ data: JSONValue) -> JSONValue {
        .object([("success", .bool(true)), ("data", data)])
    }

    static func failureEnvelope(code: String, message: String) -> JSONValue {
        .object([
            ("success", .bool(false)),
            ("error", .object([("code", .string(code)), ("message", .string(message))])),
        ])
    }

    static let contentType = "application/json; charset=utf-8"

    static func failure(_ error: BillingError) -> Response {
        failure(code: error.code, message: error.message, status: status(for: error.kind))
    }

    /// The one mapping from the domain's error kinds to HTTP statuses.
    static func status(for kind: BillingError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .invalidInput: .badRequest
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .insufficientFunds: HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required")
        case .unavailable: .serviceUnavailable
        case .upstreamUnavailable: .badGateway
        case .internalFailure: .internalServerError
        case .tooLarge: HTTPResponse.Status(code: 413, reasonPhrase: "Content Too Large")
        }
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status) -> Response {
        json(bytes: value.serializedBytes(), status: status)
    }

    /// A JSON body written already (`Views.batchBytes`).
    static func json(bytes: [UInt8], status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
