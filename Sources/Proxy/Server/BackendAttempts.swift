/// The backends one request has tried, under the rules of a retry (the exchange's, ``ExchangeStateMachine``, and a
/// background revalidation's, ``BackgroundRevalidation``): a backend that failed before a response byte is not
/// chosen again; a pooled connection the backend had closed while idle (RFC 9112 9.3.1 lets a server close an idle
/// connection at any time) says nothing of the backend, so it stays a candidate and the attempt does not count.
/// Each such failure uses up one pooled connection, so this cannot go on for ever.
struct BackendAttempts {
    /// Backends that failed, never chosen again.
    private(set) var tried: [Backend] = []
    /// Attempts counted so far, the first included.
    private(set) var count = 0

    /// A new request: nothing tried yet.
    mutating func reset() {
        if !tried.isEmpty { tried.removeAll() }
        count = 0
    }

    /// An attempt begins.
    mutating func begin() {
        count += 1
    }

    /// The attempt at `backend` failed before a response byte; `closedWhileIdle` when its pooled connection had been
    /// closed by the backend.
    mutating func failed(_ backend: Backend, closedWhileIdle: Bool) {
        if closedWhileIdle {
            count -= 1
        } else {
            tried.append(backend)
        }
    }

    /// Whether another attempt may be made, with `retries` allowed after the first.
    func allowsAnother(retries: Int) -> Bool {
        count <= retries
    }
}
