@testable import ObjectStore
import Testing
import TestSupport

@Suite struct XMLTreeTests {
    @Test func readsAnErrorDocument() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature &amp; &lt;so on&gt; &#65;&#x42;</Message>
            <RequestId>4442587FB7D0A2F9</RequestId><!-- a comment --></Error>
            """
        let document = try XMLTree.parse(Array(text.utf8))
        #expect(document.name == "Error")
        #expect(document.text(of: "Code") == "SignatureDoesNotMatch")
        #expect(document.text(of: "Message") == "The request signature & <so on> AB")
        #expect(document.text(of: "RequestId") == "4442587FB7D0A2F9")
    }

    @Test func readsAListing() throws {
        let text = """
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>true</IsTruncated>
            <Contents><Key>a b/c&amp;d</Key><Size>3</Size><ETag>&quot;x&quot;</ETag></Contents>
            <Contents><Key><![CDATA[<raw>]]></Key><Size>0</Size></Contents>
            <CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes><NextContinuationToken>tok</NextContinuationToken><Empty/></ListBucketResult>
            """
        let list = try S3ObjectList(XMLTree.parse(Array(text.utf8)))
        #expect(list.objects.map(\.key) == ["a b/c&d", "<raw>"])
        #expect(list.objects.map(\.size) == [3, 0])
        #expect(list.objects.first?.etag == "\"x\"")
        #expect(list.commonPrefixes == ["dir/"])
        #expect(list.isTruncated)
        #expect(list.nextContinuationToken == "tok")
    }

    @Test func refusesMalformedDocuments() {
        for text in ["", "<a>", "<a></b>", "<a>&bogus;</a>", "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a></a><b/>", "text",
                     "<a b></a>", "<a b=\"c></a>", "<a>&#xFFFFFFFF;</a>", "<a><![CDATA[x</a>", String(repeating: "<a>", count: 40)] {
            #expect(throws: XMLTree.ParseError.self, "\(text)") { try XMLTree.parse(Array(text.utf8)) }
        }
    }

    /// Any bytes: parsed or refused, never a trap; random mutations of a real document.
    @Test func anyBytesParseOrFailCleanly() {
        var generator = SeededGenerator(seed: 31)
        let seed = Array("<?xml version=\"1.0\"?><Error><Code>A&amp;B</Code><Message a='1'>m<![CDATA[x]]></Message><X/></Error>".utf8)
        for _ in 0..<20000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[position] = Array("<>/&;#x![]'\"= a".utf8).randomElement(using: &generator)!
                case 1: bytes.remove(at: position)
                default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
                }
                if bytes.isEmpty { bytes = [0x3C] }
            }
            _ = try? XMLTree.parse(bytes)
        }
    }
}
