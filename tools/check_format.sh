#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format (the repo's
# .clang-format) would write. `tools/check_format.sh --fix` rewrites them.
set -uo pipefail
cd "$(dirname "$0")/.."
# Tracked files and new ones not yet added (but not ignored ones).
files=$(git ls-files --cached --others --exclude-standard '*.h' '*.cc' 2>/dev/null)
[ -n "$files" ] || exit 0
if [ "${1:-}" = "--fix" ]; then
  clang-format -i $files
  exit 0
fi
if ! clang-format --dry-run --Werror $files; then
  echo "format check failed: run tools/check_format.sh --fix" >&2
  exit 1
fi
