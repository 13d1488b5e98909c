/// The fields the proxy reads or rewrites on their way through, recognised by name without
/// regard to case: framing, the hop-by-hop fields (RFC 9110 7.6.1; the list Go's
/// `httputil.ReverseProxy` strips, which sidekick uses) and the fields that describe the
/// client to the backend.
///
/// Every field line of every head is looked up here, so the lookup switches on the name's
/// length first and compares at most two names, eight bytes at a time.
enum KnownField: Equatable {
    case contentLength
    case transferEncoding
    case connection
    case keepAlive
    case proxyConnection
    case proxyAuthenticate
    case proxyAuthorization
    case te
    case trailer
    case upgrade
    case host
    case xForwardedFor
    case xRealIP
    case xForwardedHost
    case xForwardedProto

    /// The field called `name`, a token already checked by the parser; `nil` for any other.
    init?(name: UnsafeRawBufferPointer) {
        switch name.count {
        case 2 where ASCII.equalsIgnoringCase(name, "te"): self = .te
        case 4 where ASCII.equalsIgnoringCase(name, "host"): self = .host
        case 7 where ASCII.equalsIgnoringCase(name, "upgrade"): self = .upgrade
        case 7 where ASCII.equalsIgnoringCase(name, "trailer"): self = .trailer
        case 9 where ASCII.equalsIgnoringCase(name, "x-real-ip"): self = .xRealIP
        case 10 where ASCII.equalsIgnoringCase(name, "connection"): self = .connection
        case 10 where ASCII.equalsIgnoringCase(name, "keep-alive"): self = .keepAlive
        case 14 where ASCII.equalsIgnoringCase(name, "content-length"): self = .contentLength
        case 15 where ASCII.equalsIgnoringCase(name, "x-forwarded-for"): self = .xForwardedFor
        case 16 where ASCII.equalsIgnoringCase(name, "x-forwarded-host"): self = .xForwardedHost
        case 16 where ASCII.equalsIgnoringCase(name, "proxy-connection"): self = .proxyConnection
        case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"): self = .transferEncoding
        case 17 where ASCII.equalsIgnoringCase(name, "x-forwarded-proto"): self = .xForwardedProto
        case 18 where ASCII.equalsIgnoringCase(name, "proxy-authenticate"): self = .proxyAuthenticate
        case 19 where ASCII.equalsIgnoringCase(name, "proxy-authorization"): self = .proxyAuthorization
        default: return nil
        }
    }

    /// The field called `text`, a field name or a list element held as text.
    init?(text: some StringProtocol) {
        let found = text.utf8.withContiguousStorageIfAvailable { KnownField(name: UnsafeRawBufferPointer($0)) }
            ?? Array(text.utf8).withUnsafeBytes { KnownField(name: $0) }
        guard let found else { return nil }
        self = found
    }

    /// Whether the field describes one connection and is never forwarded as it is.
    var isHopByHop: Bool {
        switch self {
        case .connection, .keepAlive, .proxyConnection, .proxyAuthenticate, .proxyAuthorization, .te, .trailer,
            .transferEncoding, .upgrade:
            return true
        case .contentLength, .host, .xForwardedFor, .xRealIP, .xForwardedHost, .xForwardedProto:
            return false
        }
    }

    /// How a forwarded head treats a line of this field, if it may leave it out.
    var omission: HeadFields.Omission? {
        switch self {
        case .xForwardedFor: return .forwardedFor
        case .xRealIP: return .realIP
        case .xForwardedHost: return .forwardedHost
        case .xForwardedProto: return .forwardedProto
        case .contentLength, .host: return nil
        default: return .hopByHop
        }
    }
}
