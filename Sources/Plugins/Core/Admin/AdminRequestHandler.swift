import Logging
import NIOCore
import NIOHTTP1

/// Answers one admin connection's requests, in order (pipelining is ordered by NIO's server pipeline handler).
final class AdminRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: AdminServer.Endpoints
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false

    init(endpoints: AdminServer.Endpoints, logger: Logger) {
        self.endpoints = endpoints
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            tooLarge = false
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > AdminServer.maximumBodySize {
                tooLarge = true
            } else {
                body.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            if tooLarge {
                write(.text("request body too large\n", status: .payloadTooLarge), for: head, context: context)
                return
            }
            respond(to: head, body: body, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, body: ByteBuffer, context: ChannelHandlerContext) {
        let (path, query) = Self.split(head.uri)
        let getLike = head.method == .GET || head.method == .HEAD
        func fixed(_ response: @autoclosure () -> AdminResponse) {
            write(getLike ? response() : Self.methodNotAllowed([.GET, .HEAD]), for: head, context: context)
        }
        switch path {
        case "/metrics":
            fixed(AdminResponse(
                status: .ok,
                headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: ByteBuffer(string: endpoints.metrics())
            ))
        case "/healthz":
            fixed(endpoints.healthy() ? .text("ok\n") : .text("draining\n", status: .serviceUnavailable))
        case "/v1/status":
            guard getLike else {
                write(Self.methodNotAllowed([.GET, .HEAD]), for: head, context: context)
                return
            }
            let status = endpoints.status
            run(context: context, head: head) { .json(await status()) }
        default:
            routeToRole(path: path, query: query, head: head, body: body, context: context)
        }
    }

    private func routeToRole(path: String, query: String?, head: HTTPRequestHead, body: ByteBuffer, context: ChannelHandlerContext) {
        let parts = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        // "/v1/<role>/<rest>" splits into ["", "v1", "<role>/<rest>"].
        guard parts.count == 3, parts[0].isEmpty, parts[1] == "v1" else {
            write(.text("not found\n", status: .notFound), for: head, context: context)
            return
        }
        let roleAndRest = parts[2]
        let role = String(roleAndRest.prefix { $0 != "/" })
        let rest = String(roleAndRest.dropFirst(role.count))
        switch endpoints.routes.lookup(role: role, method: head.method, path: rest.isEmpty ? "/" : rest) {
        case .notFound:
            write(.text("not found\n", status: .notFound), for: head, context: context)
        case .methodNotAllowed(let allowed):
            write(Self.methodNotAllowed(allowed), for: head, context: context)
        case .found(let handler):
            let request = AdminRequest(method: head.method, path: rest.isEmpty ? "/" : rest, query: query, headers: head.headers, body: body)
            run(context: context, head: head) { await handler(request) }
        }
    }

    /// Runs an async handler off the event loop and writes its response back on it.
    private func run(context: ChannelHandlerContext, head: HTTPRequestHead, _ produce: @escaping @Sendable () async -> AdminResponse) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let future = context.eventLoop.makeFutureWithTask { await produce() }
        future.whenSuccess { response in
            let (handler, context) = loopBound.value
            handler.write(response, for: head, context: context)
        }
    }

    private func write(_ response: AdminResponse, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        if !head.isKeepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: head.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD, response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let keepAlive = head.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [context] _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }

    static func methodNotAllowed(_ allowed: [HTTPMethod]) -> AdminResponse {
        var response = AdminResponse.text("method not allowed\n", status: .methodNotAllowed)
        response.headers.add(name: "Allow", value: allowed.map(\.rawValue).joined(separator: ", "))
        return response
    }

    static func split(_ uri: String) -> (path: String, query: String?) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, nil) }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }
}
