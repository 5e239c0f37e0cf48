#!/usr/bin/env bash
# The main job: set up, then run the greeter example on a local nats-server
# (a free loopback port): two server processes, a client whose calls go
# round robin between them, the same over JSON and on the in-memory stack;
# then measure a full-stack call against raw nats.c (bench/service_bench).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bazel build -c opt //examples/greeter:server //examples/greeter:client \
  //bench:service_bench
bin=bazel-bin/examples/greeter

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="nats://127.0.0.1:${port}"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

nats-server -a 127.0.0.1 -p "${port}" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do  # until it accepts connections (at most 5 s)
  (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null && break
  sleep 0.1
done

echo "== two greeter servers on ${url}"
for _ in 1 2; do
  "${bin}/server" --server "${url}" &
  pids+=($!)
done
# Until both have registered: a client call is answered by each.
for _ in $(seq 50); do
  served=$("${bin}/client" --server "${url}" --count 4 2>/dev/null |
    grep -o 'from greeter-[0-9a-f]*' | sort -u | wc -l || true)
  [ "${served}" -ge 2 ] && break
  sleep 0.1
done

echo "== client: protobuf, round robin"
"${bin}/client" --server "${url}" --count 4 --name nats
echo "== client: JSON"
"${bin}/client" --server "${url}" --count 2 --name json --json
echo "== client: an error travels back"
"${bin}/client" --server "${url}" --count 1 --name "" || true
echo "== in-memory stack (server and client in one process)"
"${bin}/client" --memory --count 2 --name memory

echo "== full-stack call vs raw nats.c (bench/service_bench, short run)"
bazel-bin/bench/service_bench --benchmark_min_time=0.3 \
  --benchmark_filter='Raw|NatsServiceCall|EncodeDecode|MemoryServiceCall' "$@"
