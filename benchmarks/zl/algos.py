"""The workloads of ``bench_zipline``: Zipline algorithm sources, date ranges, bundles.

The parity algorithms are the very source strings of ``tests/test_zipline_parity.py``,
read from that file with ``ast`` (no pytest import, the tests stay the only copy). Each
source is written against ``zipline``; the shim runs it with the import prefix replaced by
``ml4t.compat.zipline`` (as the parity tests do).

``MOMENTUM`` is the synthetic-universe workload: on the first session of each month, rank
every asset by its 60-session return (``data.history`` of 61 prices), exit what left the top
50, then ``order_target_percent`` each of the top 50 to 0.95/50. ``PIPELINE`` does the same
through a Pipeline computed every session: the 200 most traded assets (20-session average
dollar volume), scored by the z-score of their 126-session return minus the z-score of a
mean-reversion factor over 126 sessions of 21-session returns, plus a 63-session
annualized volatility column; monthly, the top 50 by score at 0.95/50 each.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARITY_TESTS = ROOT / "tests" / "test_zipline_parity.py"
RAW = ROOT / "data" / "raw"

RAW_BUNDLE = "ml4t-bench-raw"
SYN_BUNDLE = "ml4t-bench-syn"

# name -> (source constant in the parity tests, start, end, capital): the ranges and capital
# the parity tests use
PARITY = {
    "buy_and_hold": ("BUY_AND_HOLD", "2012-01-10", "2014-12-31", 100_000.0),
    "dual_ma": ("DUAL_MOVING_AVERAGE", "2012-01-03", "2014-12-31", 100_000.0),
    "monthly_rebalance": ("MONTHLY_REBALANCE", "2012-01-03", "2014-12-31", 2e9),
    "limits_split": ("LIMITS_ACROSS_SPLIT", "2014-06-02", "2014-08-29", 100_000.0),
    "custom_models": ("CUSTOM_MODELS", "2013-01-02", "2014-12-31", 5e7),
    "custom_slippage": ("CUSTOM_SLIPPAGE", "2012-01-03", "2013-12-31", 100_000.0),
    "short_dividends": ("SHORT_ACROSS_DIVIDENDS", "2012-01-03", "2014-12-31", 100_000.0),
}

MOMENTUM = '''
from zipline.api import order_target_percent, schedule_function, date_rules, time_rules, symbols

TOP, LOOKBACK, N_ASSETS = 50, 60, {n_assets}

def initialize(context):
    context.universe = symbols(*["A%04d" % i for i in range(N_ASSETS)])
    schedule_function(rebalance, date_rules.month_start(), time_rules.market_open())

def rebalance(context, data):
    prices = data.history(context.universe, "price", LOOKBACK + 1, "1d")
    ret = prices.iloc[-1] / prices.iloc[0] - 1.0
    top = set(ret.sort_values(ascending=False, kind="stable").index[:TOP])
    for a in context.portfolio.positions:
        if a not in top:
            order_target_percent(a, 0.0)
    for a in context.universe:
        if a in top:
            order_target_percent(a, 0.95 / TOP)
'''


PIPELINE = '''
from zipline.api import (attach_pipeline, pipeline_output, order_target_percent,
                         schedule_function, date_rules, time_rules)
from zipline.pipeline import Pipeline, CustomFactor
from zipline.pipeline.factors import AverageDollarVolume, Returns, AnnualizedVolatility

TOP = 50


class MeanReversion(CustomFactor):
    inputs = [Returns(window_length=21)]
    window_length = 126

    def compute(self, today, assets, out, monthly):
        out[:] = (monthly[-1] - monthly.mean(axis=0)) / monthly.std(axis=0)


def initialize(context):
    liquid = AverageDollarVolume(window_length=20).top(200)
    momentum = Returns(window_length=126, mask=liquid)
    score = momentum.zscore(mask=liquid) - MeanReversion(mask=liquid).zscore(mask=liquid)
    attach_pipeline(Pipeline(columns={
        "score": score, "vol": AnnualizedVolatility(window_length=63, mask=liquid),
        "best": score.top(TOP, mask=liquid)}, screen=liquid), "p")
    schedule_function(rebalance, date_rules.month_start(), time_rules.market_open())


def before_trading_start(context, data):
    context.out = pipeline_output("p")


def rebalance(context, data):
    out = context.out
    top = set(out.index[out["best"]])
    for a in context.portfolio.positions:
        if a not in top:
            order_target_percent(a, 0.0)
    for a in sorted(top):
        order_target_percent(a, 0.95 / TOP)
'''


def momentum_source(n_assets: int) -> str:
    return MOMENTUM.replace("{n_assets}", str(int(n_assets)))


def parity_source(const: str) -> str:
    """The string constant ``const`` of ``tests/test_zipline_parity.py``."""
    tree = ast.parse(PARITY_TESTS.read_text(), str(PARITY_TESTS))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == const for t in node.targets):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    raise LookupError(f"{PARITY_TESTS}: no string constant named {const}")


def namespace(source: str, shim: bool) -> dict:
    """Execute an algorithm source (``zipline`` imports rewritten for the shim)."""
    if shim:
        source = source.replace("from zipline", "from ml4t.compat.zipline")
    ns: dict = {}
    exec(compile(source, "<algorithm>", "exec"), ns)
    return ns
