/// The last `Host` value found valid on a connection, kept so that the next request naming the
/// same host, as nearly every request on a kept-alive connection does, is not checked again:
/// the check reads the value a byte at a time, the comparison four words at most.
///
/// Values of up to 32 bytes are kept, in the words themselves, so no memory is held or
/// allocated; longer ones are checked every time.
struct CheckedHost {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// How many bytes are kept; 0 when none are.
    private var count = 0

    /// Whether `value` is a valid `Host` (see ``HTTP1Syntax/isValidHost(_:)``), remembering it
    /// when it is and fits.
    mutating func isValid(_ value: UnsafeRawBufferPointer) -> Bool {
        if count > 0, value.count == count, Self.words(of: value) == words {
            return true
        }
        guard HTTP1Syntax.isValidHost(value) else { return false }
        if value.count <= 32, value.count > 0 {
            words = Self.words(of: value)
            count = value.count
        }
        return true
    }

    /// The bytes of `value` (at most 32), zero-padded into four words.
    private static func words(of value: UnsafeRawBufferPointer) -> (UInt64, UInt64, UInt64, UInt64) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { storage in
            storage.copyMemory(from: UnsafeRawBufferPointer(rebasing: value[0..<min(value.count, 32)]))
        }
        return words
    }
}
