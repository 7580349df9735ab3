"""Run every workload (W1, W3, W4) for ml4t and Backtrader and print one markdown table.

Each measurement runs in fresh processes: whole process (Python start, imports, Parquet read,
run, result) timed from outside, median of ``--runs``; engine-only (``engine.run`` on
already-loaded ``BarData``) cold and warm; Backtrader side by side on the same Parquet file
(``--bt-runs``; W3 500 x 2,520 only with ``--bt-w3-500``, once, ~100+ s). Results go to
``benchmarks/results/all.json``; the table is printed and written to
``benchmarks/results/all.md``.

    python -m benchmarks.run_all                       # ~10 minutes on 2 cores
    python -m benchmarks.run_all --runs 3 --bt-runs 1 --bt-w3-500
    python -m benchmarks.run_all --only W4 --runs 3
    python -m benchmarks.run_all --only W1a,W1b --merge    # re-run two, keep the rest
"""
from __future__ import annotations

import os
import sys
import time

from benchmarks import common

# key: (module, label, assets, bars, Backtrader by default)
WORKLOADS = {
    "W1a": ("benchmarks.bench_noop", "W1a no-op 1 x 5,000", 1, 5000, True),
    "W1b": ("benchmarks.bench_noop", "W1b no-op 100 x 2,520", 100, 2520, True),
    "W1c": ("benchmarks.bench_noop", "W1c no-op 1,000 x 2,520", 1000, 2520, False),
    "W3-100": ("benchmarks.bench_momentum", "W3 momentum 100 x 2,520", 100, 2520, True),
    "W3-500": ("benchmarks.bench_momentum", "W3 momentum 500 x 2,520", 500, 2520, False),
    "W4": ("benchmarks.bench_churn", "W4 long/short 250 x 252", 250, 252, True),
}

TARGETS = {  # whole process, from shared/notes/reference-speeds.md
    "W1b": 0.40, "W3-500": 0.60, "W4": 0.45,
}


def main(argv: list[str]) -> list[dict]:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--bt-runs", type=int, default=3)
    p.add_argument("--bt-w3-500", action="store_true", help="also run Backtrader on W3 500 (once)")
    p.add_argument("--bt-w1c", action="store_true", help="also run Backtrader on W1 1000 (once)")
    p.add_argument("--only", default=",".join(WORKLOADS))
    p.add_argument("--merge", action="store_true",
                   help="replace only these workloads in an existing results/all.json")
    a = p.parse_args(argv)

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    floor = common.python_floor()
    results = []
    for key in a.only.split(","):
        module, label, na, nb, with_bt = WORKLOADS[key]
        bt_runs = a.bt_runs if with_bt else 0
        if key == "W3-500" and a.bt_w3_500:
            bt_runs = 1
        if key == "W1c" and a.bt_w1c:
            bt_runs = 1
        print(f"# {label}", file=sys.stderr, flush=True)
        r = common.measure(module, label, na, nb, runs=a.runs, bt_runs=bt_runs)
        r["key"] = key
        e = r.get("ml4t_engine", {})
        if e:
            e["bar_events_per_s_warm"] = r["rows"] / e["engine_run_warm_median_s"]
            e["bar_events_per_s_cold"] = r["rows"] / e["engine_run_cold_s"]
        results.append(r)

    if a.merge and (common.RESULTS / "all.json").exists():
        import json

        old = json.loads((common.RESULTS / "all.json").read_text())
        new = {r["key"]: r for r in results}
        kept = {r["key"]: r for r in old.get("results", []) if r["key"] not in new}
        results = [({**kept, **new})[k] for k in WORKLOADS if k in kept or k in new]
        started = f"{old.get('started')} (merged: {','.join(new)} re-run {started})"
    table = common.report(results)
    lines = [f"started {started}; `python -c 'import numpy, pandas'` floor {floor:.3f} s; "
             f"load average at the end {os.getloadavg()[0]:.2f}", "", table, ""]
    lines.append("| workload | ml4t whole (CPU s) | BT whole (CPU s) | ml4t engine warm "
                 "| engine warm CPU | bar-events/s warm | ml4t loop | ml4t setup | ml4t result "
                 "| run_backtest warm | load_bars | whole target |")
    lines.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        w, e, b = r.get("ml4t_whole", {}), r.get("ml4t_engine", {}), r.get("bt", {})
        tgt = TARGETS.get(r["key"])
        lines.append(
            f"| {r['workload']} | {w.get('cpu_s', 0):.3f} | "
            f"{'-' if not b else format(b['cpu_s'], '.2f')} | "
            f"{common.fmt_s(e.get('engine_run_warm_median_s'))} | "
            f"{common.fmt_s(e.get('engine_run_warm_cpu_median_s'))} | "
            f"{e.get('bar_events_per_s_warm', 0) / 1e6:.2f} M | "
            f"{common.fmt_s(e.get('loop_median_s'))} | {common.fmt_s(e.get('setup_median_s'))} | "
            f"{common.fmt_s(e.get('result_median_s'))} | "
            f"{common.fmt_s(e.get('run_backtest_warm_median_s'))} | "
            f"{common.fmt_s(e.get('load_bars_s'))} | {'-' if tgt is None else f'<= {tgt:.2f} s'} |")
    text = "\n".join(lines)
    print(text)
    common.save("all", {"machine": common.machine(), "python_floor_s": floor,
                        "started": started, "results": results})
    (common.RESULTS / "all.md").write_text(text + "\n")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
