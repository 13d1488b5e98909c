import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// A response served from the store (or made by the cache: a `304`, `416` or `504`): its
/// head, and its body read from the store part by part as the client takes it.
///
/// A body never read (a `HEAD`, a client gone) is released when the value goes.
final class StoredEntry: StoredResponse {
    private struct State {
        var head: HTTPResponseHead
        var object: CacheStoreObject?
        var range: (offset: Int, length: Int)?
        var reader: (any CacheBodyReader)?
        var servesOnError = false
        var finished = false
    }

    private let cache: HTTPCache?
    private let state: NIOLockedValueBox<State>

    init(cache: HTTPCache?, head: HTTPResponseHead, object: CacheStoreObject?, range: (offset: Int, length: Int)?) {
        self.cache = cache
        self.state = NIOLockedValueBox(State(head: head, object: object, range: range))
    }

    var head: HTTPResponseHead { state.withLockedValue { $0.head } }

    var servesOnError: Bool {
        get { state.withLockedValue { $0.servesOnError } }
        set { state.withLockedValue { $0.servesOnError = newValue } }
    }

    /// Replaces the head before it is served (a revalidation's outcome).
    func update(_ change: (inout HTTPResponseHead) -> Void) {
        state.withLockedValue { change(&$0.head) }
    }

    func nextBodyPart(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?> {
        let reader: (any CacheBodyReader)? = state.withLockedValue { state in
            if state.finished { return nil }
            if let reader = state.reader { return reader }
            guard let object = state.object, let range = state.range else { return nil }
            state.object = nil
            let reader = object.readBody(range.offset, range.length)
            state.reader = reader
            return reader
        }
        guard let reader else { return eventLoop.makeSucceededFuture(nil) }
        // The reader's own future, watched rather than chained: a hit makes two fewer futures per part. The
        // watch runs before the caller's callbacks, which are added after it.
        let next = reader.next(on: eventLoop)
        next.whenComplete { [cache, state] result in
            switch result {
            case .success(let part?): cache?.metrics.served(bytes: part.readableBytes)
            case .success(nil): state.withLockedValue { $0.finished = true; $0.reader = nil }
            case .failure(let error): cache?.storeFault(error, doing: "read")
            }
        }
        return next
    }

    /// A body held in memory is handed over whole: no read, no future.
    func takeBodyAtHand() -> ByteBuffer? {
        let taken: (CacheStoreObject, ByteBuffer)? = state.withLockedValue { state in
            guard !state.finished, state.reader == nil, let held = state.object?.heldBody, let range = state.range,
                let body = held.getSlice(at: held.readerIndex + range.offset, length: range.length),
                let object = state.object.take()
            else { return nil }
            state.finished = true
            return (object, body)
        }
        guard let (object, body) = taken else { return nil }
        object.release()
        cache?.metrics.served(bytes: body.readableBytes)
        return body
    }

    deinit {
        let (object, reader) = state.withLockedValue { ($0.object, $0.reader) }
        object?.release()
        reader?.cancel()
    }
}
