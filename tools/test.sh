#!/usr/bin/env bash
# The whole test suite: set up, check formatting, run `bazel test //...` (extra
# arguments go to bazel, e.g. --config=tsan), and end with the line
# "N passed, N failed" counting individual gtest cases.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1

format_failed=0
if ! bash tools/check_format.sh; then
  format_failed=1
fi

bazel test //... "$@"
bazel_rc=$?

python3 tools/count_tests.py bazel-testlogs "$bazel_rc" "$format_failed"
