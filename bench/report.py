#!/usr/bin/env python3
# Copyright 2026 The micro-nats Authors.
"""Turns the benches' Google Benchmark JSON into one Markdown table.

  bazel build -c opt //bench:all
  bazel-bin/bench/broker_bench --benchmark_out=broker.json
  bazel-bin/bench/transport_bench --benchmark_out=transport.json
  python3 bench/report.py broker.json transport.json > report.md

One row per benchmark: its rate or latencies, and the micro-nats figure over
the raw nats.c baseline of the same run (the *_vs_raw counters), so the
table reads as overhead, not as absolute times that move with the machine.
With --benchmark_repetitions the medians are used.
"""

import json
import sys

RATIOS = ("rate_vs_raw", "p50_vs_raw", "p99_vs_raw")
# What Google Benchmark writes for every row, and the counters shown in
# columns of their own; any other counter goes in the last column.
NOT_COUNTERS = {
    "family_index", "per_family_instance_index", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time",
    "bytes_per_second", "items_per_second", "p50_us", "p90_us", "p99_us",
    *RATIOS,
}


def load_rows(path):
    """The rows of one JSON file: medians when repeated, else the runs."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    benchmarks = data.get("benchmarks", [])
    medians = [b for b in benchmarks if b.get("aggregate_name") == "median"]
    if medians:
        return data.get("context", {}), medians
    return data.get("context", {}), [
        b for b in benchmarks if b.get("run_type", "iteration") == "iteration"
    ]


def number(value, digits=3):
    """A figure with `digits` significant digits and a k/M suffix."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


def cells(row):
    if row.get("error_occurred"):
        return ["error: " + row.get("error_message", "?"), "", "", "", ""]
    rate = row.get("items_per_second")
    p50, p99 = row.get("p50_us"), row.get("p99_us")
    ratios = [f"{name.split('_')[0]} {row[name]:.2f}×" for name in RATIOS
              if name in row]
    is_raw = "RawNats" in row["name"]
    others = [f"{key} {number(value)}" for key, value in sorted(row.items())
              if key not in NOT_COUNTERS and isinstance(value, (int, float))
              and not isinstance(value, bool)]
    return [
        number(rate) + "/s" if rate is not None else "",
        number(p50) if p50 is not None else "",
        number(p99) if p99 is not None else "",
        "baseline" if is_raw else ", ".join(ratios),
        ", ".join(others),
    ]


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    lines = [
        "| benchmark | rate | p50 µs | p99 µs | vs raw nats.c | other |",
        "|---|---|---|---|---|---|",
    ]
    notes = []
    for path in paths:
        try:
            context, rows = load_rows(path)
        except (OSError, ValueError) as e:
            print(f"report: cannot read {path}: {e}", file=sys.stderr)
            return 1
        if context.get("library_build_type") == "debug":
            notes.append(f"{path}: Google Benchmark itself is a debug build "
                         "(Debian's); timings of both sides are affected "
                         "alike.")
        for row in rows:
            name = row["name"].removesuffix("/real_time")
            lines.append("| " + " | ".join([name] + cells(row)) + " |")
    print("\n".join(lines))
    for note in notes:
        print(f"\n{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
