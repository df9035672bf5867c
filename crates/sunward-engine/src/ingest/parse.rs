//! Reading values as exports write them: dates in the forms Chinese exports
//! use and as Excel serial numbers, times of day (`18:30`, `18点30分`, an
//! Excel fraction of a day), and whole numbers written as text (`44.0`,
//! `1.5e3`), decided exactly on the digits as written.

use chrono::NaiveDate;

/// A date as days since 1970-01-01 (Arrow's `Date32`).
pub(super) fn days(d: NaiveDate) -> i32 {
    sunward_core::params::date_to_days(d)
}

/// A date from an Excel serial number in the 1900 date system: serial 1 is
/// 1900-01-01, 59 is 1900-02-28, 60 is Excel's fictitious 1900-02-29 (no
/// date), 61 is 1900-03-01, 45658 is 2025-01-01. A time of day (the fraction) is dropped.
pub fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let whole = serial.floor() as i64;
    let base = match whole {
        ..60 => NaiveDate::from_ymd_opt(1899, 12, 31)?,
        60 => return None,
        _ => NaiveDate::from_ymd_opt(1899, 12, 30)?,
    };
    base.checked_add_signed(chrono::Duration::days(whole))
}

/// A date written `2025-03-05`, `2025/3/5`, `2025-3-5`, `2025.3.5`,
/// `2025年3月5日`, with an optional time after a space or `T`, or as an Excel
/// serial number (`45658`, `45658.5`).
pub fn parse_date_text(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    // The common `2025-03-05` at once; the general rules below read it the same way.
    if let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = t.as_bytes()
        && [y1, y2, y3, y4, m1, m2, d1, d2].iter().all(|b| b.is_ascii_digit())
    {
        let n = |bs: &[&u8]| bs.iter().fold(0u32, |acc, b| acc * 10 + u32::from(**b - b'0'));
        return NaiveDate::from_ymd_opt(n(&[y1, y2, y3, y4]) as i32, n(&[m1, m2]), n(&[d1, d2]));
    }
    if let Some((y, rest)) = t.split_once('年') {
        let (m, rest) = rest.split_once('月')?;
        let d = rest.trim().strip_suffix('日').or_else(|| rest.trim().strip_suffix('号'))?;
        return NaiveDate::from_ymd_opt(y.trim().parse().ok()?, m.trim().parse().ok()?, d.trim().parse().ok()?);
    }
    let date_part = t.split([' ', 'T']).next().unwrap_or(t);
    for sep in ['-', '/', '.'] {
        let parts: Vec<&str> = date_part.split(sep).collect();
        if let [y, m, d] = parts.as_slice()
            && y.len() == 4
            && parts.iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        }
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return excel_serial_date(t.parse().ok()?);
    }
    None
}

/// A time of day written `18:30`, `18:30:00`, `8:05`, `18：30` or `18点30分`
/// (`18时30分`, `18点`), as seconds after midnight; `24:00` and beyond are not times.
pub fn parse_time_text(text: &str) -> Option<i32> {
    let t = text.trim();
    let (h, rest) = t.split_once([':', '：', '点', '时'])?;
    let rest = rest.trim().trim_end_matches(['分', '秒']);
    let (m, s) = match rest.split_once([':', '：', '分']) {
        Some((m, s)) => (m, s),
        None => (rest, ""),
    };
    let number = |p: &str, max: i32, digits: std::ops::RangeInclusive<usize>| -> Option<i32> {
        let p = p.trim();
        if !digits.contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok().filter(|v| *v <= max)
    };
    let hour = number(h, 23, 1..=2)?;
    let minute = if m.trim().is_empty() && t.ends_with(['点', '时']) { 0 } else { number(m, 59, 2..=2)? };
    let second = if s.trim().is_empty() { 0 } else { number(s, 59, 2..=2)? };
    Some(hour * 3600 + minute * 60 + second)
}

/// Seconds after midnight as nanoseconds, the unit of SQL's `TIME`.
pub(super) fn nanos(seconds: i32) -> i64 {
    i64::from(seconds) * 1_000_000_000
}

/// An Excel time: a fraction of a day (a whole part, a date, is left out), to the nearest second.
pub(super) fn excel_time(x: f64) -> Option<i32> {
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    let seconds = (x.fract() * 86_400.0).round() as i32;
    Some(seconds.min(86_399))
}

/// The largest magnitude below which every whole `f64` is exactly an `i64`.
const EXACT_F64: f64 = 9.0e15;

/// `x` as an `i64` when it is whole and exactly one.
pub(super) fn whole(x: f64) -> Option<i64> {
    (x.is_finite() && x.fract() == 0.0 && x.abs() < EXACT_F64).then_some(x as i64)
}

/// The rule broken by a value that is not a whole number.
pub(super) const NOT_WHOLE: &str = "not a whole number";
/// The rule broken by a whole number beyond a 64-bit integer.
const TOO_LARGE: &str = "a whole number beyond ±9223372036854775807";
/// The rule broken by a spreadsheet number too large to be stored exactly.
pub(super) const INEXACT: &str = "a number too large to be stored exactly (beyond 9000000000000000)";

/// A whole number written as text: `7`, `-7`, `7.0`, `7.000`, `1.5e3`.
/// Decided on the digits as written, exactly: `1.0000000000000001` is not
/// whole (read as a double it would round to 1).
pub(super) fn parse_int_text(t: &str) -> Result<i64, &'static str> {
    if let Ok(i) = t.parse::<i64>() {
        return Ok(i);
    }
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], body[at + 1..].parse::<i32>().map_err(|_| NOT_WHOLE)?),
        None => (body, 0),
    };
    let (int_part, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int_part.bytes().chain(fraction.bytes()).collect();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(NOT_WHOLE);
    }
    // Where the decimal point falls among the digits once the exponent is applied.
    let point = int_part.len() as i64 + i64::from(exponent);
    let whole_digits = point.clamp(0, digits.len() as i64) as usize;
    if digits[whole_digits..].iter().any(|d| *d != b'0') {
        return Err(NOT_WHOLE);
    }
    let limit = 1i128 << 63;
    let mut value: i128 = 0;
    for d in &digits[..whole_digits] {
        value = value * 10 + i128::from(d - b'0');
        if value > limit {
            return Err(TOO_LARGE);
        }
    }
    // Zeros the exponent adds after the digits written.
    let mut zeros = point - digits.len() as i64;
    while zeros > 0 && value != 0 {
        value *= 10;
        zeros -= 1;
        if value > limit {
            return Err(TOO_LARGE);
        }
    }
    i64::try_from(if negative { -value } else { value }).map_err(|_| TOO_LARGE)
}

/// A number as text: `7.0` → `7`, `7.5` → `7.5`.
pub(super) fn number_text(x: f64) -> String {
    match whole(x) {
        Some(i) => i.to_string(),
        None => x.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole-number text over a grid of values and spellings, each expected
    /// value known by construction: an integer `n` written plainly, with
    /// zeros after a point, with an exponent that moves the point, and the
    /// same with a non-zero digit somewhere after the point (never whole).
    #[test]
    fn whole_number_text_is_decided_exactly() {
        let mut values: Vec<i128> = vec![0, 1, 7, 10, 100, 120, 999, 1_000_000, 9_000_000_000_000_001];
        values.extend([i128::from(i64::MAX), i128::from(i64::MAX) + 1, 10i128.pow(19), 10i128.pow(25)]);
        for n in values.clone() {
            values.push(-n);
        }
        for n in values {
            let expected = i64::try_from(n).map_err(|_| TOO_LARGE);
            let digits = n.unsigned_abs().to_string();
            let sign = if n < 0 { "-" } else { "" };
            let mut spellings =
                vec![format!("{sign}{digits}"), format!("{sign}{digits}.0"), format!("{sign}{digits}.000")];
            // The point moved left k places and an exponent of k: the same number.
            for k in 1..=digits.len() {
                let (head, tail) = digits.split_at(digits.len() - k);
                let head = if head.is_empty() { "0" } else { head };
                spellings.push(format!("{sign}{head}.{tail}e{k}"));
                spellings.push(format!("{sign}{head}.{tail}E+{k}"));
            }
            // Trailing zeros moved into the exponent.
            let trimmed = digits.trim_end_matches('0');
            if !trimmed.is_empty() && trimmed.len() < digits.len() {
                spellings.push(format!("{sign}{trimmed}e{}", digits.len() - trimmed.len()));
            }
            for text in &spellings {
                assert_eq!(parse_int_text(text), expected, "{text}");
            }
            // A non-zero digit after the point, however far: never whole.
            for zeros in [0, 1, 15, 16, 40] {
                let text = format!("{sign}{digits}.{}1", "0".repeat(zeros));
                assert_eq!(parse_int_text(&text), Err(NOT_WHOLE), "{text}");
                let text = format!("{sign}{digits}{}1e-{}", "0".repeat(zeros), zeros + 1);
                assert_eq!(parse_int_text(&text), Err(NOT_WHOLE), "{text}");
            }
        }
        for text in ["", "-", ".", "e5", "1e", "1..0", "1.0.0", "١٢", "1 000", "0x10", "inf", "NaN", "1e99999999999"]
        {
            assert_eq!(parse_int_text(text), Err(NOT_WHOLE), "{text:?}");
        }
        assert_eq!(parse_int_text("0e999999999"), Ok(0));
        assert_eq!(parse_int_text("1e999999999"), Err(TOO_LARGE));
        assert_eq!(parse_int_text("1.0000000000000001"), Err(NOT_WHOLE));
    }
}
