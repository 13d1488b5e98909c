import NIOCore

/// How the S3 store lays a cache object out in S3, so that a lookup is one HEAD and a hit one GET.
///
/// The cache's metadata block (the stored response head) goes into user metadata when it is small —
/// `x-amz-meta-outrider-head`, base64 — where the HEAD of the lookup returns it; the object's bytes are then the
/// response body itself. S3 limits user metadata to 2 KiB (S3 User Guide, "Working with object metadata"), so a
/// larger block goes at the start of the object instead (`x-amz-meta-outrider-head-length` says how long) and
/// the lookup reads it with one ranged GET after the HEAD. `x-amz-meta-outrider-body-length` records a known
/// body length, checked against the object's own on every lookup.
struct S3StoreLayout: Sendable, Equatable {
    static let formatField = "outrider-format"
    static let headField = "outrider-head"
    static let headLengthField = "outrider-head-length"
    static let bodyLengthField = "outrider-body-length"
    static let format = "1"
    /// Base64 of at most this many bytes of metadata stays in user metadata (under 2 KiB with the other fields).
    static let inlineLimit = 1200

    enum Head: Sendable, Equatable {
        case inline(ByteBuffer)
        /// The first `length` bytes of the object.
        case block(length: Int)
    }

    var head: Head
    var bodyLength: Int?

    /// The layout for a fill of `metadata`.
    init(metadata: ByteBuffer, bodyLength: Int?) {
        self.head = metadata.readableBytes <= Self.inlineLimit ? .inline(metadata) : .block(length: metadata.readableBytes)
        self.bodyLength = bodyLength
    }

    init(head: Head, bodyLength: Int?) {
        self.head = head
        self.bodyLength = bodyLength
    }

    var headBlockLength: Int {
        if case .block(let length) = head { return length }
        return 0
    }

    /// The `x-amz-meta-*` fields (names without the prefix).
    var userMetadata: [String: String] {
        var fields = [Self.formatField: Self.format]
        switch head {
        case .inline(let metadata): fields[Self.headField] = Base64.encode(metadata.readableBytesView)
        case .block(let length): fields[Self.headLengthField] = String(length)
        }
        if let bodyLength { fields[Self.bodyLengthField] = String(bodyLength) }
        return fields
    }

    /// Reads a stored object's user metadata; nil when it is not one of ours or is inconsistent with the object's
    /// length (a corrupt or truncated object).
    init?(userMetadata fields: [String: String], objectLength: Int64) {
        guard fields[Self.formatField] == Self.format else { return nil }
        if let encoded = fields[Self.headField] {
            guard let bytes = Base64.decode(encoded) else { return nil }
            head = .inline(ByteBuffer(bytes: bytes))
        } else if let text = fields[Self.headLengthField], let length = Int(text), length > 0, Int64(length) <= objectLength {
            head = .block(length: length)
        } else {
            return nil
        }
        var body = Int(objectLength)
        if case .block(let length) = head { body -= length }
        if let recorded = fields[Self.bodyLengthField] {
            guard let recordedLength = Int(recorded), recordedLength == body else { return nil }
        }
        bodyLength = body
    }
}
