#!/usr/bin/env bash
# Golden test of protoc-gen-micro-cpp: each generated file (odd arguments)
# must equal its golden copy (the argument after it). To update the goldens
# after a deliberate change:
#   bazel build //service/codegen:all && \
#     for f in shop nopkg streaming; do for e in micro.h micro.cc micro_mock.h; do \
#       cp bazel-bin/service/codegen/testdata/$f.$e \
#          service/codegen/testdata/$f.$e.golden; done; done
set -euo pipefail
status=0
while (($#)); do
  if ! diff -u "$2" "$1"; then
    echo "FAIL: $1 differs from $2" >&2
    status=1
  fi
  shift 2
done
exit "${status}"
