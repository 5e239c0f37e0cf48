#!/usr/bin/env bash
# protoc-gen-micro-cpp refuses a streaming rpc with a protoc error naming it.
# Arguments: protoc, the plugin, the .proto.
set -uo pipefail
protoc="$1" plugin="$2" proto="$3"
out=$(mktemp -d)
if "${protoc}" --plugin=protoc-gen-micro_cpp="${plugin}" \
    --micro_cpp_out="${out}" -I. "${proto}" 2>"${out}/stderr"; then
  echo "FAIL: protoc accepted a streaming rpc" >&2
  exit 1
fi
cat "${out}/stderr"
grep -q "rpc micro_test.chat.Chat.Talk is streaming" "${out}/stderr" || {
  echo "FAIL: the error does not name the rpc" >&2
  exit 1
}
if ls "${out}"/service 2>/dev/null; then
  echo "FAIL: files were written" >&2
  exit 1
fi
echo "PASS"
