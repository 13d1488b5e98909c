/// One application as a load balancer routes it: what its members announce, merged, and where it is served now.
///
/// Members announcing one application may disagree while a change rolls out; the load balancer takes the union of
/// their listen ports and domains, and the protocol of the first member by name.
public struct RoutedApplication: Sendable, Hashable {
    public var name: String
    public var transport: Application.TransportProtocol
    /// The ports the load balancer exposes the application on, ascending.
    public var listenPorts: [Int]
    /// Every domain announced for the application, in first-announced order.
    public var domains: [String]
    /// The members serving it now, by member name.
    public var endpoints: [ApplicationEndpoint]

    public init(name: String, transport: Application.TransportProtocol, listenPorts: [Int], domains: [String], endpoints: [ApplicationEndpoint]) {
        self.name = name
        self.transport = transport
        self.listenPorts = listenPorts
        self.domains = domains
        self.endpoints = endpoints
    }
}

extension MembershipSnapshot {
    /// Every application announced by a reachable member, by name.
    public var routedApplications: [RoutedApplication] {
        var byName: [String: RoutedApplication] = [:]
        for member in members where member.isReachable {
            for application in ApplicationTag.applications(of: member) {
                var routed = byName[application.name]
                    ?? RoutedApplication(name: application.name, transport: application.transport, listenPorts: [], domains: [], endpoints: [])
                if !routed.listenPorts.contains(application.listenPort) {
                    routed.listenPorts.append(application.listenPort)
                    routed.listenPorts.sort()
                }
                for domain in application.domains where !routed.domains.contains(domain) { routed.domains.append(domain) }
                let endpoint = ApplicationEndpoint(member: member.name, host: member.host, port: application.applicationPort, transport: application.transport)
                if !routed.endpoints.contains(endpoint) { routed.endpoints.append(endpoint) }
                byName[application.name] = routed
            }
        }
        return byName.values.sorted { $0.name < $1.name }
    }
}

extension RoutedApplication {
    /// `current`, plus each application of `earlier` that no reachable member announces any more, kept with no
    /// endpoints, by name. A load balancer's generated file keeps serving such an application's domains with an
    /// answer (nginx `return 503`, an HAProxy backend without servers answers 503) instead of dropping its `server`
    /// block, after which nginx would refuse connections on the port or hand the requests to another site.
    public static func keeping(_ earlier: [RoutedApplication], in current: [RoutedApplication]) -> [RoutedApplication] {
        var merged = current
        for application in earlier where !current.contains(where: { $0.name == application.name }) {
            var gone = application
            gone.endpoints = []
            merged.append(gone)
        }
        return merged.sorted { $0.name < $1.name }
    }
}
