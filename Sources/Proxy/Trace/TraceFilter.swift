/// Which requests are traced: sidekick's `--trace all|application` with `errors_only` and
/// `status_codes` from the configuration.
struct TraceFilter: Sendable, Equatable {
    var filter: ProxyConfiguration.Trace.Filter
    var errorsOnly: Bool
    var statusCodes: Set<Int>

    init(_ trace: ProxyConfiguration.Trace) {
        self.filter = trace.filter
        self.errorsOnly = trace.errorsOnly
        self.statusCodes = Set(trace.statusCodes)
    }

    /// - Parameter isInternal: whether the request was answered by the proxy's own endpoint.
    func includes(status: Int, isInternal: Bool) -> Bool {
        if isInternal, filter == .application { return false }
        if errorsOnly, status < 400 { return false }
        if !statusCodes.isEmpty, !statusCodes.contains(status) { return false }
        return true
    }
}
