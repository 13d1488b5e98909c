import Coordination
import NIOCore

/// The body of a follower's `POST /v1/peer/puts`: the Puts its clients sent while its previous batch was on its way
/// to the leader, which commits them together (``PutBatch``), and the leader's answer, one reply per Put in the
/// same order. One peer request for many Puts is what lets the leader's batches grow with the clients: with a
/// request each, the follower's HTTP client holds at most its pool's eight connections to the leader, and the
/// leader never saw more than eight Puts at once.
///
/// Length-prefixed and binary, so that a value is carried as it came (no escaping, its size known up front), all
/// integers big-endian:
///
///     request:  version u8 = 1, count u16, then per Put:
///               mode u8 (0 append, 1 overwrite), has-idempotency-key u8 (0 or 1),
///               key u32 + bytes, [idempotency key u32 + bytes], value u32 + bytes
///     reply:    version u8 = 1, count u16, then per Put:
///               status u16, replayed u8 (0 or 1), content type u16 + bytes, body u32 + bytes
///
/// Text is UTF-8. Decoding takes any bytes: it returns the Puts or fails with a reason, never trusting a length
/// beyond the bytes present.
enum ForwardedPuts {
    static let version: UInt8 = 1

    /// One Put's answer as the single-Put route would have sent it.
    struct Reply: Sendable, Equatable {
        var status: Int
        var replayed: Bool
        var contentType: String?
        var body: ByteBuffer
    }

    struct Malformed: Error, Sendable, Equatable, CustomStringConvertible {
        var reason: String
        var description: String { "malformed forwarded Puts: \(reason)" }
    }

    static func encode(_ requests: [PutRequest]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(3 + requests.reduce(0) { $0 + 14 + $1.size })
        buffer.writeInteger(version)
        buffer.writeInteger(UInt16(requests.count))
        for request in requests {
            buffer.writeInteger(UInt8(request.mode == .overwrite ? 1 : 0))
            buffer.writeInteger(UInt8(request.idempotencyKey == nil ? 0 : 1))
            writeText(request.key, into: &buffer)
            if let key = request.idempotencyKey { writeText(key, into: &buffer) }
            writeText(request.value, into: &buffer)
        }
        return buffer
    }

    static func decodeRequests(_ body: ByteBuffer) throws(Malformed) -> [PutRequest] {
        var buffer = body
        let count = try header(&buffer)
        var requests: [PutRequest] = []
        requests.reserveCapacity(min(count, buffer.readableBytes / 14))
        for index in 0..<count {
            guard let mode = buffer.readInteger(as: UInt8.self), let flag = buffer.readInteger(as: UInt8.self) else {
                throw Malformed(reason: "Put \(index) of \(count) is cut short")
            }
            guard mode <= 1 else { throw Malformed(reason: "Put \(index) has mode \(mode)") }
            guard flag <= 1 else { throw Malformed(reason: "Put \(index) has idempotency flag \(flag)") }
            let key = try readText(&buffer, UInt32.self, "key of Put \(index)")
            let idempotencyKey = flag == 1 ? try readText(&buffer, UInt32.self, "idempotency key of Put \(index)") : nil
            let value = try readText(&buffer, UInt32.self, "value of Put \(index)")
            requests.append(PutRequest(key: key, value: value, mode: mode == 1 ? .overwrite : .append, idempotencyKey: idempotencyKey))
        }
        guard buffer.readableBytes == 0 else { throw Malformed(reason: "\(buffer.readableBytes) bytes after the last Put") }
        return requests
    }

    static func encode(_ replies: [Reply]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(3 + replies.reduce(0) { $0 + 9 + ($1.contentType?.utf8.count ?? 0) + $1.body.readableBytes })
        buffer.writeInteger(version)
        buffer.writeInteger(UInt16(replies.count))
        for reply in replies {
            buffer.writeInteger(UInt16(clamping: reply.status))
            buffer.writeInteger(UInt8(reply.replayed ? 1 : 0))
            let type = reply.contentType ?? ""
            buffer.writeInteger(UInt16(type.utf8.count))
            buffer.writeString(type)
            buffer.writeInteger(UInt32(reply.body.readableBytes))
            buffer.writeImmutableBuffer(reply.body)
        }
        return buffer
    }

    static func decodeReplies(_ body: ByteBuffer) throws(Malformed) -> [Reply] {
        var buffer = body
        let count = try header(&buffer)
        var replies: [Reply] = []
        replies.reserveCapacity(min(count, buffer.readableBytes / 9))
        for index in 0..<count {
            guard let status = buffer.readInteger(as: UInt16.self), let flag = buffer.readInteger(as: UInt8.self) else {
                throw Malformed(reason: "reply \(index) of \(count) is cut short")
            }
            guard (100...599).contains(status) else { throw Malformed(reason: "reply \(index) has status \(status)") }
            guard flag <= 1 else { throw Malformed(reason: "reply \(index) has replayed flag \(flag)") }
            let type = try readText(&buffer, UInt16.self, "content type of reply \(index)")
            guard let length = buffer.readInteger(as: UInt32.self), let reply = buffer.readSlice(length: Int(length)) else {
                throw Malformed(reason: "the body of reply \(index) is cut short")
            }
            replies.append(Reply(status: Int(status), replayed: flag == 1, contentType: type.isEmpty ? nil : type, body: reply))
        }
        guard buffer.readableBytes == 0 else { throw Malformed(reason: "\(buffer.readableBytes) bytes after the last reply") }
        return replies
    }

    private static func header(_ buffer: inout ByteBuffer) throws(Malformed) -> Int {
        guard let found = buffer.readInteger(as: UInt8.self) else { throw Malformed(reason: "empty") }
        guard found == version else { throw Malformed(reason: "version \(found), expected \(version)") }
        guard let count = buffer.readInteger(as: UInt16.self) else { throw Malformed(reason: "no count") }
        return Int(count)
    }

    private static func writeText(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(text.utf8.count))
        buffer.writeString(text)
    }

    private static func readText<Length: FixedWidthInteger>(_ buffer: inout ByteBuffer, _: Length.Type, _ what: String) throws(Malformed) -> String {
        guard let length = buffer.readInteger(as: Length.self), let bytes = buffer.readSlice(length: Int(length)) else {
            throw Malformed(reason: "the \(what) is cut short")
        }
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else { throw Malformed(reason: "the \(what) is not UTF-8") }
        return text
    }
}
