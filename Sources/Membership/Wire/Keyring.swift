import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// memberlist's keyring and its AES-GCM packet encryption (memberlist `keyring.go`, `security.go`).
///
/// The first key is the primary: it encrypts everything sent; every key of the ring is tried to decrypt what
/// arrives. Keys are 16, 24 or 32 bytes (AES-128/192/256; `ValidateKey`). Rotation is add, then make primary
/// (`UseKey`), then remove the old one (`RemoveKey`, which refuses the primary key), so that every member can
/// read every other member's packets at each step.
///
/// An encrypted payload is `version (1) | nonce (12) | ciphertext | tag (16)` (`encryptPayload`). Version 0
/// PKCS#7-pads the plaintext to the 16-byte block first; version 1, spoken by every member at protocol version
/// 2 or later (`net.go`, `encryptionVersion`), does not pad. The authenticated data is the packet label for
/// packets and, on streams, the five header bytes (`encryptMsg` and the length) followed by the stream label.
public struct Keyring: Sendable, Equatable {
    /// memberlist `security.go`, `encryptionVersion`.
    public enum Version: UInt8, Sendable {
        case paddedV0 = 0
        case v1 = 1
    }

    static let nonceSize = 12
    static let tagSize = 16
    static let blockSize = 16

    /// The keys, primary first.
    public private(set) var keys: [[UInt8]]

    public var primaryKey: [UInt8] { keys[0] }

    /// A ring of `keys`, the first the primary; at least one key.
    public init(keys: [[UInt8]]) throws(WireError) {
        guard !keys.isEmpty else { throw .malformed("a keyring needs at least one key") }
        for key in keys { try Self.validate(key) }
        var unique: [[UInt8]] = []
        for key in keys where !unique.contains(key) { unique.append(key) }
        self.keys = unique
    }

    /// memberlist `keyring.go`, `ValidateKey`.
    public static func validate(_ key: [UInt8]) throws(WireError) {
        guard [16, 24, 32].contains(key.count) else { throw .invalidKeyLength(key.count) }
    }

    /// Reads a key as `serf keygen` prints it and `-encrypt` takes it: standard base64 of 16, 24 or 32 bytes.
    public static func decodeKey(base64 text: String) throws(WireError) -> [UInt8] {
        let trimmed = String(text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
        guard let data = Data(base64Encoded: trimmed) else {
            throw .malformed("key is not valid base64")
        }
        let key = [UInt8](data)
        try validate(key)
        return key
    }

    /// A new random 32-byte key in base64, as `serf keygen` makes one (serf `cmd/serf/command/keygen.go`).
    public static func generateKey() -> String {
        let key = SymmetricKey(size: .bits256)
        return key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Parses serf's keyring file: a JSON array of base64 keys, the first the primary (serf
    /// `cmd/serf/command/agent/agent.go`, `loadKeyringFile`; an empty array is an error there too).
    public static func parseKeyringFile(_ contents: [UInt8]) throws(WireError) -> Keyring {
        let texts: [String]
        do {
            texts = try JSONDecoder().decode([String].self, from: Data(contents))
        } catch {
            throw .malformed("keyring file is not a JSON array of base64 strings")
        }
        guard !texts.isEmpty else { throw .malformed("keyring file contains no keys") }
        var keys: [[UInt8]] = []
        for (index, text) in texts.enumerated() {
            do { keys.append(try decodeKey(base64: text)) } catch { throw .malformed("keyring file key \(index + 1): \(error)") }
        }
        return try Keyring(keys: keys)
    }

    /// The file form of the ring (the inverse of ``parseKeyringFile(_:)``).
    public var keyringFile: [UInt8] {
        let quoted = keys.map { "\"\(Data($0).base64EncodedString())\"" }
        return Array("[\(quoted.joined(separator: ","))]".utf8)
    }

    // MARK: Rotation (memberlist keyring.go)

    /// Installs `key` as a secondary key (`AddKey`); adding a key already there changes nothing.
    public mutating func add(_ key: [UInt8]) throws(WireError) {
        try Self.validate(key)
        if !keys.contains(key) { keys.append(key) }
    }

    /// Makes an installed key the primary (`UseKey`).
    public mutating func use(_ key: [UInt8]) throws(WireError) {
        guard let index = keys.firstIndex(of: key) else { throw .malformed("the requested key is not in the keyring") }
        keys.remove(at: index)
        keys.insert(key, at: 0)
    }

    /// Removes a secondary key (`RemoveKey`: the primary cannot be removed).
    public mutating func remove(_ key: [UInt8]) throws(WireError) {
        guard key != primaryKey else { throw .malformed("removing the primary key is not allowed") }
        keys.removeAll { $0 == key }
    }

    // MARK: Encryption (memberlist security.go)

    /// The length of an encrypted payload for `count` bytes of plaintext (`encryptedLength`).
    public static func encryptedLength(_ version: Version, plaintext count: Int) -> Int {
        switch version {
        case .v1: 1 + nonceSize + count + tagSize
        case .paddedV0: 1 + nonceSize + count + (blockSize - count % blockSize) + tagSize
        }
    }

    /// Encrypts with the primary key. `nonce` is random unless given (tests pass one to compare bytes).
    public func encrypt(
        _ plaintext: [UInt8], version: Version = .v1, authenticatedData: [UInt8] = [], nonce: [UInt8]? = nil
    ) -> [UInt8] {
        var message = plaintext
        if version == .paddedV0 {
            let padding = Self.blockSize - plaintext.count % Self.blockSize
            message.append(contentsOf: repeatElement(UInt8(padding), count: padding))
        }
        let gcmNonce = nonce.flatMap { try? AES.GCM.Nonce(data: $0) } ?? AES.GCM.Nonce()
        // Sealing with a valid key (checked at init) and a 12-byte nonce cannot fail.
        guard let sealed = try? AES.GCM.seal(
            message, using: SymmetricKey(data: primaryKey), nonce: gcmNonce, authenticating: authenticatedData)
        else { preconditionFailure("AES-GCM refused a validated key") }
        var output: [UInt8] = [version.rawValue]
        output.reserveCapacity(Self.encryptedLength(version, plaintext: plaintext.count))
        output.append(contentsOf: sealed.nonce.withUnsafeBytes { Array($0) })
        output.append(contentsOf: sealed.ciphertext)
        output.append(contentsOf: sealed.tag)
        return output
    }

    /// Decrypts with each key in turn (`decryptPayload`); fails when no key opens it, the version is unknown,
    /// the payload is shorter than the smallest encryption of that version, or version 0's padding is invalid.
    public func decrypt(_ payload: [UInt8], authenticatedData: [UInt8] = []) throws(WireError) -> [UInt8] {
        guard let first = payload.first else { throw .decryptionFailed("cannot decrypt an empty payload") }
        guard let version = Version(rawValue: first) else {
            throw .decryptionFailed("unsupported encryption version \(first)")
        }
        guard payload.count >= Self.encryptedLength(version, plaintext: 0) else {
            throw .decryptionFailed("payload of \(payload.count) bytes is too small to decrypt")
        }
        let nonceEnd = 1 + Self.nonceSize
        let tagStart = payload.count - Self.tagSize
        guard let nonce = try? AES.GCM.Nonce(data: payload[1..<nonceEnd]),
            let box = try? AES.GCM.SealedBox(
                nonce: nonce, ciphertext: payload[nonceEnd..<tagStart], tag: payload[tagStart...])
        else { throw .decryptionFailed("malformed AES-GCM payload") }
        for key in keys {
            guard let plain = try? AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: authenticatedData)
            else { continue }
            var plaintext = [UInt8](plain)
            if version == .paddedV0 {
                // Go's pkcs7decode trusts the last byte; a value past the start would panic there.
                guard let padding = plaintext.last.map(Int.init), padding >= 1, padding <= plaintext.count else {
                    throw .decryptionFailed("invalid PKCS#7 padding")
                }
                plaintext.removeLast(padding)
            }
            return plaintext
        }
        throw .decryptionFailed("no installed key could decrypt the message")
    }
}
