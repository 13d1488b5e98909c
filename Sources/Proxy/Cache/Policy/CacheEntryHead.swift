import NIOCore
import NIOHTTP1

/// The metadata a stored object carries: either a stored response's head with what RFC 9111
/// needs to judge it later (when it was requested and received, its corrected initial age,
/// the request's values of the fields it varies on), or, for a URI whose responses vary, the
/// list of those fields (the secondary key's recipe, RFC 9111 4.1).
///
/// Encoded in a small self-checking binary form, so the same bytes go into a disk file or an
/// S3 object; decoding takes any bytes and either decodes or answers `nil`.
public struct CacheEntryHead: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case response = 1
        /// The URI's responses vary on ``varyNames``; each is stored under its own name.
        case variants = 2
    }

    public var kind: Kind
    /// The primary key, `scheme://host/path?query`, kept to purge by prefix and to tell hash
    /// collisions apart.
    public var uri: String
    public var status: Int
    public var headers: HTTPHeaders {
        didSet { control = CacheControl(headers) }
    }
    /// The directives of ``headers``' `Cache-Control`, read once for the several rules that ask.
    public private(set) var control: CacheControl
    /// The local clock, in seconds since 1970, when the request was sent and when the
    /// response was received (RFC 9111 4.2.3's `request_time` and `response_time`).
    public var requestTime: Int
    public var responseTime: Int
    /// RFC 9111 4.2.3's `corrected_initial_age`.
    public var correctedInitialAge: Int
    /// The request's values of the fields the response varies on.
    public var variant: [VaryValue]
    /// For ``Kind/variants``: the fields to select a response by.
    public var varyNames: [String]

    public init(
        kind: Kind = .response,
        uri: String,
        status: Int = 200,
        headers: HTTPHeaders = [:],
        requestTime: Int = 0,
        responseTime: Int = 0,
        correctedInitialAge: Int = 0,
        variant: [VaryValue] = [],
        varyNames: [String] = [],
        control: CacheControl? = nil
    ) {
        self.kind = kind
        self.uri = uri
        self.status = status
        self.headers = headers
        self.control = control ?? CacheControl(headers)
        self.requestTime = requestTime
        self.responseTime = responseTime
        self.correctedInitialAge = correctedInitialAge
        self.variant = variant
        self.varyNames = varyNames
    }

    private static let magic: UInt32 = 0x4f52_4345  // "ORCE"
    private static let version: UInt8 = 1
    /// No metadata larger than this is decoded (a head of a response is far smaller).
    public static let maximumEncodedLength = 1 << 20

    public func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.magic)
        buffer.writeInteger(Self.version)
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(UInt16(clamping: status))
        buffer.writeInteger(Int64(requestTime))
        buffer.writeInteger(Int64(responseTime))
        buffer.writeInteger(Int64(correctedInitialAge))
        Self.write(uri, into: &buffer)
        buffer.writeInteger(UInt32(headers.count))
        for (name, value) in headers {
            Self.write(name, into: &buffer)
            Self.write(value, into: &buffer)
        }
        buffer.writeInteger(UInt32(variant.count))
        for value in variant {
            Self.write(value.name, into: &buffer)
            buffer.writeInteger(UInt8(value.value == nil ? 0 : 1))
            Self.write(value.value ?? "", into: &buffer)
        }
        buffer.writeInteger(UInt32(varyNames.count))
        for name in varyNames {
            Self.write(name, into: &buffer)
        }
        let checksum = Self.checksum(buffer.readableBytesView)
        buffer.writeInteger(checksum)
        return buffer
    }

    /// The head encoded in `buffer`, or `nil` when these bytes are not one (truncated,
    /// corrupt, another format).
    public init?(decoding buffer: ByteBuffer) {
        guard buffer.readableBytes >= 8, buffer.readableBytes <= Self.maximumEncodedLength else { return nil }
        var body = buffer.getSlice(at: buffer.readerIndex, length: buffer.readableBytes - 4)!
        guard let stored: UInt32 = buffer.getInteger(at: buffer.writerIndex - 4),
            stored == Self.checksum(body.readableBytesView)
        else { return nil }
        guard body.readInteger(as: UInt32.self) == Self.magic, body.readInteger(as: UInt8.self) == Self.version,
            let kindByte = body.readInteger(as: UInt8.self), let kind = Kind(rawValue: kindByte),
            let status = body.readInteger(as: UInt16.self),
            let requestTime = body.readInteger(as: Int64.self),
            let responseTime = body.readInteger(as: Int64.self),
            let age = body.readInteger(as: Int64.self),
            let uri = Self.read(&body),
            let headerCount = body.readInteger(as: UInt32.self), Int(headerCount) <= body.readableBytes / 8
        else { return nil }
        var headers = HTTPHeaders()
        for _ in 0..<headerCount {
            guard let name = Self.read(&body), let value = Self.read(&body) else { return nil }
            headers.add(name: name, value: value)
        }
        guard let variantCount = body.readInteger(as: UInt32.self), Int(variantCount) <= body.readableBytes / 9 else { return nil }
        var variant: [VaryValue] = []
        for _ in 0..<variantCount {
            guard let name = Self.read(&body), let present = body.readInteger(as: UInt8.self), let value = Self.read(&body) else {
                return nil
            }
            variant.append(VaryValue(name: name, value: present == 0 ? nil : value))
        }
        guard let nameCount = body.readInteger(as: UInt32.self), Int(nameCount) <= body.readableBytes / 4 else { return nil }
        var names: [String] = []
        for _ in 0..<nameCount {
            guard let name = Self.read(&body) else { return nil }
            names.append(name)
        }
        guard body.readableBytes == 0 else { return nil }
        self.init(
            kind: kind,
            uri: uri,
            status: Int(status),
            headers: headers,
            requestTime: Int(requestTime),
            responseTime: Int(responseTime),
            correctedInitialAge: Int(age),
            variant: variant,
            varyNames: names
        )
    }

    private static func write(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(text.utf8.count))
        buffer.writeString(text)
    }

    private static func read(_ buffer: inout ByteBuffer) -> String? {
        guard let length = buffer.readInteger(as: UInt32.self), Int(length) <= buffer.readableBytes else { return nil }
        return buffer.readString(length: Int(length))
    }

    /// FNV-1a, 32 bits: it catches a torn or flipped metadata block, which is all it is for.
    static func checksum(_ bytes: ByteBufferView) -> UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for byte in bytes {
            hash = (hash ^ UInt32(byte)) &* 0x0100_0193
        }
        return hash
    }
}
