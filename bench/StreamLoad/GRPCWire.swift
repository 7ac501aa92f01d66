import NIOCore

/// The two messages of DeductQuotaStream in protobuf's wire format, written and read by
/// hand (billing.proto: DeductQuotaRequest, DeductQuotaStreamResult), each behind gRPC's
/// five-byte prefix (not compressed, length big-endian).
enum GRPCWire {
    /// DeductQuotaRequest { user_id = "u<user>", service_name = "passport", count = 1,
    /// request_id = prefix + number }. Every length fits protobuf's one-byte form: the prefix is
    /// at most 32 bytes (StreamLoad checks it), the numbers at most 19 digits.
    static func writeDeduction(user: Int, prefix: [UInt8], number: Int, into buffer: inout ByteBuffer) {
        let userDigits = digits(user)
        let idLength = prefix.count + digits(number)
        let length = 2 + 1 + userDigits + 2 + 8 + 2 + 2 + idLength
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(length))
        buffer.writeInteger(UInt8(0x0A))  // 1: user_id
        buffer.writeInteger(UInt8(1 + userDigits))
        buffer.writeInteger(UInt8(ascii: "u"))
        writeDecimal(user, digits: userDigits, into: &buffer)
        buffer.writeInteger(UInt8(0x12))  // 2: service_name
        buffer.writeInteger(UInt8(8))
        buffer.writeString("passport")
        buffer.writeInteger(UInt8(0x18))  // 3: count
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(UInt8(0x2A))  // 5: request_id
        buffer.writeInteger(UInt8(idLength))
        buffer.writeBytes(prefix)
        writeDecimal(number, digits: digits(number), into: &buffer)
    }

    struct Result {
        var success = false
        /// The request id's number (after its last `-`).
        var number: Int?
    }

    /// The next whole DeductQuotaStreamResult, nil when the buffer holds none yet.
    static func readResult(_ buffer: inout ByteBuffer) -> Result? {
        guard let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self),
            buffer.readableBytes >= 5 + Int(length)
        else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        guard flag == 0, var message = buffer.readSlice(length: Int(length)) else { return Result() }
        var result = Result()
        while let key = readVarint(&message) {
            switch (key >> 3, key & 7) {
            case (1, 2):
                guard let size = readLength(&message), let id = message.readSlice(length: size) else { return result }
                result.number = number(after: id)
            case (2, 0):
                result.success = readVarint(&message) == 1
            case (_, 0):
                _ = readVarint(&message)
            case (_, 1):
                message.moveReaderIndex(forwardBy: min(8, message.readableBytes))
            case (_, 2):
                guard let size = readLength(&message), message.readSlice(length: size) != nil else { return result }
            case (_, 5):
                message.moveReaderIndex(forwardBy: min(4, message.readableBytes))
            default:
                return result
            }
        }
        return result
    }

    private static func readVarint(_ buffer: inout ByteBuffer) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64, let byte = buffer.readInteger(as: UInt8.self) {
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    /// A length-delimited field's length, nil past what an `Int` holds.
    private static func readLength(_ buffer: inout ByteBuffer) -> Int? {
        readVarint(&buffer).flatMap { Int(exactly: $0) }
    }

    private static func number(after id: ByteBuffer) -> Int? {
        var value = 0
        var scale = 1
        for byte in id.readableBytesView.reversed() {
            guard byte != UInt8(ascii: "-") else { return value }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), scale <= 1_000_000_000_000 else { return nil }
            value += Int(byte - UInt8(ascii: "0")) * scale
            scale *= 10
        }
        return nil
    }

    private static func digits(_ value: Int) -> Int {
        var count = 1
        var rest = value / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        return count
    }

    private static func writeDecimal(_ value: Int, digits: Int, into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeRepeatingByte(UInt8(ascii: "0"), count: digits)
        var rest = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            buffer.setInteger(UInt8(ascii: "0") + UInt8(rest % 10), at: start + index)
            rest /= 10
        }
    }
}
