"""golden/zl_custom_data: predictions from ``signals.csv`` through a custom DataSet.

``custom_loader(bundle_data)`` maps the file's tickers to sids and serves the values with
a ``DataFrameLoader``; a row labelled D is used on session D. Each session
``before_trading_start`` records the pipeline's values; on 2014-06-06 and 2014-06-10
``handle_data`` buys the day's long (highest positive prediction).
"""
import datetime as dt
import pathlib

import numpy as np
import pandas as pd

from ml4t.compat.zipline.api import (attach_pipeline, get_datetime, order, pipeline_output,
                                     record, symbol)
from ml4t.compat.zipline.pipeline import CustomFactor, Pipeline
from ml4t.compat.zipline.pipeline.data import Column, DataSet
from ml4t.compat.zipline.pipeline.domain import US_EQUITIES
from ml4t.compat.zipline.pipeline.loaders.frame import DataFrameLoader

HERE = pathlib.Path(__file__).resolve().parent


class SignalData(DataSet):
    predictions = Column(dtype=float)
    domain = US_EQUITIES


class MLSignal(CustomFactor):
    inputs = [SignalData.predictions]
    window_length = 1

    def compute(self, today, assets, out, predictions):
        out[:] = predictions


class Smooth(CustomFactor):
    """Mean of the last two predictions, leaving missing ones out."""

    inputs = [SignalData.predictions]
    window_length = 2

    def compute(self, today, assets, out, predictions):
        seen = np.isfinite(predictions)
        count = seen.sum(axis=0)
        total = np.where(seen, predictions, 0.0).sum(axis=0)
        out[:] = np.where(count > 0, total / np.maximum(count, 1), np.nan)


def custom_loader(bundle_data):
    frame = pd.read_csv(HERE / "signals.csv", index_col="date", parse_dates=True)
    assets = bundle_data.asset_finder.lookup_symbols(list(frame.columns), as_of_date=None)
    frame.columns = [a.sid for a in assets]
    return {SignalData.predictions: DataFrameLoader(SignalData.predictions, frame)}


def initialize(context):
    signal = MLSignal()
    attach_pipeline(Pipeline(columns={
        "signal": signal, "smooth": Smooth(),
        "long": signal.top(1, mask=signal > 0),
        "short": signal.top(1, mask=signal < 0)}), "signals")


def before_trading_start(context, data):
    out = context.out = pipeline_output("signals")
    aapl, ko = symbol("AAPL"), symbol("KO")
    shorts = list(out.index[out["short"]])
    record(aapl_signal=out.loc[aapl, "signal"], ko_signal=out.loc[ko, "signal"],
           aapl_smooth=out.loc[aapl, "smooth"], ko_smooth=out.loc[ko, "smooth"],
           n_long=int(out["long"].sum()), short_sid=shorts[0].sid if shorts else -1)


def handle_data(context, data):
    if get_datetime().date() in (dt.date(2014, 6, 6), dt.date(2014, 6, 10)):
        out = context.out
        order(out.index[out["long"]][0], 100 if get_datetime().day == 6 else 10)
