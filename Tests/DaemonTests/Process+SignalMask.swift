import Foundation
import Synchronization

extension Process {
    /// Starts the process with no signal blocked, as systemd or a shell starts it.
    ///
    /// Foundation's `Process` hands the child the signal mask of the thread that calls `run()`
    /// (swift-corelibs-foundation#4772), and Swift Testing runs tests on libdispatch's worker threads, which block
    /// nearly every signal. A child started from one would ignore SIGTERM and SIGHUP: Python's http.server would
    /// outlive its `terminate()`, and the daemon would be tested with a mask it never has in production. So the
    /// child is started from a thread of its own that unblocks every signal first.
    func runUnmasked() throws {
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            outcome.withLock { $0 = Result { try run() } }
            started.signal()
        }
        thread.start()
        started.wait()
        try outcome.withLock { $0! }.get()
    }
}
