#!/usr/bin/env bash
# Copyright 2026 The micro-nats Authors.
#
# Builds the nats.go `micro` echo baseline (main.go) offline, in GOPATH mode,
# with Debian's golang-go and golang-github-nats-io-go-nats-dev (installed
# under /usr/share/gocode; tools/setup.sh installs them). Pure Go
# (CGO_ENABLED=0): no C toolchain, no sanitizer runtime.
#
#   bash bench/natsgo/build.sh OUT_BINARY
#
# Prints OUT_BINARY's absolute path. Usage of the binary: main.go.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh OUT_BINARY}"
go=/usr/bin/go
if [ ! -x "$go" ] || [ ! -d /usr/share/gocode/src/github.com/nats-io/nats.go/micro ]; then
  echo "natsgo/build.sh: needs Debian's golang-go and" \
    "golang-github-nats-io-go-nats-dev (sudo apt-get install -y golang-go" \
    "golang-github-nats-io-go-nats-dev)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# A cache of its own: go must not write to $HOME (read-only in Bazel's
# sandbox, absent under some CI users).
cd "$scratch"
env GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off \
  GOCACHE="$scratch/gocache" HOME="$scratch" CGO_ENABLED=0 \
  "$go" build -o "$out" "$here/main.go"
echo "$out"
