//! A small bilingual sample report built in code — title page, headline
//! tiles, a published table with totals, and one chart of each kind — used
//! by the tests of both renderers and handy for trying a layout change.
//! Its figures are invented.

use crate::chart::{BarChart, Chart, FunnelPlot, FunnelPoint, LineChart};
use crate::document::{Block, Cell, Column, Document, Lang, Meta, Table, Tile};
use crate::publication::{Figure, RawTable, Rules};

/// The sample's words in `lang`: `t("中文", "English")`.
fn words(lang: Lang) -> impl Fn(&'static str, &'static str) -> String {
    move |zh, en| lang.pick(zh, en).to_string()
}

/// The sample report in `lang`, with the publication rules applied to its table.
pub fn document(lang: Lang) -> Document {
    let t = words(lang);
    let rules = Rules::default();
    let para = t(
        "本年度，中心在两所学校持续开展驻校社会工作服务，围绕“筛查—评估—干预—跟踪”的闭环，为学生提供个案辅导、小组活动和成长课堂。全年累计服务学生3208人次，较上年增长12%。高危学生均在一周内完成二次评估并制定干预方案。",
        "This year the centre continued its on-site school social work in two schools, following the screening, assessment, intervention and follow-up loop with case work, groups and growth classes. Student contacts reached 3208 over the year, 12% more than last year. Every high-risk student had a second assessment and an intervention plan within a week.",
    );
    let blocks = vec![
        Block::Heading { level: 1, text: t("一、年度概况", "1. The year at a glance") },
        Block::Paragraph { text: para.clone() },
        Block::KeyFigures { tiles: headline_tiles(lang) },
        Block::Heading { level: 2, text: t("（一）各校服务", "1.1 Services by school") },
        Block::Table(sessions_table(lang, &rules)),
        Block::Paragraph { text: para },
        Block::Figure {
            caption: t("图1 各类服务覆盖学生人次", "Figure 1 Student contacts by service"),
            chart: services_chart(lang),
        },
        Block::PageBreak,
        Block::Heading { level: 1, text: t("二、极端事件与筛查", "2. Incidents and screening") },
        Block::Figure {
            caption: t(
                "图2 极端事件发生率（每千名学生，95%置信区间）",
                "Figure 2 Extreme incidents per 1,000 students (95% CI)",
            ),
            chart: incident_trend(lang),
        },
        Block::Figure {
            caption: t("图3 各校极端事件发生率与在校学生数", "Figure 3 Incident rate by school size"),
            chart: schools_funnel(lang),
        },
        Block::Note { text: rules.note(lang) },
    ];
    annual_review(lang, blocks)
}

/// The sample centre's annual review with these blocks: its title,
/// subtitle, organisation, period and date.
fn annual_review(lang: Lang, blocks: Vec<Block>) -> Document {
    let t = words(lang);
    Document {
        title: t("2024年度学校社会工作服务年报", "School social work: annual review 2024"),
        subtitle: Some(t("向阳社工服务中心", "Sunward Social Work Centre")),
        meta: Meta {
            organisation: Some(t("向阳社工服务中心", "Sunward Social Work Centre")),
            period: Some(t("2024年1月—12月", "January–December 2024")),
            generated: Some("2025-01-15".into()),
            ..Meta::default()
        },
        lang,
        blocks,
    }
}

/// Sessions by school: three schools with a totals row and a totals column,
/// published under `rules` (their note added to the table's).
fn sessions_table(lang: Lang, rules: &Rules) -> Table {
    let t = words(lang);
    let row = |school: String, counts: [u64; 4]| {
        std::iter::once(Figure::text(school)).chain(counts.map(Figure::Count)).collect::<Vec<_>>()
    };
    let raw = RawTable {
        name: "sessions_by_school".into(),
        caption: Some(t("表1 各校服务场次（2024年度）", "Table 1 Sessions by school, 2024")),
        columns: vec![
            Column::text(t("学校", "School")),
            Column::numeric(t("个案辅导", "Case sessions")),
            Column::numeric(t("小组活动", "Group sessions")),
            Column::numeric(t("成长课堂", "Growth classes")),
            Column::numeric(t("合计", "Total")),
        ],
        rows: vec![
            row(t("青柳湖中学", "Qingliu Lake Middle School"), [96, 20, 13, 129]),
            row(t("金家庄小学", "Jinjiazhuang Primary School"), [35, 14, 10, 59]),
            row(t("石浦小学", "Shipu Primary School"), [3, 0, 8, 11]),
        ],
        totals: Some(row(t("合计", "Total"), [134, 34, 31, 199])),
        totals_column: Some(crate::publication::TotalsColumn { column: 4, parts: vec![1, 2, 3] }),
        note: Some(t(
            "数据来源：服务记录导出，2024年1月1日至12月31日。",
            "Source: service records, 1 January to 31 December 2024.",
        )),
    };
    let (mut table, _) = rules.publish(&raw).expect("the sample table is well formed");
    let note = rules.note(lang);
    table.note = Some(table.note.map_or(note.clone(), |n| format!("{n}\n{note}")));
    table
}

/// The six headline figures.
fn headline_tiles(lang: Lang) -> Vec<Tile> {
    let t = words(lang);
    vec![
        Tile {
            label: t("服务学生人次", "Student contacts"),
            value: "3208".into(),
            note: Some(t("较上年 +12%", "+12% on last year")),
        },
        Tile { label: t("个案辅导场次", "Case sessions"), value: "134".into(), note: None },
        Tile { label: t("高危学生", "High-risk students"), value: "10".into(), note: None },
        Tile { label: t("驻校天数", "Days on site"), value: "101".into(), note: None },
        Tile { label: t("人际关系改善", "Improved relationships"), value: "55%".into(), note: None },
        Tile {
            label: t("极端事件（每千人）", "Incidents per 1,000"),
            value: "2.8".into(),
            note: Some(t("2022学年为5.3", "5.3 in 2022")),
        },
    ]
}

/// Student contacts by service, as bars.
fn services_chart(lang: Lang) -> Chart {
    let t = words(lang);
    Chart::Bar(BarChart {
        categories: vec![
            t("成长课堂", "Growth classes"),
            t("小组活动", "Groups"),
            t("个案辅导", "Case work"),
            t("心理信箱", "Mailbox"),
        ],
        values: vec![2913.0, 351.0, 134.0, 211.0],
        labels: None,
        unit: Some(t("人次", "contacts")),
        tally: false,
    })
}

/// The incident rate over three school years with its 95% interval.
fn incident_trend(lang: Lang) -> Chart {
    let t = words(lang);
    Chart::Line(LineChart {
        x: vec![t("2022学年", "2022"), t("2023学年", "2023"), t("2024学年", "2024")],
        values: vec![5.3, 4.1, 2.8],
        low: Some(vec![4.6, 3.5, 2.3]),
        high: Some(vec![6.1, 4.8, 3.4]),
        labels: None,
        unit: Some(t("每千名学生", "per 1,000 students")),
    })
}

/// Five schools' incident rates against their size.
fn schools_funnel(lang: Lang) -> Chart {
    let t = words(lang);
    let school = |label: String, denominator: f64, rate: f64| FunnelPoint { label, denominator, rate, counts: None };
    Chart::Funnel(FunnelPlot {
        points: vec![
            school(t("甲校", "School A"), 2400.0, 2.5),
            school(t("乙校", "School B"), 1800.0, 3.9),
            school(t("丙校", "School C"), 900.0, 1.1),
            school(t("丁校", "School D"), 3100.0, 6.8),
            school(t("戊校", "School E"), 1500.0, 2.0),
        ],
        scale: 1000.0,
        overall: None,
        x_label: Some(t("在校学生数", "students enrolled")),
        y_label: Some(t("每千名学生", "per 1,000 students")),
    })
}

/// A long Chinese or English report for trying page layout: several
/// headings, four key-figure tiles, a 40-row table with a totals row that
/// must break across pages, a second table, a chart and notes. Its figures
/// are invented.
pub fn long_document(lang: Lang) -> Document {
    let t = words(lang);
    let para = t(
        "本年度，中心在四十所学校开展驻校社会工作服务，围绕“筛查—评估—干预—跟踪”的闭环，为学生提供个案辅导、小组活动和成长课堂。各校的服务量与学生规模大致相称，规模较小的学校按发布规则隐去了小于5的计数。",
        "This year the centre worked on site in forty schools, following the screening, assessment, intervention and follow-up loop. Each school's volume of work roughly matches its size; counts below 5 in small schools are withheld under the publication rules.",
    );
    let mut blocks = vec![
        Block::Heading { level: 1, text: t("一、年度概况", "1. The year at a glance") },
        Block::Paragraph { text: para.clone() },
        Block::KeyFigures { tiles: long_tiles(lang) },
        Block::Paragraph { text: para.clone() },
        Block::Heading { level: 2, text: t("（一）各校服务", "1.1 Services by school") },
        Block::Paragraph { text: para.clone() },
        Block::Paragraph { text: para.clone() },
        Block::Table(forty_schools(lang)),
        Block::Paragraph { text: para.clone() },
        Block::Heading { level: 1, text: t("二、极端事件与筛查", "2. Incidents and screening") },
        Block::Paragraph { text: para.clone() },
        Block::Heading { level: 2, text: t("（一）发生率趋势", "2.1 The trend") },
        Block::Figure {
            caption: t(
                "图1 极端事件发生率（每千名学生，95%置信区间）",
                "Figure 1 Extreme incidents per 1,000 students (95% CI)",
            ),
            chart: incident_trend(lang),
        },
        Block::Heading { level: 2, text: t("（二）各校情况", "2.2 By school") },
        Block::Paragraph { text: para.clone() },
        Block::Table(incidents_by_school(lang)),
        Block::Note {
            text: t(
                "注：小于5的计数显示为“<5”，由其可推算的数字显示为“—”。",
                "Note: counts from 1 to 4 are shown as \"<5\".",
            ),
        },
        Block::Heading { level: 1, text: t("三、下一年度计划", "3. Next year") },
        Block::Paragraph { text: para.clone() },
        Block::Paragraph { text: para },
    ];
    blocks.shrink_to_fit();
    annual_review(lang, blocks)
}

/// School `i`'s name in the long report.
fn school_name(lang: Lang, i: u32) -> String {
    match lang {
        Lang::ZhCn => format!("第{i}中心学校"),
        Lang::En => format!("School no. {i}"),
    }
}

/// The long report's four headline figures.
fn long_tiles(lang: Lang) -> Vec<Tile> {
    let t = words(lang);
    vec![
        Tile {
            label: t("服务学生人次", "Student contacts"),
            value: "13208".into(),
            note: Some(t("较上年 +12%", "+12% on last year")),
        },
        Tile { label: t("个案辅导场次", "Case sessions"), value: "1134".into(), note: None },
        Tile { label: t("高危学生", "High-risk students"), value: "47".into(), note: None },
        Tile { label: t("驻校天数", "Days on site"), value: "3101".into(), note: None },
    ]
}

/// Sessions in forty schools, with a totals row: a table that must break
/// across pages.
fn forty_schools(lang: Lang) -> Table {
    let t = words(lang);
    let schools: Vec<Vec<Cell>> = (1..=40)
        .map(|i: u32| {
            let cases = f64::from(i * 7 % 53 + 5);
            let groups = f64::from(i * 3 % 17 + 5);
            vec![
                Cell::Text(school_name(lang, i)),
                Cell::number(f64::from(300 + i * 37 % 900)),
                Cell::number(cases),
                Cell::number(groups),
                Cell::number(cases + groups),
            ]
        })
        .collect();
    let sum =
        |c: usize| schools.iter().map(|r| if let Cell::Number { value, .. } = &r[c] { *value } else { 0.0 }).sum();
    let totals = vec![
        Cell::Text(t("合计", "Total")),
        Cell::number(sum(1)),
        Cell::number(sum(2)),
        Cell::number(sum(3)),
        Cell::number(sum(4)),
    ];
    Table {
        caption: Some(t("表1 各校服务场次（2024年度）", "Table 1 Sessions by school, 2024")),
        columns: vec![
            Column::text(t("学校", "School")),
            Column::numeric(t("在校学生数", "Students")),
            Column::numeric(t("个案辅导", "Case sessions")),
            Column::numeric(t("小组活动", "Group sessions")),
            Column::numeric(t("合计", "Total")),
        ],
        rows: schools,
        totals: Some(totals),
        note: Some(t("数据来源：服务记录导出，2024年1月1日至12月31日。", "Source: service records, 2024.")),
    }
}

/// Incidents in twelve schools, every fourth withheld.
fn incidents_by_school(lang: Lang) -> Table {
    let t = words(lang);
    Table {
        caption: Some(t("表2 各校极端事件发生率（每千名学生）", "Table 2 Extreme incidents per 1,000 students")),
        columns: vec![
            Column::text(t("学校", "School")),
            Column::numeric(t("事件数", "Incidents")),
            Column::numeric(t("发生率", "Rate")),
        ],
        rows: (1..=12)
            .map(|i: u32| {
                vec![
                    Cell::Text(school_name(lang, i)),
                    if i.is_multiple_of(4) { Cell::Suppressed("<5".into()) } else { Cell::number(f64::from(i + 4)) },
                    if i.is_multiple_of(4) {
                        Cell::Withheld("—".into())
                    } else {
                        Cell::number(f64::from(i * 13 % 40) / 10.0 + 1.0)
                    },
                ]
            })
            .collect(),
        totals: None,
        note: None,
    }
}
