//! Dates as readers write them: an ISO date in Chinese (`2025年10月15日`)
//! or English (`15 October 2025`), with the English month names.

use super::lang::Lang;

/// The months' English names, January first.
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// An ISO date (`2025-10-15`) as a reader of `lang` writes it: `2025年10月15日`
/// or `15 October 2025`. Text that is not an ISO date is returned unchanged.
pub fn display_date(text: &str, lang: Lang) -> String {
    let parts: Vec<&str> = text.trim().split('-').collect();
    let parsed = match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            match (y.parse::<u32>(), m.parse::<usize>(), d.parse::<u32>()) {
                (Ok(y), Ok(m), Ok(d)) if (1..=12).contains(&m) && (1..=31).contains(&d) => Some((y, m, d)),
                _ => None,
            }
        }
        _ => None,
    };
    match (parsed, lang) {
        (Some((y, m, d)), Lang::ZhCn) => format!("{y}年{m}月{d}日"),
        (Some((y, m, d)), Lang::En) => format!("{d} {} {y}", MONTHS[m - 1]),
        (None, _) => text.to_string(),
    }
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn iso_dates_read_as_their_readers_write_them() {
        assert_eq!(display_date("2025-10-15", Lang::ZhCn), "2025年10月15日");
        assert_eq!(display_date("2025-01-05", Lang::ZhCn), "2025年1月5日");
        assert_eq!(display_date("2025-10-15", Lang::En), "15 October 2025");
        assert_eq!(display_date("2024-02-29", Lang::En), "29 February 2024");
        // Not an ISO date: left alone.
        for other in ["2025年1月", "", "2025-13-01", "2025-1-5", "soon"] {
            assert_eq!(display_date(other, Lang::ZhCn), other);
        }
    }

    #[test]
    fn every_day_of_a_year_keeps_its_numbers() {
        let months = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        for m in 1..=12usize {
            for d in 1..=31u32 {
                let iso = format!("2026-{m:02}-{d:02}");
                let zh = display_date(&iso, Lang::ZhCn);
                let en = display_date(&iso, Lang::En);
                // Read back by hand: the numbers between the characters.
                let back: Vec<u32> =
                    zh.split(['年', '月', '日']).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
                assert_eq!(back, vec![2026, m as u32, d], "{zh}");
                assert_eq!(en.split(' ').collect::<Vec<_>>(), vec![d.to_string().as_str(), months[m - 1], "2026"]);
            }
        }
    }
}
