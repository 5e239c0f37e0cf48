#!/usr/bin/env bash
# Installs what micro-nats needs on Debian bookworm, idempotently and quietly:
# only missing packages, no prompts. Safe to run again.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap bazel-rules-java g++ pkg-config python3 clang-format openssl
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libprotobuf-dev libprotoc-dev protobuf-compiler libnats-dev nats-server
  nlohmann-json3-dev python3-jsonschema golang-go golang-github-nats-io-go-nats-dev
  libgrpc++-dev protobuf-compiler-grpc python3-matplotlib
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
