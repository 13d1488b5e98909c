extension S3Client {
    /// ListObjectsV2, one page of at most `maxKeys` (S3 caps it at 1000) keys after `continuationToken`.
    public func listObjects(
        bucket: String, prefix: String? = nil, delimiter: String? = nil, continuationToken: String? = nil, maxKeys: Int? = nil
    ) async throws(S3Error) -> S3ObjectList {
        var call = Call(operation: "ListObjectsV2", method: .GET, bucket: bucket, key: nil, payloadHash: SigV4Signer.emptyPayloadHash)
        call.query.append(.init("list-type", "2"))
        if let prefix { call.query.append(.init("prefix", prefix)) }
        if let delimiter { call.query.append(.init("delimiter", delimiter)) }
        if let continuationToken { call.query.append(.init("continuation-token", continuationToken)) }
        if let maxKeys { call.query.append(.init("max-keys", String(maxKeys))) }
        let response = try await send(call)
        let document = try await Self.document(response, call)
        do throws(XMLTree.ParseError) {
            return try S3ObjectList(document)
        } catch {
            throw .invalidResponse(operation: call.operation, resource: call.resource, reason: error.description)
        }
    }

    /// Every key under `prefix`, page after page.
    public func listAllObjects(bucket: String, prefix: String? = nil) async throws(S3Error) -> [S3ObjectList.Entry] {
        var entries: [S3ObjectList.Entry] = []
        var token: String?
        repeat {
            let page = try await listObjects(bucket: bucket, prefix: prefix, continuationToken: token)
            entries += page.objects
            token = page.isTruncated ? page.nextContinuationToken : nil
        } while token != nil
        return entries
    }
}
