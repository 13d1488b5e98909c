import NIOHTTP1

/// How long a stored response stays fresh and how old it is (RFC 9111 4.2), in whole seconds
/// on a clock the caller reads (`now`, seconds since 1970).
public enum Freshness {
    /// Status codes heuristically cacheable, "cacheable by default" (RFC 9110 15.1).
    public static let heuristicallyCacheable: Set<Int> = [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]

    /// The fraction of the time since `Last-Modified` a heuristic lifetime takes (RFC 9111
    /// 4.2.2's "typical setting ... 10%").
    public static let heuristicFraction = 10

    /// The freshness lifetime of a response (RFC 9111 4.2.1) as a shared cache sees it:
    /// `s-maxage`, else `max-age`, else `Expires` minus `Date` (an invalid `Expires` means
    /// already expired, 5.3), else a heuristic of 10% of the time since `Last-Modified` for
    /// a status cacheable by default or a `public` response (4.2.2), else 0.
    ///
    /// - Parameter responseTime: when the response was received, standing in for a missing
    ///   `Date` (RFC 9110 6.6.1: a recipient with a clock adds one).
    public static func lifetime(status: Int, headers: HTTPHeaders, control: CacheControl, responseTime: Int) -> Int {
        if control.hasInvalidLifetime { return 0 }
        if let shared = control.sharedMaxAge { return shared }
        if let maxAge = control.maxAge { return maxAge }
        let date = dateValue(headers, responseTime: responseTime)
        let expiresLines = headers["expires"]
        if let expires = expiresLines.first {
            guard let expiry = HTTPDate.parse(expires) else { return 0 }
            return max(0, expiry - date)
        }
        guard heuristicallyCacheable.contains(status) || control.isPublic,
            let modified = headers.first(name: "last-modified").flatMap(HTTPDate.parse)
        else { return 0 }
        return max(0, date - modified) / heuristicFraction
    }

    /// Whether ``lifetime(status:headers:control:responseTime:)`` is a heuristic one.
    public static func isHeuristic(headers: HTTPHeaders, control: CacheControl) -> Bool {
        !control.hasInvalidLifetime && control.sharedMaxAge == nil && control.maxAge == nil && !headers.contains(name: "expires")
    }

    /// The response's `Date`, or `responseTime` when it has none or an invalid one.
    public static func dateValue(_ headers: HTTPHeaders, responseTime: Int) -> Int {
        headers.first(name: "date").flatMap(HTTPDate.parse) ?? responseTime
    }

    /// RFC 9111 4.2.3's `corrected_initial_age` of a response received at `responseTime`
    /// for a request sent at `requestTime`:
    ///
    ///     apparent_age = max(0, response_time - date_value)
    ///     response_delay = response_time - request_time
    ///     corrected_age_value = age_value + response_delay
    ///     corrected_initial_age = max(apparent_age, corrected_age_value)
    ///
    /// An `Age` that is not a delta-seconds is ignored (1.2.2).
    public static func correctedInitialAge(headers: HTTPHeaders, requestTime: Int, responseTime: Int) -> Int {
        let date = dateValue(headers, responseTime: responseTime)
        let apparentAge = max(0, responseTime - date)
        let ageValue = headers.first(name: "age").flatMap { CacheControl.delta(String($0.trimmingASCIISpaces())) } ?? 0
        let correctedAgeValue = ageValue + max(0, responseTime - requestTime)
        return max(apparentAge, correctedAgeValue)
    }

    /// RFC 9111 4.2.3's `current_age = corrected_initial_age + resident_time`.
    public static func currentAge(correctedInitialAge: Int, responseTime: Int, now: Int) -> Int {
        correctedInitialAge + max(0, now - responseTime)
    }
}
