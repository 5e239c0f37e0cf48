#!/usr/bin/env bash
# The main job: set up, then run the greeter example on a local nats-server
# (a free loopback port, JetStream on a temporary store): two server
# processes (one discovered through a JetStream key-value bucket as well), a
# client whose calls go round robin between them, the same over JSON and on
# the in-memory stack, the micro CLI (services, a stream, durable events);
# then measure a full-stack call against raw nats.c (bench/service_bench).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bazel build -c opt //examples/greeter:server //examples/greeter:client \
  //tools:micro //bench:service_bench
bin=bazel-bin/examples/greeter
micro=bazel-bin/tools/micro

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="nats://127.0.0.1:${port}"
store=$(mktemp -d)
pids=()
# The greeters first (pids after the server's): they deregister through
# the server, the key-value one with an answer from JetStream.
cleanup() {
  for pid in "${pids[@]:1}"; do kill "${pid}" 2>/dev/null || true; done
  for pid in "${pids[@]:1}"; do wait "${pid}" 2>/dev/null || true; done
  kill "${pids[0]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "${store}"
}
trap cleanup EXIT

nats-server -a 127.0.0.1 -p "${port}" -js -sd "${store}" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do  # until it accepts connections (at most 5 s)
  (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null && break
  sleep 0.1
done

echo "== two greeter servers on ${url} (the second also in the key-value registry)"
for registry in nats kv; do
  "${bin}/server" --server "${url}" --registry "${registry}" &
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

echo "== micro services (broadcast), then --registry kv"
"${micro}" services --server "${url}"
"${micro}" services --server "${url}" --registry kv
echo "== micro stream: Greeter.Repeat's replies as lines of JSON"
"${micro}" stream greeter Greeter.Repeat '{"name":"x","times":3}' \
  --server "${url}"
echo "== micro events: durable events on JetStream"
"${micro}" events publish orders.created '{"id":1}' --server "${url}" \
  --stream ORDERS --subjects 'orders.>'
"${micro}" events publish orders.created '{"id":2}' --server "${url}"
"${micro}" events consume orders.created --group billing --start all \
  --count 1 --server "${url}"
"${micro}" events info orders.created --group billing --server "${url}"

echo "== full-stack call vs raw nats.c (bench/service_bench, short run)"
bazel-bin/bench/service_bench --benchmark_min_time=0.3 \
  --benchmark_filter='Raw|NatsServiceCall|EncodeDecode|MemoryServiceCall' "$@"
