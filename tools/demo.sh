#!/usr/bin/env bash
# The main job: set up, then start a local nats-server on a free loopback port,
# send a message through the shared connection and time its two paths.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec bazel run -c opt //tools:smoke -- "$@"
