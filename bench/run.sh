#!/usr/bin/env bash
# Time Sunward against DuckDB on the same files and queries, in one run, and
# print the median wall time, the peak memory (maximum resident set size, from
# GNU time) and the ratio of each job. Nothing here asserts on time: it
# measures, and docs/PERFORMANCE.md records what it printed.
#
#   bench/run.sh                   # 10 M Parquet service rows, 515 k CSV rows, 3 runs each
#   ROWS=1000000 RUNS=1 bench/run.sh   # a quick look
#   BIG_CSV_ROWS=10000000 PROVINCE=1 bench/run.sh   # also the scale jobs (about 10 minutes more)
#
# Settings (environment): ROWS (service rows of the Parquet job), CSV_ROWS
# (service rows of the CSV jobs, a district of 20 schools), RUNS, SUNWARD_BIN
# (default target/release/sunward; build it with `cargo build --release
# --workspace`, or the faster-to-build `--profile profiling`; every run
# passes --no-cache, so each one reads and checks its sources), BENCH_DIR (data, results and DuckDB's virtualenv; default
# bench/work, which git ignores).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-10000000}
CSV_ROWS=${CSV_ROWS:-515000}
RUNS=${RUNS:-3}
BIN=${SUNWARD_BIN:-target/release/sunward}
WORK=${BENCH_DIR:-bench/work}
DUCKDB_VERSION=2.0.1

if [ ! -x "$BIN" ]; then
  echo "bench: $BIN not found: build it with \`cargo build --release --workspace\` (about 30 minutes on 2 cores), or set SUNWARD_BIN" >&2
  exit 1
fi
if [ ! -x /usr/bin/time ]; then
  echo "bench: installing GNU time (for peak memory)"
  as_root=(); if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
  "${as_root[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq time
fi
mkdir -p "$WORK"
if [ ! -x "$WORK/venv/bin/python" ] || ! "$WORK/venv/bin/python" -c "import duckdb; assert duckdb.__version__ == '$DUCKDB_VERSION'" 2>/dev/null; then
  echo "bench: installing duckdb $DUCKDB_VERSION from PyPI into $WORK/venv"
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q "duckdb==$DUCKDB_VERSION"
fi
PY="$WORK/venv/bin/python"
# The pandas-style yardstick for the report set (bench/pandas_reports.py).
REPORT_PACKAGES=(pandas==3.1.1 jinja2==3.1.6 matplotlib==3.11.2 weasyprint==70.0)
if ! "$PY" -c "import pandas, jinja2, matplotlib, weasyprint; assert pandas.__version__ == '3.1.1' and weasyprint.__version__ == '70.0'" 2>/dev/null; then
  echo "bench: installing ${REPORT_PACKAGES[*]} from PyPI into $WORK/venv"
  "$WORK/venv/bin/pip" install -q "${REPORT_PACKAGES[@]}"
fi

parquet_data="$WORK/data/parquet-$ROWS"
csv_data="$WORK/data/csv-$CSV_ROWS"
if [ ! -f "$parquet_data/services.parquet" ]; then
  echo "bench: generating $ROWS service rows (200 schools, Parquet) in $parquet_data"
  "$BIN" datagen --preset custom --schools 200 --districts 10 --service-rows "$ROWS" --format parquet --out "$parquet_data" --force --quiet
fi
if [ ! -f "$csv_data/services.csv" ]; then
  echo "bench: generating $CSV_ROWS service rows (a district of 20 schools, CSV) in $csv_data"
  "$BIN" datagen --preset custom --schools 20 --service-rows "$CSV_ROWS" --format csv --out "$csv_data" --force --quiet
fi

# measure NAME COMMAND...: runs it RUNS times; sets MEDIAN (seconds) and PEAK (MiB, the largest of the runs).
measure() {
  local name=$1; shift
  local times=() peak=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/$name.stderr" || {
      echo "bench: $name failed:" >&2; cat "$WORK/$name.stderr" >&2; exit 1; }
    read -r wall kib < "$WORK/time.txt"
    times+=("$wall")
    if (( kib > peak )); then peak=$kib; fi
  done
  MEDIAN=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
  PEAK=$(( peak / 1024 ))
}

rows=()
# compare JOB SUNWARD_OUT DUCKDB_OUT: the two result files hold the same rows.
compare() {
  "$PY" - "$2" "$3" <<'PYEOF'
import csv, sys
def rows(path):
    with open(path, newline="") as f:
        return sorted(tuple(r) for r in list(csv.reader(f))[1:])
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if a != b:
    sys.exit(f"bench: results differ: {sys.argv[1]} has {len(a)} rows, {sys.argv[2]} {len(b)}")
PYEOF
}

job() {
  local name=$1 pipeline=$2 data=$3 sunward_out=$4 label=$5
  measure "sunward-$name" "$BIN" run "$pipeline" --set "data_dir=$data" --out "$WORK/out/sunward-$name" --quiet --no-cache
  local s_time=$MEDIAN s_peak=$PEAK
  S_TIME=$s_time
  measure "duckdb-$name" "$PY" bench/duckdb_job.py "$name" "$data" "$WORK/out/duckdb-$name"
  local d_time=$MEDIAN d_peak=$PEAK
  compare "$name" "$WORK/out/sunward-$name/$sunward_out" "$WORK/out/duckdb-$name/$name.csv"
  rows+=("| $label | $s_time s, $s_peak MiB | $d_time s, $d_peak MiB | $(awk -v a="$s_time" -v b="$d_time" 'BEGIN {printf "%.1f×", a / b}') |")
}

echo "bench: $RUNS run(s) per job; $("$BIN" --version); duckdb $DUCKDB_VERSION; $(nproc) cores"
job groupby bench/groupby.yaml "$parquet_data" by_school_and_type.csv \
  "$ROWS service rows, Parquet: load with \`contract: services\`, GROUP BY school, type with COUNT, SUM, COUNT DISTINCT"
# DuckDB doing what the contract does before its query (see bench/duckdb_job.py):
measure duckdb-groupby_checked "$PY" bench/duckdb_job.py groupby_checked "$parquet_data" "$WORK/out/duckdb-groupby_checked"
compare groupby_checked "$WORK/out/sunward-groupby/by_school_and_type.csv" "$WORK/out/duckdb-groupby_checked/groupby_checked.csv"
rows+=("| the same, DuckDB first checking every rule of \`contract: services\` on every row (all 12 columns) | $S_TIME s | $MEDIAN s, $PEAK MiB | $(awk -v a="$S_TIME" -v b="$MEDIAN" 'BEGIN {printf "%.1f×", a / b}') |")
job load_csv bench/load_csv.yaml "$csv_data" counted.csv \
  "$CSV_ROWS service rows, CSV: load with \`contract: services\`, COUNT and COUNT DISTINCT"
measure metrics "$BIN" run pipelines/metrics.yaml --set "data_dir=$csv_data" --set baseline_year=2022 \
  --set current_year=2024 --out "$WORK/out/sunward-metrics" --quiet --no-cache
rows+=("| \`metrics.yaml\` on the $CSV_ROWS-row district, CSV (every figure of the metrics) | $MEDIAN s, $PEAK MiB | no DuckDB script yet | — |")
measure w_district bench/w-district.sh "$BIN" "$csv_data" "$WORK/w-district"
W_TIME=$MEDIAN W_PEAK=$PEAK
# The same set made the hand-written way (less work: no checks, no rules, no Word).
measure pandas_reports "$PY" bench/pandas_reports.py "$csv_data" "$WORK/out/pandas-reports" 2024 2023 assets/fonts/wqy-microhei.ttf
rows+=("| the $CSV_ROWS-row district's report set from an empty cache (bench/w-district.sh: metrics, annual reviews, comparison, summary; HTML, PDF and Word, one workflow in one process), against bench/pandas_reports.py (pandas, Jinja2, matplotlib, WeasyPrint; HTML and PDF, no checks or publication rules) | $W_TIME s, $W_PEAK MiB | $MEDIAN s, $PEAK MiB | $(awk -v a="$W_TIME" -v b="$MEDIAN" 'BEGIN {printf "%.2f×", a / b}') |")

# Opt-in scale jobs (one run each; no DuckDB script computes every metric yet):
# BIG_CSV_ROWS=10000000 runs metrics.yaml on that many CSV service rows under
# --memory-limit 1G; PROVINCE=1 runs it on a province (2,000 schools, 60
# districts, 100 M Parquet service rows, about 2 GB) under --memory-limit 3G.
scale_runs=$RUNS
if [ -n "${BIG_CSV_ROWS:-}" ]; then
  big="$WORK/data/csv-$BIG_CSV_ROWS"
  if [ ! -f "$big/services.csv" ]; then
    echo "bench: generating $BIG_CSV_ROWS service rows (200 schools, CSV) in $big"
    "$BIN" datagen --preset custom --schools 200 --districts 10 --service-rows "$BIG_CSV_ROWS" --format csv --out "$big" --force --quiet
  fi
  RUNS=1 measure metrics-big "$BIN" run pipelines/metrics.yaml --set "data_dir=$big" --set baseline_year=2022 \
    --set current_year=2024 --memory-limit 1G --out "$WORK/out/sunward-metrics-big" --quiet --no-cache
  rows+=("| \`metrics.yaml\` on $BIG_CSV_ROWS CSV service rows, \`--memory-limit 1G\` | $MEDIAN s, $PEAK MiB | — | — |")
fi
if [ -n "${PROVINCE:-}" ]; then
  province="$WORK/data/province"
  if [ ! -f "$province/services.parquet" ]; then
    echo "bench: generating a province (2,000 schools, 100 M service rows, Parquet) in $province"
    "$BIN" datagen --preset custom --schools 2000 --districts 60 --service-rows 100000000 --format parquet --out "$province" --force --quiet
  fi
  # metrics.yaml reads CSV; the same pipeline reading the Parquet files:
  bench/parquet-pipeline.sh "$WORK/metrics-parquet.yaml"
  RUNS=1 measure province "$BIN" run "$WORK/metrics-parquet.yaml" --set "data_dir=$province" --set baseline_year=2022 \
    --set current_year=2024 --memory-limit 3G --out "$WORK/out/sunward-province" --quiet --no-cache
  rows+=("| \`metrics.yaml\` on a province, 100 M Parquet service rows, \`--memory-limit 3G\` | $MEDIAN s, $PEAK MiB | — | — |")
fi
RUNS=$scale_runs

echo
echo "| job | Sunward (median, peak RSS) | DuckDB, or the pandas-style script (median, peak RSS) | Sunward / the other |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
