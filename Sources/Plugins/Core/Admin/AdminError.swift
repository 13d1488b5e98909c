import NIOHTTP1

/// An error an admin handler throws to answer with a status of its choosing and the JSON body
/// `{"error": "<message>"}`. Any other error a handler throws is answered 500 with a generic message and logged,
/// since its text was not written for the client.
public struct AdminError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponseStatus
    public var message: String

    public init(_ status: HTTPResponseStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public static func badRequest(_ message: String) -> AdminError { AdminError(.badRequest, message) }
    public static func notFound(_ message: String) -> AdminError { AdminError(.notFound, message) }
    public static func conflict(_ message: String) -> AdminError { AdminError(.conflict, message) }
    public static func serviceUnavailable(_ message: String) -> AdminError { AdminError(.serviceUnavailable, message) }

    public var description: String { "\(status.code) \(message)" }

    var response: AdminResponse { .json(["error": .string(message)], status: status) }

    /// The answer to an error that is not an `AdminError`.
    static let internalErrorResponse = AdminResponse.json(["error": "internal server error"], status: .internalServerError)
}
