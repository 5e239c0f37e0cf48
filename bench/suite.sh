#!/usr/bin/env bash
# Copyright 2026 The micro-nats Authors.
#
# The benchmark suite, in one command:
#
#   bash bench/suite.sh            # quick: a few seconds per benchmark
#   bash bench/suite.sh --full     # longer runs, and every bench binary
#
# Installs what it needs (tools/setup.sh: Debian packages), builds the
# benchmarks optimised, runs each (every one starts its own nats-server on a
# free loopback port, and gRPC's server on another), shows which benchmark is
# running and how many are left, keeps each binary's Google Benchmark JSON in
# OUT/json/, and writes OUT/REPORT.md with the figures, their baselines and
# ratios, and OUT/charts/*.svg. OUT is bench/results unless --out DIR.
#
# Every ratio is paired (bench/paired.h): the stack and its baseline
# alternate in short rounds in one process, and the report gives the median
# per-round ratio with its interquartile range; OUT/key_figures.json has the
# key figures (name -> median, NAME_iqr, NAME_q1, NAME_q3).
#
# Options: --quick (default), --full, --out DIR, --filter REGEX (passed to
# --benchmark_filter, for a partial run), --rounds N (paired rounds per
# comparison: 20 quick, 40 full), --nats-url URL (use that nats-server
# instead of starting one per binary), --no-setup (skip tools/setup.sh).
set -euo pipefail

cd "$(dirname "$0")/.."
mode=quick
out=bench/results
filter=""
nats_url=""
rounds=""
setup=1
while (($#)); do
  case "$1" in
    --quick) mode=quick ;;
    --full) mode=full ;;
    --out) out="$2"; shift ;;
    --filter) filter="$2"; shift ;;
    --nats-url) nats_url="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --no-setup) setup=0 ;;
    -h | --help) sed -n '3,25p' "$0"; exit 0 ;;
    *) echo "suite: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# Per binary: the seconds each unpaired benchmark runs for, in each mode
# (paired ones run their rounds: --rounds). Discovery needs many lookups per
# setting to tell 99.9 % from 99 %. events_bench and discovery_bench's
# key-value cases (BM_Kv*, K up to 10,000) start a JetStream nats-server of
# their own; both run in the quick suite too (the KV cases add about 25 s at
# 20 rounds, half of it registering the 10,000 instances and the 10 rounds of
# BM_KvNewClient/K:10000). resilience_bench and observe_bench are paired
# only (about 20 s and 15 s at 20 rounds).
if [ "$mode" = quick ]; then
  benches=(request_bench:0.4 fanout_bench:0.3 stream_bench:0.3
           broker_bench:0.3 service_bench:0.3 events_bench:0.3
           discovery_bench:1 resilience_bench:0.3 observe_bench:0.3)
  rounds="${rounds:-20}"
else
  benches=(request_bench:2 fanout_bench:2 broker_bench:2 discovery_bench:10
           stream_bench:2 transport_bench:2 registry_bench:2 service_bench:2
           srv_bench:2 events_bench:2 resilience_bench:2 observe_bench:2)
  rounds="${rounds:-40}"
fi

start=$(date +%s)
say() { printf '[suite %4ss] %s\n' "$(($(date +%s) - start))" "$*"; }

if ((setup)); then
  say "installing what the suite needs (tools/setup.sh --bench)"
  bash tools/setup.sh --bench
fi

targets=()
for entry in "${benches[@]}"; do targets+=("//bench:${entry%%:*}"); done
say "building ${#benches[@]} benchmark binaries (-c opt)"
bazel build -c opt --show_progress_rate_limit=20 "${targets[@]}"
bin="$(bazel info -c opt bazel-bin 2>/dev/null)/bench"

mkdir -p "$out/json"
rm -f "$out"/json/*.json
jsons=()
index=0
for entry in "${benches[@]}"; do
  index=$((index + 1))
  name="${entry%%:*}"
  seconds="${entry##*:}"
  args=(--benchmark_min_time="$seconds" --paired_rounds="$rounds")
  [ -n "$filter" ] && args+=(--benchmark_filter="$filter")
  [ -n "$nats_url" ] && args+=(--nats_url="$nats_url")
  total=$("$bin/$name" "${args[@]}" --benchmark_list_tests=true 2>/dev/null |
    grep -c . || true)
  say "[$index/${#benches[@]}] $name: $total benchmarks, ${seconds}s each"
  json="$out/json/$name.json"
  # Each row as it completes, numbered: which one, and how many are left.
  if ! "$bin/$name" "${args[@]}" --benchmark_out="$json" \
    --benchmark_out_format=json --benchmark_counters_tabular=false 2>&1 |
    awk -v total="$total" -v bench="$name" '
      /^BM_/ {
        n++
        line = $1
        if ($0 ~ /ERROR OCCURRED/) line = $0
        for (i = 2; i <= NF; i++)
          if ($i ~ /^(p50_us|calls_per_s|deliveries_per_s|complete_pct|load_ms|visible_p99_us|(p50|rate)_vs_[a-z_]+|best_p99_vs_healthy)=/)
            line = line "  " $i
        printf "  %s %d/%d  %s\n", bench, n, total, line
        fflush()
      }
      /^(bench:|Failed)/ { print "  " $0; fflush() }'; then
    say "$name failed: the lines above say why"
    exit 1
  fi
  if [ ! -s "$json" ]; then  # --filter matched none of this binary's
    say "$name: nothing run"
    continue
  fi
  errors=$(grep -c '"error_occurred": true' "$json" || true)
  ((errors == 0)) || say "$name: $errors benchmarks reported an error (in the report)"
  jsons+=("$json")
done

say "writing $out/REPORT.md and $out/charts/"
/usr/bin/python3 bench/report.py --out "$out" --mode "$mode" \
  --command "bash bench/suite.sh --$mode" "${jsons[@]}"
say "done: $out/REPORT.md and $out/key_figures.json"
