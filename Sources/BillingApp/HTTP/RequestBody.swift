import BillingCore
import HTTPTypes
import Hummingbird

/// Reads a request body under the size limit, insisting on JSON when there is one.
struct RequestBodyReader: Sendable {
    let limitBytes: Int

    /// The raw bytes (needed as they are for signature checks); empty when there is no body.
    func bytes(_ request: inout Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limitBytes {
            throw HTTPError(.contentTooLarge)
        }
        let buffer = try await request.collectBody(upTo: limitBytes)
        let bytes = Array(buffer.readableBytesView)
        if !bytes.isEmpty {
            let type = request.headers[.contentType]?.lowercased() ?? ""
            guard type.hasPrefix("application/json") else {
                throw HTTPError(.unsupportedMediaType, message: "the body must be JSON (Content-Type: application/json)")
            }
        }
        return bytes
    }

    static func parse(_ bytes: [UInt8]) throws(BillingError) -> JSONValue? {
        guard !bytes.isEmpty else { return nil }
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw .invalidArgument(field: "body", reason: "malformed JSON at byte \(error.offset): \(error.reason)")
        }
    }

    /// The body and the query string as one set of fields.
    func fields(_ request: inout Request) async throws -> RequestFields {
        let json = try Self.parse(try await bytes(&request))
        return try RequestFields(body: json, query: Self.query(request))
    }

    static func query(_ request: Request) -> [String: String] {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters where values[String(key)] == nil {
            values[String(key)] = String(value)
        }
        return values
    }
}
