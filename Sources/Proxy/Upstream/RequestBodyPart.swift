import NIOCore
import NIOHTTP1

/// What follows a request's head on its way to a backend: its body, in parts, and its end
/// with any trailers. Heads are written with ``UpstreamHandler/writeHead(_:forwarding:)``.
enum RequestBodyPart {
    case body(IOData)
    case end(HTTPHeaders?)
}
