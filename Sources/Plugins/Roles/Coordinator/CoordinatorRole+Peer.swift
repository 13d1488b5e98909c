import Coordination
import Foundation
import NIOCore
import Plugins

/// What other members call on this one's peer listener, each call authenticated by the client certificate and
/// the shared token (``authenticate(_:kind:)``).
extension CoordinatorRole {
    func addPeerRoutes(_ routes: AdminRoutes) {
        routes.add(.POST, "/kv/{key}") { [self] request in
            try await authenticate(request, kind: "put")
            guard let value = String(validating: request.body.readableBytesView, as: UTF8.self) else {
                throw AdminError.badRequest("the value must be UTF-8 text")
            }
            let mode = QueryItems(request.query)["mode"].flatMap(PutRequest.Mode.init(rawValue:)) ?? .append
            let put = PutRequest(key: try request.parameter("key"), value: value, mode: mode, idempotencyKey: request.headers.first(name: "Idempotency-Key"))
            return try await Self.answeringLeaderGone { try await self.putOnLeader(put) }
        }
        // A follower's batch (ForwardedPuts): committed together, each Put answered as the route above would.
        routes.add(.POST, "/puts") { [self] request in
            try await authenticate(request, kind: "put")
            let puts: [PutRequest]
            do {
                puts = try ForwardedPuts.decodeRequests(request.body)
            } catch {
                throw AdminError.badRequest("\(error)")
            }
            guard !puts.contains(where: { $0.key.isEmpty }) else { throw AdminError.badRequest("a forwarded Put has an empty key") }
            return try await Self.answeringLeaderGone {
                AdminResponse(
                    status: .ok, headers: ["Content-Type": "application/octet-stream"], body: ForwardedPuts.encode(try await putsOnLeader(puts)))
            }
        }
        routes.add(.POST, "/send") { [self] request in
            try await authenticate(request, kind: "send")
            guard try await running.member.held != nil else { throw AdminError.serviceUnavailable("\(context.node.name) is not the leader") }
            return try await sendOnLeader(request.body)
        }
        routes.add(.POST, "/broadcast") { [self] request in
            try await authenticate(request, kind: "broadcast")
            guard let url = settings.handlers.broadcast else { throw AdminError(.badGateway, "\(context.node.name) has no handlers.broadcast") }
            return try await callHandler(url, body: request.body)
        }
        routes.add(.POST, "/released") { [self] request in
            try await authenticate(request, kind: "released")
            try await running.member.leaseReleased()
            return .json(["ok": true])
        }
        for action in ["acquire", "refresh", "release"] {
            routes.add(.POST, "/semaphores/{name}/\(action)") { [self] request in
                try await authenticate(request, kind: "semaphore")
                guard try await running.member.held != nil else { return LeaderRetry.leaderGoneResponse("\(context.node.name) is not the leader") }
                let name = try request.parameter("name")
                return try await Self.answeringLeaderGone { try await self.semaphoreOnLeader(name: name, action: action, body: request.body) }
            }
        }
    }

    /// `call`'s answer, or, when this member's leadership ended before it was served, the 503 that tells the
    /// member it came through to send it to the next leader (``LeaderRetry``).
    static func answeringLeaderGone(_ call: () async throws -> AdminResponse) async throws -> AdminResponse {
        do {
            return try await call()
        } catch let failure as LeaderFailure {
            return LeaderRetry.leaderGoneResponse(failure.error.message)
        }
    }

    /// 401 (counted under the route's `kind`) for a caller without a client certificate signed by `peer.tls.ca`
    /// when `peer.tls` is set, or without the group's token when `peer.token` is; both must pass when both are
    /// set. The reason is the answer's one line; a connection refused for its certificate is logged once.
    func authenticate(_ request: AdminRequest, kind: String) async throws(AdminError) {
        if settings.peer.tls != nil {
            let watcher = try? await request.channel?.pipeline.handler(type: PeerHandshakeWatcher.self).get()
            let verdict = watcher?.verdict ?? .missing
            if let refusal = verdict.refusal {
                metrics.peerRequest(kind: kind, result: "unauthorized")
                if watcher?.firstRefusal() ?? true {
                    logger.warning("peer request refused: \(refusal)", metadata: [
                        "kind": "\(kind)", "remote": "\(request.channel?.remoteAddress.map { "\($0)" } ?? "?")",
                    ])
                }
                throw AdminError(.unauthorized, refusal)
            }
        }
        guard let peerToken else { return }
        guard peerToken.accepts(request.headers.first(name: "Authorization")) else {
            metrics.peerRequest(kind: kind, result: "unauthorized")
            logger.warning("peer request refused: no valid token", metadata: ["kind": "\(kind)"])
            throw AdminError(.unauthorized, "a peer token is required")
        }
    }
}
