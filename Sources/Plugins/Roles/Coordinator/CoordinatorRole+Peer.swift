import Coordination
import Foundation
import NIOCore
import Plugins

/// What other members call on this one's peer listener, each call authenticated by the shared token.
extension CoordinatorRole {
    func addPeerRoutes(_ routes: AdminRoutes) {
        routes.add(.POST, "/put") { [self] request in
            try authenticate(request, kind: "put")
            let put: PutRequest
            do { put = try JSONDecoder().decode(PutRequest.self, from: Data(request.body.readableBytesView)) } catch {
                throw AdminError.badRequest("a forwarded Put must be JSON")
            }
            return try await putOnLeader(put)
        }
        routes.add(.POST, "/send") { [self] request in
            try authenticate(request, kind: "send")
            guard try await running.member.held != nil else { throw AdminError.serviceUnavailable("\(context.node.name) is not the leader") }
            return try await sendOnLeader(request.body)
        }
        routes.add(.POST, "/broadcast") { [self] request in
            try authenticate(request, kind: "broadcast")
            guard let url = settings.handlers.broadcast else { throw AdminError(.badGateway, "\(context.node.name) has no handlers.broadcast") }
            return try await callHandler(url, body: request.body)
        }
        routes.add(.POST, "/released") { [self] request in
            try authenticate(request, kind: "released")
            try await running.member.leaseReleased()
            return .json(["ok": true])
        }
        for action in ["acquire", "refresh", "release"] {
            routes.add(.POST, "/semaphores/{name}/\(action)") { [self] request in
                try authenticate(request, kind: "semaphore")
                guard try await running.member.held != nil else { throw AdminError.serviceUnavailable("\(context.node.name) is not the leader") }
                return try await semaphoreOnLeader(name: try request.parameter("name"), action: action, body: request.body)
            }
        }
    }

    /// 401 (counted) without the group's token.
    func authenticate(_ request: AdminRequest, kind: String) throws(AdminError) {
        guard let peerToken else { return }
        guard peerToken.accepts(request.headers.first(name: "Authorization")) else {
            metrics.peerRequest(kind: kind, result: "unauthorized")
            logger.warning("peer request refused: no valid token", metadata: ["kind": "\(kind)"])
            throw AdminError(.unauthorized, "a peer token is required")
        }
    }
}
