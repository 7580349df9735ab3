"""Deposits and withdrawals (``broker.deposit`` / ``broker.withdraw``): cash moves, the
``cash_flows`` table, the portfolio's ``cash_flow`` column, and returns that leave the
flows out (time-weighted)."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import flat_bars, frame, run
from ml4t.errors import OrderError


def deposit(amount):
    return lambda s, bars: s.broker.deposit(amount)


def withdraw(amount):
    return lambda s, bars: s.broker.withdraw(amount)


def test_flows_without_positions_are_not_returns():
    df = frame({"X": flat_bars([100.0, 100.0, 100.0, 100.0])})
    r = run({1: [deposit(5_000)], 2: [withdraw(2_000)], 3: [deposit(250.5)]}, df,
            cash=10_000)
    p = r.portfolio
    assert p["cash"].tolist() == [10_000, 15_000, 13_000, 13_250.5]
    assert p["cash_flow"].tolist() == [0, 5_000, -2_000, 250.5]
    assert p["returns"].tolist() == [0, 0, 0, 0]
    assert r.metrics["total_return"] == 0.0 and r.metrics["net_cash_flows"] == 3_250.5
    assert r.metrics["final_value"] == 13_250.5
    flows = r.cash_flows
    assert flows["amount"].tolist() == [5_000, -2_000, 250.5]
    assert flows["cash"].tolist() == [15_000, 13_000, 13_250.5]
    assert list(flows["ts"]) == list(p.index[1:])
    assert "cash_flows" in r.table_names()


def test_returns_net_of_a_deposit_and_a_withdrawal_by_hand():
    # buy 50 at bar 0's close (100): cash 5,000, NAV 10,000.
    # bar 1 close 110: NAV 10,500, return +5%.
    # bar 2 close 121 and a deposit of 1,000: NAV 6,000 + 6,050 = 12,050;
    #   return (12,050 - 1,000) / 10,500 - 1 = 5.238095%.
    # bar 3 close 121 and a withdrawal of 500: NAV 11,550; return (11,550 + 500) / 12,050 - 1
    #   = 0. Time-weighted total: 1.05 x 1.0523810 - 1 = 10.5% (the price moved +21% on half
    #   the money).
    bars = [(100, 100.5, 99.5, 100), (100, 110.5, 99.5, 110), (110, 121.5, 109.5, 121),
            (121, 121.5, 120.5, 121)]
    r = run({0: [("X", 50.0, {})], 2: [deposit(1_000)], 3: [withdraw(500)]},
            frame({"X": bars}), cash=10_000, fill="same_close")
    p = r.portfolio
    assert p["nav"].tolist() == pytest.approx([10_000, 10_500, 12_050, 11_550])
    assert p["returns"].tolist() == pytest.approx([0, 0.05, 11_050 / 10_500 - 1, 0])
    assert r.metrics["total_return"] == pytest.approx(0.105)
    assert r.metrics["net_cash_flows"] == 500
    from ml4t.metrics import daily_returns
    assert daily_returns(p, 10_000, "XNYS").tolist() == pytest.approx(p["returns"].tolist())


def test_runs_without_flows_keep_their_tables():
    r = run({0: [("X", 5.0, {})]}, frame({"X": flat_bars([10.0, 11.0, 12.0])}), cash=1_000)
    assert "cash_flow" not in r.portfolio and len(r.cash_flows) == 0
    assert "cash_flows" not in r.table_names() and "net_cash_flows" not in r.metrics


@pytest.mark.parametrize("entry, message", [
    (deposit(0), r"deposit\(0.0\): the amount must be a positive"),
    (deposit(-5), r"deposit\(-5.0\).*withdraw\(\) takes cash out"),
    (deposit(math.nan), r"deposit\(nan\)"),
    (withdraw(math.inf), r"withdraw\(inf\)"),
    (withdraw(1_000.01), r"cannot withdraw 1000.01: the cash balance is 1000.0"),
])
def test_bad_flows_are_refused_by_name(entry, message):
    with pytest.raises(OrderError, match=message):
        run({1: [entry]}, frame({"X": flat_bars([10.0, 10.0, 10.0])}), cash=1_000)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(1, 5_000)), max_size=8),
       st.lists(st.floats(5, 50), min_size=6, max_size=6))
def test_flows_add_up_and_never_count_as_return(flows, closes):
    """Whatever is deposited when, with a fixed position: the NAV is what the same run
    without deposits has plus the deposits so far, and every return is that run's."""
    plan = {}
    for bar, amount in flows:
        plan.setdefault(bar, []).append(deposit(amount))
    bars = [(c, c + 0.5, c - 0.5, c) for c in closes]
    base = run({0: [("X", 10.0, {})]}, frame({"X": bars}), cash=1_000, fill="same_close",
               fractional=True)
    plan.setdefault(0, []).insert(0, ("X", 10.0, {}))
    got = run(plan, frame({"X": bars}), cash=1_000, fill="same_close", fractional=True)
    added = [sum(a for b, a in flows if b <= k) for k in range(len(closes))]
    assert got.portfolio["nav"].tolist() == pytest.approx(
        [n + a for n, a in zip(base.portfolio["nav"], added)])
    assert got.cash_flows["amount"].sum() == pytest.approx(sum(a for _, a in flows))
    # the position is the same, so NAV changes match; only the base of each return grows
    pnl = got.portfolio["nav"].diff().fillna(got.portfolio["nav"].iloc[0] - 1_000) \
        - got.portfolio.get("cash_flow", 0.0)
    assert pnl.tolist() == pytest.approx(base.portfolio["nav"].diff().fillna(
        base.portfolio["nav"].iloc[0] - 1_000).tolist(), abs=1e-6)


def test_summary_names_the_deposits():
    df = frame({"X": flat_bars([100.0, 100.0, 100.0])})
    text = run({1: [deposit(500)]}, df, cash=1_000).summary()
    assert "Net deposits" in text and "500.00" in text and "(time-weighted)" in text
