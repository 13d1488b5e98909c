import NIOCore
import Testing

@testable import Proxy

@Suite struct TraceRecordTests {
    @Test func durationsLookLikeGo() {
        #expect(TraceRecord.goDuration(.zero) == "0s")
        #expect(TraceRecord.goDuration(.nanoseconds(750)) == "750ns")
        #expect(TraceRecord.goDuration(.nanoseconds(1500)) == "1.5µs")
        #expect(TraceRecord.goDuration(.microseconds(2500)) == "2.5ms")
        #expect(TraceRecord.goDuration(.milliseconds(1500)) == "1.5s")
        #expect(TraceRecord.goDuration(.seconds(3)) == "3s")
    }

    @Test func timeIsRFC3339InUTCWithMilliseconds() {
        #expect(TraceRecord.rfc3339(0) == "1970-01-01T00:00:00.000Z")
        #expect(TraceRecord.rfc3339(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123Z")
    }

    @Test func jsonLineHasSidekickFieldsAndEscapes() {
        let record = TraceRecord(
            time: 0,
            client: "10.0.0.1",
            method: "GET",
            path: "/a\"b\n",
            query: "x=1&y=\u{01}",
            status: 200,
            rx: 3,
            tx: 1024,
            latency: .milliseconds(12),
            timeToFirstByte: .milliseconds(2),
            backend: "http://minio1:9000",
            site: "site1"
        )
        #expect(
            record.json
                == #"{"time":"1970-01-01T00:00:00.000Z","client":"10.0.0.1","method":"GET","path":"/a\"b\n","query":"x=1&y=\u0001","status":200,"rx":3,"tx":1024,"latency":"12ms","ttfb":"2ms","backend":"http://minio1:9000","site":"site1"}"#
        )
    }

    @Test func filterSelectsRequests() {
        let all = TraceFilter(.init(enabled: true))
        #expect(all.includes(status: 200, isInternal: true))
        let application = TraceFilter(.init(enabled: true, filter: .application))
        #expect(!application.includes(status: 200, isInternal: true))
        #expect(application.includes(status: 200, isInternal: false))
        let errors = TraceFilter(.init(enabled: true, errorsOnly: true))
        #expect(!errors.includes(status: 304, isInternal: false))
        #expect(errors.includes(status: 502, isInternal: false))
        let codes = TraceFilter(.init(enabled: true, statusCodes: [404]))
        #expect(codes.includes(status: 404, isInternal: false))
        #expect(!codes.includes(status: 500, isInternal: false))
    }
}
