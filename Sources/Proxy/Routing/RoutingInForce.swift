import Atomics
import NIOConcurrencyHelpers

/// The routing table new requests on a set of listeners use: the proxy's own table for its configured listeners,
/// or, for a listener with its own ``ProxyConfiguration/VirtualHosts``, that table with the listener's routes.
///
/// A request that finds the table its connection's previous request used still in force learns so from one atomic
/// load, without taking the lock every event loop shares (``routing(after:)``).
final class RoutingInForce: Sendable {
    private let current: NIOLockedValueBox<Routing>
    /// Which table is in force, by identity.
    private let currentIdentity: ManagedAtomic<Int>

    init(_ routing: Routing) {
        current = NIOLockedValueBox(routing)
        currentIdentity = ManagedAtomic(Self.identity(of: routing))
    }

    /// The routing table for a new request.
    var routing: Routing {
        current.withLockedValue { $0 }
    }

    /// The routing table for a new request on a connection whose last request used `last`.
    ///
    /// The identities compared are of live tables: `last` is held by the caller and the table in force by this
    /// value, so equal identities are the same table.
    func routing(after last: Routing) -> Routing {
        if currentIdentity.load(ordering: .acquiring) == Self.identity(of: last) {
            return last
        }
        return routing
    }

    func install(_ routing: Routing) {
        current.withLockedValue {
            $0 = routing
            currentIdentity.store(Self.identity(of: routing), ordering: .releasing)
        }
    }

    private static func identity(of routing: Routing) -> Int {
        Int(bitPattern: ObjectIdentifier(routing))
    }
}
