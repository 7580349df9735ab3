"""Hypothesis invariants over random price paths and random order streams, in both accounts.

Price paths: a random close path per asset; each bar's open gaps from the previous close and
its high/low lie outside both open and close, so every bar is a valid OHLC bar. Some bars are
missing (halts). Order streams: market/limit/stop/stop-limit orders of random sign, size and
time in force, placed at random bars with prices near the current close, plus random cancels.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import day_ts
from ml4t import Strategy, run_backtest
from ml4t.models import FixedBpsSlippage, PercentCommission, PerShareCommission

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ASSETS = ("AAA", "BBB")
TERMINAL = {"filled", "canceled", "rejected", "expired"}


# ----------------------------------------------------------------------- generators
@st.composite
def price_frames(draw):
    n_assets = draw(st.integers(1, 2))
    n_bars = draw(st.integers(2, 12))
    ts = day_ts(n_bars)
    rows = []
    for asset in ASSETS[:n_assets]:
        close = draw(st.floats(5.0, 200.0))
        for i in range(n_bars):
            ret = draw(st.floats(-0.1, 0.1))
            gap = draw(st.floats(-0.03, 0.03))
            up = draw(st.floats(0.0, 0.05))
            down = draw(st.floats(0.0, 0.05))
            halted = i > 0 and draw(st.integers(0, 5)) == 0      # ~1 bar in 6 missing
            o = close * (1 + gap)
            close = o * (1 + ret)
            if halted:
                continue
            rows.append({"ts": ts[i], "asset": asset, "open": o,
                         "high": max(o, close) * (1 + up), "low": min(o, close) * (1 - down),
                         "close": close, "volume": 1e6})
    df = pd.DataFrame(rows).sort_values(["ts", "asset"], kind="stable").reset_index(drop=True)
    return df, n_bars, n_assets


def order_tuples(n_bars: int, n_assets: int):
    return st.tuples(
        st.integers(0, n_bars - 1),                                   # bar index
        st.integers(0, n_assets - 1),                                 # asset index
        st.integers(1, 60).flatmap(lambda q: st.sampled_from([q, -q])),  # signed qty
        st.sampled_from(["market", "limit", "stop", "stop_limit", "cancel"]),
        st.floats(-0.05, 0.05),                                       # limit offset
        st.floats(-0.05, 0.05),                                       # stop offset
        st.sampled_from(["GTC", "GTC", "DAY", "IOC", "FOK"]),
    )


CONFIG = st.fixed_dictionaries({
    "account": st.sampled_from(["cash", "margin"]),
    "allow_short": st.sampled_from([None, True, False]),
    "fill": st.sampled_from(["next_open", "next_close", "same_close"]),
    "fill_order": st.sampled_from(["exit_first", "submission"]),
    "on_insufficient": st.sampled_from(["reject", "partial"]),
    "cash": st.sampled_from([500.0, 3_000.0, 100_000.0]),
    "commission": st.sampled_from(["none", "pct", "share"]),
    "slippage": st.sampled_from(["none", "bps"]),
})


@st.composite
def scenarios(draw):
    df, n_bars, n_assets = draw(price_frames())
    orders = tuple(draw(st.lists(order_tuples(n_bars, n_assets), min_size=1, max_size=25)))
    cfg = draw(CONFIG)
    return df, orders, cfg


def engine_config(cfg: dict) -> dict:
    out = dict(cfg)
    out["commission"] = {"none": None, "pct": PercentCommission(0.001),
                         "share": PerShareCommission(0.01, minimum=1.0)}[cfg["commission"]]
    out["slippage"] = {"none": None, "bps": FixedBpsSlippage(5)}[cfg["slippage"]]
    return out


class RandomOrders(Strategy):
    """Places ``orders`` (tuples from ``order_tuples``) on their bars; prices follow the last close."""

    orders = ()

    def on_bar(self, bars):
        k = getattr(self, "_k", 0)
        self._k = k + 1
        for bar, a, qty, kind, loff, soff, tif in self.orders:
            if bar != k:
                continue
            asset = ASSETS[a]
            if kind == "cancel":
                open_ = self.broker.get_open_orders()
                if open_:
                    self.broker.cancel(open_[0])
                continue
            px = self.data.current(asset)
            if not px > 0:
                continue                          # the asset has had no bar yet
            kw = {"time_in_force": tif}
            if kind in ("limit", "stop_limit"):
                kw["limit_price"] = px * (1 + loff)
            if kind in ("stop", "stop_limit"):
                kw["stop_price"] = px * (1 + soff)
            self.broker.order(asset, qty, **kw)


def backtest(df, orders, cfg):
    return run_backtest(RandomOrders, df, params={"orders": orders}, calendar=None,
                        **engine_config(cfg))


# ----------------------------------------------------------------------- properties
@SETTINGS
@given(scenarios())
def test_nav_equals_cash_plus_positions_at_every_bar(sc):
    df, orders, cfg = sc
    r = backtest(df, orders, cfg)
    held = (r.positions.assign(v=r.positions["qty"] * r.positions["price"])
            .groupby("ts")["v"].sum())
    for ts, row in r.portfolio.iterrows():
        value = float(held.get(ts, 0.0))
        assert math.isclose(row["nav"], row["cash"] + value, rel_tol=1e-9, abs_tol=1e-6), ts
        assert math.isclose(row["positions_value"], value, rel_tol=1e-9, abs_tol=1e-6), ts


@SETTINGS
@given(scenarios())
def test_cash_account_cash_never_negative(sc):
    df, orders, cfg = sc
    cfg = dict(cfg, account="cash")
    r = backtest(df, orders, cfg)
    assert (r.portfolio["cash"] >= -1e-6).all(), r.portfolio["cash"].min()
    if not cfg["allow_short"]:
        # without allow_short a cash account never holds a short position
        assert (r.positions["qty"] > 0).all()


@SETTINGS
@given(scenarios())
def test_cash_changes_only_by_fills(sc):
    df, orders, cfg = sc
    r = backtest(df, orders, cfg)
    f = r.fills
    spent = float((f["qty"] * f["price"] + f["commission"]).sum())
    expected = cfg["cash"] - spent
    assert math.isclose(r.portfolio["cash"].iloc[-1], expected, rel_tol=1e-9, abs_tol=1e-6)
    # and the final holdings are the sum of the fills
    last_ts = r.portfolio.index[-1]
    held = r.positions[r.positions["ts"] == last_ts].set_index("asset")["qty"]
    net = f.groupby("asset")["qty"].sum()
    for asset, q in net.items():
        assert held.get(asset, 0.0) == pytest.approx(q, abs=1e-9)


@SETTINGS
@given(scenarios())
def test_orders_never_overfill_and_never_fill_after_closing(sc):
    df, orders, cfg = sc
    r = backtest(df, orders, cfg)
    fills_by_order = r.fills.groupby("order_id")
    for oid, rows in r.orders.groupby("order_id", sort=True):
        qty = rows["qty"].iloc[0]
        filled = rows["filled"].to_numpy()
        # filled has the order's sign, only grows, never beyond the quantity
        assert (filled * np.sign(qty) >= -1e-9).all()
        assert (np.diff(np.abs(filled)) >= -1e-9).all()
        assert abs(filled[-1]) <= abs(qty) + 1e-9
        status = list(rows["status"])
        assert status[:2] == ["submitted", "accepted"]
        terminal = [i for i, s in enumerate(status) if s in TERMINAL]
        # at most one terminal row, and nothing after it
        assert len(terminal) <= 1
        if terminal:
            assert terminal[0] == len(status) - 1
        else:
            pytest.fail(f"order {oid} still open after the run: {status}")
        fills = fills_by_order.get_group(oid) if oid in fills_by_order.groups else None
        total = 0.0 if fills is None else float(fills["qty"].sum())
        assert total == pytest.approx(filled[-1], abs=1e-9)
        if fills is not None:
            assert (fills["ts"] <= rows["ts"].iloc[-1]).all()
            assert len(fills) == int((rows["status"].isin(["filled", "partially_filled"])).sum())
        if status[-1] == "filled":
            assert filled[-1] == pytest.approx(qty)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_same_inputs_give_identical_tables(sc):
    df, orders, cfg = sc
    a = backtest(df, orders, cfg)
    b = backtest(df.copy(), orders, cfg)
    for name in ("portfolio", "positions", "orders", "fills", "trades"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


@SETTINGS
@given(scenarios())
def test_reference_fill_price_within_fill_bar_range(sc):
    df, orders, cfg = sc
    r = backtest(df, orders, cfg)
    bars = df.set_index(["ts", "asset"])
    for f in r.fills.itertuples():
        bar = bars.loc[(f.ts, f.asset)]
        assert bar["low"] <= f.ref_price <= bar["high"], (f, bar)
        if cfg["fill"] != "next_open":
            assert f.ref_price == bar["close"]              # close rules fill at the close
        if cfg["slippage"] == "none":
            assert f.price == f.ref_price
