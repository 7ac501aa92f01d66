import CallbackSigning

/// `Authorization: Bearer <token>` for both transports: one parser, one comparison.
enum BearerToken {
    /// The token of an `Authorization` value, or nil when it is not a bearer credential.
    static func parse(_ header: String?) -> String? {
        // The scheme's letters in any case, then one space: ASCII only (`| 0x20` lowers a
        // letter, and would also turn a NUL into a space, so the space is compared as is).
        guard let header, header.utf8.count > 7,
            header.utf8.prefix(6).elementsEqual("bearer".utf8, by: { ($0 | 0x20) == $1 }),
            header.utf8.dropFirst(6).first == UInt8(ascii: " ")
        else { return nil }
        let token = header.utf8.dropFirst(7).split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard token.count == 1, let only = token.first else { return nil }
        return String(decoding: only, as: UTF8.self)
    }

    /// True when the header carries one of `tokens` (every token compared in constant time).
    static func authorizes(_ header: String?, tokens: [String]) -> Bool {
        guard let token = parse(header) else { return false }
        return ConstantTime.matchesAny(token, tokens)
    }
}
