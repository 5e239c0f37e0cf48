#!/usr/bin/env bash
# Installs what micro-nats needs on Debian bookworm, idempotently and quietly:
# only missing packages, no prompts. Safe to run again.
#
#   setup.sh            everything: build, benchmarks and tests
#   setup.sh --bench    what the benchmark suite needs (bench/suite.sh):
#                       not the tests' formatter and schema checker
#   setup.sh --fuzz     everything, and clang-14 with its libFuzzer and
#                       sanitizer runtimes (tools/fuzz.sh, --config=fuzz)
set -euo pipefail

PACKAGES=(
  bazel-bootstrap bazel-rules-java g++ pkg-config python3 openssl
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libprotobuf-dev libprotoc-dev protobuf-compiler libnats-dev nats-server
  nlohmann-json3-dev prometheus-cpp-dev libcivetweb-dev
  # The benchmarks' gRPC baseline, nats.go micro baseline (bench/natsgo, built
  # offline in GOPATH mode) and the report's charts.
  libgrpc++-dev protobuf-compiler-grpc python3-matplotlib
  golang-go golang-github-nats-io-go-nats-dev
)
if [ "${1:-}" != "--bench" ]; then
  # Tests only: the format check, ADR-32 schema validation and the
  # Prometheus text-format parser (metrics tests).
  PACKAGES+=(clang-format python3-jsonschema python3-prometheus-client)
fi
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES+=(clang-14 libclang-rt-14-dev)
fi

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
