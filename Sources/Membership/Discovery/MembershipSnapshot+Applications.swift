extension MembershipSnapshot {
    /// Where `application` is served now: each reachable member announcing it (``ApplicationTag``), at the member's
    /// advertised address and the application's port, sorted by member name so that equal states give equal lists.
    public func endpoints(of application: String) -> [ApplicationEndpoint] {
        members.compactMap { member in
            guard member.isReachable,
                  let announced = ApplicationTag.applications(of: member).first(where: { $0.name == application })
            else { return nil }
            return ApplicationEndpoint(member: member.name, host: member.host, port: announced.applicationPort, transport: announced.transport)
        }
    }
}

/// One member serving an application.
public struct ApplicationEndpoint: Sendable, Hashable {
    public var member: String
    public var host: String
    public var port: Int
    public var transport: Application.TransportProtocol

    public init(member: String, host: String, port: Int, transport: Application.TransportProtocol) {
        self.member = member
        self.host = host
        self.port = port
        self.transport = transport
    }

    /// The backend URL the proxy sends the application's requests to; `tcp` applications are not HTTP and have none.
    public var url: String? {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        switch transport {
        case .http: return "http://\(authority)"
        case .https: return "https://\(authority)"
        case .tcp: return nil
        }
    }
}
