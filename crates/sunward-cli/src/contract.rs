//! `sunward contract`: the data contract, printed from the code that checks
//! it (`sunward_core::contract`), as text for a terminal or as the Markdown
//! of docs/CONTRACT.md (a test keeps that file equal to this output). With
//! `--pipeline P` it is the contract as that pipeline extends it, what the
//! project added marked as such.

use clap::Args;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use sunward_core::contract::{ColumnSpec, Contract, TableSpec};

/// Arguments of `sunward contract`.
#[derive(Debug, Args)]
pub(crate) struct ContractArgs {
    /// Print Markdown (as in docs/CONTRACT.md) instead of text.
    #[arg(long)]
    pub(crate) markdown: bool,
    /// Print the contract as this pipeline sees it, with what its `contract:` adds.
    #[arg(long, value_name = "PIPELINE")]
    pub(crate) pipeline: Option<PathBuf>,
    /// A parameter of that pipeline, as `--set name=value` (repeatable).
    #[arg(long, value_name = "NAME=VALUE", requires = "pipeline")]
    pub(crate) set: Vec<String>,
}

/// What the contract says of one column.
struct Described {
    name: &'static str,
    ty: String,
    required: bool,
    rule: String,
    meaning: &'static str,
}

/// `c` of `table`, what the built-in contract does not have marked "added".
fn describe(table: &TableSpec, c: &ColumnSpec) -> Described {
    let shipped = Contract::builtin().table(table.name).and_then(|t| t.column(c.name));
    let mut rules = Vec::new();
    if shipped.is_none() && Contract::builtin().table(table.name).is_some() {
        rules.push("added by the project".to_string());
    }
    if table.unique.iter().any(|k| k == &[c.name]) {
        rules.push("unique".to_string());
    }
    if let Some(codes) = c.codes {
        let shown: Vec<String> = codes
            .iter()
            .map(|code| {
                let labels: Vec<&str> = c.labels.iter().filter(|(_, to)| to == code).map(|(l, _)| *l).collect();
                let added = shipped.is_some_and(|s| !s.codes.unwrap_or_default().contains(code));
                let english = c.names.iter().find(|n| n.code == *code).and_then(|n| n.en);
                let code = if added { format!("`{code}` (added)") } else { format!("`{code}`") };
                let shown = if labels.is_empty() { code } else { format!("{code} {}", labels.join(" / ")) };
                match english {
                    Some(en) => format!("{shown} ({en})"),
                    None => shown,
                }
            })
            .collect();
        rules.push(format!("one of {}", shown.join(", ")));
    }
    if let Some(max) = c.max {
        rules.push(match c.min {
            Some(min) => format!("{min} to {max}"),
            None => format!("at most {max}"),
        });
    } else if let Some(min) = c.min {
        rules.push(format!("at least {min}"));
    }
    if let Some((to, key)) = c.references {
        rules.push(format!("a `{key}` of `{to}`"));
    }
    for (first, second) in table.ordered_dates {
        if *second == c.name {
            rules.push(format!("not before `{first}`"));
        }
    }
    for group in table.one_of {
        if group.contains(&c.name) {
            let others: Vec<String> = group.iter().filter(|o| **o != c.name).map(|o| format!("`{o}`")).collect();
            rules.push(format!("set exactly when {} is empty", others.join(" and ")));
        }
    }
    Described {
        name: c.name,
        ty: if c.codes.is_some() { "code".to_string() } else { c.ty.to_string() },
        required: c.required,
        rule: rules.join("; "),
        meaning: c.meaning.unwrap_or(""),
    }
}

/// Keys of more than one column, which no single column's rule shows.
fn combined_keys(table: &TableSpec) -> Vec<String> {
    table
        .unique
        .iter()
        .filter(|k| k.len() > 1)
        .map(|k| k.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" + "))
        .collect()
}

const INTRO: &str = "The canonical tables every shipped pipeline reads. A source declared with
`contract: <table>` is loaded into that table: its headers and code labels
mapped (see docs/GUIDE.md), each value typed as below, and every rule checked;
a row that breaks one is set aside in `rejects/<source>.csv` with its place,
column, rule and original text.";

const CONVENTIONS: &[&str] = &[
    "Names are `snake_case`. A date is written `2025-03-05`, `2025/3/5`, `2025年3月5日` or as an Excel serial number; a time of day `18:30`, `18:30:00` or `18点30分`; an integer may be written `44.0`; in CSV an empty field is null, for text too.",
    "An academic year is named by the calendar year it starts in: `2024` runs from 2024-09-01 to 2025-08-31. Its terms are `AY2024-1` (to 2025-01-31) and `AY2024-2` (from 2025-02-01).",
    "`student_ref` is a pseudonym, never a name, ID-card or roll number (see `pseudonymise` in docs/GUIDE.md); no report shows it.",
    "Headers are matched after trimming spaces; columns the contract does not know are left out (with a warning, or silently with `ignore_columns:`).",
];

const BAD_ROWS: &[&str] = &[
    "a required column empty, or a value that is not of its type (`3.5` where an integer is expected);",
    "a code outside its list (after the source's `values:` mapping);",
    "a number below its minimum or above its maximum; a date before 2000-01-01 or more than a year after the run's `as_of` date; a date before the one it must follow;",
    "a key that the table it refers to does not hold (`school_id`, `case_id`, `class_id`);",
    "none, or more than one, of a group of columns of which a row sets exactly one (a service names its school or its district centre);",
    "a repeated unique key: the first good row keeps it, each later one is rejected and names the first;",
    "a field longer than 1 MiB or holding a NUL character; a line with more (or, unless `short_rows: pad`, fewer) fields than the header.",
];

const WHOLE_FILE: &str = "A header without a required column, or a quote left open, fails the whole source with a message naming the column or the line; a header with no rows is an empty table.";

/// `contract` as the Markdown of docs/CONTRACT.md.
pub fn markdown(contract: &Contract) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# The data contract\n");
    let _ = writeln!(out, "<!-- Written by `sunward contract --markdown`; a test keeps this file equal to it. -->\n");
    let _ = writeln!(out, "{INTRO}\n");
    let _ = writeln!(out, "## Conventions\n");
    for c in CONVENTIONS {
        let _ = writeln!(out, "- {c}");
    }
    let _ = writeln!(out, "\n## What makes a row bad\n");
    for r in BAD_ROWS {
        let _ = writeln!(out, "- {r}");
    }
    let _ = writeln!(out, "\n{WHOLE_FILE}");
    let _ = writeln!(out, "\n{}", extended_note(contract));
    for table in contract.tables() {
        let added = if Contract::builtin().table(table.name).is_none() { " (added by the project)" } else { "" };
        let _ = writeln!(out, "\n## `{}`{added}\n\nOne row is {}.\n", table.name, table.row);
        let _ = writeln!(out, "| column | type | required | rule | meaning |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for c in table.columns {
            let d = describe(table, c);
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                d.name,
                d.ty,
                if d.required { "yes" } else { "no" },
                d.rule,
                d.meaning
            );
        }
        for key in combined_keys(table) {
            let _ = writeln!(out, "\nUnique together: {key}.");
        }
    }
    out
}

/// Which files extended `contract`, or how a project may extend it.
fn extended_note(contract: &Contract) -> String {
    if contract.extended_by.is_empty() {
        EXTENDING.to_string()
    } else {
        format!(
            "This is the built-in contract as extended by {}; what they add is marked.",
            contract.extended_by.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
        )
    }
}

const EXTENDING: &str = "A project adds codes, columns and whole tables, and tightens rules, in YAML: see \"Extending the contract\" in docs/GUIDE.md, and `sunward contract --pipeline P` for the contract as a pipeline sees it.";

/// `contract` as text for a terminal.
pub fn text(contract: &Contract) -> String {
    let plain = |s: &str| s.replace('`', "");
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", plain(&INTRO.replace('\n', " ")));
    for c in CONVENTIONS {
        let _ = writeln!(out, "- {}", plain(c));
    }
    let _ = writeln!(out, "\nA row is bad when it has:");
    for r in BAD_ROWS {
        let _ = writeln!(out, "- {}", plain(r));
    }
    let _ = writeln!(out, "{}", plain(WHOLE_FILE));
    let _ = writeln!(out, "\n{}", plain(&extended_note(contract)));
    for table in contract.tables() {
        let added = if Contract::builtin().table(table.name).is_none() { " (added by the project)" } else { "" };
        let _ = writeln!(out, "\n{}{added} — one row is {}", table.name, plain(table.row));
        let described: Vec<Described> = table.columns.iter().map(|c| describe(table, c)).collect();
        let width = described.iter().map(|d| d.name.len()).max().unwrap_or(0);
        for d in &described {
            let notes: Vec<String> = [plain(&d.rule), plain(d.meaning)].into_iter().filter(|s| !s.is_empty()).collect();
            let line = format!(
                "  {:width$}  {:7}  {:8}  {}",
                d.name,
                d.ty,
                if d.required { "required" } else { "" },
                notes.join("; ")
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        for key in combined_keys(table) {
            let _ = writeln!(out, "  unique together: {}", plain(&key));
        }
    }
    out
}

/// `sunward contract [--markdown] [--pipeline P [--set K=V]…]`.
pub fn run(args: &ContractArgs, registry: &sunward_core::Registry) -> i32 {
    let contract = match &args.pipeline {
        None => Contract::builtin(),
        Some(pipeline) => {
            let options = sunward_core::ValidateOptions::now(args.set.clone(), std::path::PathBuf::from("out"));
            match sunward_core::validate_file(pipeline, registry, &options) {
                Ok(plan) => plan.contract,
                Err(diags) => return crate::report::PipelineText::read(pipeline).print_errors(&diags),
            }
        }
    };
    let printed = if args.markdown { markdown(contract) } else { text(contract) };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(printed.as_bytes()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            errln!("error: cannot print the contract: {e}");
            1
        }
    }
}
