#!/usr/bin/env bash
# The metrics pipeline on one machine's local engine and on a Ballista
# cluster (one scheduler and two executors, all on this machine), in one run:
# median wall time, the client's peak memory, each executor's peak memory,
# the client's share of all CPU time (the executors loading the sources, a
# large file in parts of 128 MiB side by side with --load-part-size 128M,
# then each file whole, and with --load-on-client the client loading them),
# where the client's time went (the manifest's timings), and whether the two
# metrics tables are byte-identical. It measures; it asserts only that the
# figures are the same.
#
#   bench/cluster.sh                          # 10 M CSV service rows, 3 runs each
#   CSV_ROWS=515000 RUNS=1 bench/cluster.sh   # a quick look
#   PROVINCE=1 RUNS=1 bench/cluster.sh        # a province: 100 M Parquet rows,
#                                             # 2,000 schools in 60 districts, the cluster only
#                                             # (LOAD_PART_SIZE=128M: large files in parts)
#
# Settings (environment): CSV_ROWS, RUNS, SUNWARD_BIN (default
# target/release/sunward; `cargo build --profile profiling --workspace` builds
# a faster-to-make one), BENCH_DIR (default bench/work), TASKS (tasks each
# executor runs at once; default 1, so the two executors share the cores the
# local engine has), MEMORY (each executor's --memory-limit; default 4G).
set -euo pipefail
cd "$(dirname "$0")/.."

CSV_ROWS=${CSV_ROWS:-10000000}
PROVINCE=${PROVINCE:-}
RUNS=${RUNS:-3}
BIN=${SUNWARD_BIN:-target/release/sunward}
WORK=${BENCH_DIR:-bench/work}
TASKS=${TASKS:-1}
MEMORY=${MEMORY:-4G}

if [ ! -x "$BIN" ]; then
  echo "bench: $BIN not found: build it with \`cargo build --release --workspace\`, or set SUNWARD_BIN" >&2
  exit 1
fi
if [ ! -x /usr/bin/time ]; then
  echo "bench: installing GNU time (for peak memory)"
  as_root=(); if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
  "${as_root[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq time
fi
if [ -n "$PROVINCE" ]; then
  data="$WORK/data/province"
  if [ ! -f "$data/services.parquet" ]; then
    echo "bench: generating a province (100 M service rows, 2,000 schools in 60 districts, Parquet) in $data"
    "$BIN" datagen --preset custom --schools 2000 --districts 60 --service-rows 100000000 --format parquet \
      --out "$data" --force --quiet
  fi
  # metrics.yaml reads CSV; the same pipeline reading the Parquet files:
  bench/parquet-pipeline.sh "$WORK/metrics-parquet.yaml"
fi
pipeline=pipelines/metrics.yaml
[ -z "$PROVINCE" ] || pipeline="$WORK/metrics-parquet.yaml"
[ -n "$PROVINCE" ] || data="$WORK/data/csv-$CSV_ROWS"
if [ -z "$PROVINCE" ] && [ ! -f "$data/services.csv" ]; then
  # As bench/run.sh makes the same folder: a district of 20 schools, or from a
  # million rows on, 200 schools in 10 districts.
  if (( CSV_ROWS >= 1000000 )); then size=(--schools 200 --districts 10); else size=(--schools 20); fi
  echo "bench: generating $CSV_ROWS service rows (${size[*]}, CSV) in $data"
  "$BIN" datagen --preset custom "${size[@]}" --service-rows "$CSV_ROWS" --format csv --out "$data" --force --quiet
fi
data=$(realpath "$data")
run_dir=$(mktemp -d "$WORK/cluster.XXXXXX")
run_dir=$(realpath "$run_dir")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# CPU seconds the cluster's processes (the children of the GNU time processes) have used so far.
cluster_cpu() {
  local ticks=0
  for pid in "${pids[@]}"; do
    for child in $(pgrep -P "$pid"); do
      ticks=$(( ticks + $(awk '{print $14 + $15}' "/proc/$child/stat") ))
    done
  done
  echo "scale=2; $ticks / $(getconf CLK_TCK)" | bc
}

# The cluster: each process under GNU time, for its peak memory when it stops.
pids=()
# Each pid is GNU time's; the signal goes to the process it measures, and
# time writes its peak memory once that process has stopped.
stop_cluster() {
  for pid in "${pids[@]}"; do pkill -TERM -P "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_cluster EXIT
wait_port() {
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench: nothing listens on $1" >&2; exit 1
}
scheduler=$(free_port)
/usr/bin/time -f "%M" -o "$run_dir/scheduler.rss" "$BIN" cluster scheduler --bind "127.0.0.1:$scheduler" \
  >/dev/null 2>"$run_dir/scheduler.log" & pids+=($!)
wait_port "$scheduler"
for i in 1 2; do
  data_port=$(free_port); task_port=$(free_port)
  /usr/bin/time -f "%M" -o "$run_dir/executor$i.rss" "$BIN" cluster executor --scheduler "127.0.0.1:$scheduler" \
    --bind "127.0.0.1:$data_port" --grpc-port "$task_port" --work-dir "$run_dir/executor$i" \
    --concurrent-tasks "$TASKS" --memory-limit "$MEMORY" >/dev/null 2>"$run_dir/executor$i.log" & pids+=($!)
  wait_port "$data_port"; wait_port "$task_port"
done

measure() {
  local name=$1; shift
  local times=() peak=0 client=0 cluster=0
  for _ in $(seq "$RUNS"); do
    local before; before=$( ((${#pids[@]})) && cluster_cpu || echo 0)
    /usr/bin/time -f "%e %M %U %S" -o "$run_dir/time.txt" "$@" >/dev/null 2>"$run_dir/$name.stderr" || {
      echo "bench: $name failed:" >&2; cat "$run_dir/$name.stderr" >&2; exit 1; }
    local after; after=$( ((${#pids[@]})) && cluster_cpu || echo 0)
    read -r wall kib user sys < "$run_dir/time.txt"
    times+=("$wall")
    client=$(echo "$client + $user + $sys" | bc)
    cluster=$(echo "$cluster + $after - $before" | bc)
    if (( kib > peak )); then peak=$kib; fi
  done
  MEDIAN=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
  PEAK=$(( peak / 1024 ))
  # The client's share of all CPU time the runs used (the client's and the cluster's).
  SHARE=$(echo "scale=1; 100 * $client / ($client + $cluster)" | bc)
  CPU="client $(echo "scale=1; $client / $RUNS" | bc) s, cluster $(echo "scale=1; $cluster / $RUNS" | bc) s per run"
}
timings() {
  python3 - "$1" <<'PYEOF'
import json, sys
t = json.load(open(sys.argv[1]))["timings_ms"]
steps = sum(v for k, v in t.items() if k.startswith("step "))
print(f"loading {t['load_sources'] / 1000:.1f} s, steps {steps / 1000:.1f} s, outputs {t['write_outputs'] / 1000:.1f} s")
PYEOF
}

common=(run "$pipeline" --set "data_dir=$data" --set baseline_year=2022 --set current_year=2024 --quiet --no-cache)
if [ -n "$PROVINCE" ]; then
  measure cluster "$BIN" "${common[@]}" --out "$run_dir/cluster" --stage "$run_dir" --engine "ballista://127.0.0.1:$scheduler" \
    --load-part-size "${LOAD_PART_SIZE:-0}"
  split=$(timings "$run_dir/cluster/manifest-metrics.json")
  parts=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(", ".join(f"{s['"'"'name'"'"']} {s['"'"'rows_read'"'"']:,} rows" for s in m["sources"] if s["rows_read"] > 1000000))' "$run_dir/cluster/manifest-metrics.json")
  stop_cluster; trap - EXIT
  echo "metrics.yaml on a province ($parts; Parquet), $RUNS run(s), $(nproc) cores"
  echo "| engine | median wall | peak RSS | CPU time | the client's share of the CPU time | where the client's time went |"
  echo "|---|---|---|---|---|---|"
  echo "| cluster: 1 scheduler + 2 executors ($TASKS task(s) each, --memory-limit $MEMORY), the executors load, \`--load-part-size ${LOAD_PART_SIZE:-0}\` | $MEDIAN s | client $PEAK MiB; executors $(( $(tail -n 1 "$run_dir/executor1.rss") / 1024 )) and $(( $(tail -n 1 "$run_dir/executor2.rss") / 1024 )) MiB; scheduler $(( $(tail -n 1 "$run_dir/scheduler.rss") / 1024 )) MiB | $CPU | $SHARE % | $split |"
  rm -rf "$run_dir"
  exit 0
fi
measure local "$BIN" "${common[@]}" --out "$run_dir/local" --stage "$run_dir"
local_time=$MEDIAN local_peak=$PEAK local_split=$(timings "$run_dir/local/manifest-metrics.json")
measure cluster "$BIN" "${common[@]}" --out "$run_dir/cluster" --stage "$run_dir" --engine "ballista://127.0.0.1:$scheduler" --load-part-size 128M
cluster_time=$MEDIAN cluster_peak=$PEAK cluster_split=$(timings "$run_dir/cluster/manifest-metrics.json")
cluster_share=$SHARE cluster_cpu=$CPU
measure whole "$BIN" "${common[@]}" --out "$run_dir/whole" --stage "$run_dir" --engine "ballista://127.0.0.1:$scheduler" --load-part-size 0
whole_time=$MEDIAN whole_peak=$PEAK whole_split=$(timings "$run_dir/whole/manifest-metrics.json")
whole_share=$SHARE whole_cpu=$CPU
measure client_loads "$BIN" "${common[@]}" --out "$run_dir/client-loads" --stage "$run_dir" --engine "ballista://127.0.0.1:$scheduler" --load-on-client
client_time=$MEDIAN client_peak=$PEAK client_split=$(timings "$run_dir/client-loads/manifest-metrics.json")
client_share=$SHARE client_cpu=$CPU
stop_cluster; trap - EXIT
# The last line of GNU time's file (a line before it says when the process was stopped by a signal).
rss() { echo $(( $(tail -n 1 "$run_dir/$1.rss") / 1024 )); }
same=no
cmp -s "$run_dir/local/metrics.csv" "$run_dir/cluster/metrics.csv" \
  && cmp -s "$run_dir/local/metrics.csv" "$run_dir/whole/metrics.csv" \
  && cmp -s "$run_dir/local/metrics.csv" "$run_dir/client-loads/metrics.csv" && same=yes

echo "metrics.yaml, $CSV_ROWS CSV service rows, $RUNS runs each, $(nproc) cores"
echo "| engine | median wall | peak RSS | CPU time | the client's share of the CPU time | where the client's time went |"
echo "|---|---|---|---|---|---|"
echo "| local | $local_time s | $local_peak MiB | — | 100 % | $local_split |"
echo "| cluster: 1 scheduler + 2 executors ($TASKS task(s) each, --memory-limit $MEMORY), the executors load, large files in parts (\`--load-part-size 128M\`) | $cluster_time s | client $cluster_peak MiB; executors $(rss executor1) and $(rss executor2) MiB (the peak of all runs); scheduler $(rss scheduler) MiB | $cluster_cpu | $cluster_share % | $cluster_split |"
echo "| the same cluster, each file read whole by one executor (the default) | $whole_time s | client $whole_peak MiB | $whole_cpu | $whole_share % | $whole_split |"
echo "| the same cluster, \`--load-on-client\` | $client_time s | client $client_peak MiB | $client_cpu | $client_share % | $client_split |"
echo "metrics.csv byte-identical: $same"
[ "$same" = yes ]
rm -rf "$run_dir"
