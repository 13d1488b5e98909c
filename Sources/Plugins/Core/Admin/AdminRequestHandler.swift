import Logging
import NIOCore
import NIOHTTP1

/// Answers one admin connection's requests, in order (pipelining is ordered by NIO's server pipeline handler, which
/// hands over the next request only once the response before it has ended).
///
/// Fixed paths are answered inline. Role routes and `/v1/status` run in a task of their own, at most one per
/// connection; when the client disconnects the task is cancelled, as Go's `net/http` cancels a request's context
/// when its connection closes. NIO notices the close even while the pipeline handler holds reads back for a
/// response in progress, because it watches every connection for end of input (`EPOLLRDHUP`).
final class AdminRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: AdminServer.Endpoints
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false
    /// Cancels the work answering the current request, if it is a role route or `/v1/status`.
    private var inFlight: AdminCancellation?
    /// Where that work runs: under the admin service (see ``AdminWork``).
    private let work: AdminWork

    init(endpoints: AdminServer.Endpoints, work: AdminWork, logger: Logger) {
        self.endpoints = endpoints
        self.work = work
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

    func channelInactive(context: ChannelHandlerContext) {
        inFlight?.cancel()
        inFlight = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        inFlight?.cancel()
        inFlight = nil
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
        let routePath = rest.isEmpty ? "/" : rest
        switch endpoints.routes.lookup(role: role, method: head.method, path: routePath) {
        case .notFound:
            write(.text("not found\n", status: .notFound), for: head, context: context)
        case .methodNotAllowed(let allowed):
            write(Self.methodNotAllowed(allowed), for: head, context: context)
        case .badRequest(let reason):
            write(AdminError.badRequest(reason).response, for: head, context: context)
        case .found(let handler):
            let request = AdminRequest(method: head.method, path: routePath, query: query, headers: head.headers, body: body, channel: context.channel)
            run(context: context, head: head) { try await handler(request) }
        }
    }

    /// Runs a handler in the connection's request task and writes its response back on the channel's loop: the
    /// head and any body at once, then a stream's parts as it writes them, each write awaited so that the stream
    /// goes no faster than the client reads.
    private func run(context: ChannelHandlerContext, head: HTTPRequestHead, _ produce: @escaping @Sendable () async throws -> AdminResponse) {
        let connection = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let logger = self.logger
        let cancellation = AdminCancellation()
        inFlight = cancellation
        let submitted = work.submit({
            let response: AdminResponse
            do {
                response = try await produce()
            } catch let error as AdminError {
                response = error.response
            } catch {
                // A handler that stops because its client left has nobody to answer.
                if Task.isCancelled || cancellation.clientLeft { return }
                logger.error("admin handler failed", metadata: ["path": "\(head.uri)", "error": "\(error)"])
                response = AdminError.internalErrorResponse
            }
            if Task.isCancelled || cancellation.clientLeft { return }
            guard let stream = response.stream else {
                eventLoop.execute {
                    let (handler, context) = connection.value
                    handler.inFlight = nil
                    handler.write(response, for: head, context: context)
                }
                return
            }
            guard head.method != .HEAD else {
                // The fields a GET would get, and no body: the stream does not run.
                eventLoop.execute {
                    let (handler, context) = connection.value
                    handler.inFlight = nil
                    handler.writeStreamHead(response, for: head, context: context)
                    handler.writeEnd(for: head, keepAlive: head.isKeepAlive && head.version.minor >= 1, context: context)
                }
                return
            }
            do {
                try await eventLoop.submit {
                    let (handler, context) = connection.value
                    handler.writeStreamHead(response, for: head, context: context)
                }.get()
                try await stream.produce(AdminBodyWriter { part in
                    try await eventLoop.flatSubmit {
                        let (handler, context) = connection.value
                        return context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(part))))
                    }.get()
                })
            } catch {
                if !(Task.isCancelled || cancellation.clientLeft) {
                    logger.warning("admin response stream failed; closing the connection", metadata: ["path": "\(head.uri)", "error": "\(error)"])
                }
                eventLoop.execute {
                    let (handler, context) = connection.value
                    handler.inFlight = nil
                    context.close(promise: nil)
                }
                return
            }
            eventLoop.execute {
                let (handler, context) = connection.value
                handler.inFlight = nil
                handler.writeEnd(for: head, keepAlive: head.isKeepAlive && head.version.minor >= 1, context: context)
            }
        }, cancellation: cancellation)
        if !submitted {
            // The admin service is stopping and runs nothing more.
            inFlight = nil
            write(.text("shutting down\n", status: .serviceUnavailable), for: head, context: context)
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
        writeEnd(for: head, keepAlive: head.isKeepAlive, context: context)
    }

    /// The head of a streamed response, and its `body` if any. Without `Content-Length` NIO's encoder frames it
    /// chunked for HTTP/1.1; an HTTP/1.0 client learns of the end by the connection closing.
    private func writeStreamHead(_ response: AdminResponse, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = response.headers
        headers.remove(name: "Content-Length")
        if !head.isKeepAlive || head.version.minor == 0 { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        if response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        context.flush()
    }

    private func writeEnd(for head: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
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
