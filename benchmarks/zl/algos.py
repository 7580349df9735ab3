"""The workloads of ``bench_zipline``: Zipline algorithm sources, date ranges, bundles.

The parity algorithms are the very source strings of ``tests/test_zipline_parity.py``,
read from that file with ``ast`` (no pytest import, the tests stay the only copy). Each
source is written against ``zipline``; the shim runs it with the import prefix replaced by
``ml4t.compat.zipline`` (as the parity tests do).

``MOMENTUM`` is the synthetic-universe workload: on the first session of each month, rank
every asset by its 60-session return (``data.history`` of 61 prices), exit what left the top
50, then ``order_target_percent`` each of the top 50 to 0.95/50.
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
