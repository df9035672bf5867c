//! How a number is written in every format (HTML, PDF, Word, charts):
//! integers without a decimal point, others with a few decimals and no
//! trailing zeros, the true minus sign. One place, so a chart and a table
//! never write the same figure two ways.

/// Formats a number for display, deterministically: integers without a
/// decimal point (`3208`), others with at most `2` decimals and no trailing
/// zeros (`2.8`, `0.47`), `-` as the true minus sign `−`. Not-a-number and
/// infinities, which a published figure never is, show as `—`.
pub fn format_number(value: f64) -> String {
    format_decimal(value, 2)
}

/// Like [`format_number`] with at most `decimals` decimals.
pub fn format_decimal(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    let mut s = format!("{value:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_string();
    }
    match s.strip_prefix('-') {
        Some(rest) => format!("−{rest}"),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_without_noise() {
        assert_eq!(format_number(3208.0), "3208");
        assert_eq!(format_number(2.80), "2.8");
        assert_eq!(format_number(0.4717), "0.47");
        assert_eq!(format_number(-0.472), "−0.47");
        assert_eq!(format_number(-0.0001), "0");
        assert_eq!(format_number(f64::NAN), "—");
        assert_eq!(format_decimal(5.25, 1), "5.2");
    }
}
