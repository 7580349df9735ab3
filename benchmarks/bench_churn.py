"""W4: daily long/short churn, 250 assets x 252 bars, ml4t and Backtrader on the same data.

Every day 25 longs and 25 shorts are drawn by a seeded RNG (the same draw for both engines,
precomputed by ``sides``); each is targeted at floor(20,000 / close) shares (shorts negative),
every other asset at zero. Market orders fill at the next open; commission 0.1% of traded
value; cash 1,000,000; margin account with shorting allowed. Orders are placed asset by
asset in asset order, so both engines submit the same orders in the same sequence.

Backtrader: one PandasData feed per asset, ``order_target_size`` per asset,
``setcommission(commission=0.001)``, cash 1e6, cheat-on-open off, ``checksubmit`` on
(default), short-sale proceeds credited to cash (default ``shortcash=True``).

    python -m benchmarks.bench_churn                # 5 ml4t runs, 3 Backtrader runs
    python -m benchmarks.bench_churn --bt-runs 0    # ml4t only

Besides wall times it prints CPU times (user + sys, ``time.process_time``): ml4t
``engine.run`` (warm, median) and Backtrader's ``cerebro.run()`` (Backtrader runs in its
own worker here, ``--worker bt-cpu``: the generic one of ``common`` with the CPU time of
``cerebro.run`` added).
"""
from __future__ import annotations

import sys

from benchmarks.common import bt_counting_strategy, bt_outcome  # noqa: F401 (bt_outcome: the workers read it here)

CASH = 1_000_000.0
N_LONG = 25
N_SHORT = 25
NOTIONAL = 20_000.0
SEED = 7


def sides(n_assets: int, n_bars: int, seed: int = SEED):
    """(n_bars, n_assets) int8: +1 long, -1 short, 0 flat; 25 of each per day."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.zeros((n_bars, n_assets), dtype=np.int8)
    for k in range(n_bars):
        pick = rng.permutation(n_assets)[: N_LONG + N_SHORT]
        out[k, pick[:N_LONG]] = 1
        out[k, pick[N_LONG:]] = -1
    return out


def target_shares(side: int, close: float) -> int:
    return int(side) * int(NOTIONAL // close) if side else 0


# ------------------------------------------------------------------ ml4t
def ml4t_strategy(n_assets: int, n_bars: int):
    from ml4t import Strategy

    class Churn(Strategy):
        def on_start(self):
            self.sides = sides(n_assets, n_bars)
            self.k = 0

        def on_bar(self, bars):
            side = self.sides[self.k]
            self.k += 1
            closes = bars.close.values            # in bars.assets order (asset id order)
            broker = self.broker
            for j, asset in enumerate(bars.assets):
                broker.order_target(asset, target_shares(side[j], closes[j]))

    return Churn


def ml4t_config() -> dict:
    from ml4t.models import PercentCommission

    return dict(cash=CASH, fill="next_open", commission=PercentCommission(0.001),
                account="margin", allow_short=True)


def ml4t_outcome(result) -> dict:
    o = result.orders
    rejected = o[o["status"].astype(str).str.upper() == "REJECTED"]
    return dict(fills=int(len(result.fills)), final_value=float(result.portfolio["nav"].iloc[-1]),
                orders=int(o["order_id"].nunique()), rejected=int(len(rejected)),
                reject_reasons=rejected["reason"].astype(str).value_counts().to_dict(),
                commission=float(result.fills["commission"].sum()),
                min_nav=float(result.portfolio["nav"].min()))


# ------------------------------------------------------------------ Backtrader
def bt_strategy(n_assets: int, n_bars: int):
    import backtrader as bt

    class Churn(bt_counting_strategy()):
        def __init__(self):
            super().__init__()
            self.sides = sides(n_assets, n_bars)

        def next(self):
            side = self.sides[len(self) - 1]
            for j, d in enumerate(self.datas):
                o = self.order_target_size(data=d, target=target_shares(side[j], d.close[0]))
                if o is not None:
                    self.n_orders += 1

    return Churn


def bt_config() -> dict:
    return dict(cash=CASH, commission=0.001)




def _bt_cpu_worker(argv: list[str]) -> None:
    """``common``'s Backtrader worker plus the CPU time of ``cerebro.run()``."""
    import argparse
    import time

    from benchmarks import common

    p = argparse.ArgumentParser()
    p.add_argument("--worker")
    p.add_argument("--assets", type=int, required=True)
    p.add_argument("--bars", type=int, required=True)
    a = p.parse_args(argv)
    na, nb = a.assets, a.bars
    t0 = common.now()
    import pandas as pd
    import backtrader  # noqa: F401
    t1 = common.now()
    from benchmarks.data import bars_parquet
    df = pd.read_parquet(bars_parquet(na, nb))
    t2 = common.now()
    cerebro, _ = common.bt_cerebro(df, **bt_config())
    cerebro.addstrategy(bt_strategy(na, nb))
    t3 = common.now()
    c3 = time.process_time()
    strats = cerebro.run()
    run_cpu = time.process_time() - c3
    t4 = common.now()
    common.emit(dict(engine="backtrader", mode="whole", import_s=t1 - t0, read_s=t2 - t1,
                     feeds_s=t3 - t2, run_s=t4 - t3, run_cpu_s=run_cpu, rows=na * nb,
                     **bt_outcome(strats[0], cerebro)))


def cpu_report(r: dict) -> str:
    """CPU seconds (user + sys) beside the wall times, and the ratios on CPU."""
    w, e, b = r.get("ml4t_whole", {}), r.get("ml4t_engine", {}), r.get("bt", {})
    lines = [f"load average {r['loadavg_before']:.2f} before, {r['loadavg_after']:.2f} after"]
    if w:
        lines.append(f"ml4t whole process: wall {w['wall_s']:.3f} s, CPU {w['cpu_s']:.3f} s")
    if e:
        lines.append(f"ml4t engine.run warm: wall {e['engine_run_warm_median_s']:.3f} s, CPU "
                     f"{e['engine_run_warm_cpu_median_s']:.3f} s (cold CPU "
                     f"{e['engine_run_cold_cpu_s']:.3f} s)")
    if b:
        lines.append(f"Backtrader whole process: wall {b['wall_s']:.2f} s, CPU {b['cpu_s']:.2f} s; "
                     f"cerebro.run wall {b['run_s']:.2f} s, CPU {b['run_cpu_s']:.2f} s")
    if w and b:
        lines.append(f"ratio whole process: wall {b['wall_s'] / w['wall_s']:.1f}x, CPU "
                     f"{b['cpu_s'] / w['cpu_s']:.1f}x")
    if e and b:
        lines.append(f"ratio engine only (warm): wall {b['run_s'] / e['engine_run_warm_median_s']:.0f}x, "
                     f"CPU {b['run_cpu_s'] / e['engine_run_warm_cpu_median_s']:.0f}x")
    return "\n".join(lines)


def main(argv: list[str]) -> list[dict]:
    import argparse
    import os

    from benchmarks import common

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--bt-runs", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    a = p.parse_args(argv)
    name = "W4 long/short 250 x 252"
    r = common.measure("benchmarks.bench_churn", name, 250, 252,
                       runs=a.runs, bt_runs=0, profile=a.profile)
    if a.bt_runs:
        bts = common.repeat_worker("benchmarks.bench_churn",
                                   ["--worker", "bt-cpu", "--assets", "250", "--bars", "252"],
                                   a.bt_runs, f"{name} backtrader")
        r["bt"] = common.summarize(bts, ("wall_s", "cpu_s", "peak_rss_mb", "import_s", "read_s",
                                         "feeds_s", "run_s", "run_cpu_s"))
        r["bt"]["peak_rss_max_mb"] = max(x["peak_rss_mb"] for x in bts)
        r["loadavg_after"] = os.getloadavg()[0]
    common.save("churn", {"machine": common.machine(), "results": [r]})
    print(common.report([r]))
    print(cpu_report(r))
    w, b = r.get("ml4t_whole", {}), r.get("bt", {})
    if w and b:
        print(f"\nfills ml4t {w['fills']} vs Backtrader {b['fills']} (diff {w['fills'] - b['fills']});"
              f" final value ml4t {w['final_value']:,.2f} vs Backtrader {b['final_value']:,.2f} "
              f"(diff {w['final_value'] - b['final_value']:,.2f}); rejected ml4t {w['rejected']}, "
              f"Backtrader {b['rejected']}")
    return [r]


if __name__ == "__main__":
    if "bt-cpu" in sys.argv:
        _bt_cpu_worker(sys.argv[1:])
    elif "--worker" in sys.argv:
        from benchmarks.common import worker_main

        worker_main(sys.modules[__name__], sys.argv[1:])
    else:
        main(sys.argv[1:])
