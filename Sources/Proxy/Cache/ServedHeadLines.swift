import NIOCore
import NIOHTTP1

/// The part of a stored response's head that is the same on every plain hit, as the HTTP/1
/// bytes the client gets: encoded once, when the copy enters the memory tier, so that a hit
/// writes only what changes per request — `Age` (RFC 9111 4.2.3, computed per hit),
/// `Cache-Status` (RFC 9211), the framing — and copies the rest as one buffer.
///
/// A plain hit is a whole `GET` or `HEAD` served as stored, not just validated (see
/// ``HTTPCache``'s `serve`). Its fields are ``CachePolicy/servedFields(_:age:validated:extra:)``'s,
/// in the same order: the stored ones without `Age`, `Cache-Status` and `Content-Length`
/// (which follow, made for the hit) and without those a qualified `no-cache` names (RFC 9111
/// 5.2.2.4: sent only once validated). The bytes belong to one decoded head: a `304` that
/// changes the stored fields (4.3.4) replaces the object's metadata, which drops the copy, and
/// the next copy is encoded again.
struct ServedHeadLines: Sendable {
    let status: HTTPResponseStatus
    /// The status line after its version (` 200 OK\r\n`), then the stored fields sent, each
    /// `name: value\r\n`.
    let statusLineAndFields: ByteBuffer

    /// The lines of `entry`'s head; `nil` for a list of `Vary` fields, and for a stored head with
    /// a hop-by-hop field (the proxy removes those from every response, so such a head is
    /// served through the fields path, which does).
    init?(_ entry: CacheEntryHead) {
        guard entry.kind == .response, HopByHopFields(of: entry.headers).isEmpty else { return nil }
        let status = HTTPResponseStatus(statusCode: entry.status)
        var lines = ByteBuffer()
        lines.writeStaticString(" ")
        lines.writeString(String(status.code))
        lines.writeStaticString(" ")
        lines.writeString(status.reasonPhrase)
        lines.writeStaticString("\r\n")
        let dropped = entry.control.noCacheFields
        for (name, value) in entry.headers where CachePolicy.sendsStoredField(name, dropped: dropped, madeHere: Self.isMadePerHit) {
            lines.writeField(name: name, value: value)
        }
        self.status = status
        self.statusLineAndFields = lines
    }

    /// The fields a hit writes itself besides `Age`.
    static func isMadePerHit(_ name: String) -> Bool {
        HopByHopFields.equalsIgnoringCase(name, "cache-status") || HopByHopFields.equalsIgnoringCase(name, "content-length")
    }
}
