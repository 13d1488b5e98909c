import Synchronization

/// Keeps a load balancer's generated file in step with the cluster: `debounce` after the first change of a burst of
/// membership changes, it renders the applications announced then and applies the text (``LoadBalancerFile/apply(_:)``), so churn costs one rewrite and one reload, not one per change.
public final class LoadBalancerGenerator: Sendable {
    public let configuration: LoadBalancerConfiguration
    public let file: LoadBalancerFile
    public let debounce: Duration
    private let last = Mutex<LoadBalancerFile.Outcome?>(nil)
    private let seen: Mutex<[RoutedApplication]>

    /// `known`: the applications a generator before this one had written (``known``), so that a new generator (a
    /// reload of the configuration) keeps answering for those no member announces any more.
    public init(configuration: LoadBalancerConfiguration, file: LoadBalancerFile, debounce: Duration, known: [RoutedApplication] = []) {
        self.configuration = configuration
        self.file = file
        self.debounce = debounce
        self.seen = Mutex(known)
    }

    /// Every application rendered so far, those no member announces any more with no endpoints
    /// (``RoutedApplication/keeping(_:in:)``): they stay in the file, answering 503, while this process runs.
    public var known: [RoutedApplication] { seen.withLock { $0 } }

    /// What the last rewrite did; nil before the first.
    public var lastOutcome: LoadBalancerFile.Outcome? { last.withLock { $0 } }

    /// Follows `view` until the task is cancelled or the view finishes; `report` hears every outcome but
    /// ``LoadBalancerFile/Outcome/unchanged``.
    public func run(following view: any MembershipView, report: @Sendable (LoadBalancerFile.Outcome) -> Void) async {
        for await _ in view.snapshots() {
            do { try await Task.sleep(for: debounce) } catch { return }
            let applications = seen.withLock { seen in
                seen = RoutedApplication.keeping(seen, in: view.snapshot.routedApplications)
                return seen
            }
            let outcome = await file.apply(configuration.render(applications))
            if outcome != .unchanged {
                last.withLock { $0 = outcome }
                report(outcome)
            }
        }
    }
}
