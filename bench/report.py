#!/usr/bin/env python3
# Copyright 2026 The micro-nats Authors.
"""Turns the benches' Google Benchmark JSON into REPORT.md and SVG charts.

  bench/report.py --out bench/results [--mode quick] results/json/*.json

Writes OUT/REPORT.md: the machine, the key figures, then one section per
benchmark family, every micro-nats figure next to its baseline from the same
run (raw nats.c, or gRPC) as a ratio. With Debian's python3-matplotlib it also
writes OUT/charts/*.svg (latency percentiles, throughput against callers,
fan-out, the discovery sweep); without it the report says the charts were
skipped. Rows of an unknown family go in a generic table, so every bench
binary's JSON can be given.

Ratios: p50_vs_raw 2.0 means twice raw's latency; rate_vs_raw 0.5 means half
raw's throughput. With --benchmark_repetitions the medians are used.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

# The share of lookups that must find every instance for a discovery
# setting to count as complete.
COMPLETE_PCT = 99.9


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
    ]
    return "## Machine\n\n" + table(["", ""], rows)


# --- Sections ---

REQUEST_CASES = ["raw_nats", "grpc", "transport", "service"]
REQUEST_NAMES = {
    "raw_nats": "raw nats.c request/reply",
    "grpc": "gRPC C++ unary",
    "transport": "micro-nats transport",
    "service": "micro-nats service Call",
}


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
            lines.append(cells + [error] + [""] * 8)
            continue
        lines.append(cells + [
            us(r.get("p50_us")), us(r.get("p90_us")), us(r.get("p99_us")),
            us(r.get("p999_us")), num(r.get("calls_per_s")) + "/s",
            "baseline" if r["case"] == "raw_nats" else ratio(r, "p50_vs_raw"),
            "baseline" if r["case"] == "raw_nats" else ratio(r, "rate_vs_raw"),
            ratio(r, "p50_vs_grpc"), ratio(r, "rate_vs_grpc")])
    text = ("## Request latency and throughput\n\n"
            "One request answered, by four stacks on the same machine in the "
            "same run: nats.c request/reply to a send-asap echo subscriber "
            "(the floor), a gRPC C++ unary echo over loopback TCP (what a C++ "
            "user would pick instead), the micro-nats NATS transport (a socket "
            "per caller), and a full-stack micro-nats service `Call` (typed "
            "protobuf, client and server services on separate connections). "
            "Bytes: the encoded request (the answer is as long). Callers: "
            "threads calling at once over one client connection (one gRPC "
            "channel). Percentiles are of one merged sample of every call. "
            "p50 ×raw: p50 over raw nats.c's at the same size and callers "
            "(2.00× is twice as slow); rate ×raw: calls/s over raw's (0.50× "
            "is half the throughput); the ×gRPC columns likewise.\n\n" +
            table(["stack", "bytes", "callers", "p50", "p90", "p99", "p99.9",
                   "calls/s", "p50 ×raw", "rate ×raw", "p50 ×gRPC",
                   "rate ×gRPC"], lines))
    return text, {(r["case"], r["params"].get("bytes"),
                   r["params"].get("threads", 1)): r for r in rows}


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
            base = r["case"] == "raw_nats_pool"
            cells = [r["case"], r["params"].get("subscribers"),
                     r["params"].get("batch")]
            if error:
                lines.append(cells + [error, "", "", "", "", ""])
                continue
            lines.append(cells + [
                num(r.get("deliveries_per_s")) + "/s",
                "baseline" if base else ratio(r, "rate_vs_raw"),
                us(r.get("p50_us")), us(r.get("p99_us")),
                "baseline" if base else ratio(r, "p50_vs_raw")])
        parts.append(
            "1 → N pub/sub: one publisher, N subscribers on one subscribing "
            "connection, 16-byte messages. Batch 1000: the delivery rate "
            "(each iteration publishes 1000 messages and waits until every "
            "subscriber has all); batch 1: the latency from publishing one "
            "message to its last delivery. `raw_nats_pool` (nats.c with its "
            "shared delivery pool) is the baseline; `raw_nats` is nats.c's "
            "default, a delivery thread per subscription. `broker` is the "
            "NATS broker's default batched delivery (publishes wait up to "
            "~1 ms for nats.c's flusher); `broker_immediate` sends each "
            "publish at once.\n\n" +
            table(["case", "N", "batch", "deliveries/s", "rate ×raw",
                   "p50 (batch to last delivery)", "p99", "p50 ×raw"],
                  lines))
    if scatter:
        lines = []
        for r in sorted(scatter, key=lambda r: (r["params"].get("instances", 0),
                                                not is_baseline(r))):
            error = error_of(r)
            cells = [r["case"], r["params"].get("instances")]
            if error:
                lines.append(cells + [error, "", "", ""])
                continue
            lines.append(cells + [
                us(r.get("p50_us")), us(r.get("p99_us")),
                "baseline" if is_baseline(r) else ratio(r, "p50_vs_raw"),
                "baseline" if is_baseline(r) else ratio(r, "p99_vs_raw")])
        parts.append(
            "\nScatter-gather: one request answered by each of N instances "
            "(on at most 8 server connections); done at the N-th answer. "
            "Raw: one nats.c request on a subject N subscribers answer, "
            "gathered on one inbox. micro-nats: the client calls every "
            "instance it found (`CallAsync` with a node filter each, 16 "
            "async threads).\n\n" +
            table(["case", "N", "p50", "p99", "p50 ×raw", "p99 ×raw"], lines))
    return "\n".join(parts)


def publish_section(rows):
    rows = [r for r in rows if r["family"] in ("BM_RawNatsPublish",
                                               "BM_BrokerPublish")]
    if not rows:
        return ""
    lines = []
    for r in rows:
        error = error_of(r)
        size = r["params"].get("bytes", r["case"])
        if error:
            lines.append([r["family"], size, error, ""])
            continue
        lines.append([r["family"], size,
                      num(r.get("items_per_second")) + "/s",
                      "baseline" if is_baseline(r) else ratio(r, "rate_vs_raw")])
    return ("## Publish\n\nPublishes per second from one publisher, nobody "
            "subscribed (bytes: the body).\n\n" +
            table(["benchmark", "bytes", "publishes/s", "rate ×raw"], lines))


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
    rows = [r for r in rows if r["family"] not in handled]
    if not rows:
        return ""
    lines = []
    for r in rows:
        error = error_of(r)
        name = r["name"].replace("/real_time", "")
        if error:
            lines.append([name, error, "", "", "", ""])
            continue
        ratios = ", ".join(f"{key.split('_')[0]} {r[key]:.2f}×"
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


def key_figures(requests, rows, best):
    """The figures a reader looks for first, as ratios to their baselines."""
    def get(case, size, callers, key):
        row = requests.get((case, size, callers))
        return None if row is None else row.get(key)

    lines = []

    def add(what, value, detail):
        if value is not None:
            lines.append([what, f"{value:.2f}×", detail])

    tcp = get("transport", 16, 1, "p50_us")
    svc = get("service", 16, 1, "p50_us")
    raw = get("raw_nats", 16, 1, "p50_us")
    grpc = get("grpc", 16, 1, "p50_us")
    if svc and raw:
        add("service Call p50 / raw nats.c p50 (16 B, 1 caller)", svc / raw,
            f"{us(svc)} vs {us(raw)}")
    if tcp and raw:
        add("transport echo p50 / raw nats.c p50 (16 B, 1 caller)",
            tcp / raw, f"{us(tcp)} vs {us(raw)}")
    if svc and grpc:
        add("service Call p50 / gRPC p50 (16 B, 1 caller)", svc / grpc,
            f"{us(svc)} vs {us(grpc)}")
    for bytes_ in (16, 1024, 64 << 10):
        ours = get("service", bytes_, 64, "calls_per_s")
        theirs = get("grpc", bytes_, 64, "calls_per_s")
        if ours and theirs:
            add(f"service calls/s / gRPC calls/s ({size(bytes_)}, 64 "
                "callers)",
                ours / theirs, f"{num(ours)}/s vs {num(theirs)}/s")
    publish = {(r["family"], r["params"].get("bytes")): r
               for r in rows if r["family"] in ("BM_BrokerPublish",
                                                "BM_RawNatsPublish")}
    broker = publish.get(("BM_BrokerPublish", 16))
    if broker is not None and broker.get("rate_vs_raw") is not None:
        add("broker publishes/s / raw nats.c (16 B)", broker["rate_vs_raw"],
            f"{num(broker.get('items_per_second'))}/s")
    for r in rows:
        if (r["family"] == "BM_FanOut" and r["case"].startswith("broker")
                and r["params"].get("subscribers") == 64
                and r.get("rate_vs_raw") is not None):
            batch = r["params"].get("batch")
            if batch == 1000:
                add(f"fan-out 1→64 deliveries/s, {r['case']} / raw nats.c",
                    r["rate_vs_raw"], f"{num(r.get('deliveries_per_s'))}/s")
            elif batch == 1:
                add(f"fan-out 1→64 publish-to-last-delivery p50, {r['case']} "
                    "/ raw", r.get("p50_vs_raw"), us(r.get("p50_us")) +
                    (" (batched: waits ≤ 1 ms for the flusher, by design)"
                     if r["case"] == "broker" else ""))
    for r in rows:
        if (r["family"] == "BM_ScatterGather" and r["case"] == "service"
                and r["params"].get("instances") == 8
                and r.get("p50_vs_raw") is not None):
            add("scatter-gather to 8 instances p50 / raw nats.c",
                r["p50_vs_raw"], us(r.get("p50_us")))
    best_row, go_micro = best.get(10, (None, None))
    if best_row is not None and go_micro is not None:
        add("discovery K = 10: fixed 100 ms p50 / fastest complete setting",
            go_micro["p50_us"] / best_row["p50_us"],
            f"{best_row['label']}: {us(best_row['p50_us'])}, "
            f"{best_row['complete_pct']:.2f} % complete in "
            f"{best_row['iterations']} lookups")
    if not lines:
        return ""
    return "## Key figures\n\n" + table(["figure", "ratio", "values"], lines)


# --- Charts ---

def charts(out_dir, requests, rows, best):
    """Writes the SVG charts; returns their file names, or a reason."""
    try:
        import matplotlib
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], ("charts skipped: python3-matplotlib is not installed "
                    "(`apt-get install python3-matplotlib`; Debian's python3 "
                    "is /usr/bin/python3)")
    os.makedirs(os.path.join(out_dir, "charts"), exist_ok=True)
    plt.rcParams["svg.hashsalt"] = "micro-nats"  # stable ids: small diffs
    plt.rcParams["font.size"] = 9
    written = []

    def save(fig, name, title):
        path = os.path.join(out_dir, "charts", name)
        fig.tight_layout()
        fig.savefig(path, metadata={"Date": None})
        plt.close(fig)
        written.append((name, title))

    cases = [c for c in REQUEST_CASES if any(k[0] == c for k in requests)]
    sizes = sorted({k[1] for k in requests})
    if cases and sizes:
        fig, axes = plt.subplots(1, len(sizes), figsize=(4 * len(sizes), 3.4),
                                 squeeze=False)
        percentiles = [("p50_us", "p50"), ("p90_us", "p90"),
                       ("p99_us", "p99"), ("p999_us", "p99.9")]
        for ax, bytes_ in zip(axes[0], sizes):
            width = 0.8 / len(cases)
            for i, case in enumerate(cases):
                row = requests.get((case, bytes_, 1), {})
                values = [row.get(key, 0) or 0 for key, _ in percentiles]
                ax.bar([x + i * width for x in range(len(percentiles))],
                       values, width, label=REQUEST_NAMES[case])
            ax.set_xticks([x + width * (len(cases) - 1) / 2
                           for x in range(len(percentiles))])
            ax.set_xticklabels([label for _, label in percentiles])
            ax.set_yscale("log")
            ax.set_ylabel("µs (log)")
            ax.set_title(f"{size(bytes_)}, 1 caller")
        axes[0][0].legend(fontsize=7)
        save(fig, "request_latency.svg", "Request latency percentiles")

        fig, axes = plt.subplots(1, len(sizes), figsize=(4 * len(sizes), 3.4),
                                 squeeze=False)
        for ax, bytes_ in zip(axes[0], sizes):
            for case in cases:
                points = sorted((k[2], r.get("calls_per_s"))
                                for k, r in requests.items()
                                if k[0] == case and k[1] == bytes_
                                and r.get("calls_per_s"))
                if points:
                    ax.plot([p[0] for p in points], [p[1] for p in points],
                            marker="o", label=REQUEST_NAMES[case])
            ax.set_xscale("log", base=2)
            ax.set_xticks([1, 4, 16, 64])
            ax.set_xticklabels(["1", "4", "16", "64"])
            ax.set_xlabel("concurrent callers")
            ax.set_ylabel("calls/s")
            ax.set_title(size(bytes_))
        axes[0][0].legend(fontsize=7)
        save(fig, "throughput.svg", "Throughput against concurrent callers")

    fan = [r for r in rows if r["family"] == "BM_FanOut" and not error_of(r)]
    if fan:
        fig, (rate_ax, lat_ax) = plt.subplots(1, 2, figsize=(9, 3.4))
        for case in sorted({r["case"] for r in fan}):
            for ax, batch, key in ((rate_ax, 1000, "deliveries_per_s"),
                                   (lat_ax, 1, "p50_us")):
                points = sorted((r["params"]["subscribers"], r.get(key))
                                for r in fan if r["case"] == case
                                and r["params"].get("batch") == batch)
                if points:
                    ax.plot([p[0] for p in points], [p[1] for p in points],
                            marker="o", label=case)
        ns = sorted({r["params"]["subscribers"] for r in fan})
        for ax in (rate_ax, lat_ax):
            ax.set_xscale("log", base=2)
            ax.set_xticks(ns)
            ax.set_xticklabels([str(n) for n in ns])
            ax.set_xlabel("subscribers N")
        rate_ax.set_ylabel("deliveries/s")
        rate_ax.set_title("1 → N delivery rate (batch 1000)")
        lat_ax.set_yscale("log")
        lat_ax.set_ylabel("µs (log)")
        lat_ax.set_title("publish to last delivery, p50 (batch 1)")
        rate_ax.legend(fontsize=7)
        save(fig, "fanout.svg", "Fan-out")

    cold = [r for r in rows if r["family"] == "BM_ColdLookup"
            and not error_of(r)]
    if cold:
        ks = sorted({r["params"]["K"] for r in cold})
        fig, axes = plt.subplots(1, len(ks), figsize=(4.6 * len(ks), 4),
                                 squeeze=False)
        for ax, k in zip(axes[0], ks):
            at_k = sorted((r for r in cold if r["params"]["K"] == k),
                          key=lambda r: -r["p50_us"])
            best_row, _ = best.get(k, (None, None))
            colors = ["tab:green" if r is best_row else
                      "tab:blue" if r.get("complete_pct", 0) >= COMPLETE_PCT
                      else "tab:orange" for r in at_k]
            ys = range(len(at_k))
            ax.barh(ys, [r["p50_us"] / 1000 for r in at_k], color=colors)
            ax.set_yticks(list(ys))
            ax.set_yticklabels([r.get("label", r["case"]) for r in at_k],
                               fontsize=7)
            for y, r in zip(ys, at_k):
                ax.text(r["p50_us"] / 1000 * 1.08, y,
                        f"{r.get('complete_pct', 0):.1f} %", va="center",
                        fontsize=6)
            ax.set_xscale("log")
            ax.set_xlim(right=max(r["p50_us"] for r in at_k) / 1000 * 4)
            ax.set_xlabel("cold lookup p50, ms (log); label: found all K")
            ax.set_title(f"K = {k}", fontsize=9)
        fig.suptitle("Discovery sweep — green: fastest setting that found all "
                     f"K in ≥ {COMPLETE_PCT} % of lookups; orange: below "
                     "that", fontsize=8)
        save(fig, "discovery.svg", "Discovery sweep: latency against "
             "completeness")
    return written, None


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
    sections = [
        "# micro-nats benchmark report",
        ("Every micro-nats figure is shown next to its baseline from the same "
         "run on the same nats-server: raw nats.c doing the same thing, and "
         "for requests also gRPC C++. Ratios, not absolute times, are what "
         "carry over to another machine." +
         (f" Made by `{args.command}`." if args.command else "")),
        machine_section(contexts, args.mode),
        key_figures(requests, rows, best),
        request_text,
        fanout_section(rows),
        publish_section(rows),
        discovery_text,
        generic_section(rows, {
            "BM_Request", "BM_FanOut", "BM_ScatterGather", "BM_ColdLookup",
            "BM_WarmLookup", "BM_RawNatsFirstAnswer", "BM_RawNatsPublish",
            "BM_BrokerPublish"}),
    ]
    if args.out:
        written, skipped = charts(args.out, requests, rows, best)
        chart_text = "\n\n".join(f"### {title}\n\n![{title}](charts/{name})"
                                 for name, title in written)
        sections.insert(4, "## Charts\n\n" + (skipped or chart_text))
    report = "\n\n".join(s for s in sections if s) + "\n"
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "REPORT.md"), "w",
                  encoding="utf-8") as f:
            f.write(report)
        print(f"report: wrote {os.path.join(args.out, 'REPORT.md')}",
              file=sys.stderr)
    else:
        sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
