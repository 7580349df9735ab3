"""golden/zl_pipeline: a Zipline Pipeline through a split and an ex-dividend date.

Each session ``before_trading_start`` reads the pipeline (yesterday's close and the
3-session return, adjusted as of today) and records AAPL's and KO's values; on
2014-06-10 ``handle_data`` buys 100 shares of the asset with the best return.
"""
import datetime as dt

from ml4t.compat.zipline.api import (attach_pipeline, get_datetime, order, pipeline_output,
                                     record, symbol)
from ml4t.compat.zipline.pipeline import Pipeline
from ml4t.compat.zipline.pipeline.data import USEquityPricing
from ml4t.compat.zipline.pipeline.factors import Returns


def initialize(context):
    ret = Returns(window_length=3)
    attach_pipeline(Pipeline(columns={"close": USEquityPricing.close.latest, "ret3": ret,
                                      "best": ret.top(1)}), "p")


def before_trading_start(context, data):
    out = context.out = pipeline_output("p")
    aapl, ko = symbol("AAPL"), symbol("KO")
    record(aapl_close=out.loc[aapl, "close"], aapl_ret3=out.loc[aapl, "ret3"],
           ko_close=out.loc[ko, "close"], ko_ret3=out.loc[ko, "ret3"],
           aapl_best=float(out.loc[aapl, "best"]))


def handle_data(context, data):
    if get_datetime().date() == dt.date(2014, 6, 10):
        out = context.out
        order(out.index[out["best"]][0], 100)
