import Coordination
import Foundation
import NIOCore
import NIOHTTP1
import Plugins

/// The local API under `/v1/coordinator/` (docs/coordinator.md lists every call with curl).
extension CoordinatorRole {
    func addRoutes(_ admin: AdminRoutes) {
        admin.add(.GET, "/leader") { [self] _ in try await leaderAnswer() }
        admin.add(.PUT, "/kv/{key}") { [self] request in try await putFromClient(request) }
        admin.add(.GET, "/kv/{key}") { [self] request in try await get(request) }
        admin.add(.POST, "/send") { [self] request in
            try await throughLeader(kind: "send", path: "/v1/peer/send", body: request.body) { try await self.sendOnLeader(request.body) }
        }
        admin.add(.POST, "/broadcast") { [self] request in try await broadcast(request) }
        admin.add(.GET, "/members") { [self] _ in try await membersAnswer() }
        for action in ["acquire", "refresh", "release"] {
            admin.add(.POST, "/semaphores/{name}/\(action)") { [self] request in
                let name = try request.parameter("name")
                return try await throughLeader(kind: "semaphore", path: "/v1/peer/semaphores/\(Self.pathSegment(name))/\(action)", body: request.body) {
                    try await self.semaphoreOnLeader(name: name, action: action, body: request.body)
                }
            }
        }
        admin.add(.GET, "/semaphores/{name}") { [self] request in try await semaphoreState(try request.parameter("name")) }
    }

    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    // MARK: The leader

    /// Who leads, where it listens, and how long its term has left.
    func leaderAnswer() async throws -> AdminResponse {
        let running = try running
        if let held = await running.member.held {
            return .json([
                "leader": .string(context.node.name), "address": .string(running.address), "token": .number(Double(held.token.value)),
                "self": true, "lease_remaining_ms": .number(Double(held.remaining(at: .now).milliseconds)),
            ])
        }
        let (lease, now) = try await storeCall { try await running.store.lease(group: self.settings.group) }
        guard let holder = lease.holder(at: now), let expires = lease.expiresAt else {
            throw AdminError.serviceUnavailable("no leader: the lease of group \(settings.group) is free")
        }
        let address = try await leaderAddress(holder, running: running)
        return .json([
            "leader": .string(holder), "address": address.map(JSONValue.string) ?? .null, "token": .number(Double(lease.token.value)),
            "self": false, "lease_remaining_ms": .number(Double((expires - now).milliseconds)),
        ])
    }

    func leaderAddress(_ name: String, running: Running) async throws -> String? {
        try await storeCall { try await running.store.members(group: self.settings.group) }.members.first { $0.name == name }?.address
    }

    /// Runs `local` when this member leads, else sends `body` to the leader's peer `path` and passes its answer
    /// through. 503 with no leader, or when the leader cannot be reached (the client retries, with its
    /// Idempotency-Key for a Put).
    func throughLeader(kind: String, path: String, body: ByteBuffer, headers: [(String, String)] = [], local: @Sendable () async throws -> AdminResponse) async throws -> AdminResponse {
        let running = try running
        if await running.member.held != nil { return try await local() }
        let (holder, address) = try await leaderPeer(running)
        return try await callLeader(holder, address, kind: kind, path: path, body: body, headers: headers)
    }

    /// The leader by the store's lease, and its peer address; 503 when there is none or it has no address.
    func leaderPeer(_ running: Running) async throws -> (name: String, address: String) {
        // The members are read beside the lease, not after it: one round trip's wait instead of two.
        async let members = storeCall { try await running.store.members(group: self.settings.group) }
        let (lease, now) = try await storeCall { try await running.store.lease(group: self.settings.group) }
        guard let holder = lease.holder(at: now), holder != context.node.name else {
            throw AdminError.serviceUnavailable("no leader in group \(settings.group)")
        }
        guard let address = try await members.members.first(where: { $0.name == holder })?.address else {
            throw AdminError.serviceUnavailable("the leader \(holder) has no known peer address")
        }
        return (holder, address)
    }

    /// One call to the leader's peer listener, its answer passed through as it came.
    func callLeader(_ holder: String, _ address: String, kind: String, path: String, body: ByteBuffer, headers: [(String, String)] = []) async throws -> AdminResponse {
        let reply = try await replyFromLeader(holder, address, kind: kind, path: path, body: body, headers: headers)
        var headers = HTTPHeaders()
        if let type = reply.contentType { headers.add(name: "Content-Type", value: type) }
        if reply.replayed { headers.add(name: "Idempotent-Replayed", value: "true") }
        return AdminResponse(status: HTTPResponseStatus(statusCode: reply.status), headers: headers, body: reply.body)
    }

    func replyFromLeader(_ holder: String, _ address: String, kind: String, path: String, body: ByteBuffer, headers: [(String, String)] = []) async throws -> Reply {
        let reply: Reply
        do {
            reply = try await callPeer(address, kind: kind, path: path, body: body, headers: headers)
        } catch {
            throw AdminError.serviceUnavailable("the leader \(holder) at \(address) cannot be reached: \(error)")
        }
        if reply.status == 401 { throw AdminError.serviceUnavailable("the leader \(holder) refused this member's peer token") }
        return reply
    }

    func storeCall<T: Sendable>(_ call: @Sendable () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch {
            throw AdminError.serviceUnavailable("store unavailable: \(error)")
        }
    }

    // MARK: The log

    func putFromClient(_ request: AdminRequest) async throws -> AdminResponse {
        let start = ContinuousClock.now
        let key = try request.parameter("key")
        guard request.body.readableBytes <= settings.valueLimit else {
            metrics.put(result: "refused")
            throw AdminError(.payloadTooLarge, "the value is \(request.body.readableBytes) bytes, more than value_limit (\(settings.valueLimit))")
        }
        guard let value = request.body.getString(at: request.body.readerIndex, length: request.body.readableBytes),
              String(validating: request.body.readableBytesView, as: UTF8.self) != nil
        else {
            metrics.put(result: "refused")
            throw AdminError.badRequest("the value must be UTF-8 text")
        }
        let query = QueryItems(request.query)
        let mode: PutRequest.Mode
        switch query["mode"] {
        case nil, "append": mode = .append
        case "overwrite": mode = .overwrite
        case let other?: throw AdminError.badRequest("mode must be append or overwrite, found '\(other)'")
        }
        let put = PutRequest(key: key, value: value, mode: mode, idempotencyKey: request.headers.first(name: "Idempotency-Key"))
        defer { metrics.putDuration(since: start) }
        do {
            let running = try running
            if await running.member.held != nil { return try await putOnLeader(put) }
            let response = try await running.forwarder.forward(put)
            if response.status == .created, response.headers.first(name: "Idempotent-Replayed") != "true" { commits.committed(key) }
            return response
        } catch {
            metrics.put(result: "failed")
            throw error
        }
    }

    /// A follower's batch of its clients' Puts, sent to the leader (``PutForwarder``): one lookup of the leader
    /// and one peer request for them all. A batch of one goes as it came, to the single-Put route: the value as
    /// the body, the rest in the path, query and field, so that a value of value_limit fits the peer listener's
    /// body limit as it fits the admin listener's. A leader that does not know `/v1/peer/puts` (an older
    /// version, during a rolling upgrade) gets each Put on its own.
    func forwardPuts(_ puts: [PutRequest]) async -> [Result<AdminResponse, any Error>] {
        do {
            let running = try running
            // Leadership may have come to this member while the Puts waited.
            if await running.member.held != nil { return try await putsOnLeader(puts).map { .success(Self.response($0)) } }
            let (holder, address) = try await leaderPeer(running)
            if puts.count > 1 {
                let reply = try await replyFromLeader(holder, address, kind: "put", path: "/v1/peer/puts", body: ForwardedPuts.encode(puts))
                if reply.status != 404 {
                    guard reply.status == 200 else {
                        var headers = HTTPHeaders()
                        if let type = reply.contentType { headers.add(name: "Content-Type", value: type) }
                        let response = AdminResponse(status: HTTPResponseStatus(statusCode: reply.status), headers: headers, body: reply.body)
                        return Array(repeating: .success(response), count: puts.count)
                    }
                    let replies: [ForwardedPuts.Reply]
                    do {
                        replies = try ForwardedPuts.decodeReplies(reply.body)
                    } catch {
                        throw AdminError.serviceUnavailable("the leader \(holder) answered the forwarded Puts with \(error)")
                    }
                    guard replies.count == puts.count else {
                        throw AdminError.serviceUnavailable("the leader \(holder) answered \(replies.count) of \(puts.count) forwarded Puts")
                    }
                    return replies.map { .success(Self.response($0)) }
                }
            }
            return await withTaskGroup(of: (Int, Result<AdminResponse, any Error>).self) { group in
                for (index, put) in puts.enumerated() {
                    group.addTask {
                        do {
                            return (index, .success(try await self.callLeader(
                                holder, address, kind: "put", path: "/v1/peer/kv/\(Self.pathSegment(put.key))?mode=\(put.mode.rawValue)",
                                body: ByteBuffer(string: put.value), headers: put.idempotencyKey.map { [("Idempotency-Key", $0)] } ?? [])))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                var results = [Result<AdminResponse, any Error>?](repeating: nil, count: puts.count)
                for await (index, result) in group { results[index] = result }
                return results.map { $0 ?? .failure(AdminError.serviceUnavailable("the forwarded Put was not answered")) }
            }
        } catch {
            return Array(repeating: .failure(error), count: puts.count)
        }
    }

    /// The leader's side of a Put: 201 once committed (or replayed), 409 for a reused idempotency key.
    func putOnLeader(_ put: PutRequest) async throws -> AdminResponse {
        let running = try running
        let outcome: PutOutcome
        do {
            outcome = try await running.member.put(put)
        } catch let refusal as MemberRefusal {
            metrics.put(result: "failed")
            throw AdminError.serviceUnavailable("\(refusal)")
        }
        return try leaderAnswer(.success(outcome)).get()
    }

    /// The leader's side of a follower's batch: each Put's answer as ``putOnLeader(_:)`` would give it.
    func putsOnLeader(_ puts: [PutRequest]) async throws -> [ForwardedPuts.Reply] {
        let running = try running
        let outcomes: [Result<PutOutcome, MemberRefusal>]
        do {
            outcomes = try await running.member.put(puts)
        } catch let refusal as MemberRefusal {
            for _ in puts { metrics.put(result: "failed") }
            throw AdminError.serviceUnavailable("\(refusal)")
        }
        return outcomes.map { outcome in
            switch leaderAnswer(outcome) {
            case .success(let response): Self.reply(response)
            case .failure(let error): Self.reply(.json(["error": .string(error.message)], status: error.status))
            }
        }
    }

    func leaderAnswer(_ outcome: Result<PutOutcome, MemberRefusal>) -> Result<AdminResponse, AdminError> {
        switch outcome {
        case .failure(let refusal):
            metrics.put(result: "failed")
            return .failure(.serviceUnavailable("\(refusal)"))
        case .success(.committed(let answer)):
            metrics.put(result: "committed")
            commits.committed(answer.key)
            return .success(Self.answer(answer, replayed: false))
        case .success(.replayed(let answer)):
            metrics.put(result: "replayed")
            return .success(Self.answer(answer, replayed: true))
        case .success(.conflict):
            metrics.put(result: "conflict")
            return .failure(.conflict("the Idempotency-Key was used for another request"))
        }
    }

    static func reply(_ response: AdminResponse) -> ForwardedPuts.Reply {
        ForwardedPuts.Reply(
            status: Int(response.status.code), replayed: response.headers.first(name: "Idempotent-Replayed") == "true",
            contentType: response.headers.first(name: "Content-Type"), body: response.body)
    }

    static func response(_ reply: ForwardedPuts.Reply) -> AdminResponse {
        var headers = HTTPHeaders()
        if let type = reply.contentType { headers.add(name: "Content-Type", value: type) }
        if reply.replayed { headers.add(name: "Idempotent-Replayed", value: "true") }
        return AdminResponse(status: HTTPResponseStatus(statusCode: reply.status), headers: headers, body: reply.body)
    }

    static func answer(_ answer: PutAnswer, replayed: Bool) -> AdminResponse {
        var response = AdminResponse.json([
            "key": .string(answer.key), "revision": .number(Double(answer.revision)), "leader": .string(answer.leader),
            "token": .number(Double(answer.token.value)),
        ], status: .created)
        if replayed { response.headers.add(name: "Idempotent-Replayed", value: "true") }
        return response
    }

    /// Any member reads the store; `after` and `wait` make it a long poll for a newer revision.
    func get(_ request: AdminRequest) async throws -> AdminResponse {
        let running = try running
        let key = try request.parameter("key")
        let query = QueryItems(request.query)
        let after: Int64? = try query["after"].map { text in
            guard let revision = Int64(text), revision >= 0 else { throw AdminError.badRequest("after must be a revision number, found '\(text)'") }
            return revision
        }
        let limitText = query["limit"] ?? (after == nil ? "latest" : "all")
        guard let limit = LogLimit(limitText) else {
            throw AdminError.badRequest("limit must be latest, all, oldest or a positive number, found '\(limitText)'")
        }
        var wait = Duration.zero
        if let text = query["wait"] {
            guard after != nil else { throw AdminError.badRequest("wait needs after=REVISION") }
            do { wait = try min(ConfigDuration.parse(text), .seconds(60)) } catch { throw AdminError.badRequest(error.message) }
        }
        let deadline = ContinuousClock.now + wait
        while true {
            let mark = commits.mark
            let entries = try await storeCall { try await running.store.entries(group: self.settings.group, key: key, limit: limit, after: after) }
            if let entries, !entries.isEmpty || ContinuousClock.now >= deadline {
                return .json(["key": .string(key), "values": .array(entries.map(Self.json))])
            }
            if entries == nil, after == nil { throw AdminError.notFound("no key '\(key)'") }
            if ContinuousClock.now >= deadline { return .json(["key": .string(key), "values": []]) }
            // A commit through this member ends the wait at once (CommitNotices); writes from another process on
            // the file or another host are found by polling the store, cheaply (one indexed read), every 50 ms.
            await commits.wait(for: key, since: mark, upTo: .milliseconds(50))
            try Task.checkCancellation()
        }
    }

    static func json(_ entry: LogEntry) -> JSONValue {
        [
            "value": .string(entry.value), "revision": .number(Double(entry.revision)), "leader": .string(entry.leader),
            "token": .number(Double(entry.token.value)), "time": .string(timestamp(entry.time)),
        ]
    }

    static func timestamp(_ time: StoreTime) -> String {
        let date = Date(timeIntervalSince1970: Double(time.microsecondsSinceEpoch) / 1e6)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    // MARK: Send and broadcast

    /// The leader's side of a Send: its program's `handlers.send` answers.
    func sendOnLeader(_ body: ByteBuffer) async throws -> AdminResponse {
        guard let url = settings.handlers.send else {
            throw AdminError(.badGateway, "the leader \(context.node.name) has no handlers.send")
        }
        return try await callHandler(url, body: body)
    }

    func callHandler(_ url: String, body: ByteBuffer) async throws -> AdminResponse {
        let reply: Reply
        do {
            reply = try await Self.post(client: client, url: url, body: body, contentType: "application/octet-stream", timeout: .seconds(30))
        } catch {
            throw AdminError(.badGateway, "the handler \(url) failed: \(error)")
        }
        var headers = HTTPHeaders()
        if let type = reply.contentType { headers.add(name: "Content-Type", value: type) }
        return AdminResponse(status: HTTPResponseStatus(statusCode: reply.status), headers: headers, body: reply.body)
    }

    /// Every live member's `handlers.broadcast`, this one's included unless `skip_self=true`; `only=A,B` names the
    /// members to reach.
    func broadcast(_ request: AdminRequest) async throws -> AdminResponse {
        let running = try running
        let query = QueryItems(request.query)
        let skipSelf = query["skip_self"] == "true"
        let only = query["only"].map { Set($0.split(separator: ",").map(String.init)) }
        let members = try await liveMembers(running)
            .filter { !(skipSelf && $0.name == context.node.name) && (only?.contains($0.name) ?? true) }
        let body = request.body
        let results = await withTaskGroup(of: (String, JSONValue).self) { group in
            for member in members {
                group.addTask {
                    let reply: Reply
                    do {
                        if member.name == self.context.node.name {
                            guard let url = self.settings.handlers.broadcast else { return (member.name, ["member": .string(member.name), "error": "no handlers.broadcast"]) }
                            reply = try await Self.post(client: self.client, url: url, body: body, contentType: "application/octet-stream", timeout: .seconds(30))
                        } else {
                            reply = try await self.callPeer(member.address, kind: "broadcast", path: "/v1/peer/broadcast", body: body)
                        }
                    } catch {
                        return (member.name, ["member": .string(member.name), "error": .string("\(error)")])
                    }
                    return (member.name, [
                        "member": .string(member.name), "status": .number(Double(reply.status)),
                        "reply": .string(String(decoding: reply.body.readableBytesView, as: UTF8.self)),
                    ])
                }
            }
            var results: [(String, JSONValue)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return .json(.array(results))
    }

    /// Members heard of within three leases.
    func liveMembers(_ running: Running) async throws -> [MemberRecord] {
        let (members, now) = try await storeCall { try await running.store.members(group: self.settings.group) }
        return members.filter { now - $0.lastSeen < settings.lease * 3 }
    }

    func membersAnswer() async throws -> AdminResponse {
        let running = try running
        let (members, now) = try await storeCall { try await running.store.members(group: self.settings.group) }
        let (lease, leaseNow) = try await storeCall { try await running.store.lease(group: self.settings.group) }
        let leader = lease.holder(at: leaseNow)
        return .json(.array(members.map { member in
            [
                "name": .string(member.name), "address": .string(member.address), "last_seen": .string(Self.timestamp(member.lastSeen)),
                "last_seen_ms_ago": .number(Double((now - member.lastSeen).milliseconds)), "alive": .bool(now - member.lastSeen < settings.lease * 3),
                "leader": .bool(member.name == leader),
            ]
        }))
    }

    // MARK: Semaphores

    struct SemaphoreBody: Decodable {
        var limit: Int?
        var holder: String
        var ttl: String?
        var wait: String?
    }

    func semaphoreOnLeader(name: String, action: String, body: ByteBuffer) async throws -> AdminResponse {
        let running = try running
        let request: SemaphoreBody
        do {
            request = try JSONDecoder().decode(SemaphoreBody.self, from: Data(body.readableBytesView))
        } catch {
            throw AdminError.badRequest("the body must be JSON {\"holder\": ID, \"limit\": N, \"ttl\": \"30s\", \"wait\": \"10s\"}")
        }
        guard !request.holder.isEmpty else { throw AdminError.badRequest("holder must not be empty") }
        func duration(_ text: String?, _ fallback: Duration, _ what: String) throws -> Duration {
            guard let text else { return fallback }
            do { return try ConfigDuration.parse(text) } catch { throw AdminError.badRequest("\(what): \(error.message)") }
        }
        let ttl = try duration(request.ttl, .seconds(30), "ttl")
        guard ttl >= .milliseconds(100), ttl <= .seconds(86400) else { throw AdminError.badRequest("ttl must be between 100ms and 1d") }
        do {
            switch action {
            case "acquire":
                guard let limit = request.limit, limit > 0 else { throw AdminError.badRequest("limit must be a positive number") }
                let wait = try min(duration(request.wait, .zero, "wait"), .seconds(60))
                let outcome = try await running.member.acquire(semaphore: name, limit: limit, holder: request.holder, ttl: ttl, wait: wait)
                return try await semaphoreAnswer(outcome, name: name, ttl: ttl, running: running)
            case "refresh":
                let outcome = try await running.member.refresh(semaphore: name, holder: request.holder, ttl: ttl)
                return try await semaphoreAnswer(outcome, name: name, ttl: ttl, running: running)
            default:
                guard try await running.member.release(semaphore: name, holder: request.holder) else {
                    throw AdminError.conflict("\(request.holder) holds no slot of \(name)")
                }
                await recordHolders(name, running)
                return .json(["holder": .string(request.holder), "released": true])
            }
        } catch let refusal as MemberRefusal {
            throw AdminError.serviceUnavailable("\(refusal)")
        }
    }

    func semaphoreAnswer(_ outcome: Coordination.Semaphore.Outcome, name: String, ttl: Duration, running: Running) async throws -> AdminResponse {
        await recordHolders(name, running)
        switch outcome {
        case .granted(let slot):
            return .json(["holder": .string(slot.holder), "expires_in_ms": .number(Double(ttl.milliseconds)), "token": .number(Double(slot.token.value))])
        case .full: throw AdminError.conflict("\(name) is full")
        case .limitMismatch(let existing): throw AdminError.conflict("\(name) has limit \(existing)")
        case .notHolder: throw AdminError.conflict("no unexpired slot of \(name) for this holder")
        }
    }

    func recordHolders(_ name: String, _ running: Running) async {
        guard let current = try? await running.store.semaphore(name, group: settings.group) else { return }
        metrics.semaphoreHolders(name, current.semaphore.holders(at: current.now).count)
    }

    func semaphoreState(_ name: String) async throws -> AdminResponse {
        let running = try running
        guard let current = try await storeCall({ try await running.store.semaphore(name, group: self.settings.group) }) else {
            throw AdminError.notFound("no semaphore '\(name)'")
        }
        let (semaphore, now) = current
        return .json([
            "name": .string(name), "limit": .number(Double(semaphore.limit)),
            "holders": .array(semaphore.holders(at: now).map { slot in
                ["holder": .string(slot.holder), "expires_in_ms": .number(Double((slot.expiresAt - now).milliseconds)), "token": .number(Double(slot.token.value))]
            }),
        ])
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
