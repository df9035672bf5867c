//! What a reader knows of a count (its value, a `<k` marker or a withheld
//! cell), the rates they see with their rounding, and what the audit finds
//! they can work back.

use super::identity::Identity;

/// What a reader knows of one count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Knowledge {
    /// Printed with its value.
    Known(f64),
    /// Printed as `<k`: from 1 to k−1.
    Small,
    /// Printed as a withheld count (`—`): at least 1, since zero is always
    /// shown. A withheld count may be large (a complement) or small (a
    /// small count whose `<k` would itself give it away, as four `<5`
    /// schools under a `<5` total would each have to be 1).
    Withheld,
}

/// A rate a reader saw: the ratio's identity and the range its printed
/// value stands for (e.g. `13%` → 0.125 to 0.135).
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRate {
    /// Which ratio.
    pub ratio: Identity,
    /// Lowest value the printed figure can stand for.
    pub low: f64,
    /// Highest value the printed figure can stand for.
    pub high: f64,
}

impl SeenRate {
    /// The rate `ratio` as printed (`13%`, `2.8`, `1,234.5`): the range of
    /// values that print so, rounding half up. `None` for text that is not
    /// a plain figure (`—`, `无`).
    pub fn from_display(ratio: Identity, display: &str) -> Option<SeenRate> {
        let text: String = display.trim().chars().filter(|c| *c != ',').collect();
        let (text, scale) = match text.strip_suffix('%') {
            Some(t) => (t.to_string(), 0.01),
            None => (text, 1.0),
        };
        let text = text.replace('−', "-");
        let value: f64 = text.parse().ok()?;
        let decimals = text.split_once('.').map(|(_, d)| d.len()).unwrap_or(0) as i32;
        let half = 0.5 * 10f64.powi(-decimals);
        Some(SeenRate { ratio, low: (value - half) * scale, high: (value + half) * scale })
    }
}

/// A hidden count a reader can work out.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Which count.
    pub identity: Identity,
    /// Its true value.
    pub value: u64,
    /// The lowest value the reader cannot rule out.
    pub low: f64,
    /// The highest (equal to `low` when one value is left).
    pub high: f64,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.high - self.low < 0.5 {
            write!(f, "{} is withheld ({}), but a reader can work it out: {}", self.identity, self.value, self.low)
        } else {
            write!(
                f,
                "{} is withheld ({}), but a reader can narrow it to {} to {}",
                self.identity, self.value, self.low, self.high
            )
        }
    }
}
