#!/usr/bin/env bash
# Runs a benchmark binary for one short round and fails when it does not
# run, reports an error (SkipWithError), leaves out one of its benchmarks,
# measures nothing, or reports no ratio to its raw nats.c baseline; then
# turns its JSON into REPORT.md and charts (report.py, as bench/suite.sh
# does) and fails when the report shows no ratio, or writes fewer charts
# than expected.
#
# It checks that each benchmark runs and reports, not what it measures:
# MICRO_NATS_BENCH_SMOKE tells the benchmarks to use small sizes and
# generous deadlines (sanitizer builds on a loaded machine are many times
# slower), and a paired comparison runs 3 short rounds (--benchmark_min_time
# below 0.05, nats_bench_main).
#
#   smoke_test.sh BENCH_BINARY REPORT_PY [EXPECTED_CHARTS] [BASELINE]
#
# BASELINE: the ratio counter's baseline it must report (default raw:
# `_vs_raw=`); resilience_bench compares policies, so `_vs_healthy`.
set -uo pipefail
binary="$1"
report="$2"
charts="${3:-0}"
baseline="${4:-raw}"
dir="${TEST_TMPDIR:-$(mktemp -d)}"
json="$dir/bench.json"
args=(--benchmark_min_time=0.001 --benchmark_out="$json")
# Under --config=tsan (which sets TSAN_OPTIONS) the gRPC baseline is left
# out: Debian's gRPC and the Abseil it locks with are not built with TSan,
# so their own hand-offs between threads are reported as races (tried:
# suppressing them by library only moves the report to the next one).
[ -n "${TSAN_OPTIONS:-}" ] && args+=(--benchmark_filter=-grpc)
export MICRO_NATS_BENCH_SMOKE=1
# What must report: every benchmark the run selects.
listed=$("$binary" "${args[@]:2}" --benchmark_list_tests=true 2>/dev/null)
output=$("$binary" "${args[@]}" 2>&1)
status=$?
echo "$output"
fail() {
  echo "smoke: $*" >&2
  exit 1
}
[ "$status" -eq 0 ] || fail "$binary exited with $status"
grep -q "ERROR OCCURRED" <<<"$output" && fail "a benchmark reported an error"
grep -q "^BM_" <<<"$output" || fail "no benchmark ran"
[ -n "$listed" ] || fail "it lists no benchmark"
while read -r name; do
  [ -n "$name" ] || continue
  grep -qF "\"name\": \"$name\"" "$json" || fail "$name did not report"
done <<<"$listed"
grep -q "_vs_${baseline}=" <<<"$output" ||
  fail "no figure reported against its baseline (_vs_${baseline})"
# Debian's python3, which has python3-matplotlib (tools/setup.sh).
/usr/bin/python3 "$report" --out "$dir/report" "$json" ||
  fail "report.py failed"
cat "$dir/report/REPORT.md"
grep -Eq "[0-9]\.[0-9]{2}×" "$dir/report/REPORT.md" ||
  fail "the report shows no ratio"
grep -q "charts skipped" "$dir/report/REPORT.md" &&
  fail "the charts were skipped"
written=$(find "$dir/report" -name '*.svg' | wc -l)
[ "$written" -ge "$charts" ] ||
  fail "$written charts written, $charts expected"
exit 0
