import BillingProto
import NIOCore
import SwiftProtobuf
import Testing

@testable import StreamLoad

/// The load generator writes and reads DeductQuotaStream's messages by hand; they must be
/// the bytes the generated types write and read, or the stream row measures refusals.
@Suite struct GRPCWireTests {
    @Test func aDeductionIsTheMessageTheServerDecodes() throws {
        var buffer = ByteBuffer()
        GRPCWire.writeDeduction(user: 9_999, prefix: Array("s1-7-".utf8), number: 1_234_567, into: &buffer)
        #expect(buffer.readInteger(as: UInt8.self) == 0)
        let length = buffer.readInteger(as: UInt32.self)
        #expect(length.map(Int.init) == buffer.readableBytes)
        let message = try Billing_V1_DeductQuotaRequest(serializedBytes: Array(buffer.readableBytesView))
        #expect(message.userID == "u9999")
        #expect(message.serviceName == "passport")
        #expect(message.count == 1)
        #expect(message.requestID == "s1-7-1234567")
        #expect(message.appID.isEmpty)
    }

    @Test func userZeroAndNumberZeroHaveOneDigit() throws {
        var buffer = ByteBuffer()
        GRPCWire.writeDeduction(user: 0, prefix: Array("s0-0-".utf8), number: 0, into: &buffer)
        buffer.moveReaderIndex(forwardBy: 5)
        let message = try Billing_V1_DeductQuotaRequest(serializedBytes: Array(buffer.readableBytesView))
        #expect(message.userID == "u0")
        #expect(message.requestID == "s0-0-0")
    }

    @Test func resultsAreReadWholeAndInOrder() throws {
        let charged = Billing_V1_DeductQuotaStreamResult.with {
            $0.requestID = "s0-3-42"
            $0.success = true
            $0.result = .with {
                $0.success = true
                $0.recordID = 77
                $0.recordIds = [77, 78]
                $0.mode = "paid"
                $0.unitPrice = "0.01"
            }
        }
        let refused = Billing_V1_DeductQuotaStreamResult.with {
            $0.requestID = "s0-3-43"
            $0.errorCode = "INSUFFICIENT_BALANCE"
            $0.errorMessage = "balance too low"
        }
        var buffer = ByteBuffer()
        for message in [charged, refused] {
            let bytes: [UInt8] = try message.serializedBytes()
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(bytes.count))
            buffer.writeBytes(bytes)
        }
        // The second message cut short: read once the rest arrives.
        var partial = buffer.getSlice(at: 0, length: buffer.readableBytes - 3)!
        let first = GRPCWire.readResult(&partial)
        let pending = GRPCWire.readResult(&partial)
        #expect(first?.success == true && first?.number == 42)
        #expect(pending == nil)

        let one = GRPCWire.readResult(&buffer)
        let two = GRPCWire.readResult(&buffer)
        let none = GRPCWire.readResult(&buffer)
        #expect(one?.success == true && one?.number == 42)
        #expect(two?.success == false && two?.number == 43)
        #expect(none == nil)
    }

    @Test func aLengthBeyondTheMessageEndsTheReadingWithoutATrap() {
        // request_id (1, length-delimited) claiming 2^64 − 1 bytes, then success.
        let body: [UInt8] = [0x0A] + [UInt8](repeating: 0xFF, count: 9) + [0x01, 0x10, 0x01]
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(body.count))
        buffer.writeBytes(body)
        let result = GRPCWire.readResult(&buffer)
        #expect(result?.number == nil)
        #expect(result?.success == false)
        #expect(buffer.readableBytes == 0)
    }
}
