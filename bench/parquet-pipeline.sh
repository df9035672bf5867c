#!/usr/bin/env bash
# Write pipelines/metrics.yaml reading Parquet files instead of CSV to FILE
# (outside the project, so its included functions are named by full path).
#
#   bench/parquet-pipeline.sh FILE
set -euo pipefail
cd "$(dirname "$0")/.."
sed -e 's|plugin: csv, path: "${data_dir}/\([a-z]*\).csv"|plugin: parquet, path: "${data_dir}/\1.parquet"|' \
  -e "s|^include: \[functions/|include: [$PWD/pipelines/functions/|" \
  pipelines/metrics.yaml > "$1"
