/// A site whose pools have been expanded into concrete backends.
public struct ResolvedSite: Sendable, Equatable {
    /// The configured name, or `siteN` (1-based position) when none was given.
    public var name: String
    public var backends: [BackendEndpoint]

    public init(name: String, backends: [BackendEndpoint]) {
        self.name = name
        self.backends = backends
    }
}
