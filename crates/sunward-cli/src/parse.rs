//! Parsers of argument values shared by several commands: sizes (`512M`,
//! `4G`), a part size (`0`: whole files) and durations (`90s`, `1h 30m`).

pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration =
        humantime::parse_duration(text).map_err(|e| format!("{e}: write a duration such as 90s, 10m or 1h 30m"))?;
    if duration.is_zero() {
        return Err("a timeout of zero would stop every run at once".into());
    }
    Ok(duration)
}

/// A part size: a size, or `0` for none.
pub(crate) fn parse_part_size(text: &str) -> Result<usize, String> {
    if text.trim() == "0" { Ok(0) } else { parse_memory(text) }
}

pub(crate) fn parse_memory(text: &str) -> Result<usize, String> {
    sunward_engine::session::parse_size(text)
}
