import Logging
import NIOCore
import NIOSSL

/// Runs the ``HealthCheckSchedule`` on one event loop: probes backends when due and publishes
/// every transition to the backend's online flag, metrics and statistics.
final class HealthChecker: Sendable {
    /// What to check for one backend.
    struct Target: Sendable {
        var backend: Backend
        var path: String
        var port: Int
    }

    /// Settings shared by every check.
    struct Settings: Sendable {
        var interval: TimeAmount
        var timeout: TimeAmount
        var optimistic: Bool
        var tlsContext: NIOSSLContext?
    }

    let eventLoop: any EventLoop
    private let state: NIOLoopBoundBox<LoopState>

    init(eventLoop: any EventLoop, logger: Logger) {
        self.eventLoop = eventLoop
        self.state = .makeBoxSendingValue(LoopState(eventLoop: eventLoop, logger: logger), eventLoop: eventLoop)
    }

    /// Sets the backends and settings; backends already known keep their state.
    func configure(targets: [Target], settings: Settings) -> EventLoopFuture<Void> {
        eventLoop.submit { [state] in
            state.value.configure(targets: targets, settings: settings)
        }
    }

    /// A transport error while proxying to the backend `key`.
    func proxyFailed(_ key: BackendKey) {
        eventLoop.execute { [state] in
            state.value.proxyFailed(key)
        }
    }

    /// Completes once every backend in `keys` has been checked at least once, or after `limit`.
    func firstChecks(of keys: [BackendKey], limit: TimeAmount) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { [state] in
            state.value.firstChecks(of: Set(keys), limit: limit)
        }
    }

    func stop() -> EventLoopFuture<Void> {
        eventLoop.submit { [state] in
            state.value.stop()
        }
    }
}

extension HealthChecker {
    /// The checker's mutable state, only touched on its event loop.
    fileprivate final class LoopState {
        let eventLoop: any EventLoop
        let logger: Logger
        var schedule: HealthCheckSchedule<BackendKey>?
        var targets: [BackendKey: Target] = [:]
        var settings = Settings(interval: .seconds(5), timeout: .seconds(10), optimistic: false, tlsContext: nil)
        var timer: Scheduled<Void>?
        var generator = SplitMix64()
        var stopped = false
        /// Backends with at least one completed check.
        var checkedOnce: Set<BackendKey> = []
        var firstCheckWaiters: [(keys: Set<BackendKey>, promise: EventLoopPromise<Void>)] = []

        init(eventLoop: any EventLoop, logger: Logger) {
            self.eventLoop = eventLoop
            self.logger = logger
        }

        func configure(targets: [Target], settings: Settings) {
            guard !stopped else { return }
            let now = NIODeadline.now()
            self.settings = settings
            self.targets = Dictionary(targets.map { ($0.backend.key, $0) }, uniquingKeysWith: { _, last in last })
            let keys = targets.map(\.backend.key)
            // Backends no longer checked are forgotten, so churn does not grow this.
            checkedOnce.formIntersection(keys)
            if schedule == nil {
                schedule = HealthCheckSchedule(keys: keys, interval: settings.interval, optimistic: settings.optimistic, now: now)
            } else {
                schedule!.reconfigure(keys: keys, interval: settings.interval, optimistic: settings.optimistic, now: now)
            }
            tick()
        }

        func proxyFailed(_ key: BackendKey) {
            guard !stopped, let transition = schedule?.proxyFailed(key, now: .now(), using: &generator) else { return }
            apply(transition)
            arm()
        }

        func firstChecks(of keys: Set<BackendKey>, limit: TimeAmount) -> EventLoopFuture<Void> {
            guard !stopped, !keys.isSubset(of: checkedOnce) else { return eventLoop.makeSucceededVoidFuture() }
            let promise = eventLoop.makePromise(of: Void.self)
            firstCheckWaiters.append((keys, promise))
            let deadline = eventLoop.scheduleTask(in: limit) { promise.succeed() }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
            return promise.futureResult
        }

        func stop() {
            stopped = true
            timer?.cancel()
            timer = nil
            for waiter in firstCheckWaiters { waiter.promise.succeed() }
            firstCheckWaiters = []
        }

        private func tick() {
            guard !stopped, schedule != nil else { return }
            let due = schedule!.dueChecks(now: .now())
            for key in due {
                guard let target = targets[key] else { continue }
                let probe = HealthProbe(
                    endpoint: target.backend.endpoint,
                    path: target.path,
                    port: target.port,
                    timeout: settings.timeout,
                    tlsContext: settings.tlsContext
                )
                probe.run(on: eventLoop).assumeIsolated().whenSuccess { healthy in
                    self.completed(key, healthy: healthy)
                }
            }
            arm()
        }

        private func completed(_ key: BackendKey, healthy: Bool) {
            guard !stopped, schedule != nil else { return }
            if !healthy {
                targets[key]?.backend.metrics.healthCheckFailures.increment()
            }
            checkedOnce.insert(key)
            if let transition = schedule!.checkCompleted(key, healthy: healthy, now: .now(), using: &generator) {
                apply(transition)
            } else if healthy, let backend = targets[key]?.backend, !backend.isOnline {
                // Taken offline by the data path before the failure reached the schedule.
                backend.setOnline(true, now: .now())
            }
            let ready = firstCheckWaiters.filter { $0.keys.isSubset(of: checkedOnce) }
            firstCheckWaiters.removeAll { $0.keys.isSubset(of: checkedOnce) }
            for waiter in ready { waiter.promise.succeed() }
            arm()
        }

        private func apply(_ transition: HealthCheckSchedule<BackendKey>.Transition) {
            guard let backend = targets[transition.key]?.backend else { return }
            let online = transition.status == .up
            backend.setOnline(online, now: .now())
            logger.info(
                online ? "backend online" : "backend offline",
                metadata: ["site": "\(backend.siteName)", "backend": "\(backend.endpoint)"]
            )
        }

        private func arm() {
            timer?.cancel()
            timer = nil
            guard !stopped, let deadline = schedule?.nextDeadline else { return }
            timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
                self?.tick()
            }
        }
    }
}
