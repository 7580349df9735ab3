"""Dual moving average crossover written against the Zipline API, run on ml4t.

The only change from a Zipline script is the import prefix (``zipline`` ->
``ml4t.compat.zipline``); the bundle is the csvdir folder itself, so there is no
``zipline ingest`` step.

Run it:  python examples/zl_dual_moving_average.py
or:      python -m ml4t.compat.zipline run -f examples/zl_dual_moving_average.py \\
             --start 2012-01-03 --end 2014-12-31 -b data/raw --capital-base 100000

Each asset is held (24% of the portfolio) while its 10-day average close is above its
30-day average, and flat otherwise. Orders placed after a session's close fill at the
next session's close, with Zipline's default costs (5 bps slippage, at most 10% of a
bar's volume, $0.001 per share).
"""
import pathlib

import pandas as pd

from ml4t.compat.zipline import run_algorithm
from ml4t.compat.zipline.api import order_target, order_target_percent, record, symbols

FAST, SLOW = 10, 30


def initialize(context):
    context.assets = symbols("AAPL", "MSFT", "KO", "IBM")
    context.bars_seen = 0


def handle_data(context, data):
    context.bars_seen += 1
    if context.bars_seen <= SLOW:            # data.history needs SLOW + 1 sessions
        return
    prices = data.history(context.assets, "price", SLOW + 1, "1d")   # adjusted as of today
    for asset in context.assets:
        p = prices[asset]
        fast_now, slow_now = p.iloc[-FAST:].mean(), p.iloc[-SLOW:].mean()
        fast_before, slow_before = p.iloc[-FAST - 1:-1].mean(), p.iloc[-SLOW - 1:-1].mean()
        if fast_now > slow_now and fast_before <= slow_before:
            order_target_percent(asset, 0.24)
        elif fast_now < slow_now and fast_before >= slow_before:
            order_target(asset, 0)
    record(leverage=context.account.leverage)


def analyze(context, perf):
    trades = sum(len(t) for t in perf.transactions)
    print(f"{len(perf)} sessions, {trades} transactions, "
          f"final value {perf.portfolio_value.iloc[-1]:,.2f}, "
          f"max drawdown {perf.max_drawdown.iloc[-1]:.2%}")


if __name__ == "__main__":
    data = pathlib.Path(__file__).resolve().parents[1] / "data" / "raw"
    run_algorithm(start=pd.Timestamp("2012-01-03"), end=pd.Timestamp("2014-12-31"),
                  initialize=initialize, handle_data=handle_data, analyze=analyze,
                  capital_base=100_000, bundle=str(data))
