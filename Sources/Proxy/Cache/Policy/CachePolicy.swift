import NIOHTTP1

/// The rules of a shared HTTP cache (RFC 9111, with RFC 5861's stale directives) as pure
/// functions of the messages and the time: what may be stored, whether a stored response may
/// be used for a request, how it is validated and updated, and what an unsafe request
/// invalidates. Nothing here reads a clock or does I/O; `now` is seconds since 1970.
public struct CachePolicy: Sendable, Equatable {
    /// How long past its lifetime a stored response may be served when the backend fails and
    /// neither the request nor the response says (`stale_if_error`, RFC 5861 4).
    public var staleIfError: Int

    public init(staleIfError: Int = 0) {
        self.staleIfError = staleIfError
    }

    /// Status codes whose meaning this cache knows (RFC 9110 15), for `must-understand`.
    public static let understoodStatuses: Set<Int> = [
        200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 307, 308,
        400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426,
        500, 501, 502, 503, 504, 505,
    ]

    // MARK: Storing (RFC 9111 3)

    public enum Storability: Equatable, Sendable {
        case storable
        case notStorable(String)
    }

    /// Whether a response to a request may be stored (RFC 9111 3): the request's method is
    /// `GET` (a `HEAD` is answered from a stored `GET`, never stored itself); the status is
    /// final and not `206` (partial content is never stored as the whole, 3.3) or `304`;
    /// neither says `no-store` (unless `must-understand` with a status understood, 5.2.2.3);
    /// the response is not `private` and carries no `Vary: *`; a request with
    /// `Authorization` only with `public`, `must-revalidate` or `s-maxage` (3.5); and the
    /// response has an explicit lifetime, a status cacheable by default, or `public` (3).
    /// Responses that could never be used without a full new request (no lifetime and no
    /// validator) are not stored either: storing them would only cost.
    public func storability(
        method: HTTPMethod,
        request: HTTPHeaders,
        requestControl: CacheControl,
        status: Int,
        response: HTTPHeaders,
        responseControl: CacheControl,
        responseTime: Int
    ) -> Storability {
        guard method == .GET else { return .notStorable("method") }
        guard status >= 200, status != 206, status != 304 else { return .notStorable("status") }
        if responseControl.mustUnderstand {
            guard Self.understoodStatuses.contains(status) else { return .notStorable("must-understand") }
        } else if responseControl.noStore {
            return .notStorable("no-store")
        }
        if requestControl.noStore { return .notStorable("request no-store") }
        if responseControl.isPrivate { return .notStorable("private") }
        if request.contains(name: "authorization"),
            !(responseControl.isPublic || responseControl.mustRevalidate || responseControl.sharedMaxAge != nil)
        {
            return .notStorable("authorization")
        }
        guard VaryValue.fieldNames(in: response) != nil else { return .notStorable("vary-star") }
        let explicit =
            responseControl.maxAge != nil || responseControl.sharedMaxAge != nil || response.contains(name: "expires")
        guard explicit || Freshness.heuristicallyCacheable.contains(status) || responseControl.isPublic else {
            return .notStorable("status")
        }
        let lifetime = Freshness.lifetime(status: status, headers: response, control: responseControl, responseTime: responseTime)
        if lifetime == 0, !Self.hasValidator(response) {
            return .notStorable("no-lifetime")
        }
        return .storable
    }

    /// The fields of a response as stored: without those a qualified `private` names
    /// (RFC 9111 5.2.2.7: a shared cache MUST NOT store them).
    public func storedFields(_ response: HTTPHeaders, control: CacheControl) -> HTTPHeaders {
        guard !control.privateFields.isEmpty else { return response }
        var stored = response
        for name in control.privateFields {
            stored.remove(name: name)
        }
        return stored
    }

    public static func hasValidator(_ headers: HTTPHeaders) -> Bool {
        headers.contains(name: "etag") || headers.contains(name: "last-modified")
    }

    // MARK: Using a stored response (RFC 9111 4)

    /// What a stored response is good for, for a request.
    public enum Use: Equatable, Sendable {
        /// Serve it: it is fresh and the request accepts it. `age` is its current age,
        /// `ttl` the seconds of freshness left.
        case fresh(age: Int, ttl: Int)
        /// Serve it although stale: the request's `max-stale` allows it (RFC 9111 4.2.4).
        case staleAllowed(age: Int, ttl: Int)
        /// Serve it although stale while one request revalidates it (RFC 5861 3).
        case staleWhileRevalidate(age: Int, ttl: Int)
        /// Validate it with the origin before use (RFC 9111 4.3).
        case validate(age: Int, ttl: Int)
    }

    /// Whether `entry` may be served for a request with `requestControl` at `now` (RFC 9111
    /// 4 and 4.2.4): a request's or the response's `no-cache`, a request's `max-age` it is
    /// older than or `min-fresh` it cannot give mean validating; a fresh response is served
    /// (and with `immutable`, a reload's `max-age=0` does not force validation, RFC 8246); a
    /// stale one only within the request's `max-stale` or the response's
    /// `stale-while-revalidate`, never with `must-revalidate`, `proxy-revalidate` or
    /// `s-maxage` (5.2.2.2, 5.2.2.8, 5.2.2.10).
    public func use(of entry: CacheEntryHead, requestControl: CacheControl, requestHeaders: HTTPHeaders, now: Int) -> Use {
        let control = entry.control
        let lifetime = Freshness.lifetime(status: entry.status, headers: entry.headers, control: control, responseTime: entry.responseTime)
        let age = Freshness.currentAge(correctedInitialAge: entry.correctedInitialAge, responseTime: entry.responseTime, now: now)
        let ttl = lifetime - age
        let fresh = ttl > 0
        if requestControl.noCache || (Self.pragmaNoCache(requestHeaders) && !requestHeaders.contains(name: "cache-control")) {
            return .validate(age: age, ttl: ttl)
        }
        if control.noCache, control.noCacheFields.isEmpty {
            return .validate(age: age, ttl: ttl)
        }
        if let maxAge = requestControl.maxAge, age > maxAge, !(control.immutable && fresh) {
            return .validate(age: age, ttl: ttl)
        }
        if let minFresh = requestControl.minFresh, ttl < minFresh {
            return .validate(age: age, ttl: ttl)
        }
        if fresh {
            return .fresh(age: age, ttl: ttl)
        }
        if control.mustRevalidate || control.proxyRevalidate || control.sharedMaxAge != nil {
            return .validate(age: age, ttl: ttl)
        }
        let staleness = -ttl
        if let maxStale = requestControl.maxStale, staleness <= maxStale {
            return .staleAllowed(age: age, ttl: ttl)
        }
        if let window = control.staleWhileRevalidate, staleness <= window {
            return .staleWhileRevalidate(age: age, ttl: ttl)
        }
        return .validate(age: age, ttl: ttl)
    }

    /// Whether `entry` may be served stale at `now` because the backend failed or answered
    /// 500, 502, 503 or 504 (RFC 5861 4): within the request's `stale-if-error`, else the
    /// response's, else ``staleIfError``; never past `must-revalidate`, `proxy-revalidate`
    /// or `s-maxage`, nor to a request with `no-cache` or `no-store`.
    public func servesStaleOnError(_ entry: CacheEntryHead, requestControl: CacheControl, now: Int) -> Bool {
        let control = entry.control
        if control.mustRevalidate || control.proxyRevalidate || control.sharedMaxAge != nil || control.noCache { return false }
        if requestControl.noCache || requestControl.noStore { return false }
        let lifetime = Freshness.lifetime(status: entry.status, headers: entry.headers, control: control, responseTime: entry.responseTime)
        let age = Freshness.currentAge(correctedInitialAge: entry.correctedInitialAge, responseTime: entry.responseTime, now: now)
        let window = requestControl.staleIfError ?? control.staleIfError ?? staleIfError
        return age - lifetime <= window
    }

    /// The fields of `entry` to send with it: the stored ones, without those a qualified
    /// `no-cache` names unless it has just been validated (RFC 9111 5.2.2.4), with `Age`, and
    /// `extra` in place of the stored fields of their names. Built in one pass, with room for
    /// all of them.
    public func servedFields(_ entry: CacheEntryHead, age: Int, validated: Bool, extra: KeyValuePairs<String, String> = [:]) -> HTTPHeaders {
        let dropped = validated ? [] : entry.control.noCacheFields
        // The pairs are gathered as an array, and taken by `HTTPHeaders` whole: its `add` checks
        // each name again, and these were checked when they were stored.
        var fields: [(String, String)] = []
        fields.reserveCapacity(entry.headers.count + 1 + extra.count)
        for (name, value) in entry.headers {
            let sent = Self.sendsStoredField(name, dropped: dropped) { name in
                extra.contains { HopByHopFields.equalsIgnoringCase(name, $0.key) }
            }
            if sent { fields.append((name, value)) }
        }
        fields.append(("age", String(min(max(0, age), CacheControl.maximumDelta))))
        for (name, value) in extra {
            fields.append((name, value))
        }
        return HTTPHeaders(fields)
    }

    /// Whether a stored field goes out with a served response: not `Age` (computed for each
    /// response, 4.2.3), not one `madeHere` says the response gets made for it, and not one a
    /// qualified `no-cache` names (`dropped`; 5.2.2.4: sent only once validated).
    static func sendsStoredField(_ name: String, dropped: [String], madeHere: (String) -> Bool) -> Bool {
        !HopByHopFields.equalsIgnoringCase(name, "age") && !madeHere(name)
            && !dropped.contains { HopByHopFields.equalsIgnoringCase(name, $0) }
    }

    static func pragmaNoCache(_ headers: HTTPHeaders) -> Bool {
        headers[canonicalForm: "pragma"].contains { $0.trimmingASCIISpaces().lowercased() == "no-cache" }
    }

    // MARK: Validation (RFC 9111 4.3)

    /// The conditions to validate `entry` with (4.3.1): its `ETag` as `If-None-Match`, its
    /// `Last-Modified` as `If-Modified-Since`; `nil` when it has neither, so it can only be
    /// fetched again.
    public static func conditions(for entry: CacheEntryHead) -> HTTPHeaders? {
        var conditions = HTTPHeaders()
        if let etag = entry.headers.first(name: "etag") {
            conditions.add(name: "if-none-match", value: etag)
        }
        if let modified = entry.headers.first(name: "last-modified") {
            conditions.add(name: "if-modified-since", value: modified)
        }
        return conditions.isEmpty ? nil : conditions
    }

    /// Fields a `304` never replaces in the stored response (RFC 9111 3.2: `Content-Length`
    /// and the framing the stored body depends on).
    static let fieldsKeptOn304: Set<String> = ["content-length", "transfer-encoding", "content-range"]

    /// `entry` updated with the fields of a `304` received at `responseTime` for a request
    /// sent at `requestTime` (RFC 9111 4.3.4, 3.2): each field the `304` has replaces all of
    /// the stored ones of its name, and the age is computed afresh from the `304`.
    public static func updated(_ entry: CacheEntryHead, with notModified: HTTPHeaders, requestTime: Int, responseTime: Int) -> CacheEntryHead {
        var updated = entry
        var replaced = Set<String>()
        for (name, _) in notModified {
            let lower = name.lowercased()
            if !fieldsKeptOn304.contains(lower) { replaced.insert(lower) }
        }
        var fields = HTTPHeaders()
        for (name, value) in entry.headers where !replaced.contains(name.lowercased()) {
            fields.add(name: name, value: value)
        }
        for (name, value) in notModified where replaced.contains(name.lowercased()) {
            fields.add(name: name, value: value)
        }
        updated.headers = fields
        updated.requestTime = requestTime
        updated.responseTime = responseTime
        updated.correctedInitialAge = Freshness.correctedInitialAge(headers: fields, requestTime: requestTime, responseTime: responseTime)
        return updated
    }

    /// Whether a `304` may update `entry` (RFC 9111 4.3.4): when both carry an `ETag`, they
    /// must be the same strong one... or the same weak one when the stored response is
    /// selected by the weak validator; a `304` without `ETag` updates a stored response
    /// without one.
    public static func notModified(_ notModified: HTTPHeaders, matches entry: CacheEntryHead) -> Bool {
        guard let new = notModified.first(name: "etag") else { return true }
        guard let stored = entry.headers.first(name: "etag") else { return false }
        return EntityTag.weakMatch(new, stored)
    }

    /// Whether a client's own conditional `GET` or `HEAD` is answered `304` from `entry`
    /// (RFC 9111 4.3.2, RFC 9110 13.1.2 and 13.1.3): `If-None-Match` by weak comparison with
    /// the stored `ETag` (`*` matches any); without it, `If-Modified-Since` against the stored
    /// `Last-Modified`, else its `Date`. Only a stored `200` is answered so (13.2.1).
    public static func answersNotModified(_ request: HTTPHeaders, entry: CacheEntryHead) -> Bool {
        guard entry.status == 200 else { return false }
        let noneMatch = request[canonicalForm: "if-none-match"]
        if !noneMatch.isEmpty {
            guard let stored = entry.headers.first(name: "etag") else { return noneMatch.contains { $0 == "*" } }
            return noneMatch.contains { $0 == "*" || EntityTag.weakMatch(String($0), stored) }
        }
        guard let since = request.first(name: "if-modified-since").flatMap(HTTPDate.parse) else { return false }
        let modified =
            entry.headers.first(name: "last-modified").flatMap(HTTPDate.parse)
            ?? Freshness.dateValue(entry.headers, responseTime: entry.responseTime)
        return modified <= since
    }

    /// The fields of a `304` sent from `entry` (RFC 9110 15.4.5).
    public static func notModifiedFields(_ fields: HTTPHeaders) -> HTTPHeaders {
        var answer = HTTPHeaders()
        for (name, value) in fields {
            switch name.lowercased() {
            case "cache-control", "content-location", "date", "etag", "expires", "vary", "age", "last-modified":
                answer.add(name: name, value: value)
            default:
                break
            }
        }
        return answer
    }

    /// Whether a request carries validators of its own (then a stale entry is not validated
    /// with the cache's; the request goes to the backend as it is).
    public static func isConditional(_ request: HTTPHeaders) -> Bool {
        request.contains(name: "if-none-match") || request.contains(name: "if-modified-since")
            || request.contains(name: "if-match") || request.contains(name: "if-unmodified-since")
    }

    // MARK: Invalidation (RFC 9111 4.4)

    /// Methods known to be safe (RFC 9110 9.2.1); every other one, unknown ones included,
    /// invalidates.
    public static func isSafe(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .TRACE: return true
        default: return false
        }
    }

    /// The keys a response of `status` to a request of `method` for `key` invalidates: for
    /// an unsafe method and a non-error status (2xx, 3xx), the target URI and the URIs of
    /// `Location` and `Content-Location` when they have the target's origin (RFC 9111 4.4).
    public static func invalidatedKeys(method: HTTPMethod, status: Int, key: CacheKey, response: HTTPHeaders) -> [CacheKey] {
        guard !isSafe(method), (200..<400).contains(status) else { return [] }
        var keys = [key]
        for name in ["location", "content-location"] {
            guard let value = response.first(name: name), let other = resolve(value, against: key),
                other.origin == key.origin, other != key
            else { continue }
            keys.append(other)
        }
        return keys
    }

    /// A URI reference resolved against `base` (RFC 3986 5.2, for the forms responses use).
    static func resolve(_ reference: String, against base: CacheKey) -> CacheKey? {
        let reference = String(reference.trimmingASCIISpaces())
        if reference.lowercased().hasPrefix("http://") || reference.lowercased().hasPrefix("https://") {
            return CacheKey(scheme: "http", host: nil, target: reference)
        }
        if reference.hasPrefix("//") { return nil }
        if reference.hasPrefix("/") { return CacheKey(uri: String(base.origin) + reference) }
        guard !reference.isEmpty else { return nil }
        let path = base.uri.dropFirst(base.origin.count)
        let withoutQuery = path.firstIndex(of: "?").map { path[..<$0] } ?? path
        let directory = withoutQuery.lastIndex(of: "/").map { withoutQuery[...$0] } ?? "/"
        return CacheKey(uri: String(base.origin) + directory + reference)
    }
}
