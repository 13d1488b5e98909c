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
        admin.add(.POST, "/semaphores/{name}/acquire") { [self] request in
            try await acquireThroughLeader(name: try request.parameter("name"), body: request.body)
        }
        for action in ["refresh", "release"] {
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
    /// through. 503 with no leader, or when the leader cannot be reached: sent once, as a Send or a release may not
    /// be safe to repeat (``withLeaderRetry(_:_:)`` is for the calls that are).
    func throughLeader(kind: String, path: String, body: ByteBuffer, headers: [(String, String)] = [], local: @Sendable () async throws -> AdminResponse) async throws -> AdminResponse {
        do {
            let response = try await throughLeaderOnce(kind: kind, path: path, body: body, headers: headers, local: local)
            return response
        } catch let failure as LeaderFailure {
            throw failure.error
        }
    }

    /// One attempt of ``throughLeader``; the leader's failures thrown as ``LeaderFailure``.
    func throughLeaderOnce(
        kind: String, path: String, body: ByteBuffer, headers: [(String, String)] = [], timeout: Duration = .seconds(30),
        local: @Sendable () async throws -> AdminResponse
    ) async throws -> AdminResponse {
        let running = try running
        if await running.member.held != nil { return try await local() }
        let (holder, address) = try await leaderPeer(running)
        return try await callLeader(holder, address, kind: kind, path: path, body: body, headers: headers, timeout: timeout)
    }

    /// Runs `attempt` with what remains of `retry`'s deadline until it gives a definite answer or the deadline
    /// passes (``LeaderRetry``): a leader that cannot be reached, a moment without a leader, or a leader that
    /// answers that it no longer leads, and the call goes again to the next leader, found afresh from the store's
    /// lease. Only for calls that are safe to repeat. The last failure is the answer once the deadline is over, or
    /// at once when this member is stopping.
    func withLeaderRetry(_ retry: LeaderRetry, _ attempt: (Duration) async throws -> AdminResponse) async throws -> AdminResponse {
        var attempts = 0
        while true {
            attempts += 1
            let failure: LeaderFailure
            do {
                let response = try await attempt(retry.remaining(at: .now))
                guard LeaderRetry.classify(status: Int(response.status.code), body: response.body) == .leaderGone else { return response }
                failure = .gone(LeaderRetry.errorReason(response.body) ?? "the leader no longer leads")
            } catch let caught as LeaderFailure {
                failure = caught
            }
            switch retry.decide(failure.answer, at: .now) {
            case .deliver: throw failure.error
            case .retry where isDraining:
                throw failure.error
            case .giveUp:
                if attempts > 1 { logger.info("gave up on the next leader: the deadline passed", metadata: ["attempts": "\(attempts)", "error": "\(failure.error.message)"]) }
                throw failure.error
            case .retry(let pause):
                if attempts == 1 { logger.info("the leader is gone: trying the next leader", metadata: ["error": "\(failure.error.message)"]) }
                try await Task.sleep(for: pause)
            }
        }
    }

    /// A semaphore acquire, through the leader, that outlives a leader change: while the leader is gone it is
    /// sent again to the next one for the rest of its `wait` (the original deadline, never longer), with the same
    /// holder, so that a slot the old leader granted is the slot the new one gives.
    func acquireThroughLeader(name: String, body: ByteBuffer) async throws -> AdminResponse {
        let request = try Self.semaphoreBody(body)
        let wait = try min(Self.duration(request.wait, .zero, "wait"), Self.maximumWait)
        let path = "/v1/peer/semaphores/\(Self.pathSegment(name))/acquire"
        return try await withLeaderRetry(LeaderRetry(wait: wait, from: .now)) { remaining in
            var resent = request
            resent.wait = "\(remaining.milliseconds)ms"
            let body = try ByteBuffer(bytes: JSONEncoder().encode(resent))
            return try await throughLeaderOnce(kind: "semaphore", path: path, body: body, timeout: remaining + .seconds(10)) {
                try await self.semaphoreOnLeader(name: name, action: "acquire", body: body)
            }
        }
    }

    /// The leader by the store's lease, and its peer address; ``LeaderFailure/noLeader(_:)`` when there is none
    /// or it has no address.
    func leaderPeer(_ running: Running) async throws -> (name: String, address: String) {
        // The members are read beside the lease, not after it: one round trip's wait instead of two.
        async let members = storeCall { try await running.store.members(group: self.settings.group) }
        let (lease, now) = try await storeCall { try await running.store.lease(group: self.settings.group) }
        guard let holder = lease.holder(at: now), holder != context.node.name else {
            throw LeaderFailure.noLeader("no leader in group \(settings.group)")
        }
        guard let address = try await members.members.first(where: { $0.name == holder })?.address else {
            throw LeaderFailure.noLeader("the leader \(holder) has no known peer address")
        }
        return (holder, address)
    }

    /// One call to the leader's peer listener, its answer passed through as it came.
    func callLeader(_ holder: String, _ address: String, kind: String, path: String, body: ByteBuffer, headers: [(String, String)] = [], timeout: Duration = .seconds(30)) async throws -> AdminResponse {
        let reply = try await replyFromLeader(holder, address, kind: kind, path: path, body: body, headers: headers, timeout: timeout)
        var headers = HTTPHeaders()
        if let type = reply.contentType { headers.add(name: "Content-Type", value: type) }
        if reply.replayed { headers.add(name: "Idempotent-Replayed", value: "true") }
        return AdminResponse(status: HTTPResponseStatus(statusCode: reply.status), headers: headers, body: reply.body)
    }

    /// The leader's reply; ``LeaderFailure/unreachable(_:)`` when it cannot be reached, and a 503 naming the
    /// leader's reason (its JSON `error`: no valid token, or the client certificate it refused) for its 401.
    func replyFromLeader(_ holder: String, _ address: String, kind: String, path: String, body: ByteBuffer, headers: [(String, String)] = [], timeout: Duration = .seconds(30)) async throws -> Reply {
        let reply: Reply
        do {
            reply = try await callPeer(address, kind: kind, path: path, body: body, headers: headers, timeout: timeout)
        } catch {
            throw LeaderFailure.unreachable("the leader \(holder) at \(address) cannot be reached: \(error)")
        }
        if reply.status == 401 {
            let reason = LeaderRetry.errorReason(reply.body).map { ": \($0)" } ?? ""
            throw AdminError.serviceUnavailable(reason.isEmpty ? "the leader \(holder) refused this member's peer token" : "the leader \(holder) refused this member\(reason)")
        }
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
            if await running.member.held != nil {
                do {
                    return try await putOnLeader(put)
                } catch let failure as LeaderFailure {
                    // Leadership ended under the Put: one with an Idempotency-Key goes to the next leader.
                    guard put.idempotencyKey != nil else { throw failure.error }
                }
            }
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
    ///
    /// A Put with an `Idempotency-Key` whose leader is gone (``LeaderRetry``) is sent again, with the others of
    /// its batch that may be, to the next leader until ``putRetryBound`` has passed: the key makes the resend
    /// safe (the leader that committed it answers the first write's answer). A Put without one is not resent, as
    /// it could be applied twice; its client gets the 503 and decides.
    func forwardPuts(_ puts: [PutRequest]) async -> [Result<AdminResponse, any Error>] {
        let retry = LeaderRetry(wait: putRetryBound, from: .now)
        var results = await forwardPutsOnce(puts)
        func resendable(_ index: Int) -> LeaderRetry.Answer? { LeaderRetry.resend(results[index], idempotencyKey: puts[index].idempotencyKey) }
        var pending = puts.indices.filter { resendable($0) != nil }
        while let first = pending.first, let answer = resendable(first), case .retry(let pause) = retry.decide(answer, at: .now), !isDraining {
            do { try await Task.sleep(for: pause) } catch { break }
            let again = await forwardPutsOnce(pending.map { puts[$0] })
            for (position, index) in pending.enumerated() { results[index] = again[position] }
            pending = pending.filter { resendable($0) != nil }
        }
        return results.map { result in
            if case .failure(let failure as LeaderFailure) = result { return .failure(failure.error) }
            return result
        }
    }

    /// How long a follower keeps resending a keyed Put whose leader is gone: two leases (a killed leader's term
    /// runs out, and the next takes the lease), at least 3 s, at most the forwarded call's 30 s.
    var putRetryBound: Duration { min(max(settings.lease * 2, .seconds(3)), .seconds(30)) }

    /// One attempt of ``forwardPuts(_:)``; the leader's failures as ``LeaderFailure``.
    func forwardPutsOnce(_ puts: [PutRequest]) async -> [Result<AdminResponse, any Error>] {
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
            throw refusal.failure
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
            throw refusal.failure
        }
        return outcomes.map { outcome in
            if case .failure(let refusal) = outcome, refusal.endsLeadership {
                metrics.put(result: "failed")
                return Self.reply(LeaderRetry.leaderGoneResponse("\(refusal)"))
            }
            switch leaderAnswer(outcome) {
            case .success(let response): return Self.reply(response)
            case .failure(let error): return Self.reply(.json(["error": .string(error.message)], status: error.status))
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

    struct SemaphoreBody: Codable {
        var limit: Int?
        var holder: String
        var ttl: String?
        var wait: String?
    }

    /// The longest `wait` of an acquire.
    static let maximumWait: Duration = .seconds(60)

    static func semaphoreBody(_ body: ByteBuffer) throws -> SemaphoreBody {
        let request: SemaphoreBody
        do {
            request = try JSONDecoder().decode(SemaphoreBody.self, from: Data(body.readableBytesView))
        } catch {
            throw AdminError.badRequest("the body must be JSON {\"holder\": ID, \"limit\": N, \"ttl\": \"30s\", \"wait\": \"10s\"}")
        }
        guard !request.holder.isEmpty else { throw AdminError.badRequest("holder must not be empty") }
        return request
    }

    static func duration(_ text: String?, _ fallback: Duration, _ what: String) throws -> Duration {
        guard let text else { return fallback }
        do { return try ConfigDuration.parse(text) } catch { throw AdminError.badRequest("\(what): \(error.message)") }
    }

    /// The leader's side of a semaphore call; ``LeaderFailure/gone(_:)`` when its leadership ends before the
    /// call is served (a queued acquire when the leader steps down or stops), for the member the call came
    /// through to send it to the next leader.
    func semaphoreOnLeader(name: String, action: String, body: ByteBuffer) async throws -> AdminResponse {
        let running = try running
        let request = try Self.semaphoreBody(body)
        let duration = Self.duration
        let ttl = try duration(request.ttl, .seconds(30), "ttl")
        guard ttl >= .milliseconds(100), ttl <= .seconds(86400) else { throw AdminError.badRequest("ttl must be between 100ms and 1d") }
        do {
            switch action {
            case "acquire":
                guard let limit = request.limit, limit > 0 else { throw AdminError.badRequest("limit must be a positive number") }
                let wait = try min(duration(request.wait, .zero, "wait"), Self.maximumWait)
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
            throw refusal.failure
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

extension MemberRefusal {
    /// The member is no longer leader, or is stopping: the call may go to the next leader.
    var endsLeadership: Bool { self == .notLeader || self == .stopping }

    /// What the adapter throws for this refusal: ``LeaderFailure/gone(_:)`` when leadership ended, a 503 else.
    var failure: any Error {
        endsLeadership ? LeaderFailure.gone("\(self)") : AdminError.serviceUnavailable("\(self)")
    }
}
