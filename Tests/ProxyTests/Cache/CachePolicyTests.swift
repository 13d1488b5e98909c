import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TestSupport

@testable import Proxy

/// RFC 9111's rules as pure values, on a manual clock (`now` in seconds since 1970).
@Suite struct CachePolicyTests {
    /// 2026-01-01 00:00:00 GMT.
    static let t0 = 1_767_225_600
    let policy = CachePolicy()

    func entry(_ fields: HTTPHeaders, status: Int = 200, receivedAt: Int = t0, sentAt: Int? = nil) -> CacheEntryHead {
        var fields = fields
        if !fields.contains(name: "date") { fields.add(name: "date", value: HTTPDate.format(receivedAt)) }
        return CacheEntryHead(
            uri: "http://a/x",
            status: status,
            headers: fields,
            requestTime: sentAt ?? receivedAt,
            responseTime: receivedAt,
            correctedInitialAge: Freshness.correctedInitialAge(headers: fields, requestTime: sentAt ?? receivedAt, responseTime: receivedAt)
        )
    }

    func storable(_ response: HTTPHeaders, status: Int = 200, method: HTTPMethod = .GET, request: HTTPHeaders = [:]) -> Bool {
        policy.storability(
            method: method,
            request: request,
            requestControl: CacheControl(request),
            status: status,
            response: response,
            responseControl: CacheControl(response),
            responseTime: Self.t0
        ) == .storable
    }

    // MARK: Dates

    @Test func httpDatesInAllThreeFormsAndTheirFormat() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == 784_111_777)
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse("0") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 25:49:37 GMT") == nil)
        #expect(HTTPDate.parse("") == nil)
        #expect(HTTPDate.parse(HTTPDate.format(Self.t0)) == Self.t0)
    }

    /// Every date from year 1000 to 9999 in its three forms (the two-digit year of RFC 850 only where it reads back
    /// as the same century), and bytes that are not a date (a year too long for the arithmetic among them), read
    /// without a crash and as `nil` (a year of nineteen digits used to overflow the day count and stop the daemon, from
    /// a backend's `Date` or a client's `If-Modified-Since`).
    @Test func httpDatesOfEveryFormAndNoneOtherwise() {
        var random = SeededGenerator(seed: 9111)
        let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        for _ in 0..<2000 {
            let seconds = Int.random(in: -30_610_224_000...253_402_300_799, using: &random)
            let fixdate = HTTPDate.format(seconds)
            #expect(HTTPDate.parse(fixdate) == seconds, "\(fixdate)")
            #expect(HTTPDate.parse("  \t\(fixdate.uppercased())\t ") == seconds, "\(fixdate)")
            // "Sun, 06 Nov 1994 08:49:37 GMT" → its parts
            let parts = fixdate.split(separator: " ").map(String.init)
            let (day, month, year, time) = (parts[1], parts[2], Int(parts[3])!, parts[4])
            let dayNumber = Int(day)!
            let asctime = "\(parts[0].dropLast()) \(month) \(dayNumber < 10 ? " \(dayNumber)" : day) \(time) \(year)"
            #expect(HTTPDate.parse(asctime) == seconds, "\(asctime)")
            if (1970...2069).contains(year) {
                let rfc850 = "Sunday, \(day)-\(month)-\(String(format: "%02d", year % 100)) \(time) GMT"
                #expect(HTTPDate.parse(rfc850) == seconds, "\(rfc850)")
            }
            #expect(monthNames.contains(month))
        }
        for text in [
            "Sun, 06 Nov 99999999999999999999 08:49:37 GMT", "Sun, 06 Nov 9223372036854775807 08:49:37 GMT", "Sun Nov  6 08:49:37 999999999999",
            "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 gmt",
            "Sun, 06 Nov 1994 08:49:37 GMT extra", "Sun, 06 Nov 1994 08:49 GMT", "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nvo 1994 08:49:37 GMT", "Sun, +6 Nov 1994 08:49:37 GMT", "Sun 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT", "Sunday, 06-Nov-94-1 08:49:37 GMT", "Sun Nov  6 08:49:37 994", "Sun, 06 Nov 0994 08:49:37 GMT",
        ] {
            #expect(HTTPDate.parse(text) == nil, "\(text)")
        }
        #expect(HTTPDate.parse("Sun, 06 NOV 1994 08:49:37 GMT") == 784_111_777)
        let alphabet = Array("0123456789 :-,GMTSunNovJan\t\u{e9}")
        for _ in 0..<5000 {
            let text = String((0..<Int.random(in: 0...40, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            _ = HTTPDate.parse(text)
            _ = HTTPDate.parse(text.dropFirst())
        }
    }

    // MARK: Directives

    /// One field line split into its directives: commas and backslashes inside quoted strings, spaces and tabs
    /// around names and values, names lower-cased, empty elements skipped, bytes past ASCII kept as sent.
    @Test func directivesOfOneLine() {
        func pairs(_ line: String) -> [String] { CacheControl.directives(of: line[...]).map { "\($0.0)=\($0.1 ?? "nil")" } }
        #expect(pairs("No-Store") == ["no-store=nil"])
        #expect(pairs(" max-age = 60 ,\t, PRIVATE=\"a, b\" ") == ["max-age=60", "private=a, b"])
        #expect(pairs(#"x="q\"uote\\d", y="" , z="unterminated, w=1"#) == [#"x=q"uote\d"#, "y=", #"z=unterminated, w=1"#])
        #expect(pairs(#"v=a"b", =5, ,"#) == [#"v=a"b""#])
        #expect(pairs("ext=caf\u{e9}, \u{e9}t\u{e9}") == ["ext=caf\u{e9}", "\u{e9}t\u{e9}=nil"])
        #expect(pairs("").isEmpty)
    }

    @Test func cacheControlDirectivesWithQuotedFieldNamesAndFirstOccurrenceWins() {
        let control = CacheControl(["cache-control": "Max-Age=60, no-cache=\"set-cookie, x-a\", max-age=5", "Cache-Control": "s-maxage=\"30\", private=\"x-b\""])
        #expect(control.maxAge == 60)
        #expect(control.sharedMaxAge == 30)
        #expect(control.noCache && control.noCacheFields == ["set-cookie", "x-a"])
        #expect(!control.isPrivate && control.privateFields == ["x-b"])
        #expect(CacheControl(["cache-control": "max-age=abc"]).hasInvalidLifetime)
        #expect(CacheControl(["cache-control": "max-age=99999999999"]).maxAge == CacheControl.maximumDelta)
        #expect(CacheControl(["cache-control": "max-stale"]).maxStale == Int.max)
        #expect(CacheControl(["cache-control": "max-stale=10, only-if-cached"]).maxStale == 10)
    }

    // MARK: Storing (RFC 9111 3)

    @Test func whatIsStored() {
        #expect(storable(["cache-control": "max-age=60"]))
        #expect(!storable(["cache-control": "max-age=60"], method: .HEAD))
        #expect(!storable(["cache-control": "max-age=60"], method: .POST))
        #expect(!storable(["cache-control": "max-age=60, no-store"]))
        #expect(!storable(["cache-control": "max-age=60"], request: ["cache-control": "no-store"]))
        #expect(!storable(["cache-control": "max-age=60, private"]))
        #expect(storable(["cache-control": "max-age=60, private=\"set-cookie\""]))
        #expect(!storable(["cache-control": "max-age=60"], status: 206))
        #expect(!storable(["cache-control": "max-age=60", "vary": "*"]))
        // Cacheable by default (RFC 9110 15.1) with a validator, or not without lifetime or validator.
        #expect(storable(["etag": "\"a\""], status: 404))
        #expect(!storable([:], status: 200))
        #expect(!storable(["etag": "\"a\""], status: 302))
        #expect(storable(["cache-control": "max-age=5"], status: 302))
        #expect(storable(["last-modified": HTTPDate.format(Self.t0 - 1000)], status: 200))
        // must-understand overrides no-store for an understood status only.
        #expect(storable(["cache-control": "max-age=60, no-store, must-understand"]))
        #expect(!storable(["cache-control": "max-age=60, must-understand"], status: 299))
    }

    @Test func authorizationOnlyWithPublicMustRevalidateOrSMaxage() {
        let auth: HTTPHeaders = ["authorization": "Basic eDp5"]
        #expect(!storable(["cache-control": "max-age=60"], request: auth))
        #expect(storable(["cache-control": "max-age=60, public"], request: auth))
        #expect(storable(["cache-control": "max-age=60, must-revalidate"], request: auth))
        #expect(storable(["cache-control": "s-maxage=60"], request: auth))
    }

    @Test func privateFieldsAreNotStored() {
        let response: HTTPHeaders = ["cache-control": "max-age=60, private=\"set-cookie\"", "set-cookie": "a=b", "x": "y"]
        let stored = policy.storedFields(response, control: CacheControl(response))
        #expect(!stored.contains(name: "set-cookie"))
        #expect(stored.first(name: "x") == "y")
    }

    // MARK: Freshness (RFC 9111 4.2)

    @Test func lifetimePrefersSMaxageThenMaxAgeThenExpiresThenHeuristic() {
        let date = HTTPDate.format(Self.t0)
        func lifetime(_ fields: HTTPHeaders, status: Int = 200) -> Int {
            Freshness.lifetime(status: status, headers: fields, control: CacheControl(fields), responseTime: Self.t0)
        }
        #expect(lifetime(["cache-control": "max-age=10, s-maxage=20"]) == 20)
        #expect(lifetime(["cache-control": "max-age=10", "expires": HTTPDate.format(Self.t0 + 99)]) == 10)
        #expect(lifetime(["date": date, "expires": HTTPDate.format(Self.t0 + 99)]) == 99)
        #expect(lifetime(["date": date, "expires": "0"]) == 0)
        #expect(lifetime(["date": date, "expires": "-1", "last-modified": HTTPDate.format(Self.t0 - 1000)]) == 0)
        #expect(lifetime(["date": date, "last-modified": HTTPDate.format(Self.t0 - 1000)]) == 100)
        #expect(lifetime(["date": date, "last-modified": HTTPDate.format(Self.t0 - 1000)], status: 302) == 0)
        #expect(lifetime(["cache-control": "public", "date": date, "last-modified": HTTPDate.format(Self.t0 - 1000)], status: 302) == 100)
        #expect(lifetime(["cache-control": "max-age=x"]) == 0)
    }

    @Test func ageIsCorrectedAsIn4_2_3() {
        // Sent at t0, received 2 s later with Age 5 and a Date 10 s in the past.
        let fields: HTTPHeaders = ["date": HTTPDate.format(Self.t0 - 10), "age": "5"]
        let initial = Freshness.correctedInitialAge(headers: fields, requestTime: Self.t0, responseTime: Self.t0 + 2)
        #expect(initial == 12)  // apparent 12 beats 5 + 2
        let fields2: HTTPHeaders = ["date": HTTPDate.format(Self.t0 + 2), "age": "30"]
        #expect(Freshness.correctedInitialAge(headers: fields2, requestTime: Self.t0, responseTime: Self.t0 + 2) == 32)
        #expect(Freshness.currentAge(correctedInitialAge: 12, responseTime: Self.t0 + 2, now: Self.t0 + 102) == 112)
        let bogus: HTTPHeaders = ["date": HTTPDate.format(Self.t0), "age": "abc"]
        #expect(Freshness.correctedInitialAge(headers: bogus, requestTime: Self.t0, responseTime: Self.t0) == 0)
    }

    @Test func freshUntilItsLifetimeThenValidated() {
        let stored = entry(["cache-control": "max-age=60", "etag": "\"a\""])
        #expect(policy.use(of: stored, requestControl: .init(), requestHeaders: [:], now: Self.t0 + 59) == .fresh(age: 59, ttl: 1))
        #expect(policy.use(of: stored, requestControl: .init(), requestHeaders: [:], now: Self.t0 + 60) == .validate(age: 60, ttl: 0))
    }

    // MARK: Request directives (RFC 9111 5.2.1)

    @Test func requestDirectives() {
        let stored = entry(["cache-control": "max-age=60"])
        func use(_ request: HTTPHeaders, at now: Int) -> CachePolicy.Use {
            policy.use(of: stored, requestControl: CacheControl(request), requestHeaders: request, now: now)
        }
        #expect(use(["cache-control": "max-age=10"], at: Self.t0 + 11) == .validate(age: 11, ttl: 49))
        #expect(use(["cache-control": "max-age=10"], at: Self.t0 + 10) == .fresh(age: 10, ttl: 50))
        #expect(use(["cache-control": "min-fresh=30"], at: Self.t0 + 31) == .validate(age: 31, ttl: 29))
        #expect(use(["cache-control": "no-cache"], at: Self.t0) == .validate(age: 0, ttl: 60))
        #expect(use(["pragma": "no-cache"], at: Self.t0) == .validate(age: 0, ttl: 60))
        #expect(use(["pragma": "no-cache", "cache-control": "max-age=100"], at: Self.t0) == .fresh(age: 0, ttl: 60))
        #expect(use(["cache-control": "max-stale=10"], at: Self.t0 + 70) == .staleAllowed(age: 70, ttl: -10))
        #expect(use(["cache-control": "max-stale=10"], at: Self.t0 + 71) == .validate(age: 71, ttl: -11))
        #expect(use(["cache-control": "max-stale"], at: Self.t0 + 100_000) == .staleAllowed(age: 100_000, ttl: 60 - 100_000))
    }

    // MARK: Response directives (RFC 9111 5.2.2, RFC 5861, RFC 8246)

    @Test func responseDirectives() {
        let stale = ["cache-control": "max-stale=100"] as HTTPHeaders
        func use(_ fields: HTTPHeaders, _ request: HTTPHeaders = [:], at now: Int) -> CachePolicy.Use {
            policy.use(of: entry(fields), requestControl: CacheControl(request), requestHeaders: request, now: now)
        }
        #expect(use(["cache-control": "max-age=60, no-cache"], at: Self.t0) == .validate(age: 0, ttl: 60))
        #expect(use(["cache-control": "max-age=60, no-cache=\"x\""], at: Self.t0) == .fresh(age: 0, ttl: 60))
        #expect(use(["cache-control": "max-age=60, must-revalidate"], stale, at: Self.t0 + 61) == .validate(age: 61, ttl: -1))
        #expect(use(["cache-control": "max-age=60, proxy-revalidate"], stale, at: Self.t0 + 61) == .validate(age: 61, ttl: -1))
        #expect(use(["cache-control": "s-maxage=60"], stale, at: Self.t0 + 61) == .validate(age: 61, ttl: -1))
        #expect(use(["cache-control": "max-age=60"], stale, at: Self.t0 + 61) == .staleAllowed(age: 61, ttl: -1))
        #expect(use(["cache-control": "max-age=60, stale-while-revalidate=30"], at: Self.t0 + 90) == .staleWhileRevalidate(age: 90, ttl: -30))
        #expect(use(["cache-control": "max-age=60, stale-while-revalidate=30"], at: Self.t0 + 91) == .validate(age: 91, ttl: -31))
        // immutable: a reload's max-age=0 does not force validation while fresh; no-cache does.
        #expect(use(["cache-control": "max-age=60, immutable"], ["cache-control": "max-age=0"], at: Self.t0 + 5) == .fresh(age: 5, ttl: 55))
        #expect(use(["cache-control": "max-age=60"], ["cache-control": "max-age=0"], at: Self.t0 + 5) == .validate(age: 5, ttl: 55))
        #expect(use(["cache-control": "max-age=60, immutable"], ["cache-control": "no-cache"], at: Self.t0 + 5) == .validate(age: 5, ttl: 55))
    }

    @Test func noCacheFieldsAreWithheldUnlessValidated() {
        let stored = entry(["cache-control": "max-age=60, no-cache=\"set-cookie\"", "set-cookie": "a=b"])
        #expect(!policy.servedFields(stored, age: 3, validated: false).contains(name: "set-cookie"))
        #expect(policy.servedFields(stored, age: 3, validated: true).first(name: "set-cookie") == "a=b")
        #expect(policy.servedFields(stored, age: 3, validated: false).first(name: "age") == "3")
    }

    @Test func staleIfError() {
        let stored = entry(["cache-control": "max-age=60, stale-if-error=30"])
        #expect(policy.servesStaleOnError(stored, requestControl: .init(), now: Self.t0 + 90))
        #expect(!policy.servesStaleOnError(stored, requestControl: .init(), now: Self.t0 + 91))
        #expect(policy.servesStaleOnError(stored, requestControl: CacheControl(["cache-control": "stale-if-error=100"]), now: Self.t0 + 150))
        let plain = entry(["cache-control": "max-age=60"])
        #expect(!policy.servesStaleOnError(plain, requestControl: .init(), now: Self.t0 + 61))
        #expect(CachePolicy(staleIfError: 10).servesStaleOnError(plain, requestControl: .init(), now: Self.t0 + 70))
        let strict = entry(["cache-control": "max-age=60, stale-if-error=30, must-revalidate"])
        #expect(!policy.servesStaleOnError(strict, requestControl: .init(), now: Self.t0 + 61))
    }

    // MARK: Validation (RFC 9111 4.3)

    @Test func conditionsFromTheStoredValidators() {
        let stored = entry(["etag": "\"v1\"", "last-modified": "Sun, 06 Nov 1994 08:49:37 GMT"])
        let conditions = CachePolicy.conditions(for: stored)
        #expect(conditions?.first(name: "if-none-match") == "\"v1\"")
        #expect(conditions?.first(name: "if-modified-since") == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(CachePolicy.conditions(for: entry(["cache-control": "max-age=1"])) == nil)
    }

    @Test func a304UpdatesTheStoredFieldsButNotTheLength() {
        let stored = entry(["cache-control": "max-age=60", "etag": "\"v1\"", "content-length": "5", "x-old": "1"])
        let notModified: HTTPHeaders = ["cache-control": "max-age=600", "etag": "\"v1\"", "content-length": "0", "date": HTTPDate.format(Self.t0 + 100)]
        #expect(CachePolicy.notModified(notModified, matches: stored))
        #expect(!CachePolicy.notModified(["etag": "\"v2\""], matches: stored))
        let updated = CachePolicy.updated(stored, with: notModified, requestTime: Self.t0 + 100, responseTime: Self.t0 + 100)
        #expect(updated.headers.first(name: "cache-control") == "max-age=600")
        #expect(updated.headers.first(name: "content-length") == "5")
        #expect(updated.headers.first(name: "x-old") == "1")
        #expect(policy.use(of: updated, requestControl: .init(), requestHeaders: [:], now: Self.t0 + 200) == .fresh(age: 100, ttl: 500))
    }

    @Test func aClientsOwnConditionalRequestIsAnswered304() {
        let stored = entry(["etag": "W/\"v1\"", "last-modified": HTTPDate.format(Self.t0 - 100)])
        #expect(CachePolicy.answersNotModified(["if-none-match": "\"v1\""], entry: stored))
        #expect(CachePolicy.answersNotModified(["if-none-match": "\"x\", W/\"v1\""], entry: stored))
        #expect(CachePolicy.answersNotModified(["if-none-match": "*"], entry: stored))
        #expect(!CachePolicy.answersNotModified(["if-none-match": "\"v2\""], entry: stored))
        // If-None-Match wins over If-Modified-Since.
        #expect(!CachePolicy.answersNotModified(["if-none-match": "\"v2\"", "if-modified-since": HTTPDate.format(Self.t0)], entry: stored))
        #expect(CachePolicy.answersNotModified(["if-modified-since": HTTPDate.format(Self.t0 - 100)], entry: stored))
        #expect(!CachePolicy.answersNotModified(["if-modified-since": HTTPDate.format(Self.t0 - 101)], entry: stored))
        #expect(!CachePolicy.answersNotModified(["if-none-match": "\"v1\""], entry: entry(["etag": "\"v1\""], status: 404)))
        // A client's date past any calendar is no date: the request is answered in full.
        #expect(!CachePolicy.answersNotModified(["if-modified-since": "Sun, 06 Nov 9223372036854775807 08:49:37 GMT"], entry: stored))
    }

    // MARK: Invalidation (RFC 9111 4.4)

    @Test func unsafeMethodsInvalidateTheTargetAndSameOriginLocations() {
        let key = CacheKey(uri: "http://a.example/items/1?x")
        let response: HTTPHeaders = ["location": "/items/2", "content-location": "http://other.example/items/3"]
        #expect(
            CachePolicy.invalidatedKeys(method: .POST, status: 201, key: key, response: response)
                == [key, CacheKey(uri: "http://a.example/items/2")]
        )
        #expect(CachePolicy.invalidatedKeys(method: .DELETE, status: 204, key: key, response: ["content-location": "3"]) == [key, CacheKey(uri: "http://a.example/items/3")])
        #expect(CachePolicy.invalidatedKeys(method: .POST, status: 500, key: key, response: response).isEmpty)
        #expect(CachePolicy.invalidatedKeys(method: .GET, status: 200, key: key, response: response).isEmpty)
        #expect(CachePolicy.invalidatedKeys(method: .RAW(value: "PURGEX"), status: 200, key: key, response: [:]) == [key])
    }

    // MARK: Keys and Vary (RFC 9111 2, 4.1)

    @Test func theKeyIsTheTargetURIWithQueryAsSent() {
        #expect(CacheKey(scheme: "http", host: "A.Example:80", target: "/p?b=1&a=2")?.uri == "http://a.example:80/p?b=1&a=2")
        #expect(CacheKey(scheme: "http", host: "ignored", target: "HTTP://X.example/q")?.uri == "http://x.example/q")
        #expect(CacheKey(scheme: "HTTPS", host: "WWW.Example.COM:8443", target: "/A/%7Eb?Q=Z&q=z")?.uri == "https://www.example.com:8443/A/%7Eb?Q=Z&q=z")
        #expect(CacheKey(scheme: "http", host: "h", target: "/")?.uri == "http://h/")
        #expect(CacheKey(scheme: "http", host: nil, target: "/p") == nil)
        #expect(CacheKey(scheme: "http", host: "h", target: "*") == nil)
        #expect(CacheKey(uri: "http://a/p?b=1&a=2").objectName != CacheKey(uri: "http://a/p?a=2&b=1").objectName)
        #expect(CacheKey(uri: "http://a/p").objectName.hex.count == 64)
    }

    @Test func varySelectsBySecondaryKeyAndStarNeverMatches() {
        #expect(VaryValue.fieldNames(in: ["vary": "Accept-Encoding, accept", "Vary": "accept"]) == ["accept", "accept-encoding"])
        #expect(VaryValue.fieldNames(in: ["vary": "accept, *"]) == nil)
        let key = CacheKey(uri: "http://a/p")
        let gzip = VaryValue.values(of: ["accept-encoding"], in: ["accept-encoding": "gzip,  br"])
        let gzip2 = VaryValue.values(of: ["accept-encoding"], in: ["Accept-Encoding": "gzip", "accept-encoding": "br"])
        let none = VaryValue.values(of: ["accept-encoding"], in: [:])
        #expect(key.objectName(variant: gzip) == key.objectName(variant: gzip2))
        #expect(key.objectName(variant: gzip) != key.objectName(variant: none))
        #expect(key.objectName(variant: none) != key.objectName)
        // A variant's name starts with its URI's, so a store finds every variant of a URI by that prefix.
        let variant = key.objectName(variant: gzip)
        #expect(variant.isVariant && !key.objectName.isVariant)
        #expect(variant.hex.hasPrefix(key.objectName.hex + "-") && variant.hex.count == 129)
        #expect(variant.primary == key.objectName && key.objectName.primary == key.objectName)
        #expect(CacheObjectName(hex: variant.hex) == variant)
        #expect(CacheKey(uri: "http://a/q").objectName(variant: gzip).primary != key.objectName)
        for malformed in [String(variant.hex.dropLast()), variant.hex.replacingOccurrences(of: "-", with: "0"), variant.hex.uppercased(), ""] {
            #expect(CacheObjectName(hex: malformed) == nil, "\(malformed)")
        }
    }

    // MARK: Range (RFC 9110 14)

    @Test func rangesOverAStoredFullObject() {
        let stored: HTTPHeaders = ["etag": "\"v1\"", "last-modified": HTTPDate.format(Self.t0)]
        func range(_ request: HTTPHeaders, length: Int = 100) -> ByteRange {
            ByteRange.select(request: request, stored: stored, bodyLength: length)
        }
        #expect(range(["range": "bytes=0-9"]) == .partial(offset: 0, length: 10))
        #expect(range(["range": "bytes=90-"]) == .partial(offset: 90, length: 10))
        #expect(range(["range": "bytes=-30"]) == .partial(offset: 70, length: 30))
        #expect(range(["range": "bytes=-300"]) == .partial(offset: 0, length: 100))
        #expect(range(["range": "bytes=50-1000"]) == .partial(offset: 50, length: 50))
        #expect(range(["range": "bytes=100-"]) == .unsatisfiable)
        #expect(range(["range": "bytes=-0"]) == .unsatisfiable)
        #expect(range(["range": "bytes=5-1"]) == .whole)
        #expect(range(["range": "bytes=0-1,5-6"]) == .whole)
        #expect(range(["range": "items=0-1"]) == .whole)
        #expect(range([:]) == .whole)
        #expect(range(["range": "bytes=0-9", "if-range": "\"v1\""]) == .partial(offset: 0, length: 10))
        #expect(range(["range": "bytes=0-9", "if-range": "\"v2\""]) == .whole)
        #expect(range(["range": "bytes=0-9", "if-range": HTTPDate.format(Self.t0)]) == .partial(offset: 0, length: 10))
    }

    // MARK: Cache-Status (RFC 9211) and the stored metadata

    @Test func cacheStatusValues() {
        #expect(CacheStatus(hit: true, ttl: 30).description == "outrider; hit; ttl=30")
        #expect(CacheStatus(forward: .miss, forwardStatus: 200, stored: true).description == "outrider; fwd=miss; fwd-status=200; stored")
        #expect(CacheStatus(forward: .bypass, detail: "store down").description == "outrider; fwd=bypass; detail=\"store down\"")
        #expect(CacheStatus(forward: .uriMiss, detail: "no-store").description == "outrider; fwd=uri-miss; detail=no-store")
    }

    @Test func entryHeadsRoundTripAndRejectCorruptBytes() {
        var head = entry(["cache-control": "max-age=60", "x": "ü"])
        head.variant = [VaryValue(name: "accept", value: nil), VaryValue(name: "te", value: "x")]
        let bytes = head.encoded()
        #expect(CacheEntryHead(decoding: bytes) == head)
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<500 {
            var corrupt = bytes
            let index = Int.random(in: 0..<bytes.readableBytes, using: &generator)
            let original: UInt8 = bytes.getInteger(at: index)!
            corrupt.setInteger(original ^ UInt8.random(in: 1...255, using: &generator), at: index)
            #expect(CacheEntryHead(decoding: corrupt) == nil)
            #expect(CacheEntryHead(decoding: bytes.getSlice(at: 0, length: index)!) == nil)
        }
        #expect(CacheEntryHead(decoding: bytes.getSlice(at: 0, length: bytes.readableBytes - 1)!) == nil)
        #expect(CacheEntryHead(decoding: ByteBuffer(string: "garbage!")) == nil)
    }
}
