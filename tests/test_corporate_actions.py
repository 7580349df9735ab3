"""Splits, dividends and point-in-time history on real unadjusted prices and small frames.

Market rules pinned here (see ``ml4t/corporate.py``): fills use traded prices; a split
scales quantity, cost basis and open orders at the start of its ex-date session, paying
cash in lieu of fractions at the pre-split close / ratio; a dividend is earned on the
position held at the start of the ex-date (shorts pay it) and paid on the pay date (the
ex-date when none is known), counted in NAV as a receivable until then; ``data.history``
is adjusted only for actions already reached.

Real data: ``data/raw/daily`` (unadjusted) and ``data/daily`` (split-adjusted), see
``data/README.md``. Daily bars are stamped at the XNYS close: 20:00 UTC in summer
(EDT), 21:00 UTC in winter. Default fill mode ``next_open``: an order placed in
``on_bar`` fills at the next bar's open.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ml4t
from ml4t import Engine, Strategy, run_backtest
from ml4t.corporate import check_price_adjustment
from ml4t.data import load_bars
from ml4t.datasets import data_dir
from ml4t.errors import ConfigError, DataError

ROOT = pathlib.Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"            # csvdir root of the unadjusted prices
ADJUSTED = ROOT / "data" / "daily"     # the same prices, split-adjusted as distributed
CENT = 0.005                           # "to the cent"


def on_day(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


class Plan(Strategy):
    """Places ``orders[date]`` (list of (asset, qty, kwargs)) in ``on_bar`` of that date and
    records ``probe(self, bars)`` for every date in ``probes``."""

    orders: dict = {}
    probes: tuple = ()

    def on_start(self):
        self.placed = {}
        self.seen = {}

    def on_bar(self, bars):
        day = on_day(bars.ts)
        for asset, qty, kwargs in self.orders.get(day, []):
            self.placed.setdefault(day, []).append(self.broker.order(asset, qty, **kwargs))
        if day in self.probes:
            self.seen[day] = self.probe(bars)

    def probe(self, bars):
        return None


def at(result, day: str, column: str) -> float:
    """Portfolio ``column`` on the bar of ``day``."""
    p = result.portfolio
    return float(p.loc[p.index.strftime("%Y-%m-%d") == day, column].iloc[-1])


def position_on(result, day: str, asset: str) -> pd.Series:
    pos = result.positions
    rows = pos[(pos["ts"].dt.strftime("%Y-%m-%d") == day) & (pos["asset"] == asset)]
    assert len(rows) == 1, f"{asset} not held on {day}"
    return rows.iloc[0]


# ---------------------------------------------------------------- real data: AAPL and KO


def test_sample_package_ships_the_same_unadjusted_files():
    for name in ("AAPL", "KO"):
        assert (RAW / "daily" / f"{name}.csv").read_bytes() == (
            data_dir() / "daily" / f"{name}.csv").read_bytes()


def test_aapl_held_through_its_7_for_1_split_and_two_dividends():
    class Buy(Plan):
        orders = {"2014-05-01": [("AAPL", 10, {})]}

    r = ml4t.run_backtest(Buy, RAW, start="2014-05-01", end="2014-08-30")

    # bought at the 2014-05-02 open, 592.340021: cash 100000 - 10 * 592.340021 = 94076.59979
    assert r.fills["price"].tolist() == [592.340021]
    assert at(r, "2014-05-07", "cash") == pytest.approx(94076.59979, abs=CENT)
    # ex-date 2014-05-08, $3.29 on 10 shares = 32.90, paid the same day (csvdir: no pay date)
    assert at(r, "2014-05-08", "cash") == pytest.approx(94076.59979 + 32.90, abs=CENT)
    # 2014-06-06: 10 shares at 645.570023, average cost 592.340021
    before = position_on(r, "2014-06-06", "AAPL")
    assert (before["qty"], before["avg_cost"]) == (10, pytest.approx(592.340021, abs=1e-9))
    # 2014-06-09 split 7:1: 70 shares, cost 592.340021 / 7 = 84.620003, close 93.699997;
    # no fraction, so no cash in lieu; total cost unchanged (70 * 84.620003 = 5923.40021)
    after = position_on(r, "2014-06-09", "AAPL")
    assert after["qty"] == 70
    assert after["avg_cost"] == pytest.approx(84.620003, abs=1e-6)
    assert after["price"] == pytest.approx(93.699997, abs=1e-9)
    assert at(r, "2014-06-09", "cash") == pytest.approx(94109.49979, abs=CENT)
    # ex-date 2014-08-07, $0.47 (post-split units) on 70 shares = 32.90
    assert at(r, "2014-08-07", "cash") == pytest.approx(94109.49979 + 32.90, abs=CENT)
    # 2014-08-29: cash 94142.39979 + 70 * 102.5 = 101317.39979
    assert r.portfolio["cash"].iloc[-1] == pytest.approx(94142.39979, abs=CENT)
    assert r.portfolio["nav"].iloc[-1] == pytest.approx(101317.39979, abs=CENT)
    assert r.portfolio["dividends"].iloc[-1] == pytest.approx(65.80, abs=CENT)
    acts = r.corporate_actions[r.corporate_actions["asset"] == "AAPL"]
    assert acts["action"].tolist() == ["dividend", "split", "dividend"]
    assert acts["qty"].tolist() == [10, 10, 70]   # the position each action applied to


def test_ko_held_through_its_2_for_1_split():
    class Buy(Plan):
        orders = {"2012-06-01": [("KO", 15, {})]}

    r = ml4t.run_backtest(Buy, RAW, start="2012-06-01", end="2012-09-14")

    fill = r.fills["price"].iloc[0]            # the 2012-06-04 open
    raw = pd.read_csv(RAW / "daily" / "KO.csv", index_col="date")
    assert fill == raw.loc["2012-06-04", "open"]
    cash0 = 100_000 - 15 * fill
    # ex 2012-06-13: 0.51 * 15 = 7.65
    assert at(r, "2012-06-13", "cash") == pytest.approx(cash0 + 7.65, abs=CENT)
    # 2012-08-10: 15 shares at 78.79; 2012-08-13 (2:1): 30 shares at 39.299999, cost / 2
    assert position_on(r, "2012-08-10", "KO")["qty"] == 15
    after = position_on(r, "2012-08-13", "KO")
    assert after["qty"] == 30 and after["avg_cost"] == pytest.approx(fill / 2, abs=1e-9)
    # the split moves no cash: NAV changes only by the day's move, 30 * 39.299999 vs
    # 15 * 78.79 = 1181.85 -> 1178.99997, i.e. -2.85003
    nav_move = at(r, "2012-08-13", "nav") - at(r, "2012-08-10", "nav")
    assert at(r, "2012-08-13", "cash") == pytest.approx(cash0 + 7.65, abs=CENT)
    assert nav_move == pytest.approx(30 * 39.299999 - 15 * 78.79, abs=CENT)
    # ex 2012-09-12: 0.255 (post-split) * 30 = 7.65
    assert at(r, "2012-09-12", "cash") == pytest.approx(cash0 + 15.30, abs=CENT)


def test_short_ko_pays_the_dividend():
    class Short(Plan):
        orders = {"2012-09-10": [("KO", -100, {})]}

    r = ml4t.run_backtest(Short, RAW, start="2012-09-04", end="2012-09-14", account="margin")

    # sold 100 at the 2012-09-11 open 37.630001: cash 100000 + 3763.0001
    assert at(r, "2012-09-11", "cash") == pytest.approx(103_763.0001, abs=CENT)
    # ex 2012-09-12: the short owes 100 * 0.255 = 25.50
    assert at(r, "2012-09-12", "cash") == pytest.approx(103_737.5001, abs=CENT)
    assert r.portfolio["dividends"].iloc[-1] == pytest.approx(-25.50, abs=CENT)
    # NAV 2012-09-12 = 103737.5001 - 100 * 37.549999 = 99982.5002
    assert at(r, "2012-09-12", "nav") == pytest.approx(99_982.5002, abs=CENT)


def test_open_limit_order_is_adjusted_by_the_aapl_split():
    class Rest(Plan):
        # a buy limit far below the market and a buy stop far above it rest across the split
        orders = {"2014-06-06": [("AAPL", 10, {"limit_price": 500.0}),
                                 ("AAPL", 3, {"stop_price": 700.0})]}
        probes = ("2014-06-06", "2014-06-09")

        def probe(self, bars):
            return [(o.qty, o.limit_price, o.stop_price)
                    for o in self.broker.get_open_orders("AAPL")]

    r = ml4t.run_backtest(Rest, RAW, start="2014-06-02", end="2014-06-12")

    assert r.strategy.seen["2014-06-06"] == [(10, 500.0, None), (3, None, 700.0)]
    (limit_order, stop_order) = r.strategy.seen["2014-06-09"]
    # quantity x 7: 70 and 21; prices / 7: 500 / 7 = 71.428571..., 700 / 7 = 100
    assert limit_order == (70, pytest.approx(500.0 / 7, rel=1e-12), None)
    assert stop_order == (21, None, pytest.approx(100.0, rel=1e-12))
    # after the split the lows (91+) never reach 71.43 and the highs (<= 95.05) never 100
    assert r.fills.empty


def test_short_position_pays_cash_in_lieu_to_cover_its_fraction():
    df = bars_of({"X": [10, 12, 120, 121, 122, 123]}, {"X": [10, 10, 120, 121, 122, 123]})
    ca = pd.DataFrame({"asset": ["X"], "ex_date": ["2024-01-04"], "ratio": [0.1]})

    class Short(Plan):
        orders = {"2024-01-02": [("X", -15, {})]}

    r = ml4t.run_backtest(Short, df, corporate_actions=ca, account="margin")

    # short 15 at 10: cash 100150; -15 * 0.1 = -1.5: keep -1, buy back 0.5 at 12 * 10 = 120
    assert position_on(r, "2024-01-04", "X")["qty"] == -1
    assert at(r, "2024-01-04", "cash") == pytest.approx(100_090.0, abs=1e-9)   # 100150 - 60
    # the 0.5 covered was shorted at 100 (10 * 10): realised 0.5 * (100 - 120) = -10
    assert at(r, "2024-01-04", "realized_pnl") == pytest.approx(-10.0, abs=1e-9)
    # NAV continuous: 100150 - 15 * 12 = 99970 = 100090 - 1 * 120
    assert at(r, "2024-01-03", "nav") == at(r, "2024-01-04", "nav") == pytest.approx(99_970.0)


# ---------------------------------------------------------------- cash in lieu (synthetic)


DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]


def bars_of(closes: dict[str, list[float]], opens: dict[str, list[float]] | None = None):
    """Long frame of date-only bars on DAYS; high/low 1% outside open and close."""
    rows = []
    for asset, cs in closes.items():
        os_ = (opens or {}).get(asset, cs)
        for d, o, c in zip(DAYS, os_, cs):
            rows.append(dict(date=d, asset=asset, open=o, high=max(o, c) * 1.01,
                             low=min(o, c) * 0.99, close=c, volume=1e6))
    return pd.DataFrame(rows)


def reverse_split_run(fractional: bool, orders=None):
    # bar 1 closes at 12 (pre-split); the 1:10 reverse split is effective 2024-01-04, where
    # the price is 10x: 120
    df = bars_of({"X": [10, 12, 120, 121, 122, 123]}, {"X": [10, 10, 120, 121, 122, 123]})
    ca = pd.DataFrame({"asset": ["X"], "ex_date": ["2024-01-04"], "ratio": [0.1]})

    class Buy(Plan):
        pass

    Buy.orders = {"2024-01-02": [("X", 15, {})] + (orders or [])}
    return ml4t.run_backtest(Buy, df, corporate_actions=ca, fractional=fractional)


def test_reverse_split_pays_cash_in_lieu_of_the_fraction():
    r = reverse_split_run(fractional=False)

    # 15 bought at the 2024-01-03 open, 10 -> cash 99850; 15 * 0.1 = 1.5 shares:
    # keep 1, pay 0.5 * (pre-split close 12 * 10) = 60 in cash
    assert position_on(r, "2024-01-04", "X")["qty"] == 1
    assert at(r, "2024-01-04", "cash") == pytest.approx(99_910.0, abs=1e-9)
    cil = r.corporate_actions[r.corporate_actions["action"] == "cash_in_lieu"]
    assert cil[["value", "qty", "cash"]].values.tolist() == [[120.0, 0.5, 60.0]]
    # the 0.5 sold in lieu cost 0.5 * 100 (lot price 10 * 10): realised 60 - 50 = 10
    assert at(r, "2024-01-04", "realized_pnl") == pytest.approx(10.0, abs=1e-9)
    assert position_on(r, "2024-01-04", "X")["avg_cost"] == pytest.approx(100.0, abs=1e-9)
    # NAV continuous: 99850 + 15 * 12 = 100030 before; 99910 + 1 * 120 after
    assert at(r, "2024-01-03", "nav") == at(r, "2024-01-04", "nav") == pytest.approx(100_030)


def test_reverse_split_with_fractional_units_keeps_the_fraction():
    r = reverse_split_run(fractional=True)

    assert position_on(r, "2024-01-04", "X")["qty"] == pytest.approx(1.5, abs=1e-12)
    assert at(r, "2024-01-04", "cash") == 99_850.0          # no cash in lieu
    assert "cash_in_lieu" not in r.corporate_actions["action"].tolist()
    assert at(r, "2024-01-04", "nav") == pytest.approx(100_030.0)   # 99850 + 1.5 * 120


@pytest.mark.parametrize(("fractional", "expected"), [
    # whole units: 15 -> 1.5 rounds toward zero to 1; 5 -> 0.5 -> 0 is canceled.
    # An adjusted order gets a row of its own (status unchanged, reason corporate_action)
    (False, {2: (1.0, "accepted", "corporate_action"), 3: (0.0, "canceled", "corporate_action")}),
    (True, {2: (1.5, "accepted", "corporate_action"), 3: (0.5, "accepted", "corporate_action")}),
])
def test_reverse_split_rescales_open_orders(fractional, expected):
    r = reverse_split_run(fractional, orders=[("X", 15, {"limit_price": 5.0}),
                                              ("X", 5, {"limit_price": 5.0})])

    orders = r.orders
    for oid, (qty, status, reason) in expected.items():
        rows = orders[orders["order_id"] == oid]
        on_split = rows[rows["ts"].dt.strftime("%Y-%m-%d") <= "2024-01-04"].iloc[-1]
        assert rows["qty"].iloc[-1] == pytest.approx(qty, abs=1e-12)
        assert rows["limit_price"].iloc[-1] == pytest.approx(50.0)   # 5 / 0.1
        assert (on_split["status"], on_split["reason"]) == (status, reason)


# ---------------------------------------------------------------- dividends with a pay date


def dividend_run(qty: float, sell_on: str | None = None, buy_on: str | None = None,
                 account: str = "cash"):
    # price 20 throughout; $0.50 ex 2024-01-05, paid 2024-01-09
    df = bars_of({"D": [20.0] * 6})
    ca = pd.DataFrame({"asset": ["D"], "ex_date": ["2024-01-05"], "amount": [0.5],
                       "pay_date": ["2024-01-09"]})

    class Trade(Plan):
        pass

    Trade.orders = {}
    if qty:
        Trade.orders["2024-01-02"] = [("D", qty, {})]
    if sell_on:
        Trade.orders[sell_on] = [("D", -qty, {})]
    if buy_on:
        Trade.orders[buy_on] = [("D", 100, {})]
    return ml4t.run_backtest(Trade, df, corporate_actions=ca, account=account)


def test_dividend_is_a_receivable_from_ex_date_to_pay_date():
    r = dividend_run(100)

    # 100 shares bought at 20 on 2024-01-03: cash 98000
    receivable = r.portfolio["receivable"].tolist()
    cash = r.portfolio["cash"].tolist()
    assert receivable == [0, 0, 0, 50, 50, 0]               # 100 * 0.50 from the ex-date ...
    assert cash == [100_000, 98_000, 98_000, 98_000, 98_000, 98_050]   # ... paid 2024-01-09
    assert r.portfolio["nav"].tolist() == [100_000] * 3 + [100_050] * 3


def test_dividend_entitlement_is_fixed_on_the_ex_date():
    # sold with an order placed on the ex-date (fills 2024-01-08): still entitled
    sold = dividend_run(100, sell_on="2024-01-05")
    assert sold.portfolio["cash"].iloc[-1] == 100_050.0          # 100000 + 100 * 0.50
    assert position_on(sold, "2024-01-05", "D")["qty"] == 100
    # bought at the ex-date open (order placed the day before): not entitled
    bought = dividend_run(0, buy_on="2024-01-04")
    assert bought.portfolio["dividends"].iloc[-1] == 0.0
    assert bought.portfolio["receivable"].max() == 0.0


def test_short_owes_the_dividend_until_pay_date():
    r = dividend_run(-100, account="margin")

    # short 100 at 20: cash 102000; owes 100 * 0.50 = 50 from the ex-date, paid on 01-09
    assert r.portfolio["receivable"].tolist() == [0, 0, 0, -50, -50, 0]
    assert r.portfolio["cash"].iloc[-1] == 101_950.0
    assert r.portfolio["nav"].iloc[-1] == 99_950.0       # 101950 - 100 * 20


def test_pay_date_before_ex_date_is_refused():
    ca = pd.DataFrame({"asset": ["D"], "ex_date": ["2024-01-05"], "amount": [0.5],
                       "pay_date": ["2024-01-04"]})
    with pytest.raises(DataError) as info:
        ml4t.run_backtest(Plan, bars_of({"D": [20.0] * 6}), corporate_actions=ca)
    assert (info.value.rule, info.value.row) == ("pay_before_ex", 0)


# ---------------------------------------------------------------- point-in-time history


class Watch(Plan):
    probes = ("2014-05-07", "2014-05-08", "2014-06-06", "2014-06-09")

    def probe(self, bars):
        return (self.data.history("AAPL", "close", 30).tolist(),
                self.data.history_array("AAPL", "close", 30, adjusted=False).tolist(),
                self.data.current("AAPL"), bars.close["AAPL"],
                self.data.history("AAPL", "volume", 1).tolist())


@pytest.fixture(scope="module")
def watched():
    return ml4t.run_backtest(Watch, RAW, start="2014-04-01", end="2014-06-12").strategy.seen


def test_history_before_the_split_is_not_adjusted_by_it(watched):
    adj, raw, current, close, _ = watched["2014-06-06"]

    assert adj[-1] == raw[-1] == current == close == 645.570023
    # the 2014-05-08 dividend is already reached: the bar before it (05-07, 592.329976)
    # is multiplied by 1 - 3.29 / 592.329976, i.e. becomes 592.329976 - 3.29 = 589.039976
    i = raw.index(592.329976)     # the 2014-05-07 close
    assert adj[i] == pytest.approx(589.039976, rel=1e-12)


def test_history_on_the_split_date_is_divided_by_the_ratio(watched):
    adj, raw, current, close, volume = watched["2014-06-09"]

    assert adj[-1] == raw[-1] == current == close == 93.699997   # traded price
    assert adj[-2] == pytest.approx(645.570023 / 7, rel=1e-12)    # 92.2242890
    assert raw[-2] == 645.570023                                  # adjusted=False
    assert adj[-3] == pytest.approx(647.349983 / 7, rel=1e-12)
    # 05-07 carries both the dividend factor and the split: 589.039976 / 7 = 84.148568
    assert adj[raw.index(592.329976)] == pytest.approx(589.039976 / 7, rel=1e-12)
    assert volume == [75_415_000.0]


def test_dividend_adjustment_starts_on_the_ex_date(watched):
    adj_before, raw_before, *_ = watched["2014-05-07"]
    adj_on, raw_on, *_ = watched["2014-05-08"]

    assert adj_before == raw_before                  # no action reached yet in the window
    factor = 1 - 3.29 / 592.329976                   # 0.9944457...
    np.testing.assert_allclose(adj_on[:-1], np.array(raw_on[:-1]) * factor, rtol=1e-12)
    assert adj_on[-1] == raw_on[-1] == 587.990011


def test_split_adjusted_volume_history():
    class Vol(Plan):
        probes = ("2014-06-09",)

        def probe(self, bars):
            return self.data.history("AAPL", "volume", 2).tolist()

    seen = ml4t.run_backtest(Vol, RAW, start="2014-06-02", end="2014-06-10").strategy.seen
    # 2014-06-06 traded 12,497,800 pre-split shares = 87,484,600 post-split shares
    assert seen["2014-06-09"] == [12_497_800 * 7, 75_415_000]


def test_same_day_split_and_dividend_use_post_split_units():
    # 2:1 split and a $1 dividend (per new share) both effective 2024-01-04; close before 40
    df = bars_of({"X": [40, 40, 19, 19, 19, 19]})
    ca = pd.DataFrame({"asset": ["X", "X"], "ex_date": ["2024-01-04"] * 2,
                       "ratio": [2.0, None], "amount": [None, 1.0]})

    class Look(Plan):
        orders = {"2024-01-02": [("X", 10, {})]}
        probes = ("2024-01-04",)

        def probe(self, bars):
            return self.data.history("X", "close", 3).tolist()

    r = ml4t.run_backtest(Look, df, corporate_actions=ca)

    # 10 -> 20 shares, then $1 on 20 shares = 20
    assert r.portfolio["dividends"].iloc[-1] == 20.0
    # previous close 40 is 20 in new units; factor 1 - 1/20 = 0.95: 40 / 2 * 0.95 = 19
    assert r.strategy.seen["2024-01-04"] == pytest.approx([19.0, 19.0, 19.0], rel=1e-12)


# ---------------------------------------------------------------- split-adjusted input


def test_split_adjusted_files_are_refused_naming_asset_and_date():
    with pytest.raises(DataError) as info:
        ml4t.run_backtest(Plan, ADJUSTED)

    e = info.value
    # KO's split (2012-08-13) comes first in time; adjusted close before 39.395, open 39.310001
    assert e.rule == "split_adjusted_input"
    assert "'KO'" in str(e) and "2012-08-13" in str(e)


def test_split_adjusted_files_are_rebuilt_into_traded_prices():
    rebuilt = check_price_adjustment(load_bars(ADJUSTED), "split_adjusted").to_frame()
    raw = load_bars(RAW).to_frame()

    assert rebuilt[["ts", "asset"]].equals(raw[["ts", "asset"]])
    for col in ("open", "high", "low", "close", "dividend"):
        np.testing.assert_allclose(rebuilt[col], raw[col], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(rebuilt["volume"], raw["volume"], rtol=1e-4)
    # e.g. AAPL 2012-01-03: adjusted 58.747143 * 7 = 411.230001
    assert rebuilt["close"].iloc[0] == pytest.approx(411.230001, rel=1e-6)


def test_engine_with_split_adjusted_declaration_trades_the_rebuilt_prices():
    class Closes(Plan):
        def on_start(self):
            super().on_start()
            self.closes = []

        def on_bar(self, bars):
            self.closes.append(bars.close.get("AAPL"))

    raw_run = ml4t.run_backtest(Closes, RAW)
    adj_run = ml4t.run_backtest(Closes, ADJUSTED, price_adjustment="split_adjusted")

    np.testing.assert_allclose(adj_run.strategy.closes, raw_run.strategy.closes, rtol=1e-4)
    assert len(raw_run.strategy.closes) == 754


@pytest.mark.parametrize("end", ["2013-12-31", "2012-06-30"])
def test_splits_after_the_window_end_are_still_undone_and_detected(end):
    # the window ends before AAPL's split (and, for 2012-06-30, before KO's too): every
    # kept AAPL price is still 7x too small in the adjusted file (KO's 2x before 2012-08-13)
    adjusted = load_bars(ADJUSTED, end=end)
    raw = load_bars(RAW, end=end).to_frame()

    rebuilt = check_price_adjustment(adjusted, "split_adjusted").to_frame()
    np.testing.assert_allclose(rebuilt["close"], raw["close"], rtol=1e-4)
    assert rebuilt["close"].iloc[0] == pytest.approx(411.230001, rel=1e-6)  # not 58.747143
    with pytest.raises(DataError) as info:
        check_price_adjustment(adjusted, "detect")
    assert info.value.rule == "split_adjusted_input" and "'KO'" in str(info.value)
    # the raw files show the gaps, inside the window or not: accepted unchanged
    raw_data = load_bars(RAW, end=end)
    assert check_price_adjustment(raw_data, "detect") is raw_data


def test_raw_declaration_trusts_adjusted_input_as_is():
    class Buy(Plan):
        orders = {"2014-06-05": [("AAPL", 10, {})]}

    r = ml4t.run_backtest(Buy, ADJUSTED, start="2014-06-02", end="2014-06-10",
                          price_adjustment="raw")

    # bought 10 at the adjusted 06-06 open 92.842857; the split multiplies the position by
    # 7 at an unchanged price, so NAV jumps by 60 * 93.699997 (the documented hazard)
    assert position_on(r, "2014-06-09", "AAPL")["qty"] == 70
    jump = at(r, "2014-06-09", "nav") - at(r, "2014-06-06", "nav")
    assert jump == pytest.approx(70 * 93.699997 - 10 * 92.224289, abs=CENT)


# ---------------------------------------------------------------- property: buy and hold


SESSIONS = pd.bdate_range("2013-01-02", "2013-03-28", freq="C",
                          holidays=["2013-01-21", "2013-02-18"])   # XNYS sessions


@st.composite
def action_paths(draw):
    """A raw price path that really gaps at each split and dividend.

    Per bar h >= 1: optional split ratio r_h, optional dividend yield y_h (paid per unit in
    effect after the split), then open = close[h-1] / r_h * (1 - y_h) * exp(gap) and
    close = open * exp(move).
    """
    n = draw(st.integers(4, 30))
    ratios = st.sampled_from([2.0, 3.0, 7.0, 1.5, 0.5, 0.1, 0.25])
    c = draw(st.floats(20, 200))
    rows, actions = [], []
    n_splits = 0
    for h in range(n):
        r = y = None
        if h >= 1:
            if n_splits < 4:        # keeps prices within 1e-2 .. 1e7
                r = draw(st.one_of(st.none(), ratios))
                n_splits += r is not None
            y = draw(st.one_of(st.none(), st.floats(0.001, 0.08)))
        gap = draw(st.floats(-0.03, 0.03)) if h else 0.0
        move = draw(st.floats(-0.05, 0.05))
        base = c / (r or 1.0)
        d = base * y if y else 0.0
        o = (base - d) * math.exp(gap)
        c_new = o * math.exp(move)
        rows.append((SESSIONS[h], o, max(o, c_new) * 1.001, min(o, c_new) * 0.999, c_new))
        if r:
            actions.append(("split", h, r))
        if y:
            actions.append(("dividend", h, d))
        c = c_new
    # the actions come as csvdir-style split/dividend columns (paid on the ex-date, and
    # checked by the split-adjusted input detection) or as a table with pay dates
    as_columns = draw(st.booleans())
    pay_lag = 0 if as_columns else draw(st.integers(0, 3))
    fractional = draw(st.booleans())
    return rows, actions, pay_lag, fractional, as_columns


class Hold(Strategy):
    qty = 0.0

    def on_start(self):
        self.adjusted = []      # adjusted close history as of each bar

    def on_bar(self, bars):
        if not self.adjusted:
            self.broker.order("X", self.qty)
        self.adjusted.append(self.data.history_array("X", "close", 100))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(action_paths())
def test_buy_and_hold_is_continuous_and_matches_the_adjusted_return(path):
    rows, actions, pay_lag, fractional, as_columns = path
    df = pd.DataFrame(rows, columns=["date", "open", "high", "low", "close"])
    df["asset"] = "X"
    if as_columns:
        df["split"], df["dividend"] = 1.0, 0.0
        for kind, h, v in actions:
            df.loc[h, kind] = v
    ca = None if as_columns else pd.DataFrame({
        "asset": ["X"] * len(actions),
        "ex_date": [SESSIONS[h] for _, h, _ in actions],
        "ratio": [v if k == "split" else None for k, _, v in actions],
        "amount": [v if k == "dividend" else None for k, _, v in actions],
        "pay_date": [SESSIONS[h + pay_lag] if k == "dividend" else None
                     for k, h, _ in actions],
    }) if actions else None
    cash, c = 100_000.0, df["close"].to_numpy()
    q0 = 0.5 * cash / c[0] if fractional else float(math.floor(0.5 * cash / c[0]))

    r = ml4t.run_backtest(Hold, df, params={"qty": q0}, corporate_actions=ca, cash=cash,
                          fill="same_close", fractional=fractional)

    nav = r.portfolio["nav"].to_numpy()
    held = r.positions.set_index("ts")["qty"]
    qty = held.reindex(r.portfolio.index, fill_value=0.0).to_numpy()   # 0 once split away
    rest = cash - q0 * c[0]                      # cash not invested at bar 0's close
    assert len(nav) == len(rows) and qty[0] == q0

    # replay the actions by hand: units, cash in lieu, dividends (earned on the ex-date)
    q, cil, divs, keep = q0, 0.0, 0.0, 1.0
    for h in range(1, len(rows)):
        for kind, hh, v in actions:
            if hh != h:
                continue
            if kind == "split":
                prev_unit = c[h - 1] / v                     # pre-split close in new units
                q_new = q * v if fractional else float(math.floor(q * v + 1e-9))
                if abs(q_new - round(q_new)) <= 1e-9:
                    q_new = float(round(q_new))    # the ledger snaps float noise to whole units
                cil += (q * v - q_new) * prev_unit
                q = q_new
            else:
                divs += q * v
                split = np.prod([x for k2, h2, x in actions if k2 == "split" and h2 == h])
                keep *= 1 - v / (c[h - 1] / split)           # the adjustment factor
        assert qty[h] == pytest.approx(q, rel=1e-12)
        # continuity: NAV at the ex-date open = previous NAV + the overnight move of the
        # units held + dividends earned (cash in lieu is paid at the previous close / r)
        split = np.prod([x for k2, h2, x in actions if k2 == "split" and h2 == h])
        nav_open = nav[h] - q * (c[h] - rows[h][1])
        expected = nav[h - 1] + q * (rows[h][1] - c[h - 1] / split) + sum(
            q * v for k2, h2, v in actions if k2 == "dividend" and h2 == h)
        assert nav_open == pytest.approx(expected, rel=1e-9, abs=1e-9 * cash)

    # total return: adjusted history reinvests each dividend at (previous close - dividend);
    # paying it in cash instead leaves the shares' value short by the product of the factors
    # keep = prod(1 - d / previous close), so exactly
    #     q_T * c_T = (q_T / (q0 * prod r)) * q0 * c_0 * G * keep,  G = A_T / A_0
    adjusted = r.strategy.adjusted[-1]
    growth = adjusted[-1] / adjusted[0]
    ratio_all = np.prod([v for k, _, v in actions if k == "split"])
    whole_share = q / (q0 * ratio_all)           # 1 with fractional units
    assert nav[-1] - rest - cil - divs == pytest.approx(
        q0 * c[0] * growth * keep * whole_share, rel=1e-9, abs=1e-9 * cash)
    if fractional and not divs:
        assert (nav[-1] - rest) / (nav[0] - rest) == pytest.approx(growth, rel=1e-9)
    assert r.portfolio["dividends"].iloc[-1] == pytest.approx(divs, rel=1e-9, abs=1e-9)

    # point in time: as of bar t the last value is the traded close, and the adjusted
    # return between any two past bars never changes when later actions arrive
    for t, window in enumerate(r.strategy.adjusted):
        assert len(window) == t + 1 and window[-1] == c[t]
        np.testing.assert_allclose(window / window[-1], adjusted[: t + 1] / adjusted[t],
                                   rtol=1e-9)


# ------------------------------------------------------------ cash in lieu, custom
def _three_for_two(**kw):
    from conftest import frame, scripted

    df = frame({"X": [(30.0, 30.0, 30.0, 30.0)] * 2 + [(20.0, 20.0, 20.0, 20.0)] * 2})
    df["split"] = [1.0, 1.0, 1.5, 1.0]
    return run_backtest(scripted({0: [("X", 101, {})]}), df, cash=10_000, **kw)


def test_cash_in_lieu_default_and_from_a_function():
    """101 shares bought at 30 (bar 1 open); a 3:2 split on bar 2 makes 151.5: 151 kept,
    the half share paid at the pre-split close / ratio = 30 / 1.5 = 20 -> 10.00, or the
    amount a ``cash_in_lieu`` function returns (5.17). Cash 10,000 - 3,030 + lieu."""
    seen = []

    def lieu(asset, ratio):
        seen.append((asset, ratio))
        return 5.17

    plain = _three_for_two()
    custom = _three_for_two(cash_in_lieu=lieu)
    assert seen == [("X", 1.5)]
    for r, cash in ((plain, 10.0), (custom, 5.17)):
        row = r.corporate_actions[r.corporate_actions["action"] == "cash_in_lieu"].iloc[0]
        assert row["cash"] == pytest.approx(cash) and row["qty"] == pytest.approx(0.5)
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(10_000 - 3_030 + cash)
        # 151 shares kept, worth 151 x 20 = 3,020
        assert r.portfolio["positions_value"].iloc[-1] == pytest.approx(3_020.0)
    # the custom amount is a price of 10.34 per new share for the P&L of the half share
    row = custom.corporate_actions[custom.corporate_actions["action"] == "cash_in_lieu"]
    assert row["value"].iloc[0] == pytest.approx(10.34)


def test_cash_in_lieu_function_returning_none_keeps_the_default():
    r = _three_for_two(cash_in_lieu=lambda asset, ratio: None)
    assert r.portfolio["cash"].iloc[-1] == pytest.approx(10_000 - 3_030 + 10.0)


def test_cash_in_lieu_must_be_callable():
    with pytest.raises(ConfigError, match="cash_in_lieu"):
        Engine(cash_in_lieu=5.17)
