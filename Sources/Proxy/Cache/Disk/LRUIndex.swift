/// Which stored objects were used least recently, and how many bytes all of them take: the
/// disk store's index, from which it evicts to stay under its size (nginx's `max_size`).
///
/// A doubly linked list threaded through a dictionary: touching, inserting, removing and
/// taking the least recently used object are O(1).
public struct LRUIndex<Key: Hashable & Sendable>: Sendable {
    private struct Node: Sendable {
        var size: Int
        var older: Key?
        var newer: Key?
    }

    private var nodes: [Key: Node] = [:]
    private var oldest: Key?
    private var newest: Key?
    public private(set) var totalSize = 0

    public init() {}

    public var count: Int { nodes.count }

    public func size(of key: Key) -> Int? { nodes[key]?.size }

    /// Records `key` with `size` bytes as the most recently used, replacing any earlier record.
    public mutating func insert(_ key: Key, size: Int) {
        remove(key)
        nodes[key] = Node(size: size, older: newest, newer: nil)
        if let newest { nodes[newest]?.newer = key }
        newest = key
        if oldest == nil { oldest = key }
        totalSize += size
    }

    /// Makes `key` the most recently used; whether it is recorded.
    @discardableResult
    public mutating func touch(_ key: Key) -> Bool {
        // The most recent already (a hot object hit again): nothing moves.
        if newest == key { return true }
        guard let size = nodes[key]?.size else { return false }
        insert(key, size: size)
        return true
    }

    @discardableResult
    public mutating func remove(_ key: Key) -> Int? {
        guard let node = nodes.removeValue(forKey: key) else { return nil }
        if let older = node.older { nodes[older]?.newer = node.newer } else { oldest = node.newer }
        if let newer = node.newer { nodes[newer]?.older = node.older } else { newest = node.older }
        totalSize -= node.size
        return node.size
    }

    /// Removes and answers the least recently used key.
    public mutating func removeOldest() -> (key: Key, size: Int)? {
        guard let oldest, let size = remove(oldest) else { return nil }
        return (oldest, size)
    }

    /// The keys to evict, oldest first, so that `incoming` more bytes fit under `limit`.
    public mutating func evict(toFit incoming: Int, under limit: Int) -> [Key] {
        var evicted: [Key] = []
        while totalSize + incoming > limit, let (key, _) = removeOldest() {
            evicted.append(key)
        }
        return evicted
    }

    /// The keys from least to most recently used.
    public var keysOldestFirst: [Key] {
        var keys: [Key] = []
        var cursor = oldest
        while let key = cursor {
            keys.append(key)
            cursor = nodes[key]?.newer
        }
        return keys
    }
}
