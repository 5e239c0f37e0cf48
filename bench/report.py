#!/usr/bin/env python3
# Copyright 2026 The micro-nats Authors.
"""Turns the benches' Google Benchmark JSON into REPORT.md and SVG charts.

  bench/report.py --out bench/results [--mode quick] results/json/*.json

Writes OUT/REPORT.md: the machine, the key figures, then one section per
benchmark family, every micro-nats figure next to its baseline from the same
run (raw nats.c, or gRPC) as a ratio. With Debian's python3-matplotlib it also
writes OUT/charts/*.svg (bench/charts.py: latency percentiles, throughput
against callers, fan-out, the discovery sweep); without it the report says
the charts were skipped. Rows of an unknown family go in a generic table,
so every bench binary's JSON can be given.

Ratios come from paired benchmarks (bench/paired.h): a stack and its
baseline alternating in short rounds in one process; FIG_vs_BASE is the median
of the per-round ratios and FIG_vs_BASE_q1/_q3 its quartiles. p50_vs_raw 2.0
means twice raw's latency; rate_vs_raw 0.5 means half raw's throughput. Every
ratio is shown with its interquartile range, and the report says when a
difference is within it. With --benchmark_repetitions the medians are used.

With --out it also writes OUT/key_figures.json: one flat object, each key
figure's name (a paired benchmark's label "key:NAME=COUNTER") -> its median,
and NAME_q1, NAME_q3 and NAME_iqr (q3 - q1) beside it; a figure this run did
not measure is null.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no bench/__pycache__ beside the sources
import charts  # noqa: E402  (bench/charts.py, beside this file)

# The share of lookups that must find every instance for a discovery
# setting to count as complete.
COMPLETE_PCT = 99.9

# The key figures (issue 23): name -> (what it is, target as (op, value) or
# None). Ratios are stack over baseline, paired; memory_call_p50_us_16B is
# microseconds.
KEY_FIGURES = {
    "call_p50_vs_raw_16B_1": (
        "service Call p50 / raw nats.c, 16 B, 1 caller", ("<=", 1.10)),
    "call_p50_vs_raw_1KiB_1": (
        "service Call p50 / raw nats.c, 1 KiB, 1 caller", ("<=", 1.10)),
    "transport_p50_vs_raw_16B_1": (
        "transport echo p50 / raw nats.c, 16 B, 1 caller", ("<=", 1.05)),
    "call_rate_vs_raw_16B_16": (
        "service calls/s / raw nats.c, 16 B, 16 callers", (">=", 0.90)),
    "call_rate_vs_raw_16B_64": (
        "service calls/s / raw nats.c, 16 B, 64 callers", (">=", 0.90)),
    "call_rate_vs_raw_1KiB_64": (
        "service calls/s / raw nats.c, 1 KiB, 64 callers", (">=", 0.90)),
    "call_rate_vs_raw_64KiB_64": (
        "service calls/s / raw nats.c, 64 KiB, 64 callers", (">=", 0.80)),
    "publish_rate_vs_raw_16B": (
        "broker publishes/s / raw nats.c, 16 B", (">=", 0.95)),
    "publish_rate_vs_raw_1KiB": (
        "broker publishes/s / raw nats.c, 1 KiB", (">=", 0.95)),
    "fanout_rate_vs_raw_64": (
        "fan-out deliveries/s / raw nats.c (shared pool), N = 64", (">=", 0.90)),
    "fanout_rate_vs_raw_256": (
        "fan-out deliveries/s / raw nats.c (shared pool), N = 256",
        (">=", 0.90)),
    "fanout_immediate_p50_vs_raw_8": (
        "fan-out publish-to-last-delivery p50 / raw, immediate, N = 8",
        ("<=", 1.20)),
    "fanout_immediate_p50_vs_raw_64": (
        "fan-out publish-to-last-delivery p50 / raw, immediate, N = 64",
        ("<=", 1.20)),
    "scatter_p50_vs_raw_8": (
        "scatter-gather p50 / raw nats.c, 8 instances", ("<=", 1.30)),
    "scatter_p50_vs_raw_64": (
        "scatter-gather p50 / raw nats.c, 64 instances", ("<=", 1.30)),
    "memory_call_p50_us_16B": (
        "memory-stack Call p50, 16 B (µs, not a ratio)", ("<=", 2.0)),
    "stream_rate_vs_raw_1KiB": (
        "stream chunks/s / raw nats.c with an ack per window, 1 KiB", None),
    "stream_rate_vs_grpc_1KiB": (
        "stream chunks/s / gRPC C++ server streaming, 1 KiB", None),
    "call_p50_vs_natsgo_micro_16B_1": (
        "service Call p50 / nats.go micro, 16 B, 1 caller", None),
    "call_rate_vs_natsgo_micro_16B_64": (
        "service calls/s / nats.go micro, 16 B, 64 callers", None),
    # Issues 28 and 29 give no targets.
    "events_publish_rate_vs_raw": (
        "durable sync publishes/s / raw nats.c JetStream, 16 B", None),
    "events_publish_async_rate_vs_raw": (
        "durable async publishes/s (256 in flight) / raw nats.c JetStream "
        "js_PublishAsync, 16 B", None),
    "events_consume_rate_vs_raw": (
        "durable consume events/s / raw nats.c JetStream pull", None),
    "kv_visible_p50_vs_raw_rtt": (
        "KV registration-to-visible p50 / raw nats.c round trip, K = 100",
        None),
    "kv_initial_load_ms_10000": (
        "KV new client until it has all 10,000 (ms, not a ratio)", None),
    # Issue 26: "p99 stays near the healthy nodes'" (no number given).
    "slow_node_p99_vs_healthy": (
        "call p99, one of 3 instances 10× slow, best selection policy / "
        "all healthy", None),
    # Issue 27.
    "call_p50_observed_vs_plain_16B_1": (
        "service Call p50 with metrics + tracing observers / none, 16 B, "
        "1 caller", None),
}


def unit_of(name):
    """A key figure's unit: µs or ms when its name says so, else a ratio."""
    if re.search(r"_us(_|$)", name):
        return " µs"
    if re.search(r"_ms(_|$)", name):
        return " ms"
    return "×"


# --- Reading ---

def load_rows(path):
    """The rows of one JSON file (medians when repeated) and its context."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    benchmarks = data.get("benchmarks", [])
    medians = [b for b in benchmarks if b.get("aggregate_name") == "median"]
    rows = medians or [b for b in benchmarks
                       if b.get("run_type", "iteration") == "iteration"]
    for row in rows:
        row.update(parse_name(row["name"]))
    return data.get("context", {}), rows


def parse_name(name):
    """BM_Request/service/bytes:16/real_time/threads:4 -> family, case,
    params {bytes: 16, threads: 4}."""
    parts = [p for p in name.split("/") if p not in ("real_time", "")]
    parts = [re.sub(r"_(median|mean|stddev|cv)$", "", p) for p in parts]
    family = parts[0]
    case = "/".join(p for p in parts[1:] if ":" not in p)
    params = {}
    for p in parts[1:]:
        if ":" in p:
            key, value = p.split(":", 1)
            try:
                params[key] = int(value)
            except ValueError:
                params[key] = value
    return {"family": family, "case": case, "params": params}


def is_baseline(row):
    return "raw_nats" in row["case"] or "RawNats" in row["family"]


# --- Formatting ---

def num(value, digits=3):
    """A figure with `digits` significant digits and a k/M suffix."""
    if value is None:
        return ""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


def size(value):
    """Bytes as 16 B, 1 KiB, 64 KiB."""
    if not isinstance(value, int):
        return str(value)
    for unit, suffix in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= unit and value % unit == 0:
            return f"{value // unit} {suffix}"
    return f"{value} B"


def us(value):
    """Microseconds, shown in µs or ms."""
    if value is None:
        return ""
    if value >= 1000:
        return f"{value / 1000:.3g} ms"
    return f"{value:.3g} µs"


def ratio(row, key):
    value = row.get(key)
    if value is None:
        return ""
    return f"{value:.2f}×" if value >= 0.01 else f"{value:.2g}×"


def spread_note(median, q1, q3, target=None, is_ratio=True):
    """What the spread says: whether 1.0 (no difference) is within the
    IQR, and whether the target is met by the median and within the IQR."""
    notes = []
    if is_ratio and q1 is not None and q3 is not None and q1 <= 1.0 <= q3:
        notes.append("within spread of 1.0")
    if target is not None and median is not None:
        op, value = target
        met = median <= value if op == "<=" else median >= value
        notes.append(("meets" if met else "misses") + f" {OPS[op]} {value:.2f}" +
                     (" (target within spread)"
                      if q1 is not None and q3 is not None
                      and q1 <= value <= q3 else ""))
    return "; ".join(notes)


OPS = {"<=": "≤", ">=": "≥"}


def iqr(q1, q3, unit="×"):
    if q1 is None or q3 is None:
        return ""
    if unit != "×":  # a time: three significant digits
        return f"{q1:.3g}–{q3:.3g}{unit}"
    # Two decimals, or two significant digits below 0.01 (not 0.00).
    return "–".join(f"{v:.2f}" if abs(v) >= 0.01 else f"{v:.2g}"
                    for v in (q1, q3)) + unit


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def error_of(row):
    if row.get("error_occurred"):
        return "error: " + row.get("error_message", "?")
    return None


# --- Machine ---

def command_output(args):
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory():
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = int(f.readline().split()[1])
        return f"{kb / (1 << 20):.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def package_version(package):
    return command_output(["dpkg-query", "-W", "-f=${Version}", package])


def machine_section(contexts, mode):
    context = contexts[0] if contexts else {}
    nats_server = command_output(["nats-server", "--version"])
    rows = [
        ("date", context.get("date", datetime.datetime.now().isoformat())),
        ("mode", mode or "unknown"),
        ("cores", f"{context.get('num_cpus', os.cpu_count())} "
                  f"({os.cpu_count()} online)"),
        ("CPU", cpu_model()),
        ("memory", memory()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("nats-server", nats_server.replace("nats-server: ", "") or "?"),
        ("nats.c", next((c["nats_c"] for c in contexts if "nats_c" in c),
                        package_version("libnats-dev") or "?")),
        ("gRPC", next((c["grpc"] for c in contexts if "grpc" in c),
                      package_version("libgrpc++-dev") or "not run")),
        ("Google Benchmark", package_version("libbenchmark-dev") +
         (" (a debug build: timings of every side are affected alike)"
          if any(c.get("library_build_type") == "debug" for c in contexts)
          else "")),
        ("load average at start", " ".join(
            f"{x:.2f}" for x in context.get("load_avg", []))),
        ("paired rounds", next((f"{c['paired_rounds']} per comparison, "
                                f"length ×{float(c.get('paired_scale', 1)):g}"
                                for c in contexts if "paired_rounds" in c),
                               "?")),
    ]
    return "## Machine\n\n" + table(["", ""], rows)


# --- Sections ---

# The request stacks, in the order tables and charts show them.
REQUEST_NAMES = {
    "raw_nats": "raw nats.c request/reply",
    "grpc": "gRPC C++ unary",
    "transport": "micro-nats transport",
    "service": "micro-nats service Call",
}
REQUEST_CASES = list(REQUEST_NAMES)


def request_section(rows):
    rows = [r for r in rows if r["family"] == "BM_Request"]
    if not rows:
        return "", {}
    rows.sort(key=lambda r: (r["params"].get("bytes", 0),
                             r["params"].get("threads", r.get("threads", 1)),
                             REQUEST_CASES.index(r["case"])
                             if r["case"] in REQUEST_CASES else 9))
    lines = []
    for r in rows:
        error = error_of(r)
        threads = r["params"].get("threads", 1)
        cells = [REQUEST_NAMES.get(r["case"], r["case"]),
                 size(r["params"].get("bytes")), threads]
        if error:
            lines.append(cells + [error] + [""] * 4)
            continue
        lines.append(cells + [
            us(r.get("p50_us")), us(r.get("p90_us")), us(r.get("p99_us")),
            us(r.get("p999_us")), num(r.get("calls_per_s")) + "/s"])
    text = ("## Request latency percentiles\n\n"
            "One request answered, by four stacks on the same machine: "
            "nats.c request/reply to a send-asap echo subscriber (the floor), "
            "a gRPC C++ unary echo over loopback TCP (what a C++ user would "
            "pick instead), the micro-nats NATS transport (a socket per "
            "caller), and a full-stack micro-nats service `Call` (typed "
            "protobuf, client and server services on separate connections). "
            "Bytes: the encoded request (the answer is as long). Callers: "
            "threads calling at once over one client connection (one gRPC "
            "channel). Percentiles are of one merged sample of every call. "
            "Each stack ran alone, one after another, so compare them with "
            "the paired ratios above, not across these rows.\n\n" +
            table(["stack", "bytes", "callers", "p50", "p90", "p99", "p99.9",
                   "calls/s"], lines))
    return text, {(r["case"], r["params"].get("bytes"),
                   r["params"].get("threads", 1)): r for r in rows}


# --- Paired comparisons ---

PAIRED_RATIO = re.compile(r"^(p50|rate)_vs_(\w+?)$")


def paired_figures(row):
    """[(figure, baseline)] of a paired row: its FIG_vs_BASE counters that
    have quartiles beside them."""
    found = []
    for key in sorted(row):
        m = PAIRED_RATIO.match(key)
        if m and f"{key}_q1" in row and f"{key}_q3" in row:
            found.append((m.group(1), m.group(2)))
    return found


def is_paired(row):
    return bool(paired_figures(row)) or "key:" in row.get("label", "")


def label_keys(row):
    """{NAME: COUNTER} from the label's key:NAME=COUNTER tokens."""
    keys = {}
    for token in row.get("label", "").split():
        if token.startswith("key:") and "=" in token:
            name, counter = token[4:].split("=", 1)
            keys[name] = counter
    return keys


def label_text(row):
    return " ".join(t for t in row.get("label", "").split()
                    if not t.startswith("key:"))


def side_value(row, figure, side):
    if figure == "p50":
        return us(row.get(f"{side}_p50_us"))
    value = row.get(f"{side}_per_s")
    return num(value) + "/s" if value else ""


def paired_section(rows):
    paired = [r for r in rows if is_paired(r)]
    if not paired:
        return ""
    lines = []
    for r in paired:
        params = ", ".join(f"{k} {size(v) if k == 'bytes' else v}"
                           for k, v in r["params"].items()
                           if k not in ("iterations",))
        what = f"{r['family']}/{r['case']}" if r["case"] else r["family"]
        error = error_of(r)
        if error:
            lines.append([what, params, error] + [""] * 8)
            continue
        keys = {counter: name for name, counter in label_keys(r).items()}
        for figure, base in paired_figures(r):
            counter = f"{figure}_vs_{base}"
            median, q1, q3 = (r.get(counter), r.get(counter + "_q1"),
                              r.get(counter + "_q3"))
            key = keys.get(counter)
            target = KEY_FIGURES.get(key, (None, None))[1] if key else None
            lines.append([
                what + (f" **{key}**" if key else ""), params,
                f"{figure} ×{base}", ratio(r, counter), iqr(q1, q3),
                spread_note(median, q1, q3, target),
                side_value(r, figure, "base"), side_value(r, figure, "stack"),
                f"{r.get('base_csw_per_op', 0):.2g} / "
                f"{r.get('stack_csw_per_op', 0):.2g}",
                f"{r.get('base_allocs_per_op', 0):.3g} / "
                f"{r.get('stack_allocs_per_op', 0):.3g}",
                f"{int(r.get('rounds', 0))}"])
    return (
        "## Paired comparisons\n\n"
        "Each row: a micro-nats stack and its baseline started side by side "
        "in one process on one nats-server, alternating in short rounds "
        "(each side first in half of them, after an uncounted warm-up); the "
        "ratio is the median of the per-round ratios stack / baseline, and "
        "IQR its interquartile range (the middle half of the rounds). A ratio "
        "whose IQR contains 1.0 is no measurable difference. p50 ×: latency, "
        "2.00× is twice as slow; rate ×: throughput, 0.50× is half. base and "
        "stack: medians over rounds of each side's own figure. Switches and "
        "allocations are per op (call, publish, delivery), each side: "
        "context switches of every thread of the process (getrusage) and "
        "C++ operator-new calls (nats.c's own mallocs are not counted).\n\n" +
        table(["comparison", "parameters", "figure", "ratio", "IQR", "note",
               "base", "stack", "switches/op base / stack",
               "allocs/op base / stack", "rounds"], lines))


def collect_key_figures(rows):
    """{name: (median, q1, q3)} of every key figure named by a label."""
    found = {}
    for r in rows:
        if error_of(r):
            continue
        for name, counter in label_keys(r).items():
            if r.get(counter) is None:
                continue
            found[name] = (r.get(counter), r.get(counter + "_q1"),
                           r.get(counter + "_q3"))
    return found


def write_key_figures(path, found):
    """OUT/key_figures.json: flat name -> median, NAME_q1, NAME_q3,
    NAME_iqr; the issue's names always present (null when not run)."""
    out = {}
    names = list(KEY_FIGURES) + sorted(n for n in found
                                       if n not in KEY_FIGURES)
    for name in names:
        median, q1, q3 = found.get(name, (None, None, None))
        out[name] = median
        out[name + "_iqr"] = (q3 - q1 if q1 is not None and q3 is not None
                              else None)
        out[name + "_q1"] = q1
        out[name + "_q3"] = q3
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")


def fanout_section(rows):
    fan = [r for r in rows if r["family"] == "BM_FanOut"]
    scatter = [r for r in rows if r["family"] == "BM_ScatterGather"]
    if not fan and not scatter:
        return ""
    parts = ["## Fan-out\n"]
    if fan:
        lines = []
        for r in sorted(fan, key=lambda r: (-r["params"].get("batch", 0),
                                            r["params"].get("subscribers", 0))):
            error = error_of(r)
            cells = [r["case"], r["params"].get("subscribers"),
                     r["params"].get("batch")]
            if error:
                lines.append(cells + [error, "", ""])
                continue
            lines.append(cells + [
                num(r.get("deliveries_per_s")) + "/s",
                us(r.get("p50_us")), us(r.get("p99_us"))])
        parts.append(
            "1 → N pub/sub: one publisher, N subscribers on one subscribing "
            "connection, 16-byte messages. Batch 1000: the delivery rate "
            "(each iteration publishes 1000 messages and waits until every "
            "subscriber has all); batch 1: the latency from publishing one "
            "message to its last delivery. `raw_nats_pool` is nats.c with its "
            "shared delivery pool; `raw_nats` nats.c's default, a delivery "
            "thread per subscription. `broker` is the NATS broker's default "
            "batched delivery; `broker_immediate` sends each publish at once. "
            "Each case ran alone: the ratios are in the paired table "
            "(BM_FanOutPaired).\n\n" +
            table(["case", "N", "batch", "deliveries/s",
                   "p50 (batch to last delivery)", "p99"], lines))
    if scatter:
        lines = []
        for r in sorted(scatter, key=lambda r: (r["params"].get("instances", 0),
                                                not is_baseline(r))):
            error = error_of(r)
            cells = [r["case"], r["params"].get("instances")]
            if error:
                lines.append(cells + [error, "", ""])
                continue
            complete = r.get("complete_pct")
            lines.append(cells + [
                us(r.get("p50_us")), us(r.get("p99_us")),
                "" if complete is None else f"{complete:.1f} %"])
        parts.append(
            "\nScatter-gather: one request answered by each of N instances "
            "(on at most 8 server connections); done at the N-th answer. "
            "Raw: one nats.c request on a subject N subscribers answer, "
            "gathered on one inbox. micro-nats: the client's scatter call. "
            "Each case ran alone: the ratios are in the paired table "
            "(BM_ScatterPaired).\n\n" +
            table(["case", "N", "p50", "p99", "complete"], lines))
    return "\n".join(parts)


# The stream stacks (BM_StreamPaired/STACK_vs_BASE).
STREAM_NAMES = {
    "raw": "raw nats.c with acks",
    "grpc": "gRPC C++ server streaming",
    "service": "micro-nats stream",
}


def bytes_per_s(value):
    return f"{value / (1 << 20):.3g} MiB/s" if value else ""


def stream_section(rows):
    rows = [r for r in rows if r["family"] == "BM_StreamPaired"]
    if not rows:
        return ""
    lines = []
    # Per size: micro-nats against raw, against gRPC, then gRPC against raw.
    for r in sorted(rows, key=lambda r: (r["params"].get("bytes", 0),
                                         not r["case"].startswith("service"),
                                         r["case"].endswith("grpc"))):
        stack, _, base = r["case"].partition("_vs_")
        cells = [size(r["params"].get("bytes")),
                 STREAM_NAMES.get(stack, stack), STREAM_NAMES.get(base, base)]
        error = error_of(r)
        if error:
            lines.append(cells + [error] + [""] * 6)
            continue
        counter = f"rate_vs_{base}"
        q1, q3 = r.get(counter + "_q1"), r.get(counter + "_q3")
        lines.append(cells + [
            num(r.get("stack_per_s")) + "/s",
            bytes_per_s(r.get("stack_bytes_per_s")),
            num(r.get("base_per_s")) + "/s",
            bytes_per_s(r.get("base_bytes_per_s")),
            ratio(r, counter), iqr(q1, q3),
            spread_note(r.get(counter), q1, q3)])
    return (
        "## Streams\n\n"
        "A server stream: one request, then chunks of the given size read "
        "to the end (2,000 a stream, 200 at 64 KiB; a round opens streams "
        "one after another). Raw nats.c sends them to the caller's inbox "
        "and never runs more than a window past the reader's last ack (the "
        "micro-nats stream's default window, 64 chunks or 1 MiB; the reader "
        "acks every half window, as the stream returns credit); gRPC is a server-streaming call over loopback "
        "TCP (HTTP/2's flow control). Each pair ran side by side, "
        "alternating rounds: chunks/s and bytes/s are each side's median "
        "over rounds, the ratio the median per-round ratio of chunks/s.\n\n" +
        table(["size", "stack", "baseline", "stack chunks/s", "stack bytes/s",
               "base chunks/s", "base bytes/s", "ratio", "IQR", "note"],
              lines))


def rate_spread(row, side):
    """A side's rate, median over rounds with its quartiles."""
    median = row.get(f"{side}_per_s")
    if not median:
        return ""
    q1, q3 = row.get(f"{side}_per_s_q1"), row.get(f"{side}_per_s_q3")
    spread = f" ({num(q1)}–{num(q3)})" if q1 and q3 else ""
    return f"{num(median)}/s{spread}"


def events_section(rows):
    order = ("BM_PairedDurablePublish", "BM_PairedDurablePublishAsync",
             "BM_PairedConsume")
    rows = [r for r in rows if r["family"] in order]
    if not rows:
        return ""
    lines = []
    for r in sorted(rows, key=lambda r: (order.index(r["family"]),
                                         r["params"].get("bytes", 0))):
        bytes_ = size(r["params"].get("bytes"))
        what = {
            "BM_PairedDurablePublish": "sync durable publish, " + bytes_,
            "BM_PairedDurablePublishAsync":
                "async durable publish, 256 in flight, " + bytes_,
            "BM_PairedConsume": "consume a 2,000-event backlog, acked",
        }[r["family"]]
        error = error_of(r)
        if error:
            lines.append([what, error] + [""] * 4)
            continue
        q1, q3 = r.get("rate_vs_raw_q1"), r.get("rate_vs_raw_q3")
        lines.append([what, rate_spread(r, "stack"), rate_spread(r, "base"),
                      ratio(r, "rate_vs_raw"), iqr(q1, q3),
                      spread_note(r.get("rate_vs_raw"), q1, q3)])
    return (
        "## Events (JetStream)\n\n"
        "Durable events (`//events` on JetStream) against raw nats.c "
        "JetStream doing the same, on a nats-server of the bench's own "
        "(`-js`, file store). Publish: one at a time, each waiting for the "
        "stream's ack (`Events::Publish` vs `js_Publish`). Async publish: "
        "each round sends 5,000 events with at most 256 unacknowledged, "
        "timed from the first send to the last ack "
        "(`Events::PublishAsync` + `FlushPublishes` vs `js_PublishAsync` "
        "with `MaxPending` 256 + `js_PublishAsyncComplete`). Consume: each "
        "round stores a 2,000-event backlog, then a new durable consumer "
        "takes it all, acking each, timed from its creation to the last "
        "event (`Events::Consume`, 64 in flight, vs `js_PullSubscribe` with "
        "`Fetch` of 64 and `natsMsg_Ack`). Each pair alternated rounds: "
        "events/s are each side's median over rounds (its quartiles in "
        "brackets), the ratio the median per-round ratio.\n\n" +
        table(["what", "micro-nats events/s", "raw JetStream events/s",
               "ratio", "IQR", "note"], lines))


# BM_SlowNode's sides (resilience_bench), in the order the table shows them.
SLOW_NODE_SIDES = {
    "healthy": "all healthy, round robin (the reference)",
    "round_robin": "one slow, round robin",
    "latency_aware": "one slow, latency-aware",
    "hedged": "one slow, latency-aware + hedging (after p95)",
}


def resilience_section(rows):
    slow = [r for r in rows if r["family"] == "BM_SlowNode"]
    healthy = [r for r in rows if r["family"] == "BM_PairedHealthySelection"]
    if not slow and not healthy:
        return ""
    parts = ["## Resilience: a slow instance\n"]
    for r in slow:
        error = error_of(r)
        callers = r["params"].get("callers", "?")
        if error:
            parts.append(f"callers {callers}: {error}\n")
            continue
        lines = []
        for side, what in SLOW_NODE_SIDES.items():
            if f"{side}_p50_us" not in r:
                lines.append([what, "not run: " + (
                    "the client does not hedge yet" if side == "hedged"
                    else "?")] + [""] * 7)
                continue
            share = r.get(f"{side}_slow_share")
            hedges = r.get(f"{side}_hedges_per_call")
            cells = [what, us(r.get(f"{side}_p50_us")),
                     us(r.get(f"{side}_p99_us")),
                     "" if share is None else f"{100 * share:.1f} %",
                     "" if hedges is None else
                     f"{hedges:.3f} ({r.get(f'{side}_hedge_wins_per_call', 0):.3f} won)"]
            for figure in ("p50", "p99"):
                counter = f"{side}_{figure}_vs_healthy"
                if counter in r:
                    cells += [ratio(r, counter),
                              iqr(r.get(counter + "_q1"),
                                  r.get(counter + "_q3"))]
                else:
                    cells += ["", ""]
            lines.append(cells)
        best = re.search(r"best:(\w+)", r.get("label", ""))
        extra = r.get("slow_extra_us")
        parts.append(
            f"Three instances of an echo service on one nats-server, one of "
            f"them slow (its handler sleeps {us(extra)} per call, 9× the p50 "
            f"of a first all-healthy round, {us(r.get('calibration_p50_us'))}"
            f", so its calls take ~10× a healthy one's; a healthy "
            f"one answers at once), {callers} callers on one client calling "
            "in rounds; the sides alternate round by round in one process "
            "(each first in turn, after an uncounted warm-up where the "
            "latency-aware selectors learn). p50 and p99: over every counted "
            "call of the side; slow node's share: of its calls, those the "
            "slow instance answered (round robin: a third); hedges/call: "
            "hedged attempts sent per call (and those whose answer won); "
            "×healthy: median of per-round ratios to the "
            "all-healthy reference, with its IQR. `slow_node_p99_vs_healthy` "
            "is the best policy's p99 ×healthy"
            + (f" (here: {best.group(1)})" if best else "") + ".\n\n" +
            table(["side", "p50", "p99", "slow node's share", "hedges/call",
                   "p50 ×healthy", "IQR", "p99 ×healthy", "IQR"], lines))
    if healthy:
        lines = []
        for r in sorted(healthy, key=lambda r: r["params"].get("callers", 0)):
            cells = [r["params"].get("callers")]
            error = error_of(r)
            if error:
                lines.append(cells + [error] + [""] * 5)
                continue
            for figure in ("p50", "rate"):
                counter = f"{figure}_vs_round_robin"
                q1, q3 = r.get(counter + "_q1"), r.get(counter + "_q3")
                cells += [ratio(r, counter), iqr(q1, q3)]
            cells.append(spread_note(r.get("p50_vs_round_robin"),
                                     r.get("p50_vs_round_robin_q1"),
                                     r.get("p50_vs_round_robin_q3")))
            lines.append(cells)
        parts.append(
            "\nAll three healthy: latency-aware selection against round "
            "robin, paired (latency-aware becomes the client's default if it "
            "is at least as good).\n\n" +
            table(["callers", "p50 ×round robin", "IQR", "rate ×round robin",
                   "IQR", "note (p50)"], lines))
    return "\n".join(parts)


def instances_of(row):
    """K as measured (a smoke run shrinks 10,000 to 1,000)."""
    return int(row.get("K", row["params"].get("K", 0)))


def kv_section(rows):
    kv = {f: {r["params"].get("K"): r for r in rows if r["family"] == f}
          for f in ("BM_KvNewClient", "BM_KvLookup", "BM_KvVisible")}
    if not any(kv.values()):
        return ""

    def spread(row, counter):
        q1, q3 = row.get(counter + "_q1"), row.get(counter + "_q3")
        return [ratio(row, counter), iqr(q1, q3),
                spread_note(row.get(counter), q1, q3)]

    def rows_of(family, width, cells):
        lines = []
        for _, r in sorted(kv[family].items()):
            error = error_of(r)
            lines.append([f"{instances_of(r):,}"] +
                         ([error] + [""] * (width - 2) if error else cells(r)))
        return lines

    parts = [
        "## Key-value discovery\n",
        "The registry on a JetStream key-value bucket (`//registry/kv`: "
        "each client keeps a local replica fed by a KV watch) beside "
        "broadcast discovery's census default, K instances of one service "
        "registered both ways on one nats-server of the bench's own "
        "(`-js`; the broadcast ones over 10 registrar connections; a bucket "
        "per K). Each pair alternated rounds (the ratio: median per-round "
        "ratio KV / baseline, with its IQR).\n",
        "\n### Time to the complete set\n\n"
        "A new client (its connection made beforehand) until it has all K: "
        "KV makes its watcher and loads the initial values; broadcast looks "
        "up until one lookup found all K. Replica: the memory one loaded "
        "KV client holds (malloc'd bytes, nats.c's included).\n\n" +
        table(["K", "KV", "KV IQR", "broadcast census", "KV ×census", "IQR",
               "note", "replica"],
              rows_of("BM_KvNewClient", 8, lambda r: [
                  f"{r.get('load_ms', 0):.3g} ms",
                  iqr(r.get("load_ms_q1"), r.get("load_ms_q3"), " ms"),
                  us(r.get("base_p50_us"))] + spread(r, "p50_vs_census") +
                  ["" if r.get("replica_kib") is None else
                   f"{r['replica_kib']:,.0f} KiB"])),
        "\n### Lookup\n\n"
        "A loaded KV client's lookup is local and complete; the census "
        "default's is a broadcast every time (cold, no cache); complete: "
        "the share of those broadcast lookups that found all K.\n\n" +
        table(["K", "KV p50", "KV lookups/s", "census p50", "census complete",
               "KV ×census p50", "IQR", "note"],
              rows_of("BM_KvLookup", 8, lambda r: [
                  us(r.get("stack_p50_us")), num(r.get("stack_per_s")) + "/s",
                  us(r.get("base_p50_us")),
                  f"{r.get('census_complete_pct', 0):.1f} %"] +
                  spread(r, "p50_vs_census"))),
        "\n### Registration to visible\n\n"
        "A registration changed at one client until another client's "
        "watcher has it, against a raw nats.c request/reply round trip "
        "(send-asap). p50: median over rounds of each round's p50; p99 "
        "over every change of the run.\n\n" +
        table(["K", "KV p50", "KV p99", "raw round trip p50", "KV ×raw",
               "IQR", "note"],
              rows_of("BM_KvVisible", 7, lambda r: [
                  us(r.get("stack_p50_us")), us(r.get("visible_p99_us")),
                  us(r.get("base_p50_us"))] + spread(r, "p50_vs_raw"))),
    ]
    return "\n".join(parts)


def best_discovery(rows):
    """Per K: (the fastest cold setting that found all K in >= 99.9 % of
    its lookups, go-micro's row)."""
    result = {}
    cold = [r for r in rows if r["family"] == "BM_ColdLookup"
            and not error_of(r)]
    for k in sorted({r["params"]["K"] for r in cold}):
        at_k = [r for r in cold if r["params"]["K"] == k]
        complete = [r for r in at_k if r.get("complete_pct", 0) >= COMPLETE_PCT]
        best = min(complete, key=lambda r: r["p50_us"]) if complete else None
        go_micro = next((r for r in at_k if "go-micro" in r.get("label", "")),
                        None)
        result[k] = (best, go_micro)
    return result


def discovery_section(rows):
    cold = [r for r in rows if r["family"] in ("BM_ColdLookup",
                                               "BM_WarmLookup")]
    firsts = {r["params"].get("K"): r for r in rows
              if r["family"] == "BM_RawNatsFirstAnswer" and "K" in r["params"]}
    if not cold:
        return "", {}
    best = best_discovery(rows)
    parts = [
        "## Discovery-timeout tuning\n",
        "K instances registered over min(K, 10) registrar connections; a "
        "lookup broadcasts the query and gathers answers until its rule says "
        "stop. complete: the share of lookups that found all K. ★ marks, per "
        "K, the fastest setting (by p50) that found all K in at least "
        f"{COMPLETE_PCT} % of its lookups; the number of lookups says how "
        "much that share can be trusted (1 miss in 1,000 is 99.9 %). "
        "`fixed 100ms (go-micro)` is go-micro's rule. `census (default)` is "
        "micro-nats's default (answers carry hints of the node set; the "
        "10 ms idle gap without them). `quorum all registrars` needs the "
        "number of registrars known in advance. Cold: no cache, every lookup "
        "broadcasts; warm: through the client's cache. ×first answer: p50 "
        "over a raw nats.c request's first answer to the same query.\n"]
    for k in sorted({r["params"]["K"] for r in cold}):
        lines = []
        best_row, go_micro = best.get(k, (None, None))
        for r in sorted((r for r in cold if r["params"]["K"] == k),
                        key=lambda r: (r["family"] != "BM_ColdLookup",
                                       r.get("p50_us", 0))):
            error = error_of(r)
            kind = "cold" if r["family"] == "BM_ColdLookup" else "warm"
            label = r.get("label", r["case"])
            if error:
                lines.append([kind, label, error, "", "", "", "", ""])
                continue
            mark = " ★" if r is best_row else ""
            lines.append([
                kind, label + mark, us(r.get("p50_us")), us(r.get("p99_us")),
                f"{r.get('complete_pct', 0):.2f} %",
                f"{r.get('known_pct', 0):.0f} %", r.get("iterations"),
                ratio(r, "p50_vs_raw")])
        first = firsts.get(k)
        summary = ""
        if best_row is not None and go_micro is not None:
            summary = (f"Fastest complete setting: **{best_row['label']}**, "
                       f"p50 {us(best_row['p50_us'])} against go-micro's "
                       f"{us(go_micro['p50_us'])}: "
                       f"{go_micro['p50_us'] / best_row['p50_us']:.1f}× "
                       "faster.")
        elif go_micro is not None:
            summary = "No setting found all K in enough lookups."
        if first is not None:
            summary += (f" Raw first answer: p50 {us(first.get('p50_us'))}.")
        parts.append(f"\n### K = {k}\n\n{summary}\n\n" + table(
            ["lookup", "setting", "p50", "p99", "complete", "known complete",
             "lookups", "p50 ×first answer"], lines))
    return "\n".join(parts), best


def generic_section(rows, handled):
    rows = [r for r in rows if r["family"] not in handled and not is_paired(r)]
    if not rows:
        return ""
    lines = []
    for r in rows:
        error = error_of(r)
        name = r["name"].replace("/real_time", "")
        if error:
            lines.append([name, error, "", "", "", ""])
            continue
        # Not paired: one run of each side, so no spread to show.
        ratios = ", ".join(f"{key} {r[key]:.2f}× (unpaired)"
                           for key in sorted(r) if re.match(r".*_vs_\w+$", key)
                           and isinstance(r[key], (int, float)))
        rate = r.get("items_per_second")
        lines.append([name, num(rate) + "/s" if rate else "",
                      us(r.get("p50_us")), us(r.get("p99_us")),
                      "baseline" if is_baseline(r) else ratios,
                      r.get("label", "")])
    return ("## Other benchmarks\n\n" +
            table(["benchmark", "rate", "p50", "p99", "vs baseline", "label"],
                  lines))


def key_figures(found):
    """The figures a reader looks for first: every key figure, paired, with
    its spread and target."""
    lines = []
    for name, (what, target) in KEY_FIGURES.items():
        median, q1, q3 = found.get(name, (None, None, None))
        unit = unit_of(name)
        value = "not run" if median is None else (
            f"{median:.2f}×" if unit == "×" else f"{median:.3g}{unit}")
        lines.append([
            what, f"`{name}`", value, iqr(q1, q3, unit),
            "" if median is None else spread_note(
                median, q1, q3, target, is_ratio=unit == "×"),
            "" if target is None else f"{OPS[target[0]]} {target[1]:.2f}"])
    for name in sorted(n for n in found if n not in KEY_FIGURES):
        median, q1, q3 = found[name]
        unit = unit_of(name)
        lines.append([name, f"`{name}`",
                      f"{median:.2f}×" if unit == "×" else
                      f"{median:.3g}{unit}", iqr(q1, q3, unit),
                      spread_note(median, q1, q3, is_ratio=unit == "×"), ""])
    return ("## Key figures\n\n"
            "Paired medians (see Paired comparisons) with their interquartile "
            "range; OUT/key_figures.json has the same numbers.\n\n" +
            table(["figure", "name", "median", "IQR", "note", "target"],
                  lines))


# --- Main ---

def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="directory for REPORT.md and charts/; "
                        "without it the report goes to stdout, no charts")
    parser.add_argument("--mode", default="", help="quick or full, for the "
                        "report's header")
    parser.add_argument("--command", default="", help="the command that "
                        "made the JSON, for the report's header")
    parser.add_argument("json", nargs="+")
    args = parser.parse_args(argv)

    contexts, rows = [], []
    for path in args.json:
        try:
            context, file_rows = load_rows(path)
        except (OSError, ValueError) as e:
            print(f"report: cannot read {path}: {e}", file=sys.stderr)
            return 1
        contexts.append(context)
        rows += file_rows
    if not rows:
        print("report: no benchmark rows in the JSON given", file=sys.stderr)
        return 1

    request_text, requests = request_section(rows)
    discovery_text, best = discovery_section(rows)
    found = collect_key_figures(rows)
    sections = [
        "# micro-nats benchmark report",
        ("Every micro-nats figure is compared with its baseline paired: both "
         "run side by side in one process on the same nats-server, "
         "alternating in short rounds, and the ratio is the median of the "
         "per-round ratios with its interquartile range (on this machine a "
         "figure moves ±30 % between runs; within one run, paired, a 10 % "
         "difference can show). Baselines: raw nats.c doing the same thing, "
         "and for requests also gRPC C++ and nats.go's micro. Ratios, not "
         "absolute times, are what carry over to another machine." +
         (f" Made by `{args.command}`." if args.command else "")),
        machine_section(contexts, args.mode),
        key_figures(found),
        paired_section(rows),
        request_text,
        fanout_section(rows),
        stream_section(rows),
        events_section(rows),
        resilience_section(rows),
        discovery_text,
        kv_section(rows),
        generic_section(rows, {
            "BM_Request", "BM_FanOut", "BM_ScatterGather", "BM_ColdLookup",
            "BM_WarmLookup", "BM_RawNatsFirstAnswer",
            # Their own sections show their errors too.
            "BM_PairedDurablePublish", "BM_PairedConsume", "BM_KvNewClient",
            "BM_KvLookup", "BM_KvVisible", "BM_SlowNode"}),
    ]
    if args.out:
        written, skipped = charts.write(
            args.out, requests, [r for r in rows if not error_of(r)], best,
            request_names=REQUEST_NAMES, complete_pct=COMPLETE_PCT, size=size)
        chart_text = "\n\n".join(f"### {title}\n\n![{title}](charts/{name})"
                                 for name, title in written)
        sections.insert(4, "## Charts\n\n" + (skipped or chart_text))
    report = "\n\n".join(s for s in sections if s) + "\n"
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "REPORT.md"), "w",
                  encoding="utf-8") as f:
            f.write(report)
        write_key_figures(os.path.join(args.out, "key_figures.json"), found)
        print(f"report: wrote {os.path.join(args.out, 'REPORT.md')} and "
              "key_figures.json", file=sys.stderr)
    else:
        sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
