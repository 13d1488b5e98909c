/// One page of ListObjectsV2 (S3 API Reference, ListObjectsV2: `ListBucketResult`).
public struct S3ObjectList: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var size: Int64
        public var etag: String?
        public var lastModified: String?
    }

    public var objects: [Entry]
    /// With a delimiter: the key prefixes up to and including it, each listed once.
    public var commonPrefixes: [String]
    /// Present when `isTruncated`: pass it to the next call for the next page.
    public var nextContinuationToken: String?
    public var isTruncated: Bool

    init(_ document: XMLTree) throws(XMLTree.ParseError) {
        guard document.name == "ListBucketResult" else {
            throw XMLTree.ParseError(reason: "expected ListBucketResult, got \(document.name)", offset: 0)
        }
        var objects: [Entry] = []
        for content in document.children("Contents") {
            guard let key = content.text(of: "Key"), let size = content.text(of: "Size").flatMap(Int64.init) else {
                throw XMLTree.ParseError(reason: "a Contents without Key or Size", offset: 0)
            }
            objects.append(Entry(key: key, size: size, etag: content.text(of: "ETag"), lastModified: content.text(of: "LastModified")))
        }
        self.objects = objects
        commonPrefixes = document.children("CommonPrefixes").compactMap { $0.text(of: "Prefix") }
        isTruncated = document.text(of: "IsTruncated") == "true"
        nextContinuationToken = document.text(of: "NextContinuationToken")
    }
}
