#!/usr/bin/env bash
# Runs a benchmark binary for one short round and fails when it does not
# run, reports an error (SkipWithError), measures nothing, or reports no
# ratio to its raw nats.c baseline.
set -uo pipefail
binary="$1"
shift
output=$("$binary" --benchmark_min_time=0.001 "$@" 2>&1)
status=$?
echo "$output"
if [ "$status" -ne 0 ]; then
  echo "smoke: $binary exited with $status" >&2
  exit 1
fi
if grep -q "ERROR OCCURRED" <<<"$output"; then
  echo "smoke: a benchmark reported an error" >&2
  exit 1
fi
if ! grep -q "^BM_" <<<"$output"; then
  echo "smoke: no benchmark ran" >&2
  exit 1
fi
if ! grep -q "_vs_raw=" <<<"$output"; then
  echo "smoke: no figure reported against its raw nats.c baseline" >&2
  exit 1
fi
