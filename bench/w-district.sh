#!/usr/bin/env bash
# One district's whole report set, as bench/run.sh times it: the metrics,
# the annual review of the organisation and of each school it serves, the
# district comparison and the government summary (HTML, PDF and Word),
# starting from an empty cache of checked sources (so the metrics read and
# check every export, and the reports take them from the cache).
#
#   bench/w-district.sh SUNWARD_BIN DATA_DIR WORK_DIR
#
# Generated districts have no texts of their own (the organisation's words
# in the reviews, the bureau's in the summary); a line of placeholder text
# for each unit is written under WORK_DIR/texts, for timing only.
set -euo pipefail
bin=$1 data=$2 work=$3
cd "$(dirname "$0")/.."
texts="$work/texts"
if [ ! -d "$texts" ]; then
  mkdir -p "$texts/annual-review" "$texts/government-summary"
  tail -n +2 "$data/schools.csv" | while IFS=, read -r school _ _ district _ _ org _; do
    for unit in "$school" "$org"; do
      [ -n "$unit" ] && printf '## 学校的话\n\n（基准测试用的占位文字。）\n' > "$texts/annual-review/$unit.md"
    done
    printf '（基准测试用的占位文字。）\n' > "$texts/government-summary/$district.md"
  done
fi
export SUNWARD_CACHE_DIR="$work/cache"
rm -rf "$SUNWARD_CACHE_DIR" "$work/out"
# The whole set as one workflow, run by one process (as a project made with
# `sunward init` runs it): the inputs hashed once, the cache opened once.
repo=$PWD
abs() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$repo" "$1" ;; esac; }
cat > "$work/district.yaml" <<YAML
name: w_district
params:
  data_dir: $(abs "$data")
  baseline_year: 2022
  current_year: 2024
  year: 2024
  academic_year: 2023
  report_date: 2025-10-20
  metrics: \${out}/metrics.parquet
pipelines:
  - $repo/pipelines/metrics.yaml
  - {pipeline: $repo/pipelines/annual-review.yaml, set: {texts_dir: $(abs "$texts")/annual-review}}
  - $repo/pipelines/district-comparison.yaml
  - {pipeline: $repo/pipelines/government-summary.yaml, set: {texts_dir: $(abs "$texts")/government-summary}}
YAML
"$bin" run "$work/district.yaml" --out "$work/out" --quiet
