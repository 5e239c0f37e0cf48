#!/usr/bin/env bash
# Runs a benchmark binary for one short round and fails when it does not
# run, reports an error (SkipWithError), measures nothing, or reports no
# ratio to its raw nats.c baseline; then turns its JSON into the Markdown
# report (report.py) and fails when that has no ratio either.
#
#   smoke_test.sh BENCH_BINARY REPORT_PY
set -uo pipefail
binary="$1"
report="$2"
json="${TEST_TMPDIR:-$(mktemp -d)}/bench.json"
output=$("$binary" --benchmark_min_time=0.001 --benchmark_out="$json" 2>&1)
status=$?
echo "$output"
fail() {
  echo "smoke: $*" >&2
  exit 1
}
[ "$status" -eq 0 ] || fail "$binary exited with $status"
grep -q "ERROR OCCURRED" <<<"$output" && fail "a benchmark reported an error"
grep -q "^BM_" <<<"$output" || fail "no benchmark ran"
grep -q "_vs_raw=" <<<"$output" ||
  fail "no figure reported against its raw nats.c baseline"
table=$(python3 "$report" "$json") || fail "report.py failed"
echo "$table"
grep -q "| baseline |" <<<"$table" || fail "the report shows no baseline row"
grep -Eq "[0-9]\.[0-9]{2}× \|" <<<"$table" || fail "the report shows no ratio"
