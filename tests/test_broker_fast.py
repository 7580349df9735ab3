"""The compiled broker path (``ml4t._core.broker.BrokerCore``): ``order_target`` and plain
market orders must give the same orders, snapshots and errors as the general Python path
(``Broker._submit``), and the result tables built from code columns must equal the tables
pandas builds from Python strings."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from conftest import day_ts, frame, scripted
from ml4t import ContractSpec, run_backtest
from ml4t.errors import OrderError
from ml4t.orders import Order

# X closes at 10.30, Y at 20.60 on every bar
DF = frame({"X": [(10.0, 10.5, 9.9, 10.3)] * 3, "Y": [(20.0, 20.8, 19.9, 20.6)] * 3})
TS0 = int(day_ts(3)[0].value)


def _on_bar0(fn, df=DF, **config):
    out = []
    r = run_backtest(scripted({0: [lambda s, bars: out.append(fn(s.broker))]}), df,
                     cash=10_000, **config)
    return out[0], r


def test_market_order_snapshot_is_the_book_state():
    (o, again), _ = _on_bar0(lambda b: (lambda o: (o, b.get_order(o.id)))(b.order("X", 7)))
    assert type(o) is Order
    assert o == Order(id=1, asset="X", qty=7.0, filled=0.0, status="accepted", type="market",
                      time_in_force="GTC", limit_price=None, stop_price=None, reason="",
                      reason_text="", ts_ns=TS0, created_ns=TS0, avg_fill_price=None,
                      commission=0.0)
    assert o == again                      # the same as the general snapshot


def test_compiled_and_python_paths_give_identical_results():
    # time_in_force="gtc" (lower case) takes the Python path; "GTC" the compiled one
    plan = {0: [("X", 5, {}), ("Y", -3, {})], 1: [("X", -5, {}), ("Y", 3, {})]}
    slow = {k: [(a, q, {"time_in_force": "gtc"}) for a, q, _ in v] for k, v in plan.items()}
    fast_r = run_backtest(scripted(plan), DF, cash=10_000, account="margin")
    slow_r = run_backtest(scripted(slow), DF, cash=10_000, account="margin")
    assert fast_r.strategy.placed == slow_r.strategy.placed
    for name in ("orders", "fills", "positions", "trades", "portfolio"):
        assert_frame_equal(getattr(fast_r, name), getattr(slow_r, name))
    # bar 1's opens: bought 5 X at 10.0, sold 3 Y at 20.0; bar 2 reverses at the same opens
    assert list(fast_r.fills["qty"]) == [5.0, -3.0, -5.0, 3.0]


@pytest.mark.parametrize("target, fractional, expected", [
    (2.7, False, 2.0),        # toward zero
    (-2.7, False, -2.0),      # toward zero, not -3
    (0.4, False, None),       # rounds to 0: nothing to do
    (2.7, True, 2.7),
    (np.int64(4), False, 4.0),
])
def test_order_target_rounding(target, fractional, expected):
    o, _ = _on_bar0(lambda b: b.order_target("X", target), fractional=fractional)
    assert (None if o is None else o.qty) == expected


def test_order_target_counts_position_and_open_orders_of_that_asset_only():
    def act(b):
        b.order("Y", 40)                   # another asset's open order does not count
        b.order("X", 10)
        return b.order_target("X", 25).qty, b.order_target("Y", 40)

    got, r = _on_bar0(act)
    assert got == (15.0, None)             # 25 - 10 open; Y already at 40 with its open order


def test_order_target_with_options_goes_through_order():
    o, _ = _on_bar0(lambda b: b.order_target("X", 3, limit_price=9.0, time_in_force="DAY"))
    assert (o.qty, o.type, o.limit_price, o.time_in_force) == (3.0, "limit", 9.0, "DAY")


def test_below_min_qty_rejected_on_the_compiled_path():
    o, r = _on_bar0(lambda b: b.order("X", 5), contracts={"X": ContractSpec(min_qty=10)})
    assert (o.status, o.reason, o.qty) == ("rejected", "below_min_qty", 5.0)
    assert list(r.orders["status"]) == ["submitted", "rejected"]
    assert r.fills.empty


def test_order_in_on_start_is_stamped_with_the_first_bar():
    got = []

    class Early(scripted({})):
        def on_start(self):
            super().on_start()
            got.append(self.broker.order("X", 2))

    r = run_backtest(Early, DF, cash=10_000)
    assert (got[0].ts_ns, got[0].status) == (TS0, "accepted")
    assert list(r.fills["qty"]) == [2.0]
    assert r.fills["ts"].iloc[0] == day_ts(3)[0]    # fills at the first bar's open


def test_market_id_books_what_market_books_and_qty_reads_the_ledger():
    """``_market_id`` (the order id alone, for the Backtrader shim's broker) books the order
    ``order()`` books; ``_qty`` is the signed quantity ``position()`` reports."""
    plan_ids = {0: [lambda s, bars: s.broker._market_id("X", 5)],
                1: [lambda s, bars: s.got.append((s.broker._qty("X"), s.broker._qty("Y"),
                                                  s.broker.position("X").qty,
                                                  s.broker._market_id("Y", -3)))]}
    plan_orders = {0: [lambda s, bars: s.broker.order("X", 5)],
                   1: [lambda s, bars: s.got.append((s.broker._qty("X"), s.broker._qty("Y"),
                                                     s.broker.position("X").qty,
                                                     s.broker.order("Y", -3).id))]}
    runs = []
    for plan in (plan_ids, plan_orders):
        class S(scripted(plan)):
            def on_start(self):
                super().on_start()
                self.got = []

        runs.append(run_backtest(S, DF, cash=10_000, account="margin"))
    a, b = runs
    # bar 1: 5 X held (bought at bar 1's open), no Y; the second order is the book's id 2
    assert a.strategy.got == b.strategy.got == [(5.0, 0.0, 5.0, 2)]
    for name in ("orders", "fills", "positions"):
        assert_frame_equal(getattr(a, name), getattr(b, name))
    assert list(a.fills["qty"]) == [5.0, -3.0]

    def bad(b):
        with pytest.raises(OrderError, match="unknown asset 'Q'"):
            b._qty("Q")
        with pytest.raises(OrderError, match="unknown asset 'Q'"):
            b._market_id("Q", 1)
        with pytest.raises(OrderError, match="non-zero"):
            b._market_id("X", 0)
        return True

    assert _on_bar0(bad)[0] is True


@pytest.mark.parametrize("call, match", [
    (lambda b: b.order_target("Q", 1), "unknown asset 'Q'"),
    (lambda b: b.order_target(["X"], 1), "unknown asset"),
    (lambda b: b.order_target("X", math.inf), "not finite"),
    (lambda b: b.order_target("X", math.nan), "not finite"),
    (lambda b: b.order("X", "lots"), "must be numbers"),
    (lambda b: b.order("X", 0), "non-zero"),
    (lambda b: b.order("X", 1.5), "whole number"),
])
def test_errors_on_the_compiled_path(call, match):
    def act(b):
        with pytest.raises(OrderError, match=match):
            call(b)
        return True

    assert _on_bar0(act)[0] is True


def test_string_columns_equal_pandas_own_conversion():
    plan = {0: [("X", 5, {}), ("Y", 2, {"limit_price": 21.0})], 1: [("X", -5, {})]}
    r = run_backtest(scripted(plan), DF, cash=10_000)
    cols = ["asset", "status", "reason", "type", "time_in_force"]
    rebuilt = pd.DataFrame({c: list(r.orders[c]) for c in cols})   # from Python strings
    assert_frame_equal(r.orders[cols], rebuilt)
    assert list(r.orders["status"]) == ["submitted", "accepted", "submitted", "accepted",
                                        "filled", "filled", "submitted", "accepted", "filled"]
    assert list(r.orders["type"]) == ["market", "market", "limit", "limit", "market",
                                      "limit", "market", "market", "market"]
    assert_frame_equal(r.fills[["asset"]], pd.DataFrame({"asset": list(r.fills["asset"])}))
