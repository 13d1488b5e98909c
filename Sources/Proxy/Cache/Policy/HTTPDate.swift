/// An HTTP date (RFC 9110 5.6.7) as whole seconds since 1970, the unit every RFC 9111 age and
/// freshness calculation is made in.
///
/// Parses the preferred IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and, as recipients
/// MUST, the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`) forms; anything else is `nil`, which for `Expires` means
/// "already expired" (RFC 9111 5.3).
public enum HTTPDate {
    private static let dayNames = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Seconds since 1970 of `text`, or `nil` when it is not an HTTP date.
    ///
    /// Read byte by byte, without a string made: a response's `Date`, `Expires` and `Last-Modified` are read on
    /// every miss. Numbers are ASCII digits only, at most nine of them, so that no date, however long its year,
    /// overflows the arithmetic.
    public static func parse(_ text: some StringProtocol) -> Int? {
        if let parsed = text.utf8.withContiguousStorageIfAvailable({ parse(bytes: $0) }) { return parsed }
        return Array(text.utf8).withUnsafeBufferPointer { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        // Spaces and tabs around the value are not part of it; inside, words are separated by runs of spaces
        // (asctime pads a one-digit day with a second space).
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == space || bytes[start] == tab { start += 1 }
        while end > start, bytes[end - 1] == space || bytes[end - 1] == tab { end -= 1 }
        var words = Words()
        var cursor = start
        while cursor < end {
            while cursor < end, bytes[cursor] == space { cursor += 1 }
            let wordStart = cursor
            while cursor < end, bytes[cursor] != space { cursor += 1 }
            if cursor > wordStart, !words.append(wordStart..<cursor) { return nil }
        }
        let endsWithComma = words.count > 0 && bytes[words[0].upperBound - 1] == UInt8(ascii: ",")
        switch words.count {
        case 6 where endsWithComma && isGMT(bytes, words[5]):
            // IMF-fixdate: day-name "," SP day SP month SP year SP time SP "GMT"
            return make(bytes, day: words[1], month: words[2], year: words[3], time: words[4], twoDigitYear: false)
        case 4 where endsWithComma && isGMT(bytes, words[3]):
            // rfc850-date: day-name-l "," SP day "-" month "-" 2DIGIT SP time SP "GMT"
            let date = words[1]
            guard let first = bytes[date].firstIndex(of: dash),
                  let second = bytes[(first + 1)..<date.upperBound].firstIndex(of: dash),
                  !bytes[(second + 1)..<date.upperBound].contains(dash)
            else { return nil }
            return make(bytes, day: date.lowerBound..<first, month: (first + 1)..<second, year: (second + 1)..<date.upperBound, time: words[2], twoDigitYear: true)
        case 5:
            // asctime-date: day-name SP month SP ( 2DIGIT / ( SP DIGIT )) SP time SP year
            return make(bytes, day: words[2], month: words[1], year: words[4], time: words[3], twoDigitYear: false)
        default:
            return nil
        }
    }

    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let dash = UInt8(ascii: "-")

    /// Up to six words of a date, as ranges of its bytes.
    private struct Words {
        private var ranges: (Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>) = (0..<0, 0..<0, 0..<0, 0..<0, 0..<0, 0..<0)
        private(set) var count = 0

        /// Adds `range`; false when there are six already (no HTTP date has more).
        mutating func append(_ range: Range<Int>) -> Bool {
            switch count {
            case 0: ranges.0 = range
            case 1: ranges.1 = range
            case 2: ranges.2 = range
            case 3: ranges.3 = range
            case 4: ranges.4 = range
            case 5: ranges.5 = range
            default: return false
            }
            count += 1
            return true
        }

        subscript(index: Int) -> Range<Int> {
            switch index {
            case 0: ranges.0
            case 1: ranges.1
            case 2: ranges.2
            case 3: ranges.3
            case 4: ranges.4
            default: ranges.5
            }
        }
    }

    private static func isGMT(_ bytes: UnsafeBufferPointer<UInt8>, _ word: Range<Int>) -> Bool {
        word.count == 3 && bytes[word.lowerBound] == UInt8(ascii: "G") && bytes[word.lowerBound + 1] == UInt8(ascii: "M")
            && bytes[word.lowerBound + 2] == UInt8(ascii: "T")
    }

    /// The value of one to nine ASCII digits.
    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard (1...9).contains(range.count) else { return nil }
        var value = 0
        for index in range {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// The month (1 to 12) of a three-letter English month name in any case.
    private static func month(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard range.count == 3 else { return nil }
        // Setting bit 5 lower-cases an ASCII letter; the names are letters only, so nothing else can match.
        let key = (UInt32(bytes[range.lowerBound] | 0x20) << 16) | (UInt32(bytes[range.lowerBound + 1] | 0x20) << 8) | UInt32(bytes[range.lowerBound + 2] | 0x20)
        return monthKeys.firstIndex(of: key).map { $0 + 1 }
    }

    private static let monthKeys: [UInt32] = monthNames.map { name in
        name.lowercased().utf8.reduce(UInt32(0)) { ($0 << 8) | UInt32($1) }
    }

    private static func make(
        _ bytes: UnsafeBufferPointer<UInt8>,
        day: Range<Int>,
        month monthRange: Range<Int>,
        year yearRange: Range<Int>,
        time: Range<Int>,
        twoDigitYear: Bool
    ) -> Int? {
        guard let day = number(bytes, day), (1...31).contains(day),
              let month = month(bytes, monthRange),
              var year = number(bytes, yearRange)
        else { return nil }
        if twoDigitYear {
            guard year < 100 else { return nil }
            // RFC 9110 5.6.7: a two-digit year more than 50 years in the future is in the past century.
            year += year < 70 ? 2000 : 1900
        } else if year < 1000 {
            return nil
        }
        // hour ":" minute ":" second, two digits each
        guard time.count == 8, bytes[time.lowerBound + 2] == UInt8(ascii: ":"), bytes[time.lowerBound + 5] == UInt8(ascii: ":"),
              let hour = number(bytes, time.lowerBound..<(time.lowerBound + 2)),
              let minute = number(bytes, (time.lowerBound + 3)..<(time.lowerBound + 5)),
              let second = number(bytes, (time.lowerBound + 6)..<(time.lowerBound + 8)),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        return days(fromCivil: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// `seconds` as an IMF-fixdate.
    public static func format(_ seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        let weekday = dayNames[((days % 7) + 7) % 7]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let time = "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
        return "\(weekday), \(two(day)) \(monthNames[month - 1]) \(year) \(time) GMT"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func days(fromCivil year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

