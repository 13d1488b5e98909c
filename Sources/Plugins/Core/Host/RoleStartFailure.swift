/// A role that could not start; `outrider run` exits with code 2 and this message.
public struct RoleStartFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var role: String
    public var reason: String

    public init(role: String, error: any Error) {
        self.role = role
        self.reason = String(describing: error)
    }

    public var description: String { "role \(role) failed to start: \(reason)" }
}
