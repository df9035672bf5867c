//! Readable English names for units that have none: an English edition
//! prints "Hupan Middle School", not "湖畔中学 education bureau".
//!
//! [`english`] replaces the words that name a kind of unit (中学, 小学,
//! 区, 教育局, 社会工作服务中心, 心理健康中心, 第…) by their English and writes every other
//! run of Chinese characters in pinyin without tones, as one capitalised
//! word (湖畔 → Hupan), which is how such names are romanised on signs and
//! maps. Where a character has several readings the pinyin data's first is
//! used: a name that matters should be given in English by its owner.

use pinyin::ToPinyin;

/// Words that name a kind of unit, longest first, and their English.
const WORDS: &[(&str, &str)] = &[
    ("社会工作服务中心", "Social Work Service Centre"),
    ("未成年人心理健康中心", "Mental Health Centre for Minors"),
    ("社工服务中心", "Social Work Service Centre"),
    ("心理健康中心", "Mental Health Centre"),
    ("职业技术学校", "Vocational School"),
    ("初级中学", "Junior Middle School"),
    ("高级中学", "Senior High School"),
    ("九年一贯制学校", "Nine-Year School"),
    ("教育局", "Education Bureau"),
    ("中学", "Middle School"),
    ("小学", "Primary School"),
    ("学校", "School"),
    ("市", "City"),
    ("区", "District"),
    ("县", "County"),
    ("镇", "Town"),
];

/// `name` in English: words that name a kind of unit translated, other Chinese in
/// capitalised pinyin, `第1` as `No. 1`; text without Chinese comes back unchanged.
pub fn english(name: &str) -> String {
    if !name.chars().any(is_han) {
        return name.to_string();
    }
    let mut words: Vec<String> = Vec::new();
    let mut run = String::new();
    let flush = |run: &mut String, words: &mut Vec<String>| {
        if !run.is_empty() {
            words.push(romanise(run));
            run.clear();
        }
    };
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if let Some((zh, en)) = WORDS.iter().find(|(zh, _)| rest.starts_with(zh)) {
            flush(&mut run, &mut words);
            words.push(en.to_string());
            rest = &rest[zh.len()..];
        } else if c == '第' && rest[c.len_utf8()..].starts_with(|d: char| d.is_ascii_digit()) {
            flush(&mut run, &mut words);
            words.push("No.".to_string());
            rest = &rest[c.len_utf8()..];
        } else if is_han(c) {
            run.push(c);
            rest = &rest[c.len_utf8()..];
        } else {
            flush(&mut run, &mut words);
            let end = rest.find(is_han).unwrap_or(rest.len());
            let other = rest[..end].trim();
            if !other.is_empty() {
                words.push(other.to_string());
            }
            rest = &rest[end..];
        }
    }
    flush(&mut run, &mut words);
    words.join(" ")
}

/// A run of Chinese characters as one capitalised pinyin word.
fn romanise(run: &str) -> String {
    let plain: String = run
        .to_pinyin()
        .zip(run.chars())
        .map(|(p, c)| p.map(|p| p.plain().to_string()).unwrap_or_else(|| c.to_string()))
        .collect();
    let mut chars = plain.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => plain,
    }
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_in_english() {
        for (zh, en) in [
            ("湖畔中学", "Hupan Middle School"),
            ("湖畔小学", "Hupan Primary School"),
            ("太仓市", "Taicang City"),
            ("青浦区", "Qingpu District"),
            ("城东初级中学", "Chengdong Junior Middle School"),
            ("青浦区未成年人心理健康中心", "Qingpu District Mental Health Centre for Minors"),
            ("太仓市心理健康中心", "Taicang City Mental Health Centre"),
            ("东方高级中学", "Dongfang Senior High School"),
            ("临江区第1小学", "Linjiang District No. 1 Primary School"),
            ("向阳学校社会工作服务中心", "Xiangyang School Social Work Service Centre"),
            ("太仓市教育局", "Taicang City Education Bureau"),
            ("Riverside School", "Riverside School"),
        ] {
            assert_eq!(english(zh), en, "{zh}");
        }
    }
}
