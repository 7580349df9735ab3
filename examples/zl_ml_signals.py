"""Trading model predictions through a Zipline Pipeline custom dataset, run on ml4t.

The shape of the *Machine Learning for Trading* notebooks that backtest a model's
predictions: the predictions are a (dates x sids) DataFrame, a ``DataSet`` with one
``Column`` declares them, ``DataFrameLoader`` serves them, and ``run_algorithm(...,
custom_loader={SignalData.predictions: loader})`` lets a ``CustomFactor`` rank them. With
real Zipline the book patches ``run_algorithm`` to accept ``custom_loader``; zipline-reloaded
and ml4t take it as is.

The "model" here is a stand-in so that the example runs on the bundled data: each asset's
mean daily return over the previous 10 sessions (splits taken out), labelled with the
session on which it is first known. A row labelled D is used on session D, so a value
computed from D's own close must be labelled with the next session: that shift is the
user's job in Zipline and here alike.

Each Monday the portfolio goes 45% long the asset with the highest positive prediction
and 20% short the one with the lowest negative prediction.

Run it:  python examples/zl_ml_signals.py
or:      python -m ml4t.compat.zipline run -f examples/zl_ml_signals.py \\
             --start 2012-03-01 --end 2014-12-31 -b data/raw --capital-base 100000
(the CLI finds the module-level ``custom_loader(bundle_data)`` function and calls it).
``tests/test_zipline_pipeline.py`` runs this file through real Zipline too.
"""
import pathlib

import numpy as np
import pandas as pd

from ml4t.compat.zipline import run_algorithm
from ml4t.compat.zipline.api import (attach_pipeline, cancel_order, date_rules,
                                     get_open_orders, order_target, order_target_percent,
                                     pipeline_output, record, schedule_function, time_rules)
from ml4t.compat.zipline.pipeline import CustomFactor, Pipeline
from ml4t.compat.zipline.pipeline.data import Column, DataSet
from ml4t.compat.zipline.pipeline.domain import US_EQUITIES
from ml4t.compat.zipline.pipeline.filters import StaticAssets
from ml4t.compat.zipline.pipeline.loaders.frame import DataFrameLoader

DAILY = pathlib.Path(__file__).resolve().parents[1] / "data" / "raw" / "daily"
TICKERS = ["AAPL", "IBM", "KO", "MSFT"]


def load_predictions(bundle_data):
    """The stand-in model's predictions, columns renamed from tickers to sids."""
    preds = {}
    for ticker in TICKERS:
        bars = pd.read_csv(DAILY / f"{ticker}.csv", index_col="date", parse_dates=True)
        returns = bars["close"] * bars["split"] / bars["close"].shift(1) - 1.0
        signal = returns.rolling(10).mean()
        preds[ticker] = signal.shift(1)          # known from the next session on
    frame = pd.DataFrame(preds).dropna(how="all")
    assets = bundle_data.asset_finder.lookup_symbols(TICKERS, as_of_date=None)
    return frame.rename(columns={t: a.sid for t, a in zip(TICKERS, assets)}), assets


class SignalData(DataSet):
    predictions = Column(dtype=float)
    domain = US_EQUITIES


class MLSignal(CustomFactor):
    """The day's prediction as a factor, so it can be ranked and filtered."""

    inputs = [SignalData.predictions]
    window_length = 1

    def compute(self, today, assets, out, predictions):
        out[:] = predictions


ASSETS = []


def custom_loader(bundle_data):
    predictions, assets = load_predictions(bundle_data)
    ASSETS[:] = assets
    return {SignalData.predictions: DataFrameLoader(SignalData.predictions, predictions)}


def initialize(context):
    signals = MLSignal()
    attach_pipeline(Pipeline(columns={"signal": signals,
                                      "longs": signals.top(1, mask=signals > 0),
                                      "shorts": signals.bottom(1, mask=signals < 0)},
                             screen=StaticAssets(ASSETS)), "signals")
    schedule_function(rebalance, date_rules.week_start(), time_rules.market_open(hours=1))


def before_trading_start(context, data):
    out = pipeline_output("signals")
    context.longs = set(out.index[out["longs"]])
    context.shorts = set(out.index[out["shorts"]])
    record(best_signal=float(np.nanmax(out["signal"])) if out["signal"].notna().any()
           else np.nan)


def rebalance(context, data):
    for asset, orders in get_open_orders().items():
        for o in orders:
            cancel_order(o)
    for asset in list(context.portfolio.positions):
        if asset not in context.longs | context.shorts:
            order_target(asset, 0)
    for asset in context.longs:
        order_target_percent(asset, 0.45)
    for asset in context.shorts:
        order_target_percent(asset, -0.20)


def analyze(context, perf):
    trades = sum(len(t) for t in perf.transactions)
    print(f"{len(perf)} sessions, {trades} transactions, "
          f"final value {perf.portfolio_value.iloc[-1]:,.2f}, "
          f"Sharpe {perf.sharpe.iloc[-1]:.2f}, max drawdown {perf.max_drawdown.iloc[-1]:.2%}")


if __name__ == "__main__":
    from ml4t.compat.zipline.data import bundles

    bundle = str(DAILY.parent)
    run_algorithm(start=pd.Timestamp("2012-03-01"), end=pd.Timestamp("2014-12-31"),
                  initialize=initialize, before_trading_start=before_trading_start,
                  analyze=analyze, capital_base=100_000, bundle=bundle,
                  custom_loader=custom_loader(bundles.load(bundle)))
