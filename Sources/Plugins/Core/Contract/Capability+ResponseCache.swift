import Proxy

extension Capability where Value == any ResponseCache {
    /// The cache role's response cache, asked by the proxy role before it routes a request when both run.
    public static var responseCache: Self { .init("response-cache") }
}
