"""W1: a strategy that does nothing, on 1 x 5,000, 100 x 2,520 and 1,000 x 2,520 bars.

Measures, each workload in fresh processes:

* whole process (Python start, imports, Parquet read, ``run_backtest(Noop, df)``), median of
  ``--runs``, and the worker's peak RSS;
* engine only: ``load_bars(df)`` first, then ``Engine(**cfg).run(Noop, bar_data)`` timed alone,
  once cold (first run in the process) and ``--runs`` times warm; reported as bar-events per
  second (rows / seconds). Also the warm ``run_backtest(Noop, df)`` (load_bars included) and a
  split of the warm run into setup / compiled loop (``Simulator.run``) / result building;
* Backtrader 1.9.78 on the same Parquet file (``--bt-runs`` times, default only where it takes
  less than a minute: 1 x 5,000 and 100 x 2,520).

    python -m benchmarks.bench_noop                 # all three sizes, 5 runs, Backtrader x3
    python -m benchmarks.bench_noop --runs 3 --bt-runs 1 --sizes 100x2520
"""
from __future__ import annotations

import sys

CASH = 1_000_000.0


def ml4t_strategy(n_assets: int, n_bars: int):
    from ml4t import Strategy

    class Noop(Strategy):
        def on_bar(self, bars):
            pass

    return Noop


def ml4t_config() -> dict:
    return dict(cash=CASH, fill="next_open")


def ml4t_outcome(result) -> dict:
    return dict(fills=int(len(result.fills)), final_value=float(result.portfolio["nav"].iloc[-1]),
                slices=int(len(result.portfolio)))


def bt_strategy(n_assets: int, n_bars: int):
    import backtrader as bt

    class Noop(bt.Strategy):
        def next(self):
            pass

    return Noop


def bt_config() -> dict:
    return dict(cash=CASH)


def bt_outcome(strategy, cerebro) -> dict:
    return dict(fills=0, final_value=float(cerebro.broker.getvalue()), slices=len(strategy))


SIZES = {"1x5000": (1, 5000), "100x2520": (100, 2520), "1000x2520": (1000, 2520)}
BT_DEFAULT = ("1x5000", "100x2520")


def main(argv: list[str]) -> list[dict]:
    import argparse

    from benchmarks import common

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--bt-runs", type=int, default=3)
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--bt-sizes", default=",".join(BT_DEFAULT))
    p.add_argument("--profile", action="store_true")
    a = p.parse_args(argv)
    results = []
    for key in a.sizes.split(","):
        na, nb = SIZES[key]
        r = common.measure("benchmarks.bench_noop", f"W1 no-op {na} x {nb}", na, nb,
                           runs=a.runs, bt_runs=a.bt_runs if key in a.bt_sizes.split(",") else 0,
                           profile=a.profile and key == "1000x2520")
        e = r["ml4t_engine"]
        e["bar_events_per_s_warm"] = r["rows"] / e["engine_run_warm_median_s"]
        e["bar_events_per_s_cold"] = r["rows"] / e["engine_run_cold_s"]
        if e.get("loop_median_s"):
            e["bar_events_per_s_loop"] = r["rows"] / e["loop_median_s"]
        results.append(r)
    common.save("noop", {"machine": common.machine(), "results": results})
    print(common.report(results))
    print()
    print("| workload | engine.run cold | engine.run warm | bar-events/s (warm) | loop (core + on_bar) "
          "| bar-events/s (loop) | setup | result | run_backtest warm | load_bars |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        e = r["ml4t_engine"]
        f = common.fmt_s
        print(f"| {r['workload']} | {f(e['engine_run_cold_s'])} | {f(e['engine_run_warm_median_s'])} | "
              f"{e['bar_events_per_s_warm'] / 1e6:.2f} M | {f(e.get('loop_median_s'))} | "
              f"{e.get('bar_events_per_s_loop', 0) / 1e6:.2f} M | {f(e.get('setup_median_s'))} | "
              f"{f(e.get('result_median_s'))} | {f(e['run_backtest_warm_median_s'])} | "
              f"{f(e['load_bars_s'])} |")
    return results


if __name__ == "__main__":
    if "--worker" in sys.argv:
        from benchmarks.common import worker_main

        worker_main(sys.modules[__name__], sys.argv[1:])
    else:
        main(sys.argv[1:])
