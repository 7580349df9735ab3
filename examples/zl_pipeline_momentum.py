"""Monthly momentum rotation with a Zipline Pipeline, run on ml4t.

A Zipline script with the import prefix changed (``zipline`` -> ``ml4t.compat.zipline``)
and the csvdir folder as bundle (no ingest). The pipeline ranks the assets by their
20-session return among those trading more than $100M a day on average (the screen);
``before_trading_start`` reads it and, on the first session of each month, the portfolio
holds the two best at 45% each. Pipeline values use the bars up to the previous session,
adjusted for splits and dividends as of the current one, as in Zipline.

Run it:  python examples/zl_pipeline_momentum.py
or:      python -m ml4t.compat.zipline run -f examples/zl_pipeline_momentum.py \\
             --start 2012-03-01 --end 2014-12-31 -b data/raw --capital-base 100000

(Real Zipline runs the same file, with ``zipline`` imports, on an ingested bundle whose
exchange has a country code; ``tests/test_zipline_pipeline.py`` compares the two.)
"""
import pathlib

import pandas as pd

from ml4t.compat.zipline import run_algorithm
from ml4t.compat.zipline.api import (attach_pipeline, date_rules, order_target_percent,
                                     pipeline_output, record, schedule_function, time_rules)
from ml4t.compat.zipline.pipeline import Pipeline
from ml4t.compat.zipline.pipeline.factors import AverageDollarVolume, Returns


def initialize(context):
    momentum = Returns(window_length=20)
    liquid = AverageDollarVolume(window_length=20) > 1e8
    attach_pipeline(Pipeline(columns={"momentum": momentum, "rank": momentum.rank(),
                                      "best": momentum.top(2)}, screen=liquid), "momentum")
    schedule_function(rebalance, date_rules.month_start(), time_rules.market_open())


def before_trading_start(context, data):
    context.out = pipeline_output("momentum")


def rebalance(context, data):
    out = context.out
    best = set(out.index[out["best"]])
    for asset in list(context.portfolio.positions):
        if asset not in best:
            order_target_percent(asset, 0.0)
    for asset in best:
        order_target_percent(asset, 0.45)
    record(best_momentum=float(out["momentum"].max()), n_liquid=len(out))


def analyze(context, perf):
    trades = sum(len(t) for t in perf.transactions)
    held = sorted(p["sid"].symbol for p in perf.positions.iloc[-1])
    print(f"{len(perf)} sessions, {trades} transactions, "
          f"final value {perf.portfolio_value.iloc[-1]:,.2f}, "
          f"max drawdown {perf.max_drawdown.iloc[-1]:.2%}; holding {', '.join(held)}")


if __name__ == "__main__":
    data = pathlib.Path(__file__).resolve().parents[1] / "data" / "raw"
    run_algorithm(start=pd.Timestamp("2012-03-01"), end=pd.Timestamp("2014-12-31"),
                  initialize=initialize, before_trading_start=before_trading_start,
                  analyze=analyze, capital_base=100_000, bundle=str(data))
