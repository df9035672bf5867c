//! The school calendar the generator lives by: academic years, terms, the
//! winter and summer breaks, public holidays and weekends.
//!
//! The dates are a fixed approximation of a Chinese school year, the same every
//! year so that output never depends on a holiday table: term 1 runs from
//! 1 September to 19 January, the winter break from 20 January to 15 February,
//! term 2 from 16 February to 9 July, the summer break from 10 July to
//! 31 August. Public holidays: 1 January, 4–6 April (清明), 1–5 May, 1–7 October.

use chrono::{Datelike, NaiveDate, Weekday};

/// What kind of day a date is for a school.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A weekday in term.
    School,
    /// A public holiday falling on a weekday in term.
    Holiday,
    /// A weekday in the winter or summer break.
    Break,
    /// Saturday or Sunday.
    Weekend,
}

/// The kind of `date`.
pub fn day_kind(date: NaiveDate) -> DayKind {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return DayKind::Weekend;
    }
    let (m, d) = (date.month(), date.day());
    let in_break = (m == 1 && d >= 20) || (m == 2 && d <= 15) || (m == 7 && d >= 10) || m == 8;
    if in_break {
        return DayKind::Break;
    }
    let holiday = (m == 1 && d == 1) || (m == 4 && (4..=6).contains(&d)) || (m == 5 && d <= 5) || (m == 10 && d <= 7);
    if holiday { DayKind::Holiday } else { DayKind::School }
}

/// The academic year a date falls in (named by the calendar year it starts in).
pub fn academic_year(date: NaiveDate) -> i32 {
    if date.month() >= 9 { date.year() } else { date.year() - 1 }
}

/// 1 September of academic year `ay`.
pub fn ay_start(ay: i32) -> NaiveDate {
    ymd(ay, 9, 1)
}

/// 31 August ending academic year `ay`.
pub fn ay_end(ay: i32) -> NaiveDate {
    ymd(ay + 1, 8, 31)
}

/// A date from parts known to be valid (the generator only builds valid dates).
pub fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

/// Every date from `start` to `end`, inclusive.
pub fn days(start: NaiveDate, end: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    start.iter_days().take_while(move |d| *d <= end)
}

/// Days since 1970-01-01 (Arrow `Date32`).
pub fn epoch_days(date: NaiveDate) -> i32 {
    let epoch = ymd(1970, 1, 1);
    i32::try_from((date - epoch).num_days()).unwrap_or(0)
}

/// The later of two dates.
pub fn later(a: NaiveDate, b: NaiveDate) -> NaiveDate {
    if a > b { a } else { b }
}

/// The earlier of two dates.
pub fn earlier(a: NaiveDate, b: NaiveDate) -> NaiveDate {
    if a < b { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_years() {
        assert_eq!(day_kind(ymd(2025, 3, 5)), DayKind::School);
        assert_eq!(day_kind(ymd(2025, 3, 8)), DayKind::Weekend);
        assert_eq!(day_kind(ymd(2025, 1, 27)), DayKind::Break);
        assert_eq!(day_kind(ymd(2025, 8, 12)), DayKind::Break);
        assert_eq!(day_kind(ymd(2025, 10, 2)), DayKind::Holiday);
        assert_eq!(academic_year(ymd(2025, 8, 31)), 2024);
        assert_eq!(academic_year(ymd(2025, 9, 1)), 2025);
        assert_eq!(epoch_days(ymd(1970, 1, 2)), 1);
        assert_eq!(days(ymd(2025, 1, 30), ymd(2025, 2, 2)).count(), 4);
    }
}
