//! The same services table exported three ways — canonical UTF-8 CSV, a
//! GB18030 CSV with Chinese headers, labels and `2025/3/5` dates as
//! Chinese-locale Excel writes it, and an XLSX workbook with real date cells —
//! must load into identical canonical rows.

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use sunward_core::model::SourceOptions;
use sunward_core::plugin::PluginHandle;
use sunward_core::{PluginKind, RunContext};
use sunward_engine::ingest::{Ingested, ingest};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/equivalence")
}

fn ctx() -> RunContext {
    RunContext {
        pipeline_dir: fixtures(),
        out_dir: std::env::temp_dir(),
        params: BTreeMap::new(),
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        sql_functions: Default::default(),
        contract: sunward_core::contract::Contract::builtin(),
    }
}

fn load(plugin: &str, config: serde_json::Value, options: serde_json::Value) -> Ingested {
    let registry = sunward_plugins::builtin_registry();
    let Some(PluginHandle::Source(source)) = registry.get(PluginKind::Source, plugin) else {
        panic!("no source plugin {plugin}")
    };
    let config = source.parse(config).expect("config parses");
    let options: SourceOptions = serde_json::from_value(options).expect("options parse");
    let ctx = ctx();
    let mut reader = source.open(&config, &ctx).expect("file opens");
    ingest("services", plugin, &options, reader.as_mut(), &ctx, &HashMap::new(), &|_| {}).expect("ingest succeeds")
}

fn chinese_export_options() -> serde_json::Value {
    json!({
        "contract": "services",
        "headers": {
            "记录编号": "record_id", "学校编号": "school_id", "服务日期": "service_date", "服务类型": "service_type",
            "服务对象": "audience", "人数": "participants", "学生编号": "student_ref", "个案编号": "case_id",
            "班级编号": "class_id", "社工编号": "worker_id", "时长（分钟）": "duration_min", "主题": "topic"
        },
        "values": {
            "service_type": {"个案辅导": "case_session", "成长课堂": "growth_class", "家长工作坊": "parent_workshop",
                             "社工信箱回信": "mailbox_reply", "小组活动": "group_session"},
            "audience": {"学生": "student", "家长": "parent"}
        }
    })
}

fn one_batch(ingested: &Ingested) -> RecordBatch {
    concat_batches(&ingested.schema, &ingested.batches).expect("batches share the schema")
}

#[test]
fn utf8_gb18030_and_xlsx_exports_give_identical_rows() {
    let canonical = load("csv", json!({"path": "services_utf8.csv"}), json!({"contract": "services"}));
    let gb = load("csv", json!({"path": "services_gb18030.csv", "encoding": "gb18030"}), chinese_export_options());
    let xlsx = load("xlsx", json!({"path": "services.xlsx", "sheet": "服务记录"}), chinese_export_options());
    for (name, loaded) in [("utf-8", &canonical), ("gb18030", &gb), ("xlsx", &xlsx)] {
        assert_eq!(loaded.rows_read, 5, "{name}");
        assert_eq!(loaded.rows_loaded, 5, "{name}: {:?}", loaded.rejects);
        assert!(loaded.rejects.is_empty(), "{name}: {:?}", loaded.rejects);
    }
    let expected = one_batch(&canonical);
    assert_eq!(one_batch(&gb), expected, "gb18030 export differs");
    assert_eq!(one_batch(&xlsx), expected, "xlsx export differs");

    // And the canonical rows are what the fixture says, read by eye: IDs stay
    // strings ("007"), dates are dates, counts integers, empty fields null; a
    // school's service names no centre.
    let shown = pretty_format_batches(&[expected]).unwrap().to_string();
    let want = "\
+-----------+-----------+--------------+-----------------+----------+--------------+-------------+---------+---------------+-----------+--------------+----------+-----------+------------+
| record_id | school_id | service_date | service_type    | audience | participants | student_ref | case_id | class_id      | worker_id | duration_min | topic    | centre_id | start_time |
+-----------+-----------+--------------+-----------------+----------+--------------+-------------+---------+---------------+-----------+--------------+----------+-----------+------------+
| R001      | 007       | 2025-03-05   | case_session    | student  | 1            | S-a1        | C01     |               | W1        | 50           |          |           |            |
| R002      | 007       | 2025-03-12   | growth_class    | student  | 45           |             |         | 007-2024-G7-1 | W1        | 40           | 生命教育 |           |            |
| R003      | 008       | 2025-04-01   | parent_workshop | parent   | 213          |             |         |               | W2        | 90           | 亲子沟通 |           |            |
| R004      | 008       | 2025-09-30   | mailbox_reply   | student  | 1            | S-b7        |         |               | W2        |              |          |           |            |
| R005      | 007       | 2025-12-31   | group_session   | student  | 12           |             |         |               | W1        | 60           | 情绪管理 |           |            |
+-----------+-----------+--------------+-----------------+----------+--------------+-------------+---------+---------------+-----------+--------------+----------+-----------+------------+";
    assert_eq!(shown, want);
}
