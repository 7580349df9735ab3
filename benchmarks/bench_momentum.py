"""W3: monthly momentum rotation on 100 and 500 assets x 2,520 bars, ml4t and Backtrader.

Rules (both engines, same arithmetic): on the first trading day of each month (the bar's
session month differs from the previous bar's), once 60 bars exist, rank the assets by 60-day
rate of change (last close / first close of the last 60 closes, minus 1; ties by asset order)
and hold the top 50 at 0.95/50 of portfolio value each: target shares = floor(0.019 * value /
close), value = the broker's value at this bar's close. Orders are submitted exits first
(held, not in the top 50, to zero), then trims (above target), then buys (below target),
each group in asset order. Market orders fill at the next open in submission order
(ml4t ``fill_order="submission"``); cash account, cash 1,000,000, commission 0.1%.

    python -m benchmarks.bench_momentum                       # 100 and 500 assets; BT on 100
    python -m benchmarks.bench_momentum --bt-sizes 100,500    # Backtrader on 500 too (~100 s)
"""
from __future__ import annotations

import sys

from benchmarks.common import bt_counting_strategy, bt_outcome  # noqa: F401 (bt_outcome: the workers read it here)

CASH = 1_000_000.0
TOP = 50
WEIGHT = 0.95 / TOP
LOOKBACK = 60


def ranking(roc):
    """Indices of the top ``TOP`` assets by rate of change; ties keep asset order."""
    import numpy as np

    return np.argsort(-roc, kind="stable")[:TOP]


def plan(held, top, targets):
    """Orders as (asset index, target) in submission order: exits, trims, buys.

    held[i]: current shares; top: indices to hold; targets[i]: target shares for i in top.
    """
    in_top = set(int(i) for i in top)
    exits = [(i, 0) for i in range(len(held)) if held[i] != 0 and i not in in_top]
    trims, buys = [], []
    for i in sorted(in_top):
        t = targets[i]
        if held[i] > t:
            trims.append((i, t))
        elif held[i] < t:
            buys.append((i, t))
    return exits + trims + buys


# ------------------------------------------------------------------ ml4t
def ml4t_strategy(n_assets: int, n_bars: int):
    import math

    import numpy as np
    from ml4t import Strategy

    class Momentum(Strategy):
        def on_start(self):
            self.k = -1
            self.prev_month = None
            self.names = list(self.data.assets)

        def on_bar(self, bars):
            self.k += 1
            month = bars.ts.month
            first_of_month = self.prev_month is not None and month != self.prev_month
            self.prev_month = month
            if not first_of_month or self.k + 1 < LOOKBACK:
                return
            data, broker = self.data, self.broker
            roc = np.empty(len(self.names))
            for i, name in enumerate(self.names):
                w = data.history_array(name, "close", LOOKBACK)
                roc[i] = w[-1] / w[0] - 1.0
            top = ranking(roc)
            value = broker.value
            closes = bars.close.values
            pos = broker.positions()              # the held assets only
            held = [pos[name].qty if name in pos else 0.0 for name in self.names]
            targets = {int(i): math.floor(WEIGHT * value / closes[i]) for i in top}
            for i, t in plan(held, top, targets):
                broker.order_target(self.names[i], t)

    return Momentum


def ml4t_config() -> dict:
    from ml4t.models import PercentCommission

    return dict(cash=CASH, fill="next_open", commission=PercentCommission(0.001),
                fill_order="submission", account="cash")


def ml4t_outcome(result) -> dict:
    o = result.orders
    rejected = o[o["status"].astype(str).str.upper() == "REJECTED"]
    return dict(fills=int(len(result.fills)), final_value=float(result.portfolio["nav"].iloc[-1]),
                orders=int(o["order_id"].nunique()), rejected=int(len(rejected)),
                reject_reasons=rejected["reason"].astype(str).value_counts().to_dict(),
                commission=float(result.fills["commission"].sum()))


# ------------------------------------------------------------------ Backtrader
def bt_strategy(n_assets: int, n_bars: int):
    import math

    import backtrader as bt
    import numpy as np

    class Momentum(bt_counting_strategy()):

        def next(self):
            d0 = self.datas[0]
            if len(self) < 2 or len(self) < LOOKBACK:
                return
            if d0.datetime.date(0).month == d0.datetime.date(-1).month:
                return
            roc = np.empty(len(self.datas))
            for i, d in enumerate(self.datas):
                w = d.close.get(size=LOOKBACK)
                roc[i] = w[-1] / w[0] - 1.0
            top = ranking(roc)
            value = self.broker.getvalue()
            held = [self.getposition(d).size for d in self.datas]
            targets = {int(i): math.floor(WEIGHT * value / self.datas[i].close[0]) for i in top}
            for i, t in plan(held, top, targets):
                if self.order_target_size(data=self.datas[i], target=t) is not None:
                    self.n_orders += 1

    return Momentum


def bt_config() -> dict:
    return dict(cash=CASH, commission=0.001)




SIZES = {"100": (100, 2520), "500": (500, 2520)}


def main(argv: list[str]) -> list[dict]:
    import argparse

    from benchmarks import common

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--bt-runs", type=int, default=3)
    p.add_argument("--sizes", default="100,500")
    p.add_argument("--bt-sizes", default="100")
    p.add_argument("--profile", action="store_true")
    a = p.parse_args(argv)
    results = []
    for key in a.sizes.split(","):
        na, nb = SIZES[key]
        bt_runs = a.bt_runs if key in a.bt_sizes.split(",") else 0
        if key == "500" and bt_runs:
            bt_runs = 1                               # ~100 s a run
        r = common.measure("benchmarks.bench_momentum", f"W3 momentum {na} x {nb}", na, nb,
                           runs=a.runs, bt_runs=bt_runs, profile=a.profile and key == "500")
        results.append(r)
    common.save("momentum", {"machine": common.machine(), "results": results})
    print(common.report(results))
    for r in results:
        w, b = r.get("ml4t_whole", {}), r.get("bt", {})
        if w and b:
            print(f"{r['workload']}: fills ml4t {w['fills']} vs Backtrader {b['fills']}; final "
                  f"value ml4t {w['final_value']:,.2f} vs Backtrader {b['final_value']:,.2f} "
                  f"(diff {w['final_value'] - b['final_value']:,.2f}); rejected ml4t "
                  f"{w['rejected']} {w.get('reject_reasons')}, Backtrader {b['rejected']} "
                  f"{b.get('reject_reasons')}")
    return results


if __name__ == "__main__":
    if "--worker" in sys.argv:
        from benchmarks.common import worker_main

        worker_main(sys.modules[__name__], sys.argv[1:])
    else:
        main(sys.argv[1:])
