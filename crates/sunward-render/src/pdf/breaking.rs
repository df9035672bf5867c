//! Where text may break: the "words" genpdf may break between
//! ([`tokens`]: one per CJK character, punctuation glued to its
//! neighbour, Latin words whole), the tone each character is drawn in,
//! greedy line breaking to a width, an official title's break between
//! phrases, and measuring and printing one line.

use std::ops::Range;

use genpdf::style::Style;
use genpdf::{Context, Position, render};

use super::style::{BODY_BLACK, EMPHASIS, OFFICIAL_RED, STRONG, STRONG_TRACKED, mm};
use crate::document::{Align, Span};
use crate::plot::is_wide;

/// An official title's two lines broken between phrases
/// ([`crate::document::phrase_break`]), as ranges of tokens.
pub(super) fn phrase_lines(tokens: &[String], width_of: &dyn Fn(&str) -> f64, width: f64) -> Option<Vec<Range<usize>>> {
    let parts: Vec<&str> = tokens.iter().map(|t| t.trim_end()).collect();
    let text = parts.concat();
    let at = crate::document::phrase_break(&text, width_of, width)?;
    // The token the break falls before.
    let mut len = 0;
    let i = parts.iter().position(|p| {
        let here = len == at;
        len += p.len();
        here
    })?;
    Some(vec![0..i, i..tokens.len()])
}

fn is_opening(c: char) -> bool {
    matches!(c, '（' | '(' | '《' | '「' | '『' | '【' | '〔' | '“' | '‘' | '〈' | '［' | '｛')
}

fn is_closing(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | ')'
            | '》'
            | '」'
            | '』'
            | '】'
            | '〕'
            | '”'
            | '’'
            | '〉'
            | '］'
            | '｝'
            | '…'
            | '%'
            | '％'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | '·'
    )
}

/// Longest run of non-CJK characters kept as one unbreakable word.
const MAX_WORD: usize = 18;

/// Splits text into the "words" genpdf may break between: one per CJK
/// character, closing punctuation glued to the character before it,
/// opening punctuation to the one after, Latin words whole (a space ends a
/// word and stays with it; words longer than 18 characters are cut).
pub fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<(char, Tone)> = text.chars().map(|c| (c, Tone::Plain)).collect();
    toned_tokens(&chars).into_iter().map(|t| t.into_iter().map(|(c, _)| c).collect()).collect()
}

/// How a character of running text is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    Plain,
    Strong,
    Emphasis,
}

impl Tone {
    pub(super) fn of(span: &Span) -> Tone {
        match (span.strong, span.emphasis) {
            (true, _) => Tone::Strong,
            (false, true) => Tone::Emphasis,
            _ => Tone::Plain,
        }
    }

    /// The style a run of this tone is printed in.
    pub(super) fn style(self, base: Style) -> Style {
        match self {
            Tone::Plain => base,
            Tone::Strong => base.with_color(match base.color() {
                Some(OFFICIAL_RED) => OFFICIAL_RED,
                Some(BODY_BLACK) => STRONG_TRACKED,
                _ => STRONG,
            }),
            Tone::Emphasis => base.with_color(EMPHASIS),
        }
    }
}

/// [`tokens`] for text whose characters carry a tone.
pub(super) fn toned_tokens(text: &[(char, Tone)]) -> Vec<Vec<(char, Tone)>> {
    let mut out: Vec<Vec<(char, Tone)>> = Vec::new();
    let mut glue_next = false;
    let mut prev_latin = false;
    let mut latin_run = 0usize;
    let ends_with_space = |t: &Vec<(char, Tone)>| t.last().is_some_and(|(c, _)| *c == ' ');
    for &(c, tone) in text {
        if c.is_whitespace() {
            if let Some(last) = out.last_mut() {
                if !ends_with_space(last) {
                    last.push((' ', tone));
                }
            } else {
                out.push(vec![(' ', tone)]);
            }
            glue_next = false;
            prev_latin = false;
            continue;
        }
        let wide = is_wide(c) || is_opening(c) || is_closing(c) && !c.is_ascii();
        let glue = !out.is_empty()
            && !out.last().is_some_and(ends_with_space)
            && (glue_next || is_closing(c) || (!wide && prev_latin && latin_run < MAX_WORD));
        if glue {
            if let Some(last) = out.last_mut() {
                last.push((c, tone));
            }
        } else {
            out.push(vec![(c, tone)]);
            latin_run = 0;
        }
        if !wide {
            latin_run += 1;
        }
        glue_next = is_opening(c);
        prev_latin = !wide;
    }
    out
}

/// Breaks tokens into lines no wider than `width` (a token wider than the
/// line gets a line of its own).
pub(super) fn wrap(context: &Context, tokens: &[String], style: Style, width: f64) -> Vec<String> {
    wrap_ranges(tokens, &|t| mm(style.str_width(&context.font_cache, t)), width, width)
        .into_iter()
        .map(|r| tokens[r].concat().trim_end().to_string())
        .collect()
}

/// Breaks tokens into lines, the first no wider than `first`, the others
/// no wider than `rest`, measuring with `width_of` (mm): the range of
/// tokens on each line.
pub(super) fn wrap_ranges(
    tokens: &[String],
    width_of: &dyn Fn(&str) -> f64,
    first: f64,
    rest: f64,
) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut w = 0.0;
    for (i, t) in tokens.iter().enumerate() {
        let width = if lines.is_empty() { first } else { rest };
        let tw = width_of(t);
        let visible = width_of(t.trim_end());
        if i > start && w + visible > width + 1e-3 {
            lines.push(start..i);
            start = i;
            w = 0.0;
        }
        w += tw;
    }
    if !tokens[start..].concat().trim().is_empty() || lines.is_empty() {
        lines.push(start..tokens.len());
    }
    lines
}

pub(super) fn line_height(context: &Context, style: Style) -> f64 {
    mm(style.line_height(&context.font_cache))
}

/// Prints one line at `y` within `width`, left or right aligned.
pub(super) fn print_line(
    context: &Context,
    area: &render::Area<'_>,
    y: f64,
    width: f64,
    line: &str,
    style: Style,
    align: Align,
) -> Result<(), genpdf::error::Error> {
    let x = match align {
        Align::Text => 0.0,
        Align::Numeric => (width - mm(style.str_width(&context.font_cache, line))).max(0.0),
    };
    area.print_str(&context.font_cache, Position::new(x, y), style, line)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_breaks_between_characters_not_before_closing_punctuation() {
        assert_eq!(tokens("全年服务3208人次。"), ["全", "年", "服", "务", "3208", "人", "次。"]);
        assert_eq!(tokens("见（表1）和“闭环”，好"), ["见", "（表", "1）", "和", "“闭", "环”，", "好"]);
        assert_eq!(tokens("Hello world, 2024年度"), ["Hello ", "world, ", "2024", "年", "度"]);
        assert_eq!(tokens("55%的学生"), ["55%", "的", "学", "生"]);
    }

    #[test]
    fn overlong_latin_words_are_cut() {
        let t = tokens("abcdefghijklmnopqrstuvwxyz");
        assert_eq!(t, ["abcdefghijklmnopqr", "stuvwxyz"]);
    }
}
