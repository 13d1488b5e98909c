import Foundation
import ObjectStore
import Testing

/// All 38 cases of the AWS SigV4 test suite, each signed into the header and into the query string: the
/// canonical request, the string to sign, the signature and the signed request must equal the suite's files.
@Suite struct SigV4TestSuiteTests {
    @Test func theSuiteHasAllThirtyEightCases() {
        #expect(SigV4TestSuiteCase.names.count == 38)
    }

    @Test(arguments: SigV4TestSuiteCase.names.map(SigV4TestSuiteCase.init))
    func headerSigning(_ testCase: SigV4TestSuiteCase) throws {
        let context = try testCase.context()
        let time = try #require(SigV4Timestamp(iso8601: context.timestamp))
        let parsed = SigV4TestSuiteCase.parse(try testCase.file("request.txt"))
        var request = parsed.request
        let body = parsed.body
        let signer = signer(context)
        let result = signer.signHeaders(
            &request, payloadHash: SigV4Signer.payloadHash(body), at: time, addingContentHash: context.sign_body,
            normalizingPath: context.normalize, signingSessionToken: !(context.omit_session_token ?? false))
        let canonical = try testCase.file("header-canonical-request.txt")
        let stringToSign = try testCase.file("header-string-to-sign.txt")
        let signature = try testCase.file("header-signature.txt")
        #expect(result.canonicalRequest.text == canonical)
        #expect(result.stringToSign == stringToSign)
        #expect(result.signature == signature)
        let expected = SigV4TestSuiteCase.parse(try testCase.file("header-signed-request.txt")).request
        #expect(Set(request.headers.map(lowered)) == Set(expected.headers.map(lowered)))
        #expect(request.query == expected.query)
    }

    @Test(arguments: SigV4TestSuiteCase.names.map(SigV4TestSuiteCase.init))
    func querySigning(_ testCase: SigV4TestSuiteCase) throws {
        let context = try testCase.context()
        let time = try #require(SigV4Timestamp(iso8601: context.timestamp))
        let parsed = SigV4TestSuiteCase.parse(try testCase.file("request.txt"))
        var request = parsed.request
        let body = parsed.body
        let result = signer(context).presign(
            &request, payloadHash: SigV4Signer.payloadHash(body), at: time,
            expiresInSeconds: try #require(context.expiration_in_seconds), normalizingPath: context.normalize,
            signingSessionToken: !(context.omit_session_token ?? false))
        let canonical = try testCase.file("query-canonical-request.txt")
        let stringToSign = try testCase.file("query-string-to-sign.txt")
        let signature = try testCase.file("query-signature.txt")
        #expect(result.canonicalRequest.text == canonical)
        #expect(result.stringToSign == stringToSign)
        #expect(result.signature == signature)
        let expected = SigV4TestSuiteCase.parse(try testCase.file("query-signed-request.txt")).request
        #expect(Set(request.query) == Set(expected.query))
        #expect(request.query.count == expected.query.count)
        #expect(Set(request.headers.map(lowered)) == Set(expected.headers.map(lowered)))
    }

    private func signer(_ context: SigV4TestSuiteCase.Context) -> SigV4Signer {
        SigV4Signer(
            credentials: SigV4Credentials(
                accessKeyID: context.credentials.access_key_id, secretAccessKey: context.credentials.secret_access_key,
                sessionToken: context.credentials.token),
            region: context.region, service: context.service)
    }

    private func lowered(_ header: SignableRequest.Header) -> SignableRequest.Header {
        .init(header.name.lowercased(), header.value)
    }
}
