#!/usr/bin/env bash
# Runs the fuzz harnesses (fuzz/) as libFuzzer binaries on their corpora.
#
#   tools/fuzz.sh [SECONDS] [NAME...]
#
# SECONDS per harness (default 60); NAMEs as in fuzz/<NAME>_fuzzer.cc
# (default: every harness), one at a time. Builds with --config=fuzz
# (clang-14, ASan, UBSan) in an output base of its own, so the usual
# build's cache stays. New inputs go to a scratch corpus, never into the
# committed fuzz/corpus/<NAME>/; crashes to the scratch dir's crashes/.
#
# Environment:
#   FUZZ_RUNS=N        stop each harness after N executions (instead of at
#                      SECONDS; the time still bounds it)
#   FUZZ_OUT=DIR       the scratch directory (default /tmp/micro-nats-fuzz)
#   FUZZ_OUTPUT_BASE   the build's output base (~/.cache/bazel-fuzz)
#   FUZZ_FLAGS         more libFuzzer flags, e.g. "-max_len=65536"
#   ASAN_OPTIONS       default malloc_context_size=0: no stack is recorded
#                      per allocation (protobuf's JSON parser allocates a
#                      lot: 3x faster); run the binary on a crash file with
#                      ASAN_OPTIONS= for full stacks
#
# Prints, per harness: executions, coverage (cov: edges, ft: features, from
# libFuzzer's last status line), and crashes found (with their files).
# Exits 1 when a harness found a crash.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: tools/fuzz.sh [SECONDS] [NAME...]" >&2
  exit 2
fi
names=("$@")
if ((${#names[@]} == 0)); then
  for f in fuzz/*_fuzzer.cc; do
    f="${f#fuzz/}"
    names+=("${f%_fuzzer.cc}")
  done
fi
for name in "${names[@]}"; do
  if [ ! -f "fuzz/${name}_fuzzer.cc" ]; then
    echo "fuzz: no harness fuzz/${name}_fuzzer.cc" >&2
    exit 2
  fi
done

bash tools/setup.sh --fuzz || exit 1
output_base="${FUZZ_OUTPUT_BASE:-$HOME/.cache/bazel-fuzz}"
out="${FUZZ_OUT:-/tmp/micro-nats-fuzz}"
targets=()
for name in "${names[@]}"; do targets+=("//fuzz:${name}_fuzzer"); done

echo "fuzz: building ${#targets[@]} harness(es) (--config=fuzz, output base $output_base)" >&2
if ! bazel --output_base="$output_base" build --config=fuzz "${targets[@]}"; then
  echo "fuzz: the build failed" >&2
  exit 1
fi
bin="$(bazel --output_base="$output_base" info --config=fuzz bazel-bin 2>/dev/null)"

export ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=0}"
found=0
summary=()
for name in "${names[@]}"; do
  dir="$out/$name"
  # Crashes of an earlier run are kept aside: this run's are counted.
  if [ -d "$dir/crashes" ] && [ -n "$(ls -A "$dir/crashes")" ]; then
    mkdir -p "$dir/earlier-crashes" && mv "$dir"/crashes/* "$dir/earlier-crashes/"
  fi
  mkdir -p "$dir/corpus" "$dir/crashes"
  log="$dir/fuzz.log"
  runs=()
  [ -n "${FUZZ_RUNS:-}" ] && runs=("-runs=$FUZZ_RUNS")
  echo "fuzz: $name for ${seconds}s${FUZZ_RUNS:+ or $FUZZ_RUNS runs} (log: $log)" >&2
  # New inputs go to the first directory (scratch); the committed corpus is
  # only read.
  # shellcheck disable=SC2086
  "$bin/fuzz/${name}_fuzzer" -max_total_time="$seconds" "${runs[@]}" \
    -print_final_stats=1 \
    -artifact_prefix="$dir/crashes/" ${FUZZ_FLAGS:-} \
    "$dir/corpus" "fuzz/corpus/$name" >"$log" 2>&1
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  last="$(grep -E '^#[0-9]+' "$log" | tail -1)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  crashes=("$dir"/crashes/*)
  [ -e "${crashes[0]}" ] || crashes=()
  ((${#crashes[@]})) && found=1
  summary+=("$(printf '%-20s %12s %8s %8s %8s  %s' "$name" "${execs:-?}" \
    "${cov:-?}" "${ft:-?}" "${#crashes[@]}" "${crashes[*]:-}")")
done
printf '%-20s %12s %8s %8s %8s  %s\n' harness executions cov ft crashes "crash files"
printf '%s\n' "${summary[@]}"
exit "$found"
