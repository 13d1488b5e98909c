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
        func named(_ field: KnownField, _ lowercase: StaticString) -> KnownField? {
            ASCII.equalsIgnoringCase(name, lowercase) ? field : nil
        }
        let found: KnownField?
        switch name.count {
        case 2: found = named(.te, "te")
        case 4: found = named(.host, "host")
        case 7: found = named(.upgrade, "upgrade") ?? named(.trailer, "trailer")
        case 9: found = named(.xRealIP, "x-real-ip")
        case 10: found = named(.connection, "connection") ?? named(.keepAlive, "keep-alive")
        case 14: found = named(.contentLength, "content-length")
        case 15: found = named(.xForwardedFor, "x-forwarded-for")
        case 16: found = named(.xForwardedHost, "x-forwarded-host") ?? named(.proxyConnection, "proxy-connection")
        case 17: found = named(.transferEncoding, "transfer-encoding") ?? named(.xForwardedProto, "x-forwarded-proto")
        case 18: found = named(.proxyAuthenticate, "proxy-authenticate")
        case 19: found = named(.proxyAuthorization, "proxy-authorization")
        default: found = nil
        }
        guard let found else { return nil }
        self = found
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
