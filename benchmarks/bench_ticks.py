"""Tick workload: one asset, 20 million synthetic trade ticks, a strategy that reacts to every
tick (it updates an exponential average of the trade price and trades when the price moves
away from it). Ticks are built straight into the engine's columns (each tick is a one-row
slice: open = high = low = close = price, volume = size); generation is excluded from the
time. Portfolio history is recorded once per session (``record="session"``).

    python -m benchmarks.bench_ticks                # 20,000,000 ticks
    python -m benchmarks.bench_ticks --ticks 2000000
"""
from __future__ import annotations

import argparse
import resource
import time


def make_ticks(n: int, seed: int = 7):
    import numpy as np

    from ml4t.data import BarBatch, BarData

    rng = np.random.default_rng(seed)
    price = np.round(4000.0 + np.cumsum(rng.choice([-0.25, 0.0, 0.25], n, p=[0.3, 0.4, 0.3])),
                     2)
    price = np.maximum(price, 1.0)
    size = rng.integers(1, 20, n).astype(np.float64)
    # one tick every 10 ms from 14:30 UTC, 6.5 hours a session, business days
    per_session = int(6.5 * 3600 * 100)
    k = np.arange(n, dtype=np.int64)
    session = k // per_session
    day0 = np.datetime64("2024-01-02")
    days = np.busday_offset(day0, session.astype(np.int64), roll="forward")
    ts = (days.astype("datetime64[ns]").astype(np.int64) + 14 * 3600 * 10**9 + 30 * 60 * 10**9
          + (k % per_session) * 10_000_000)
    batch = BarBatch(ts=ts, asset=np.zeros(n, dtype=np.int32), open=price, high=price, low=price,
                     close=price, volume=size, session=days.astype(np.int64))
    return BarData(assets=("ES",), source="<generated ticks>", calendar=None, extra={},
                   n_rows=n, batch_rows=None, bars=batch)


def main(argv=None):
    from ml4t import Engine, Strategy
    from ml4t.models import FixedCommission

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=20_000_000)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    data = make_ticks(args.ticks)
    gen_s = time.perf_counter() - t0

    class Reactive(Strategy):
        def on_start(self):
            self.avg = None
            self.side = 0

        def on_bar(self, bars):
            p = bars.close["ES"]
            avg = self.avg
            if avg is None:
                self.avg = p
                return
            self.avg = avg + 0.01 * (p - avg)
            if self.side <= 0 and p > avg + 2.0:
                self.broker.order_target("ES", 1)
                self.side = 1
            elif self.side >= 0 and p < avg - 2.0:
                self.broker.order_target("ES", -1)
                self.side = -1

    t1 = time.perf_counter()
    result = Engine(cash=1_000_000, account="margin", calendar=None, record="session",
                    record_positions=False, commission=FixedCommission(1.0)).run(Reactive, data)
    run_s = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ticks {args.ticks:,}: generate {gen_s:.2f} s, engine run {run_s:.2f} s "
          f"({args.ticks / run_s / 1e6:.2f} M ticks/s), fills {len(result.fills):,}, "
          f"sessions {len(result.portfolio):,}, final value "
          f"{result.portfolio['nav'].iloc[-1]:,.2f}, peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
