@testable import BillingApp
import BillingCore
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

/// The fast path writes its answer as finished bytes at NIO's response encoder: the bytes
/// must be the ones the two codecs would have written, and they must stay in order with the
/// router's answers on the same connection.
@Suite("Deduct fast path on the wire: the codecs' bytes, in order")
struct DeductFastPathWireTests {
    /// What `HTTP1ToHTTPServerCodec` and `HTTPResponseEncoder` write for the typed parts.
    static func codecBytes(status: HTTPResponse.Status, fields: KeyValuePairs<HTTPField.Name, String>, body: [UInt8])
        throws -> [UInt8]
    {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([HTTPResponseEncoder(), HTTP1ToHTTPServerCodec(secure: false)])
        var head = HTTPFields()
        for (name, value) in fields { head.append(HTTPField(name: name, value: value)) }
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: status, headerFields: head)))
        try channel.writeOutbound(HTTPResponsePart.body(ByteBuffer(bytes: body)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        return try written(channel)
    }

    static func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = buffer else { continue }
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    @Test("the answer's bytes are the codecs' bytes", arguments: [HTTPResponse.Status.ok, .init(code: 402), .badRequest, .serviceUnavailable, .conflict, .tooManyRequests])
    func sameBytes(status: HTTPResponse.Status) throws {
        let body = Array(#"{"success":true,"data":{"balance":"1.00"}}"#.utf8)
        let fields: KeyValuePairs<HTTPField.Name, String> = [
            .contentType: APIResponse.contentType, .contentLength: String(body.count), .requestId: "req-1.a:b_c",
            .date: "Mon, 30 Nov 2026 05:00:00 GMT", .server: BillingApplication.serverName,
        ]
        let raw = DeductFastPath.encoded(status: status, fields: fields, body: body, allocator: ByteBufferAllocator())
        #expect(Array(raw.readableBytesView) == (try Self.codecBytes(status: status, fields: fields, body: body)))
    }

    @Test("in a pipeline with the HTTP/1 codecs, a waiting deduction's answer is written before the router's answer behind it")
    func orderedWithRouter() throws {
        let lane = DeductFastPathChannelTests.Lane()
        let (channel, router) = try DeductFastPathChannelTests.channel(
            lane,
            front: [HTTPResponseEncoder(), ByteToMessageHandler(HTTPRequestDecoder()), HTTP1ToHTTPServerCodec(secure: false)])
        let body = DeductFastPathChannelTests.deduction
        try channel.writeInbound(
            ByteBuffer(
                string: "POST \(DeductFastPath.path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                    + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(lane.count == 1)
        #expect(router.paths.isEmpty)
        #expect(try Self.written(channel).isEmpty)
        DeductFastPathChannelTests.answerBusy(lane, channel)
        let text = String(decoding: try Self.written(channel), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"))
        let answers = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        #expect(answers == ["503", "204"])
        #expect(text.contains(#"{"success":false,"error":{"code":"OVERLOADED""#))
        #expect(router.paths == ["/health"])
    }
}
