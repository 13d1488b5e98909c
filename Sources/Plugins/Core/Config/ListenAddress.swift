/// A host and port: `:8080` (every interface), `127.0.0.1:8080`, `[::1]:8080` or `host:port`.
public struct ListenAddress: Sendable, Hashable, ConfigDecodable, CustomStringConvertible {
    /// A literal IP address or a name to resolve; empty for the `:port` form, which means every interface.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        self = try value.parsed(expecting: "an address such as 127.0.0.1:8080", with: Self.parse)
    }

    public struct ParseError: ConfigSyntaxError, Sendable, Equatable {
        public var message: String
    }

    public static func parse(_ text: String) throws(ParseError) -> ListenAddress {
        func fail(_ why: String) -> ParseError {
            ParseError(message: "invalid address '\(text)': \(why)")
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw fail("missing ']' after IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { throw fail("expected ':port' after ']'") }
            portText = after.dropFirst()
            guard host.contains(":") else { throw fail("brackets are only for IPv6 addresses") }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw fail("missing ':port' (for example :8080)") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw fail("write IPv6 addresses in brackets, as [::1]:8080") }
        }
        guard let port = Int(portText), portText.allSatisfy(\.isASCII), (0...65535).contains(port) else {
            throw fail("port must be a number from 0 to 65535")
        }
        if host.contains(where: { $0.isWhitespace || $0 == "/" }) {
            throw fail("'\(host)' is not a host name or IP address")
        }
        return ListenAddress(host: String(host), port: port)
    }

    /// The host to give a socket bind: `0.0.0.0` for every interface.
    public var bindHost: String { host.isEmpty ? "0.0.0.0" : host }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
