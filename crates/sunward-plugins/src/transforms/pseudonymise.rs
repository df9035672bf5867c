//! The `pseudonymise` step: raw student identifiers replaced by a keyed hash.
//!
//! The data contract allows only pseudonymous `student_ref`s past loading. This
//! step reads one table, replaces its identifier column(s) (a roll number such
//! as `学籍号`) by HMAC-SHA-256 under a secret key — the first 16 bytes, as 32
//! lowercase hex characters — and removes further direct identifiers (names,
//! ID-card and phone numbers). The key is never part of the pipeline: it is read
//! at run time from an environment variable or a key file, must hold at least 16
//! bytes, and is never written to an output, a message or the manifest. The same
//! key gives the same refs in every run and year; another key unrelated ones.
//!
//! The hash is a DataFusion scalar function ([`PseudonymUdf`]) used directly in
//! the step's projection, so it streams with the rest of the plan; it is not
//! registered in the session, so no SQL step can call it with the key.
//!
//! The key is read by `run`, which validation also calls (on empty tables): a
//! pipeline whose key is missing or too short fails `sunward validate` as well
//! as `sunward run`, before any source is loaded.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use datafusion::arrow::compute::{can_cast_types, cast};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::plan_err;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::prelude::{DataFrame, Expr, ident};
use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::Sha256;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use sunward_core::yaml::PathPart;
use sunward_core::{
    ConfigIssue, Diagnostic, Plugin, PluginInfo, Result, RunContext, StepContext, Transform, async_trait,
};

/// The environment variable read for the key when neither `key_env` nor `key_file` is set.
pub const DEFAULT_KEY_ENV: &str = "SUNWARD_PSEUDONYM_KEY";
/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;
/// How many bytes of the HMAC-SHA-256 a pseudonym keeps (written as twice as many hex characters).
pub const PSEUDONYM_BYTES: usize = 16;
/// What joins the values of several identifier columns before hashing: the unit separator U+001F.
pub const SEPARATOR: u8 = 0x1f;

/// Replaces raw identifiers by keyed pseudonyms.
pub struct PseudonymiseTransform;

/// Settings of a `pseudonymise` step. The key itself is never written here: it is
/// read at run time from `key_env` (default `SUNWARD_PSEUDONYM_KEY`) or `key_file`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PseudonymiseConfig {
    /// The table holding the raw identifiers: a source or an earlier step.
    pub table: String,
    /// The identifier column(s) to pseudonymise, e.g. `[学籍号]`, or `[student_ref]` when a
    /// source mapped the roll-number header onto `student_ref`. Values are hashed as text (a
    /// number column as its decimal digits, so load roll numbers as text to keep leading zeros);
    /// several columns are joined in the order listed with the unit separator U+001F. A row
    /// where any of them is null gets a null pseudonym. The columns are removed from the output.
    pub columns: Vec<String>,
    /// The column receiving the pseudonym: the first 16 bytes of HMAC-SHA-256 under the key,
    /// as 32 lowercase hex characters. It takes the place of the first identifier column, or of
    /// itself when it is one of `columns` (replaced in place). Other columns keep their order.
    #[serde(default = "default_into")]
    #[schemars(default = "default_into")]
    pub into: String,
    /// Further direct identifiers to remove: names, ID-card numbers, phone numbers, addresses.
    /// Each must exist in the table, so a misspelt name cannot leave an identifier in place.
    /// List `into` here to replace an existing column of that name.
    #[serde(default)]
    pub drop: Vec<String>,
    /// The environment variable holding the key (when `key_file` is not set:
    /// `SUNWARD_PSEUDONYM_KEY`). The key must hold at least 16 bytes; trailing line breaks are
    /// ignored. The same key gives the same pseudonyms in every run and year; keep it secret
    /// and keep a copy, since a new key gives unrelated pseudonyms.
    #[serde(default)]
    pub key_env: Option<String>,
    /// A file holding the key, instead of an environment variable. `${param}`s are replaced and
    /// a relative path is read from the pipeline's folder. Trailing line breaks are ignored.
    /// Keep it outside every folder that is shared or published.
    #[serde(default)]
    pub key_file: Option<String>,
}

fn default_into() -> String {
    "student_ref".to_string()
}

impl PseudonymiseConfig {
    /// The environment variable the key is read from when there is no `key_file`.
    pub fn key_env(&self) -> &str {
        self.key_env.as_deref().unwrap_or(DEFAULT_KEY_ENV)
    }
}

fn duplicates(names: &[String]) -> Vec<usize> {
    (0..names.len()).filter(|&i| names[..i].contains(&names[i])).collect()
}

fn at(field: &str, index: usize, message: String) -> ConfigIssue {
    ConfigIssue { path: vec![PathPart::Key(field.to_string()), PathPart::Index(index)], message, hint: None }
}

impl Plugin for PseudonymiseTransform {
    type Config = PseudonymiseConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "pseudonymise",
        description: "replaces raw student identifiers by keyed pseudonyms (HMAC-SHA-256; the key comes from an environment variable or a key file) and removes other direct identifiers",
        example: "plugin: pseudonymise\ntable: roster\ncolumns: [学籍号]\ninto: student_ref\ndrop: [姓名, 身份证号, 联系电话]\nkey_file: ${key_dir}/pseudonym.key\n",
    };

    fn check(&self, config: &PseudonymiseConfig) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if config.table.trim().is_empty() {
            issues.push(ConfigIssue::field("table", "`table` is empty").hint("name the table holding the identifiers"));
        }
        if config.columns.is_empty() {
            issues.push(
                ConfigIssue::field("columns", "`columns` is empty")
                    .hint("list the identifier column(s) to pseudonymise, e.g. `[学籍号]`"),
            );
        }
        for i in duplicates(&config.columns) {
            issues.push(at("columns", i, format!("column \"{}\" is listed twice", config.columns[i])));
        }
        if config.into.trim().is_empty() {
            issues.push(
                ConfigIssue::field("into", "`into` is empty").hint("name the pseudonym column, e.g. `student_ref`"),
            );
        }
        for i in duplicates(&config.drop) {
            issues.push(at("drop", i, format!("column \"{}\" is listed twice", config.drop[i])));
        }
        for (i, name) in config.drop.iter().enumerate() {
            if config.columns.contains(name) {
                issues.push(
                    at("drop", i, format!("column \"{name}\" is listed under `columns` too"))
                        .hint("identifier columns are always removed; list it once, under `columns`"),
                );
            }
        }
        if config.key_env.is_some() && config.key_file.is_some() {
            issues.push(
                ConfigIssue::field("key_file", "both `key_env` and `key_file` are set")
                    .hint("read the key from one place: keep `key_env` or `key_file`"),
            );
        }
        if config.key_env.as_deref().is_some_and(|v| v.trim().is_empty()) {
            issues.push(ConfigIssue::field("key_env", "`key_env` is empty").hint(format!(
                "name the environment variable holding the key, or leave `key_env` out for {DEFAULT_KEY_ENV}"
            )));
        }
        if config.key_file.as_deref().is_some_and(|v| v.trim().is_empty()) {
            issues.push(ConfigIssue::field("key_file", "`key_file` is empty").hint("give the path of the key file"));
        }
        issues
    }
}

#[async_trait]
impl Transform for PseudonymiseTransform {
    fn inputs(&self, config: &PseudonymiseConfig) -> std::result::Result<Vec<String>, ConfigIssue> {
        Ok(vec![config.table.clone()])
    }

    async fn run(&self, config: &PseudonymiseConfig, ctx: &StepContext<'_>) -> Result<DataFrame> {
        let table = ctx.session.table(config.table.as_str()).await?;
        let layout = Layout::of(config, &table)?;
        let key = load_key(config, ctx.run)?;
        let pseudonym = pseudonym_expr(&key.0, config.columns.iter().map(|c| ident(c.as_str())).collect())
            .alias(config.into.as_str());
        let mut exprs = Vec::new();
        for (i, name) in layout.names.iter().enumerate() {
            if i == layout.position {
                exprs.push(pseudonym.clone());
            } else if !config.columns.contains(name) && !config.drop.contains(name) {
                exprs.push(ident(name.as_str()));
            }
        }
        Ok(table.select(exprs)?)
    }
}

/// The input's columns, checked against the settings, and where the pseudonym goes.
struct Layout {
    names: Vec<String>,
    position: usize,
}

impl Layout {
    fn of(config: &PseudonymiseConfig, table: &DataFrame) -> Result<Self> {
        let schema = table.schema().as_arrow();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let listing = || format!("the columns of {} are: {}", config.table, names.join(", "));
        let absent = |name: &str, what: &str| {
            let similar = sunward_core::diag::similar(name, names.iter().map(String::as_str));
            let hint = match similar {
                Some(s) => format!("{s}; {}", listing()),
                None => listing(),
            };
            Diagnostic::invalid(format!("table \"{}\" has no column \"{name}\" {what}", config.table)).hint(hint)
        };
        for name in &config.columns {
            let Some(field) = schema.fields().iter().find(|f| f.name() == name) else {
                return Err(absent(name, "to pseudonymise (listed under `columns`)"));
            };
            if !can_cast_types(field.data_type(), &DataType::Utf8) {
                return Err(Diagnostic::invalid(format!(
                    "column \"{name}\" of {} holds {}, which cannot be read as text to pseudonymise",
                    config.table,
                    field.data_type()
                ))
                .hint("pseudonymise identifier columns holding text or numbers"));
            }
        }
        for name in &config.drop {
            if !names.contains(name) {
                return Err(absent(name, "to drop (listed under `drop`)"));
            }
        }
        let into = &config.into;
        if names.contains(into) && !config.columns.contains(into) && !config.drop.contains(into) {
            return Err(Diagnostic::invalid(format!(
                "table \"{}\" already has a column \"{into}\", the pseudonym column (`into`)",
                config.table
            ))
            .hint(format!(
                "list \"{into}\" under `columns` to pseudonymise it in place, under `drop` to replace it, or choose another `into`"
            )));
        }
        let position = if config.columns.contains(into) {
            names.iter().position(|n| n == into)
        } else {
            names.iter().position(|n| config.columns.contains(n))
        };
        // Every identifier column was found above, so there is a position; an empty
        // `columns` (refused by `check`) ends here too.
        let position = position.ok_or_else(|| {
            Diagnostic::invalid("`columns` is empty")
                .hint("list the identifier column(s) to pseudonymise, e.g. `[学籍号]`")
        })?;
        Ok(Layout { names, position })
    }
}

/// Key bytes; `Debug` never shows them.
struct Key(Vec<u8>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(<{} bytes, redacted>)", self.0.len())
    }
}

/// The file name of the public demo key shipped beside the sample exports.
pub const DEMO_KEY_FILE: &str = "DEMO-KEY-NOT-SECRET.txt";

fn key_hint(config: &PseudonymiseConfig, run: &RunContext) -> String {
    let target = match &config.key_file {
        Some(file) => format!("write it to the key file ({file})"),
        None => format!("then `export {}=\"$(cat key)\"` or set `key_file:` to the file", config.key_env()),
    };
    let mut hint = format!(
        "create a key once with `head -c 32 /dev/urandom | base64 > key`, {target}; keep it secret, outside the pipeline's and the output's folders, and keep a copy: the same key gives the same refs every year"
    );
    // The shipped sample exports come with a public demo key: say so when
    // the pipeline reads a folder that holds it.
    let demo = run.params.values().find_map(|v| match v {
        sunward_core::params::ParamValue::Path(p) => Some(p.join(DEMO_KEY_FILE)).filter(|k| k.is_file()),
        _ => None,
    });
    if let (Some(demo), None) = (demo, &config.key_file) {
        // Shown without `dir/..` (`sample-data/…`, not `pipelines/../sample-data/…`).
        let mut parts: Vec<std::path::Component> = Vec::new();
        for part in demo.components() {
            match (part, parts.last()) {
                (std::path::Component::CurDir, _) => {}
                (std::path::Component::ParentDir, Some(std::path::Component::Normal(_))) => {
                    parts.pop();
                }
                (other, _) => parts.push(other),
            }
        }
        let demo: std::path::PathBuf = parts.iter().collect();
        let cwd = std::env::current_dir().unwrap_or_default();
        let shown = demo.strip_prefix(&cwd).unwrap_or(&demo).display().to_string();
        hint = format!(
            "these are the shipped sample exports, which come with a public demo key: `export {}=\"$(cat {shown})\"` (never use it for real data); for real exports, {hint}",
            config.key_env()
        );
    }
    hint
}

/// Read the key from `key_file` or the environment, never echoing it.
fn load_key(config: &PseudonymiseConfig, run: &RunContext) -> Result<Key> {
    let (bytes, origin) = match &config.key_file {
        Some(file) => {
            let path = run.input_path(file)?;
            match std::fs::read(&path) {
                Ok(bytes) => (bytes, format!("the key file {}", path.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Diagnostic::invalid(format!(
                        "no pseudonymisation key: the key file {} does not exist",
                        path.display()
                    ))
                    .hint(key_hint(config, run)));
                }
                Err(e) => {
                    return Err(Diagnostic::runtime(format!("cannot read the key file {}", path.display()))
                        .hint("check the file's permissions")
                        .caused_by(e));
                }
            }
        }
        None => {
            let name = config.key_env();
            match std::env::var_os(name) {
                Some(value) => (value.into_encoded_bytes(), format!("the environment variable {name}")),
                None => {
                    return Err(Diagnostic::invalid(format!(
                        "no pseudonymisation key: the environment variable {name} is not set"
                    ))
                    .hint(key_hint(config, run)));
                }
            }
        }
    };
    let mut key = bytes;
    while key.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        key.pop();
    }
    if key.len() < MIN_KEY_BYTES {
        return Err(Diagnostic::invalid(format!(
            "the pseudonymisation key in {origin} is too short: {} bytes, at least {MIN_KEY_BYTES} are needed",
            key.len()
        ))
        .hint(key_hint(config, run)));
    }
    Ok(Key(key))
}

/// The scalar function computing pseudonyms: `pseudonymise(a, b, …)` is the first
/// [`PSEUDONYM_BYTES`] bytes of HMAC-SHA-256 under the key of the arguments' text joined
/// with [`SEPARATOR`], in lowercase hex; null when any argument is null.
///
/// It accepts a key of any length; the `pseudonymise` step refuses keys shorter than
/// [`MIN_KEY_BYTES`]. `Debug` does not show the key.
pub struct PseudonymUdf {
    key: Vec<u8>,
    mac: Hmac<Sha256>,
    signature: Signature,
}

impl PseudonymUdf {
    /// The function under `key`.
    pub fn new(key: &[u8]) -> Self {
        PseudonymUdf {
            key: key.to_vec(),
            mac: <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length"),
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }

    /// The pseudonyms of `rows` rows of `columns` (text arrays of that length).
    fn pseudonyms(&self, columns: &[&StringArray], rows: usize) -> StringArray {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = StringBuilder::with_capacity(rows, rows * PSEUDONYM_BYTES * 2);
        let mut text = String::with_capacity(PSEUDONYM_BYTES * 2);
        for row in 0..rows {
            if columns.iter().any(|c| c.is_null(row)) {
                out.append_null();
                continue;
            }
            let mut mac = self.mac.clone();
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    mac.update(&[SEPARATOR]);
                }
                mac.update(column.value(row).as_bytes());
            }
            let digest = mac.finalize().into_bytes();
            text.clear();
            for byte in &digest[..PSEUDONYM_BYTES] {
                text.push(char::from(HEX[usize::from(byte >> 4)]));
                text.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
            out.append_value(&text);
        }
        out.finish()
    }
}

impl fmt::Debug for PseudonymUdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymUdf { key: <redacted> }")
    }
}

impl PartialEq for PseudonymUdf {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for PseudonymUdf {}

impl Hash for PseudonymUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl ScalarUDFImpl for PseudonymUdf {
    fn name(&self) -> &str {
        "pseudonymise"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> datafusion::error::Result<DataType> {
        if arg_types.is_empty() {
            return plan_err!("pseudonymise needs at least one column");
        }
        if let Some(t) = arg_types.iter().find(|t| !can_cast_types(t, &DataType::Utf8)) {
            return plan_err!("pseudonymise cannot read a value of type {t} as text");
        }
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> datafusion::error::Result<ColumnarValue> {
        let rows = args.number_rows;
        let texts: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|arg| Ok(cast(&arg.to_array(rows)?, &DataType::Utf8)?))
            .collect::<datafusion::error::Result<_>>()?;
        let columns: Vec<&StringArray> = texts.iter().map(|a| a.as_string::<i32>()).collect();
        Ok(ColumnarValue::Array(Arc::new(self.pseudonyms(&columns, rows))))
    }
}

/// The expression computing the pseudonyms of `columns` under `key` (any length: the step's
/// checks on the key are not applied here), for use in a projection.
pub fn pseudonym_expr(key: &[u8], columns: Vec<Expr>) -> Expr {
    ScalarUDF::new_from_impl(PseudonymUdf::new(key)).call(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(values: &[Option<&str>]) -> StringArray {
        values.iter().copied().collect()
    }

    #[test]
    fn the_pseudonym_is_the_first_half_of_hmac_sha256_rfc4231_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?",
        // HMAC-SHA-256 = 5bdcc146bf60754e6a042426089575c7 5a003f089d2739839dec58b964ec3843.
        let udf = PseudonymUdf::new(b"Jefe");
        let column = texts(&[Some("what do ya want for nothing?"), None]);
        let out = udf.pseudonyms(&[&column], 2);
        assert_eq!(out.value(0), "5bdcc146bf60754e6a042426089575c7");
        assert!(out.is_null(1), "a null identifier gets a null pseudonym");
    }

    #[test]
    fn several_columns_are_joined_with_the_unit_separator() {
        let udf = PseudonymUdf::new(b"Jefe");
        let a = texts(&[Some("what do ya"), Some("x")]);
        let b = texts(&[Some("want for nothing?"), None]);
        let joined = texts(&[Some("what do ya\u{1f}want for nothing?")]);
        let two = udf.pseudonyms(&[&a, &b], 2);
        assert_eq!(two.value(0), udf.pseudonyms(&[&joined], 1).value(0));
        assert!(two.is_null(1), "any null identifier part gives a null pseudonym");
        // Without the separator "ab"+"c" and "a"+"bc" would collide.
        let (x1, y1) = (texts(&[Some("ab")]), texts(&[Some("c")]));
        let (x2, y2) = (texts(&[Some("a")]), texts(&[Some("bc")]));
        assert_ne!(udf.pseudonyms(&[&x1, &y1], 1).value(0), udf.pseudonyms(&[&x2, &y2], 1).value(0));
    }

    #[test]
    fn another_key_gives_unrelated_pseudonyms() {
        let column = texts(&[Some("G320584201001234567")]);
        let one = PseudonymUdf::new(b"0123456789abcdef").pseudonyms(&[&column], 1);
        let again = PseudonymUdf::new(b"0123456789abcdef").pseudonyms(&[&column], 1);
        let other = PseudonymUdf::new(b"0123456789abcdeg").pseudonyms(&[&column], 1);
        assert_eq!(one.value(0), again.value(0));
        assert_ne!(one.value(0), other.value(0));
        assert_eq!(one.value(0).len(), 32);
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let udf = PseudonymUdf::new(b"a-very-secret-key-1234");
        assert!(!format!("{udf:?}").contains("secret"));
        assert!(!format!("{:?}", Key(b"a-very-secret-key-1234".to_vec())).contains("secret"));
    }

    #[test]
    fn check_reports_conflicting_settings() {
        let config: PseudonymiseConfig = serde_json::from_value(serde_json::json!({
            "table": "roster", "columns": ["学籍号", "学籍号"], "drop": ["学籍号"],
            "key_env": "K", "key_file": "k.key"
        }))
        .expect("a config");
        let messages: Vec<String> = PseudonymiseTransform.check(&config).into_iter().map(|i| i.message).collect();
        assert!(messages.iter().any(|m| m.contains("listed twice")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("under `columns` too")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("both `key_env` and `key_file`")), "{messages:?}");
    }
}
