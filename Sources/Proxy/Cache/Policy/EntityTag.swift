/// Entity-tag comparison (RFC 9110 8.8.3.2).
public enum EntityTag {
    /// Weak comparison: the opaque tags are the same, whether either is weak (`W/`).
    public static func weakMatch(_ a: String, _ b: String) -> Bool {
        opaque(a) == opaque(b)
    }

    /// Strong comparison: neither is weak and the opaque tags are the same.
    public static func strongMatch(_ a: String, _ b: String) -> Bool {
        let a = a.trimmingASCIISpaces()
        let b = b.trimmingASCIISpaces()
        return !a.hasPrefix("W/") && !b.hasPrefix("W/") && a == b
    }

    private static func opaque(_ tag: String) -> Substring {
        let tag = tag.trimmingASCIISpaces()
        return tag.hasPrefix("W/") ? tag.dropFirst(2) : tag
    }
}
