import Coordination
import Plugins

/// A follower's Puts on their way to the leader: those that arrive while a batch is on its way go together in the
/// next (``PutBatch`` with two batches under way, at most ``maximumBytes`` of keys and values each), so that one
/// peer request and one lookup of the leader carry many Puts. `send` answers each Put of a batch, in order: the
/// response its client gets, or the error that refuses it.
actor PutForwarder {
    /// Keys, values and idempotency keys of one batch: the peer listener's 1 MiB body limit less room for the
    /// batch's framing (``ForwardedPuts``, 14 bytes a Put, at most 256 Puts).
    static let maximumBytes = (1 << 20) - (16 << 10)

    private var batch = PutBatch<CheckedContinuation<AdminResponse, any Error>>(maximumSize: 256, maximumBytes: maximumBytes, maximumInFlight: 2)
    private let send: @Sendable ([PutRequest]) async -> [Result<AdminResponse, any Error>]

    init(send: @escaping @Sendable ([PutRequest]) async -> [Result<AdminResponse, any Error>]) {
        self.send = send
    }

    func forward(_ request: PutRequest) async throws -> AdminResponse {
        try await withCheckedThrowingContinuation { continuation in
            guard let first = batch.enqueue(request, continuation) else { return }
            Task { await self.run(first) }
        }
    }

    private func run(_ first: [PutBatch<CheckedContinuation<AdminResponse, any Error>>.Entry]) async {
        var next: [PutBatch<CheckedContinuation<AdminResponse, any Error>>.Entry]? = first
        while let current = next {
            let results = await send(current.map(\.request))
            for (index, entry) in current.enumerated() {
                entry.waiter.resume(with: index < results.count ? results[index] : .failure(AdminError.serviceUnavailable("the leader did not answer this Put")))
            }
            next = batch.committed()
        }
    }
}
