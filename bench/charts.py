# Copyright 2026 The micro-nats Authors.
"""The report's SVG charts (bench/report.py draws them through write()).

Five charts, each from rows report.py has already read: request latency
percentiles and throughput against callers (BM_Request), fan-out rate and
latency against subscribers (BM_FanOut), the discovery sweep
(BM_ColdLookup), and key-value discovery against K (BM_KvNewClient,
BM_KvVisible). Needs Debian's python3-matplotlib; without it write() says
why the charts were skipped instead of failing the report.
"""

import os


def write(out_dir, requests, rows, best, *, request_names, complete_pct,
          size):
    """Writes OUT_DIR/charts/*.svg; returns ([(file name, title)], None), or
    ([], the reason they were skipped).

    requests: {(case, bytes, callers): row} of BM_Request; rows: every row
    without an error; best: {K: (fastest complete setting, go-micro's row)};
    request_names: case -> its name, in the order the stacks are drawn;
    complete_pct: the share of lookups that counts as complete; size: bytes
    -> their label (16 B, 1 KiB).
    """
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

    _request_charts(plt, save, requests, request_names, size)
    _fanout_chart(plt, save, [r for r in rows if r["family"] == "BM_FanOut"])
    _discovery_chart(plt, save,
                     [r for r in rows if r["family"] == "BM_ColdLookup"],
                     best, complete_pct)
    _kv_chart(plt, save, [r for r in rows if r["family"] in
                          ("BM_KvNewClient", "BM_KvVisible")])
    return written, None


def _request_charts(plt, save, requests, request_names, size):
    cases = [c for c in request_names if any(k[0] == c for k in requests)]
    sizes = sorted({k[1] for k in requests})
    if not cases or not sizes:
        return
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
                   values, width, label=request_names[case])
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
                        marker="o", label=request_names[case])
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 4, 16, 64])
        ax.set_xticklabels(["1", "4", "16", "64"])
        ax.set_xlabel("concurrent callers")
        ax.set_ylabel("calls/s")
        ax.set_title(size(bytes_))
    axes[0][0].legend(fontsize=7)
    save(fig, "throughput.svg", "Throughput against concurrent callers")


def _fanout_chart(plt, save, fan):
    if not fan:
        return
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


def _discovery_chart(plt, save, cold, best, complete_pct):
    if not cold:
        return
    ks = sorted({r["params"]["K"] for r in cold})
    fig, axes = plt.subplots(1, len(ks), figsize=(4.6 * len(ks), 4),
                             squeeze=False)
    for ax, k in zip(axes[0], ks):
        at_k = sorted((r for r in cold if r["params"]["K"] == k),
                      key=lambda r: -r["p50_us"])
        best_row, _ = best.get(k, (None, None))
        colors = ["tab:green" if r is best_row else
                  "tab:blue" if r.get("complete_pct", 0) >= complete_pct
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
                 f"K in ≥ {complete_pct} % of lookups; orange: below "
                 "that", fontsize=8)
    save(fig, "discovery.svg", "Discovery sweep: latency against "
         "completeness")


def _kv_chart(plt, save, kv):
    """Against K (as measured): the time a new client takes to have all K,
    KV and the broadcast census default; and registration-to-visible, KV
    p50 and p99 beside a raw round trip. Bars: the rounds' IQR."""
    if not kv:
        return
    fig, (load_ax, vis_ax) = plt.subplots(1, 2, figsize=(9, 3.4))

    def line(ax, family, key, label, scale=1.0, spread=True, **style):
        points = sorted((int(r.get("K", r["params"].get("K", 0))), r)
                        for r in kv if r["family"] == family and r.get(key))
        if not points:
            return
        ks = [k for k, _ in points]
        ys = [r[key] / scale for _, r in points]
        errors = None
        if spread and all(f"{key}_q1" in r and f"{key}_q3" in r
                          for _, r in points):
            errors = [[max(0, y - r[f"{key}_q1"] / scale)
                       for y, (_, r) in zip(ys, points)],
                      [max(0, r[f"{key}_q3"] / scale - y)
                       for y, (_, r) in zip(ys, points)]]
        ax.errorbar(ks, ys, yerr=errors, marker="o", capsize=3, label=label,
                    **style)

    line(load_ax, "BM_KvNewClient", "stack_p50_us", "key-value", 1000)
    line(load_ax, "BM_KvNewClient", "base_p50_us", "broadcast census", 1000)
    line(vis_ax, "BM_KvVisible", "stack_p50_us", "key-value p50")
    line(vis_ax, "BM_KvVisible", "visible_p99_us", "key-value p99",
         spread=False, linestyle="--")
    line(vis_ax, "BM_KvVisible", "base_p50_us", "raw nats.c round trip p50")
    for ax in (load_ax, vis_ax):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("instances K (log)")
        ax.legend(fontsize=7)
    load_ax.set_ylabel("ms (log)")
    load_ax.set_title("new client until it has all K")
    vis_ax.set_ylabel("µs (log)")
    vis_ax.set_title("registration to visible at another client")
    save(fig, "kv_discovery.svg", "Key-value discovery against K")
