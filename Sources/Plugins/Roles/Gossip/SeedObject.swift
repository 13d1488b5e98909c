import Foundation
import Membership
import NIOCore
import ObjectStore

/// The seed document in one S3 object, through the shared ``S3Client``: read by joining members, and published to
/// by load balancers as a conditional read-modify-write.
///
/// scrimplb's S3 provider overwrites the object with its own address, so two load balancers publishing at once
/// keep only one (the "publish races"). Here each write keeps the other entries and is conditional on
/// the version read (`If-Match` with its ETag, `If-None-Match: *` when there was none); a 412 (or S3's 409 for a
/// concurrent conditional write) means someone else wrote in between, so the document is read again and merged
/// again; a transient failure (S3's 500 or 503, a timeout) is tried again after a short pause, as the AWS SDKs do.
/// The write is then read back: on a store that ignores the conditions, or does not apply them
/// atomically, a lost entry is noticed and written again rather than left out until the next period.
final class SeedObject: Sendable {
    let seeds: S3Seeds
    let client: S3Client

    /// Read-modify-write rounds before a publish gives up until its next period.
    static let maximumAttempts = 8

    /// The pause before the round after a transient S3 failure (``S3Error/isTransient``), growing with each one.
    static let transientPause = Duration.milliseconds(100)

    /// Whether a round that failed transiently is followed by another: while rounds are left, after a pause that a
    /// cancelled task (a leave's bounded withdraw) does not wait out.
    private static func pausesForAnotherRound(after round: Int, transientFailures: inout Int) async -> Bool {
        guard round + 1 < maximumAttempts else { return false }
        transientFailures += 1
        do {
            try await Task.sleep(for: transientPause * transientFailures)
            return true
        } catch {
            return false
        }
    }

    init(_ seeds: S3Seeds, eventLoopGroup: any EventLoopGroup) throws(S3Error) {
        self.seeds = seeds
        let configuration = S3Configuration(
            endpoint: try S3Endpoint(seeds.endpoint), region: seeds.region,
            credentials: SigV4Credentials(accessKeyID: seeds.accessKey, secretAccessKey: seeds.secretKey), caFile: seeds.ca,
            connectTimeout: .seconds(5), requestTimeout: .seconds(10), readTimeout: .seconds(10), maximumConnections: 2)
        client = try S3Client(configuration: configuration, eventLoopGroup: eventLoopGroup)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    struct ReadFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The document and its ETag; an absent object is an empty list with no ETag.
    func read() async throws -> (list: SeedList, etag: String?) {
        guard let object = try await client.getObject(bucket: seeds.bucket, key: seeds.key) else { return (SeedList(), nil) }
        guard object.partLength <= SeedList.maximumSize else {
            throw ReadFailure(description: "s3://\(seeds.bucket)/\(seeds.key) is \(object.partLength) bytes, over \(SeedList.maximumSize)")
        }
        let body = try await object.collect(upTo: SeedList.maximumSize)
        do {
            return (try SeedList.decode(Array(buffer: body)), object.head.etag)
        } catch {
            throw ReadFailure(description: "s3://\(seeds.bucket)/\(seeds.key): \(error)")
        }
    }

    enum PublishOutcome: Equatable {
        /// Written and read back with this member's entry, after `conflicts` writes that lost a race.
        case published(conflicts: Int)
        case failed(String, conflicts: Int)
    }

    /// PUT `list` only while the object is still the version `etag` names (absent for nil); the reason when
    /// another write came first.
    private func write(_ list: SeedList, replacing etag: String?) async throws -> String? {
        let body = ByteBuffer(bytes: list.encoded())
        let failure: S3Error
        do {
            try await client.putObject(
                bucket: seeds.bucket, key: seeds.key, bytes: body, contentType: "application/json",
                ifMatch: etag, ifNoneMatch: etag == nil ? "*" : nil)
            return nil
        } catch {
            failure = error
        }
        guard failure.status == 412 || failure.status == 409 else { throw failure }
        return failure.description
    }

    /// Writes this member's entry (`address`:`port`, at `now`) into the document, keeping every other publisher's
    /// current entry.
    func publish(address: String, port: Int, now: @Sendable () -> Int64) async -> PublishOutcome {
        let maximumAge = seeds.maximumAge.components.seconds
        var conflicts = 0
        var transientFailures = 0
        var lastProblem = "no attempt"
        for round in 0..<Self.maximumAttempts {
            do {
                let (list, etag) = try await read()
                let merged = list.publishing(address: address, port: port, now: now(), maximumAge: maximumAge)
                if let conflict = try await write(merged, replacing: etag) {
                    conflicts += 1
                    lastProblem = conflict
                    continue
                }
                let (written, _) = try await read()
                if written.contains(address: address, port: port) { return .published(conflicts: conflicts) }
                conflicts += 1
                lastProblem = "the entry was overwritten by a concurrent write"
            } catch {
                guard (error as? S3Error)?.isTransient == true else { return .failed("\(error)", conflicts: conflicts) }
                lastProblem = "\(error)"
                guard await Self.pausesForAnotherRound(after: round, transientFailures: &transientFailures) else { break }
            }
        }
        return .failed("gave up after \(Self.maximumAttempts) attempts: \(lastProblem)", conflicts: conflicts)
    }

    enum WithdrawOutcome: Equatable {
        /// The entry was taken out (or was not there), after `conflicts` writes that lost a race.
        case withdrawn(conflicts: Int)
        case failed(String, conflicts: Int)
    }

    /// Takes this member's entry out of the document, keeping every other entry, with the same conditional
    /// read-modify-write as ``publish(address:port:now:)``: a graceful leave removes the address at once instead of
    /// leaving it to age out. An absent object, or one without the entry, is left as it is (nothing is written).
    func withdraw(address: String, port: Int) async -> WithdrawOutcome {
        var conflicts = 0
        var transientFailures = 0
        var lastProblem = "no attempt"
        for round in 0..<Self.maximumAttempts {
            do {
                let (list, etag) = try await read()
                guard let etag, list.contains(address: address, port: port) else { return .withdrawn(conflicts: conflicts) }
                if let conflict = try await write(list.withdrawing(address: address, port: port), replacing: etag) {
                    conflicts += 1
                    lastProblem = conflict
                    continue
                }
                let (written, _) = try await read()
                if !written.contains(address: address, port: port) { return .withdrawn(conflicts: conflicts) }
                conflicts += 1
                lastProblem = "the entry was written back by a concurrent write"
            } catch {
                guard (error as? S3Error)?.isTransient == true else { return .failed("\(error)", conflicts: conflicts) }
                lastProblem = "\(error)"
                guard await Self.pausesForAnotherRound(after: round, transientFailures: &transientFailures) else { break }
            }
        }
        return .failed("gave up after \(Self.maximumAttempts) attempts: \(lastProblem)", conflicts: conflicts)
    }
}
