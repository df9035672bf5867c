//! Hostile and careless inputs, each reproduced as a user would meet it:
//! output paths that try to leave `--out` (from the pipeline, from `--set`,
//! through a symbolic link), sums that would wrap, and data that tries to
//! rewrite a report's structure. Each must end in a clear error or the
//! right result, with no file written outside the output folder.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::{ok, repo};

fn sunward(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(dir).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// A pipeline that copies the tiny fixture's schools to `path`.
fn copy_schools(dir: &Path, path: &str) -> std::path::PathBuf {
    let schools = repo().join("crates/sunward-cli/tests/fixtures/tiny/schools.csv");
    let pipeline = dir.join("p.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "name: p\nparams:\n  tag: {{type: string, default: a}}\nsources:\n  schools: {{plugin: csv, path: \"{}\", contract: schools}}\n\
             outputs:\n  copy: {{plugin: csv, table: schools, path: \"{path}\"}}\n",
            schools.display()
        ),
    )
    .unwrap();
    pipeline
}

#[test]
fn output_paths_stay_inside_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // A planted link inside the output folder that leads out of it.
    let out = work.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("link")).unwrap();
    let escape = format!("{}/x.csv", outside.display());
    let cases: [(&str, &[&str], &str); 5] = [
        ("../../outside/x.csv", &[], "climbs out of the output folder"),
        (&escape, &[], "is absolute"),
        ("out_${tag}.csv", &["--set", "tag=/../../../outside/x"], "climbs out of the output folder"),
        ("link/x.csv", &[], "symbolic link"),
        ("a/../../x.csv", &[], "climbs out of the output folder"),
    ];
    for (path, extra, why) in cases {
        let pipeline = copy_schools(&work, path);
        let p = pipeline.to_str().unwrap();
        for command in ["validate", "run"] {
            // (validate checks against the default output folder, `out`.)
            let mut args = if command == "run" { vec![command, p, "--out", "out"] } else { vec![command, p] };
            args.extend_from_slice(extra);
            let output = sunward(&work, &args);
            assert_eq!(output.status.code(), Some(2), "{command} {path}: {}", stderr(&output));
            let err = stderr(&output);
            assert!(err.contains(why) && err.contains("--out"), "{command} {path}: {err}");
        }
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "a file was written outside --out");
    assert!(!dir.path().join("x.csv").exists());
    // A path that climbs within the folder is fine.
    let pipeline = copy_schools(&work, "a/../inside.csv");
    ok(&sunward(&work, &["run", pipeline.to_str().unwrap(), "--out", "out", "--quiet"]));
    assert!(out.join("inside.csv").is_file());
}

/// Two head counts of i64::MAX once made `SUM(participants)` wrap to a small
/// number with exit 0. Counts now have upper bounds in the contract: such
/// rows are set aside with their reason, and the sum is the true one.
#[test]
fn counts_beyond_any_school_are_rejected_and_sums_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = repo().join("crates/sunward-cli/tests/fixtures/tiny/services.csv");
    let original = std::fs::read_to_string(&tiny).unwrap();
    // The fixture's own participants, summed by hand from the file.
    let expected: i64 = original.lines().skip(1).map(|l| l.split(',').nth(5).unwrap().parse::<i64>().unwrap()).sum();
    let mut text = original.clone();
    text.push_str("X1,T1,2024-10-01,campus_event,student,9223372036854775807,,,,W1,60,\n");
    text.push_str("X2,T1,2024-10-02,campus_event,student,9223372036854775807,,,,W1,60,\n");
    text.push_str("X3,T1,2024-10-03,campus_event,student,100001,,,,W1,60,\n");
    text.push_str("X4,T1,2024-10-04,consultation,student,1,,,,W1,2000,\n");
    let services = dir.path().join("services.csv");
    std::fs::write(&services, text).unwrap();
    let pipeline = dir.path().join("sum.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "name: sum\nsources:\n  services: {{plugin: csv, path: \"{}\", contract: services}}\n\
             steps:\n  total: {{plugin: sql, query: \"SELECT SUM(participants) AS people FROM services\"}}\n\
             outputs:\n  total: {{plugin: csv, table: total, path: total.csv}}\n",
            services.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    ok(&sunward(dir.path(), &["run", pipeline.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]));
    let total = std::fs::read_to_string(out.join("total.csv")).unwrap();
    assert_eq!(total.lines().nth(1).unwrap(), expected.to_string(), "{total}");
    let rejects = std::fs::read_to_string(out.join("rejects/services.csv")).unwrap();
    // The fixture has 45 rows after its header (lines 2–46): the four added are lines 47–50.
    for (place, column, why) in [
        ("line 47", "participants", "more than 100000"),
        ("line 48", "participants", "more than 100000"),
        ("line 49", "participants", "more than 100000"),
        ("line 50", "duration_min", "more than 1440"),
    ] {
        let row = format!(",{place},{column},{why},");
        assert!(rejects.contains(&row), "{row} not among the rejects:\n{rejects}");
    }
}

/// A school's name that tries to rewrite the report: a line break with a
/// front-matter key, a table cell's `|`, bold, HTML and a code fence. The
/// name is printed as the text it is — on one line, in its own cell, the
/// figures under the right headers — in the HTML, the PDF and the Word file,
/// and the report's own title stays.
#[test]
fn data_stays_data_in_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::tiny_copy(dir.path());
    let name = "大河\ntitle: HACKED\n中学 | **粗** <b>x</b> ``` #1 & [链接](x)";
    let schools = std::fs::read_to_string(data.join("schools.csv")).unwrap();
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    std::fs::write(data.join("schools.csv"), schools.replace("大河中学", &quoted)).unwrap();
    let out = dir.path().join("out");
    common::run_metrics(&data, 2023, 2024, &out);
    let run = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .current_dir(repo())
        .args(["run", "pipelines/district-comparison.yaml", "--quiet", "--set", "report_date=2025-10-15"])
        .args(["--set", &format!("data_dir={}", data.display())])
        .args(["--set", &format!("metrics={}", out.join("metrics.parquet").display())])
        .args(["--set", "baseline_year=2023", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    ok(&run);
    let shown = name.replace('\n', " ");
    let dom = common::chromium_dom(&out.join("district-comparison_AY2024_D1.html"));
    assert!(
        !dom.contains("HACKED</h1>") && dom.contains("测试区2024学年学校心理健康服务比较</h1>"),
        "the title was rewritten"
    );
    let rows = common::html_rows(&dom);
    let row = rows
        .iter()
        .find(|r| r.first().is_some_and(|c| c == &shown))
        .unwrap_or_else(|| panic!("no row named {shown:?}: {rows:#?}"));
    // Table 1: name, students (2000), then the coverage columns: seven cells in all.
    assert_eq!(row.len(), 7, "{row:?}");
    assert_eq!(row[1], "2000", "{row:?}");
    assert!(!dom.contains("<b>x</b>") && !dom.contains("<strong>粗</strong>"), "markup from data was applied");
    let pdf = common::pdf_text(&out.join("district-comparison_AY2024_D1.pdf"));
    assert!(pdf.contains("**粗**") && pdf.contains("<b>x</b>") && !pdf.contains("HACKED\n"), "{pdf}");
}

/// The names in `dir` that a run leaves only while it is going: staging
/// folders and partial output files.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| {
                    n.starts_with(".sunward-stage-") || n.starts_with(".sunward-gen-") || n.ends_with(".partial")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// SIGTERM (what `kill` and a service manager send) or Ctrl-C during a
/// query that never ends: the run says it was interrupted, exits 130, and
/// leaves no staging folder and no partial file. A staging folder that a
/// `kill -9` left behind is swept by the next run into the same folder; the
/// staging folder is its owner's alone (0700).
#[test]
fn an_interrupted_run_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = never_ending_pipeline(dir.path());
    let out = dir.path().join("out");
    let earlier = earlier_outputs(&out);
    // What a `kill -9` left: a staging folder whose owner is gone.
    let stale = out.join(".sunward-stage-stale");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("owner.pid"), "4194304").unwrap(); // above Linux's largest pid
    std::fs::write(stale.join("services_raw.parquet"), b"roll numbers").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .args(["run", pipeline.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the run's own staging folder (the stale one gone, a new one made).
    let mut own = None;
    for _ in 0..200 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let names = leftovers(&out);
        if !stale.exists()
            && let Some(name) = names.first()
        {
            own = Some(out.join(name));
            break;
        }
    }
    let own = own.expect("the run made its staging folder and swept the stale one");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&own).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the staging folder is readable by others");
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(leftovers(&out).is_empty(), "left behind: {:?}", leftovers(&out));
    assert_eq!(earlier_outputs(&out), earlier, "the previous outputs changed");
}

/// A pipeline whose one step never ends.
fn never_ending_pipeline(dir: &Path) -> std::path::PathBuf {
    let schools = repo().join("crates/sunward-cli/tests/fixtures/tiny/schools.csv");
    let pipeline = dir.join("forever.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "name: forever\nsources:\n  schools: {{plugin: csv, path: \"{}\", contract: schools}}\n\
             steps:\n  forever: {{plugin: sql, query: \"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT COUNT(*) AS n FROM t\"}}\n\
             outputs:\n  n: {{plugin: csv, table: forever, path: n.csv}}\n",
            schools.display()
        ),
    )
    .unwrap();
    pipeline
}

/// The files an earlier run of the never-ending pipeline left in `out`
/// (made on first call), with their contents.
fn earlier_outputs(out: &Path) -> Vec<(String, String)> {
    let files = ["n.csv", "manifest-forever.json", "rejects/schools.csv"];
    if !out.join("n.csv").exists() {
        for f in files {
            std::fs::create_dir_all(out.join(f).parent().unwrap()).unwrap();
            std::fs::write(out.join(f), format!("from an earlier run: {f}")).unwrap();
        }
    }
    files.iter().map(|f| (f.to_string(), std::fs::read_to_string(out.join(f)).unwrap_or_default())).collect()
}

/// `--timeout` stops a run as Ctrl-C does, with its own message and exit
/// code 124; the generation a `kill -9` left half-written is swept first.
#[test]
fn a_run_past_its_timeout_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = never_ending_pipeline(dir.path());
    let out = dir.path().join("out");
    let earlier = earlier_outputs(&out);
    let stale = out.join(".sunward-gen-stale");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("owner.pid"), "4194304").unwrap();
    std::fs::write(stale.join("n.csv"), "half-written").unwrap();
    let output = sunward(
        dir.path(),
        &["run", pipeline.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--timeout", "3s"],
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(124), "{err}");
    assert!(err.contains("stopped after --timeout 3s"), "{err}");
    assert!(leftovers(&out).is_empty(), "left behind: {:?}", leftovers(&out));
    assert_eq!(earlier_outputs(&out), earlier, "the previous outputs changed");
    let bad = sunward(dir.path(), &["run", pipeline.to_str().unwrap(), "--timeout", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("90s, 10m or 1h 30m"), "{}", stderr(&bad));
}

/// A pipeline reading `file` (CSV or JSON lines) as the schools contract.
fn read_schools(dir: &Path, plugin: &str, file: &Path) -> std::path::PathBuf {
    let pipeline = dir.join("read.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "name: read\nsources:\n  schools: {{plugin: {plugin}, path: \"{}\", contract: schools}}\n\
             outputs:\n  copy: {{plugin: csv, table: schools, path: copy.csv}}\n",
            file.display()
        ),
    )
    .unwrap();
    pipeline
}

/// Peak resident memory of a finished child process, from `/usr/bin/time`.
fn run_measured(dir: &Path, pipeline: &Path) -> (Output, u64) {
    let output = Command::new("/usr/bin/time")
        .current_dir(dir)
        .args(["-f", "peak-kib=%M", env!("CARGO_BIN_EXE_sunward"), "run", pipeline.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    let err = stderr(&output);
    let kib = err.lines().find_map(|l| l.strip_prefix("peak-kib=")).and_then(|k| k.trim().parse().ok()).unwrap_or(0);
    (output, kib)
}

/// A 64 MiB line (a quote left open, or an attack), a header of 20,000
/// columns and a 9 MiB JSON line: each stops the run with a short message
/// naming the line and the limit, in bounded memory — never by holding the
/// whole line, and never by printing it.
#[test]
fn endless_lines_and_headers_stop_with_a_short_message() {
    let dir = tempfile::tempdir().unwrap();
    let header = "school_id,school_name,stage,district_id,district_name,city,org_id,org_name\n";
    // One record that never ends: a quote opened on line 3.
    let mut text = format!("{header}T1,大河中学,junior,D1,测试区,测试市,,\nT2,\"");
    text.push_str(&"长".repeat((64 << 20) / 3));
    let long = dir.path().join("long.csv");
    std::fs::write(&long, &text).unwrap();
    drop(text);
    let (output, peak_kib) = run_measured(dir.path(), &read_schools(dir.path(), "csv", &long));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("the quoted field starting on line 3 is still open after 8 MiB"), "{err}");
    assert!(err.len() < 2000, "the message repeats the input: {} bytes", err.len());
    // The 64 MiB line is never held whole (the allowance: 8 MiB blocks, a few at a time).
    assert!(peak_kib > 0 && peak_kib < 160 * 1024, "peak {peak_kib} KiB");

    // A header of 20,000 columns.
    let wide = dir.path().join("wide.csv");
    let names: Vec<String> = (0..20_000).map(|i| format!("c{i}")).collect();
    std::fs::write(&wide, format!("{}\n", names.join(","))).unwrap();
    let output = sunward(dir.path(), &["run", read_schools(dir.path(), "csv", &wide).to_str().unwrap(), "--quiet"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("has 20000 columns: expected at most 16384"), "{err}");
    assert!(err.len() < 2000, "the message repeats the input: {} bytes", err.len());

    // A header the contract does not know: the hint lists 20 of its names, then a count.
    let unknown = dir.path().join("unknown.csv");
    let names: Vec<String> = (0..5000).map(|i| format!("列{i}")).collect();
    std::fs::write(&unknown, format!("{}\n", names.join(","))).unwrap();
    let output = sunward(dir.path(), &["run", read_schools(dir.path(), "csv", &unknown).to_str().unwrap(), "--quiet"]);
    let err = stderr(&output);
    assert!(err.contains("列19, … and 4980 more"), "{err}");
    assert!(err.len() < 2000, "the message repeats the input: {} bytes", err.len());

    // A JSON line of 9 MiB.
    let json = dir.path().join("long.jsonl");
    let mut text = String::from("{\"school_id\": \"T1\", \"school_name\": \"大河中学\"}\n{\"school_name\": \"");
    text.push_str(&"x".repeat(9 << 20));
    text.push_str("\"}\n");
    std::fs::write(&json, text).unwrap();
    let output = sunward(dir.path(), &["run", read_schools(dir.path(), "jsonl", &json).to_str().unwrap(), "--quiet"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("line 2 of") && err.contains("is longer than 8 MiB"), "{err}");
    assert!(err.len() < 2000, "the message repeats the input: {} bytes", err.len());
}

/// A JSON line that is not an object keeps its text in the rejects file,
/// and a NUL character is written there as `\0`, never raw.
#[test]
fn rejects_keep_the_original_text_without_raw_nul() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("schools.jsonl");
    std::fs::write(
        &json,
        "{\"school_id\": \"T1\", \"school_name\": \"大河中学\", \"stage\": \"junior\", \"district_id\": \"D1\", \"district_name\": \"测试区\", \"city\": \"测试市\"}\n\
         [\"T2\", \"小溪中学\"]\n\
         {\"school_id\": \"T3\", \"school_name\": \"坏\\u0000名\", \"stage\": \"primary\", \"district_id\": \"D1\", \"district_name\": \"测试区\", \"city\": \"测试市\"}\n",
    )
    .unwrap();
    let output = sunward(dir.path(), &["run", read_schools(dir.path(), "jsonl", &json).to_str().unwrap(), "--quiet"]);
    ok(&output);
    let rejects = std::fs::read(dir.path().join("out/rejects/schools.csv")).unwrap();
    assert!(!rejects.contains(&0), "a raw NUL in the rejects file");
    let rejects = String::from_utf8(rejects).unwrap();
    assert!(rejects.contains("line 2,,not a JSON object: an array,\"[\"\"T2\"\", \"\"小溪中学\"\"]\""), "{rejects}");
    assert!(rejects.contains("line 3,school_name,field contains a NUL character,坏\\0名"), "{rejects}");
}

/// A workbook whose sheet refers to a shared string that does not exist:
/// calamine panics on it; the run ends in an error naming the file and the
/// last row read, with no panic message and no exit 101.
#[test]
fn a_damaged_workbook_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let book = repo().join("crates/sunward-cli/tests/fixtures/hostile/bad-shared-string.xlsx");
    let output = sunward(dir.path(), &["run", read_schools(dir.path(), "xlsx", &book).to_str().unwrap(), "--quiet"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("bad-shared-string.xlsx: it is damaged after row 2"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.path().join("out/copy.csv").exists());
}

/// An integer column outside any contract: a sum that would pass
/// 9,223,372,036,854,775,807 fails, naming the step, instead of wrapping
/// round to a small, wrong figure; one that fits is exact.
#[test]
fn integer_sums_never_wrap() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = |values: &[&str]| {
        let mut text = String::from("id,n\n");
        for (i, v) in values.iter().enumerate() {
            text.push_str(&format!("R{i},{v}\n"));
        }
        std::fs::write(dir.path().join("counts.csv"), text).unwrap();
        let path = dir.path().join("sum.yaml");
        std::fs::write(
            &path,
            "name: sum\nsources:\n  counts: {plugin: csv, path: counts.csv, columns: {n: int}}\n\
             steps:\n  total: {plugin: sql, query: \"SELECT SUM(n) AS n FROM counts\"}\n\
             outputs:\n  total: {plugin: csv, table: total, path: total.csv}\n",
        )
        .unwrap();
        sunward(dir.path(), &["run", path.to_str().unwrap(), "--quiet"])
    };
    let mut wraps = vec!["9223372036854775807", "9223372036854775807"];
    wraps.extend(["1"; 9]);
    let output = pipeline(&wraps);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("the step failed") && err.contains("(steps.total)"), "{err}");
    assert!(err.contains("does not fit in a 64-bit integer"), "{err}");
    assert!(!dir.path().join("out/total.csv").exists());
    // Right at the limit: i64::MAX − 9 plus nine ones.
    let mut fits = vec!["9223372036854775798"];
    fits.extend(["1"; 9]);
    ok(&pipeline(&fits));
    let total = std::fs::read_to_string(dir.path().join("out/total.csv")).unwrap();
    assert_eq!(total, "n\n9223372036854775807\n");
}

/// A workbook of 300,000 rows whose sheet unpacks to about 110 MB from a
/// few megabytes of archive: read as a stream, its peak memory stays far
/// below both (a whole-sheet grid of it would take gigabytes).
#[test]
fn a_large_sheet_is_read_in_bounded_memory() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("big.xlsx");
    let main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    let rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&book).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let parts = [
        (
            "[Content_Types].xml",
            "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>"
                .to_string(),
        ),
        (
            "xl/workbook.xml",
            format!(
                "<?xml version=\"1.0\"?><workbook xmlns=\"{main}\" xmlns:r=\"{rels}\"><sheets><sheet name=\"s\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"{rels}/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"
            ),
        ),
    ];
    for (name, text) in parts {
        writer.start_file(name, options).unwrap();
        writer.write_all(text.as_bytes()).unwrap();
    }
    writer.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    write!(writer, "<?xml version=\"1.0\"?><worksheet xmlns=\"{main}\"><sheetData><row r=\"1\">").unwrap();
    for c in "ABCDEFGHIJ".chars() {
        write!(writer, "<c r=\"{c}1\" t=\"inlineStr\"><is><t>h{c}</t></is></c>").unwrap();
    }
    writer.write_all(b"</row>").unwrap();
    for r in 2..=300_001 {
        write!(writer, "<row r=\"{r}\">").unwrap();
        for c in "ABCDEFGHIJ".chars() {
            write!(writer, "<c r=\"{c}{r}\"><v>{r}</v></c>").unwrap();
        }
        writer.write_all(b"</row>").unwrap();
    }
    writer.write_all(b"</sheetData></worksheet>").unwrap();
    writer.finish().unwrap();
    let pipeline = dir.path().join("big.yaml");
    std::fs::write(
        &pipeline,
        "name: big\nsources:\n  t: {plugin: xlsx, path: big.xlsx, columns: {hA: int}}\n\
         steps:\n  n: {plugin: sql, query: \"SELECT COUNT(*) AS n, SUM(\\\"hA\\\") AS s FROM t\"}\n\
         outputs:\n  n: {plugin: csv, table: n, path: n.csv}\n",
    )
    .unwrap();
    let (output, peak_kib) = run_measured(dir.path(), &pipeline);
    ok(&output);
    // 2 + 3 + … + 300001 = 300001·300002/2 − 1.
    let expected = 300_001u64 * 300_002 / 2 - 1;
    assert_eq!(std::fs::read_to_string(dir.path().join("out/n.csv")).unwrap(), format!("n,s\n300000,{expected}\n"));
    assert!(peak_kib > 0 && peak_kib < 256 * 1024, "peak {peak_kib} KiB");
}

/// A reader that stops reading (`sunward run … 2>&1 | head -3`) is not an
/// error: with stdout and stderr both pipes nobody reads, every command
/// finishes its work and exits as it would have, never with a panic (101).
#[test]
fn a_closed_pipe_on_stdout_and_stderr_is_no_panic() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["validate", "examples/bureau/pipeline.yaml"],
        vec!["validate", "pipelines/district.yaml"],
        vec!["run", "examples/bureau/pipeline.yaml", "--out", &out_dir],
        vec!["contract"],
        vec!["plugins"],
        vec!["schema"],
    ];
    for args in commands {
        let (stdout_reader, stdout_writer) = std::io::pipe().unwrap();
        let (stderr_reader, stderr_writer) = std::io::pipe().unwrap();
        // Nobody will read: every write fails with a broken pipe.
        drop((stdout_reader, stderr_reader));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_sunward"))
            .current_dir(common::repo())
            .args(&args)
            .stdout(stdout_writer)
            .stderr(stderr_writer)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0), "sunward {}", args.join(" "));
    }
    assert!(out.path().join("bureau_2025.pdf").is_file(), "the run finished its work");
}
