/// The shared secret members present to each other as `Authorization: Bearer <token>`.
///
/// Compared in constant time: every byte of the longer of the two is looked at whatever the first difference, so
/// the time an answer takes says nothing about how much of a guess was right (the reason for Go's
/// `crypto/subtle.ConstantTimeCompare`).
struct PeerToken: Sendable, Equatable {
    let secret: [UInt8]

    init(_ secret: String) {
        self.secret = Array(secret.utf8)
    }

    var header: String { "Bearer " + String(decoding: secret, as: UTF8.self) }

    /// Whether an `Authorization` field value carries this token.
    func accepts(_ field: String?) -> Bool {
        guard let field, field.hasPrefix("Bearer ") else { return false }
        return Self.constantTimeEqual(Array(field.utf8.dropFirst(7)), secret)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}
