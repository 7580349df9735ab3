"""Margin account vs cash account: the cost of margin checks at every mark to market.

    python -m benchmarks.bench_margin [--reps 7] [--sizes W1:100x2520,W1:1000x2520,W4:250x252]

For each workload one fresh process loads the bars once, then times ``Engine.run``
alternately with ``account="cash"`` and ``account="margin"`` (interleaved, so that the
machine's load drifts equally over both), ``--reps`` times each after one untimed warm-up
run of each. The margin runs evaluate the maintenance requirement at every mark to market
and the initial-margin check at every fill, in the compiled core. Both accounts must give
the same fills and final value (checked and printed). W1 is the no-op of ``bench_noop``,
W4 the long/short churn of ``bench_churn`` (shorts allowed on the cash account too: the
short proceeds are credited to cash, so nothing is rejected there either).
"""
from __future__ import annotations

import sys
import time

from benchmarks.common import emit, median, run_worker, save

DEFAULT = "W1:100x2520,W1:1000x2520,W4:250x252"


def _spec(kind: str):
    if kind == "W1":
        from benchmarks import bench_noop as spec
    elif kind == "W4":
        from benchmarks import bench_churn as spec
    else:
        raise SystemExit(f"unknown workload {kind!r} (W1 or W4)")
    return spec


def _worker(kind: str, na: int, nb: int, reps: int) -> None:
    import gc

    import pandas as pd

    from benchmarks.data import bars_parquet
    from ml4t import Engine
    from ml4t.data import load_bars

    spec = _spec(kind)
    base = spec.ml4t_config()
    cfgs = {"cash": dict(base, account="cash", allow_short=True),
            "margin": dict(base, account="margin", allow_short=True)}
    bd = load_bars(pd.read_parquet(bars_parquet(na, nb)), calendar="XNYS")
    strat = spec.ml4t_strategy(na, nb)
    times = {"cash": [], "margin": []}
    cpu = {"cash": [], "margin": []}
    outcome = {}
    for i in range(reps + 1):
        for acct in ("cash", "margin") if i % 2 == 0 else ("margin", "cash"):
            e = Engine(**cfgs[acct])
            gc.collect()
            a, c = time.perf_counter(), time.process_time()
            r = e.run(strat, bd)
            dt, dc = time.perf_counter() - a, time.process_time() - c
            if i == 0:
                p = r.portfolio
                outcome[acct] = dict(fills=int(len(r.fills)),
                                     final_value=round(float(p["nav"].iloc[-1]), 6))
            else:
                times[acct].append(dt)
                cpu[acct].append(dc)
            del r
    emit(dict(kind=kind, size=f"{na}x{nb}", reps=reps,
              cash_s=median(times["cash"]), margin_s=median(times["margin"]),
              cash_cpu_s=median(cpu["cash"]), margin_cpu_s=median(cpu["margin"]),
              cash_runs=times["cash"], margin_runs=times["margin"], outcome=outcome,
              same=outcome["cash"] == outcome["margin"]))


def main(argv: list[str]) -> list[dict]:
    import argparse

    ap = argparse.ArgumentParser(description="margin vs cash account engine time")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--sizes", default=DEFAULT)
    args = ap.parse_args(argv)
    out = []
    print("| workload | cash (median) | margin (median) | margin / cash | CPU margin / cash | "
          "same fills and final value |")
    print("|---|--:|--:|--:|--:|---|")
    for item in args.sizes.split(","):
        kind, size = item.split(":")
        na, nb = (int(x) for x in size.split("x"))
        r = run_worker("benchmarks.bench_margin", ["--worker", kind, str(na), str(nb),
                                                   str(args.reps)])
        out.append(r)
        o = r["outcome"]["cash"]
        print(f"| {kind} {na} x {nb} | {r['cash_s']:.4f} s | {r['margin_s']:.4f} s | "
              f"{r['margin_s'] / r['cash_s']:.3f} | {r['margin_cpu_s'] / r['cash_cpu_s']:.3f} | "
              f"{'yes' if r['same'] else 'NO'} ({o['fills']} fills, {o['final_value']:,.2f}) |",
              flush=True)
    save("margin", {"results": out})
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, na, nb, reps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        _worker(kind, na, nb, reps)
    else:
        main(sys.argv[1:])
