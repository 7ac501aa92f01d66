/// A Redis reply, copied out of hiredis' `redisReply`.
public enum RedisReply: Sendable, Hashable {
    case string(String)
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    case null

    public var string: String? {
        switch self {
        case .string(let value), .status(let value): value
        default: nil
        }
    }
}
