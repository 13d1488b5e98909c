/// The instant a request is signed, in the two forms SigV4 uses: `X-Amz-Date` (ISO 8601 basic,
/// `20150830T123600Z`) and the credential scope's day (`20150830`). Always UTC.
public struct SigV4Timestamp: Sendable, Equatable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSince1970: Int64

    public init(secondsSince1970: Int64) {
        self.secondsSince1970 = secondsSince1970
    }

    /// `YYYYMMDD'T'HHMMSS'Z'`.
    public var amzDate: String {
        let (day, seconds) = Self.floorDivide(secondsSince1970, 86_400)
        let (year, month, dayOfMonth) = Self.civil(fromDays: day)
        return pad(year, 4) + pad(month, 2) + pad(dayOfMonth, 2) + "T" + pad(seconds / 3600, 2)
            + pad(seconds / 60 % 60, 2) + pad(seconds % 60, 2) + "Z"
    }

    /// `YYYYMMDD`.
    public var day: String { String(amzDate.prefix(8)) }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (the form of the AWS test suite's context files and of S3's
    /// `LastModified` without fractions) or the basic form `YYYYMMDDTHHMMSSZ`; fractions of a second are ignored.
    public init?(iso8601 text: String) {
        let digits = text.utf8.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard digits.count >= 14, text.utf8.contains(UInt8(ascii: "T")) else { return nil }
        func number(_ range: Range<Int>) -> Int64 {
            digits[range].reduce(0) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
        }
        let (year, month, day) = (number(0..<4), number(4..<6), number(6..<8))
        let (hour, minute, second) = (number(8..<10), number(10..<12), number(12..<14))
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        self.secondsSince1970 = Self.days(fromCivil: year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    private func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let quotient = a >= 0 ? a / b : (a - b + 1) / b
        return (quotient, a - quotient * b)
    }

    /// Howard Hinnant's `civil_from_days` (proleptic Gregorian calendar).
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Howard Hinnant's `days_from_civil`.
    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
