import Plugins
import Proxy

extension CacheRoleSettings {
    /// sidekick's cache variables, which `outrider sidekick` reads.
    public static let sidekickVariables = [
        "SIDEKICK_CACHE_ENDPOINT", "SIDEKICK_CACHE_ACCESS_KEY", "SIDEKICK_CACHE_SECRET_KEY", "SIDEKICK_CACHE_BUCKET",
        "SIDEKICK_CACHE_MIN_SIZE", "SIDEKICK_CACHE_HEALTH_DURATION",
    ]

    /// A problem with sidekick's cache variables, naming the variable.
    public struct SidekickProblem: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }

        public init(message: String) {
            self.message = message
        }
    }

    /// The cache sidekick runs from its environment (`SIDEKICK_CACHE_ENDPOINT`, `_ACCESS_KEY`, `_SECRET_KEY`,
    /// `_BUCKET`, `_MIN_SIZE` in human sizes with sidekick's default of 1 MiB, `_HEALTH_DURATION` in seconds), an S3
    /// store shared by the sidecars; `nil` when none of them is set.
    public static func sidekick(environment: [String: String]) throws(SidekickProblem) -> CacheRoleSettings? {
        guard sidekickVariables.contains(where: { environment[$0] != nil }) else { return nil }
        func required(_ name: String) throws(SidekickProblem) -> String {
            guard let value = environment[name], !value.isEmpty else {
                throw SidekickProblem(message: "\(name) is required when sidekick's cache is configured (SIDEKICK_CACHE_* is set)")
            }
            return value
        }
        let endpoint = try required("SIDEKICK_CACHE_ENDPOINT")
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw SidekickProblem(message: "SIDEKICK_CACHE_ENDPOINT must be an http:// or https:// URL, found '\(endpoint)'")
        }
        let accessKey = try required("SIDEKICK_CACHE_ACCESS_KEY")
        let secretKey = try required("SIDEKICK_CACHE_SECRET_KEY")
        let bucket = try required("SIDEKICK_CACHE_BUCKET")
        var minSize = 1 << 20
        if let text = environment["SIDEKICK_CACHE_MIN_SIZE"] {
            do {
                minSize = try ByteSize.parse(text).bytes
            } catch {
                throw SidekickProblem(message: "SIDEKICK_CACHE_MIN_SIZE: \(error.message)")
            }
        }
        var interval = Duration.seconds(60)
        if let text = environment["SIDEKICK_CACHE_HEALTH_DURATION"] {
            guard let seconds = Int(text), seconds > 0 else {
                throw SidekickProblem(message: "SIDEKICK_CACHE_HEALTH_DURATION must be a whole number of seconds, found '\(text)'")
            }
            interval = .seconds(seconds)
        }
        var settings = CacheRoleSettings(
            store: .s3(S3(endpoint: endpoint, bucket: bucket, accessKey: accessKey, secretKey: secretKey, healthInterval: interval))
        )
        settings.cache.minSize = minSize
        return settings
    }
}
