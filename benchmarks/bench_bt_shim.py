"""The Backtrader shim against real Backtrader: one script, two imports.

Each workload is written once against a module ``bt`` and run in a fresh process with
``import backtrader as bt`` (engine ``bt``) or ``import ml4t.compat.backtrader as bt``
(engine ``shim``):

* ``sma``: the classic SMA crossover (SMA 10 / SMA 30, ``CrossOver``, buy on an up-cross,
  close on a down-cross, ``PercentSizer(percents=50)``), ORCL daily 1995-2014 from
  ``data/backtrader/orcl-1995-2014.txt`` (``YahooFinanceCSVData``), cash 100,000,
  commission 0.1% -- the ``sma_cross_sizer`` scenario of ``tests/test_bt_parity.py``.
* ``rot``: a monthly rotation on 100 synthetic assets x 2,520 bars (``benchmarks/data.py``,
  one ``PandasData`` feed per asset, bars stamped at midnight of the session date). In
  ``__init__``: ``ROC(close, period=60)`` and ``SMA(close, period=100)`` per data. On the
  first bar of each month (the bar's month differs from the previous bar's): rank the
  assets whose close is above their SMA by ROC (ties by data order), hold the top 10 at
  9.5% of the portfolio each with ``order_target_percent`` (exits first, then the top
  10 in rank order). Cash 1,000,000, commission 0.1%, ``stdstats=False``.

Timings per run (each in its own process, ``benchmarks/common.py``):

* whole process: spawn to exit (Python start, imports, data read, ``cerebro.run()``);
* engine only: ``cerebro.run()`` alone, wall and CPU (``time.process_time``);
* peak RSS of the worker.

Bytecode caching is switched on for the workers (``PYTHONDONTWRITEBYTECODE`` removed,
``PYTHONPYCACHEPREFIX=$TMPDIR/ml4t-bench-pycache``, outside the repository) and one untimed
run per engine and workload fills the cache, so neither engine recompiles its modules in
the timed runs (``--no-pyc-cache`` keeps the environment as it is).

Both engines must report the same final value (1e-9 relative) and the same number of fills
(completed or partial executions seen by ``notify_order``); the parent prints both.

    python -m benchmarks.bench_bt_shim                   # 5 shim runs, 3 Backtrader runs
    python -m benchmarks.bench_bt_shim --runs 3 --bt-runs 1 --only sma
    python -m benchmarks.bench_bt_shim --worker shim --workload rot   # one worker
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks import common

ROOT = common.ROOT
ORCL = ROOT / "data" / "backtrader" / "orcl-1995-2014.txt"
ROT_ASSETS, ROT_BARS = 100, 2520
MODULES = {"bt": "backtrader", "shim": "ml4t.compat.backtrader"}
WORKLOADS = {"sma": "SMA crossover 10/30, ORCL 1995-2014 (1 x 5,035)",
             "rot": "rotation top 10 by ROC(60) > SMA(100), 100 x 2,520"}


# ------------------------------------------------------------------ strategies
def counting(bt):
    """A Strategy base class that counts executions (completed or partial)."""

    class Counting(bt.Strategy):
        def start(self):
            self.fills = 0

        def notify_order(self, order):
            if order.status in (order.Completed, order.Partial):
                self.fills += 1

    return Counting


def sma_cerebro(bt):
    class SmaCross(counting(bt)):
        params = (("fast", 10), ("slow", 30))

        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=self.p.fast),
                                          bt.ind.SMA(period=self.p.slow))

        def next(self):
            if self.cross > 0:
                self.buy()
            elif self.cross < 0:
                self.close()

    c = bt.Cerebro()
    c.adddata(bt.feeds.YahooFinanceCSVData(dataname=str(ORCL)))
    c.addstrategy(SmaCross)
    c.addsizer(bt.sizers.PercentSizer, percents=50)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.001)
    return c


def rot_feeds(bt, df):
    """One PandasData feed per asset from the dense long frame of ``benchmarks.data``."""
    from benchmarks.common import bt_feeds

    return bt_feeds(bt, df)


def rot_cerebro(bt, df):
    TOP, WEIGHT = 10, 0.095

    class Rotation(counting(bt)):
        params = (("lookback", 60), ("trend", 100))

        def __init__(self):
            self.roc = [bt.ind.ROC(d.close, period=self.p.lookback) for d in self.datas]
            self.sma = [bt.ind.SMA(d.close, period=self.p.trend) for d in self.datas]
            self.month = None

        def next(self):
            month = self.datetime.date(0).month
            first = self.month is not None and month != self.month
            self.month = month
            if not first:
                return
            ranked = []
            for i, d in enumerate(self.datas):
                if d.close[0] > self.sma[i][0]:
                    ranked.append((-self.roc[i][0], i))
            ranked.sort()
            top = [i for _, i in ranked[:TOP]]
            keep = set(top)
            for i, d in enumerate(self.datas):
                if i not in keep and self.getposition(d).size:
                    self.order_target_percent(d, target=0.0)
            for i in top:
                self.order_target_percent(self.datas[i], target=WEIGHT)

    c = bt.Cerebro(stdstats=False)
    for name, feed in rot_feeds(bt, df):
        c.adddata(feed, name=name)
    c.addstrategy(Rotation)
    c.broker.setcash(1_000_000)
    c.broker.setcommission(commission=0.001)
    return c


# ------------------------------------------------------------------ worker
def worker(engine: str, workload: str) -> None:
    import importlib
    import resource

    t0 = common.now()
    bt = importlib.import_module(MODULES[engine])
    t1 = common.now()
    if workload == "sma":
        cerebro = sma_cerebro(bt)
    else:
        import pandas as pd                 # (only the rotation reads a Parquet file)
        from benchmarks.data import bars_parquet
        df = pd.read_parquet(bars_parquet(ROT_ASSETS, ROT_BARS))
        cerebro = rot_cerebro(bt, df)
    t2 = common.now()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    strats = cerebro.run()
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    t3 = common.now()
    s = strats[0]
    common.emit(dict(engine=engine, workload=workload, import_s=t1 - t0, setup_s=t2 - t1,
                     run_s=t3 - t2,
                     run_cpu_s=(ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime),
                     fills=s.fills, final_value=cerebro.broker.getvalue()))


# ------------------------------------------------------------------ parent
def measure(workload: str, engine: str, runs: int, warmup: int = 1) -> dict:
    for _ in range(warmup):                 # fills the bytecode cache; not counted
        common.run_worker("benchmarks.bench_bt_shim", ["--worker", engine, "--workload",
                                                      workload])
    rs = common.repeat_worker("benchmarks.bench_bt_shim",
                              ["--worker", engine, "--workload", workload], runs,
                              f"{workload} {engine}")
    out = {"n": runs, "fills": rs[0]["fills"], "final_value": rs[0]["final_value"]}
    for k in ("wall_s", "cpu_s", "run_s", "run_cpu_s", "peak_rss_mb", "import_s", "setup_s"):
        vals = [r[k] for r in rs]
        out[k] = common.median(vals)
        out[k + "_min"] = min(vals)
        out[k + "_max"] = max(vals)
    if len({(r["fills"], r["final_value"]) for r in rs}) > 1:
        out["varies"] = [(r["fills"], r["final_value"]) for r in rs]
    return out


def rng(d, k):
    a, lo, hi = d[k], d[k + "_min"], d[k + "_max"]
    f = (lambda x: f"{x:.2f}") if hi < 10 else (lambda x: f"{x:.1f}")
    return f"{f(a)} s ({f(lo)}-{f(hi)})" if lo != hi else f"{f(a)} s"


def table(results: dict) -> str:
    lines = ["| workload | engine | runs | whole wall | whole CPU | run() wall | run() CPU | "
             "peak RSS | fills | final value |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    ratios = ["", "| workload | BT/shim whole wall | whole CPU | run() wall | run() CPU | "
              "same fills | same final value |", "|---|--:|--:|--:|--:|---|---|"]
    for w, per in results.items():
        for e in ("bt", "shim"):
            d = per.get(e)
            if not d:
                continue
            lines.append(f"| {w} | {'Backtrader' if e == 'bt' else 'ml4t shim'} | {d['n']} | "
                         f"{rng(d, 'wall_s')} | {d['cpu_s']:.2f} s | {rng(d, 'run_s')} | "
                         f"{d['run_cpu_s']:.2f} s | {d['peak_rss_mb']:.0f} MiB | {d['fills']} | "
                         f"{d['final_value']:,.2f} |")
        b, s = per.get("bt"), per.get("shim")
        if b and s:
            same_v = abs(b["final_value"] - s["final_value"]) <= 1e-9 * abs(b["final_value"])
            ratios.append(f"| {w} | {b['wall_s'] / s['wall_s']:.1f}x | "
                          f"{b['cpu_s'] / s['cpu_s']:.1f}x | {b['run_s'] / s['run_s']:.1f}x | "
                          f"{b['run_cpu_s'] / s['run_cpu_s']:.1f}x | "
                          f"{'yes' if b['fills'] == s['fills'] else 'NO'} "
                          f"({b['fills']} / {s['fills']}) | {'yes' if same_v else 'NO'} "
                          f"({b['final_value']:,.2f} / {s['final_value']:,.2f}) |")
    return "\n".join(lines + ratios)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", choices=sorted(MODULES))
    p.add_argument("--workload", choices=sorted(WORKLOADS))
    p.add_argument("--runs", type=int, default=5, help="shim runs per workload")
    p.add_argument("--bt-runs", type=int, default=3, help="Backtrader runs per workload")
    p.add_argument("--only", default="sma,rot", help="comma-separated workloads")
    p.add_argument("--save", default="bt_shim", help="results/<name>.json")
    p.add_argument("--warmup", type=int, default=1,
                   help="untimed runs per engine and workload before the timed ones")
    p.add_argument("--no-pyc-cache", action="store_true",
                   help="keep the environment as it is (e.g. PYTHONDONTWRITEBYTECODE=1, "
                        "which recompiles the modules of the repository in every process)")
    a = p.parse_args(argv)
    if a.worker:
        worker(a.worker, a.workload)
        return
    if not a.no_pyc_cache:
        common.pyc_cache()        # bytecode caching on for both engines
    from benchmarks.data import bars_parquet
    bars_parquet(ROT_ASSETS, ROT_BARS)
    results = {}
    info = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "pyc_cache": os.environ.get("PYTHONPYCACHEPREFIX"),
            "loadavg_before": os.getloadavg(), "python_floor_s": common.python_floor(3),
            "machine": common.machine()}
    for w in a.only.split(","):
        results[w] = {}
        if a.bt_runs:
            results[w]["bt"] = measure(w, "bt", a.bt_runs, a.warmup)
        if a.runs:
            results[w]["shim"] = measure(w, "shim", a.runs, a.warmup)
    info["loadavg_after"] = os.getloadavg()
    print(json.dumps(info, default=str))
    print(table(results))
    common.save(a.save, {"info": info, "results": results})
    bad = [w for w, per in results.items() if "bt" in per and "shim" in per and (
        per["bt"]["fills"] != per["shim"]["fills"]
        or abs(per["bt"]["final_value"] - per["shim"]["final_value"])
        > 1e-9 * abs(per["bt"]["final_value"]))]
    if bad:
        print(f"DISAGREEMENT between Backtrader and the shim on: {', '.join(bad)}",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
