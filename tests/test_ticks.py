"""Trade ticks and bid/ask quotes (ml4t/ticks.py and the quote rules of matching.pyx).

Ticks become one-row bars per (timestamp, asset); quotes are matched with the quote
rules: market buys at the ask, sells at the bid, limits against the opposite side, and
the quoted size caps the fills at that quote. Every expected number below is worked out
by hand from those rules; the mode-equivalence test runs one Strategy class unchanged on
bars, ticks and quotes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml4t import Strategy, run_backtest
from ml4t.errors import DataError
from ml4t.ticks import load_quotes, load_ticks

DATA = Path(__file__).resolve().parents[1] / "data" / "backtrader"
T0 = pd.Timestamp("2024-01-02 15:00:00", tz="UTC")


def secs(n: int) -> list[pd.Timestamp]:
    """``n`` timestamps one second apart (one UTC-date session)."""
    return [T0 + pd.Timedelta(seconds=i) for i in range(n)]


def batch(data):
    (b,) = list(data.batches())
    return b


class Scripted(Strategy):
    """Places ``plan[k]`` (a list of (qty, kwargs)) in on_bar of slice k."""

    plan = {}

    def on_start(self):
        self.k = 0

    def on_bar(self, bars):
        for qty, kw in self.plan.get(self.k, []):
            self.broker.order(self.data.assets[0], qty, **kw)
        self.k += 1


def run(plan, data, **config):
    config.setdefault("cash", 1e6)
    return run_backtest(Scripted, data, params={"plan": plan}, **config)


def quotes(rows, asset="Q"):
    """Quote frame from (bid, ask, bid_size, ask_size) tuples one second apart."""
    df = pd.DataFrame(rows, columns=["bid", "ask", "bid_size", "ask_size"])
    df.insert(0, "ts", secs(len(rows)))
    df.insert(1, "asset", asset)
    return df


# ============================================================================ loading
class TestLoadTicks:
    def test_same_timestamp_trades_become_one_bar(self):
        t = secs(2)
        df = pd.DataFrame({"ts": [t[0]] * 4 + [t[1]] * 2,
                           "price": [10.0, 10.5, 9.8, 10.2, 10.4, 10.6],
                           "size": [5, 3, 2, 1, 7, 4]})
        b = batch(load_ticks(df))
        # t0: first 10.0, extremes 10.5 / 9.8, last 10.2, sizes 5 + 3 + 2 + 1 = 11
        # t1: first 10.4, high 10.6, low 10.4, last 10.6, 7 + 4 = 11
        assert b.open.tolist() == [10.0, 10.4]
        assert b.high.tolist() == [10.5, 10.6]
        assert b.low.tolist() == [9.8, 10.4]
        assert b.close.tolist() == [10.2, 10.6]
        assert b.volume.tolist() == [11, 11]

    def test_assets_are_aggregated_separately_in_file_order(self):
        t = secs(1)
        df = pd.DataFrame({"ts": [t[0]] * 4, "symbol": ["B", "A", "B", "A"],
                           "last": [20.0, 10.0, 19.0, 11.0], "qty": [1, 2, 3, 4]})
        data = load_ticks(df)
        b = batch(data)
        rows = {data.assets[a]: (o, h, lo, c, v) for a, o, h, lo, c, v in
                zip(b.asset, b.open, b.high, b.low, b.close, b.volume)}
        assert rows == {"A": (10.0, 11.0, 10.0, 11.0, 6.0), "B": (20.0, 20.0, 19.0, 19.0, 4.0)}

    def test_nan_price_is_refused_with_its_row(self):
        df = pd.DataFrame({"ts": secs(3), "price": [10.0, np.nan, 10.1], "size": [1, 1, 1]})
        with pytest.raises(DataError) as e:
            load_ticks(df)
        assert (e.value.rule, e.value.row) == ("nan_price", 1)

    def test_bad_rows_are_named_by_input_row_and_column(self, tmp_path):
        # row 3 of the file (line 5) has a negative price; the error names the file, that
        # row and the file's own column name, not a row of the aggregated bars
        f = tmp_path / "t.csv"
        f.write_text("ts,last,qty\n2024-01-02 15:00:00,10,1\n2024-01-02 15:00:01,10,1\n"
                     "2024-01-02 15:00:01,10.1,1\n2024-01-02 15:00:02,-10,1\n")
        with pytest.raises(DataError) as e:
            load_ticks(f)
        assert (e.value.path, e.value.row, e.value.line, e.value.column, e.value.rule) == (
            str(f), 3, 5, "last", "negative_price")
        f.write_text("ts,last,qty\n2024-01-02 15:00:00,10,1\n2024-01-02 15:00:01,10,-2\n")
        with pytest.raises(DataError) as e:
            load_ticks(f)
        assert (e.value.row, e.value.column, e.value.rule) == (1, "qty", "negative_volume")

    def test_time_going_backwards_is_refused_not_sorted(self):
        t = secs(3)
        df = pd.DataFrame({"ts": [t[0], t[2], t[1]], "price": [10.0, 10.2, 10.1],
                           "size": [1, 1, 1]})
        with pytest.raises(DataError) as e:
            load_ticks(df)
        assert (e.value.row, e.value.rule) == (2, "time_not_increasing")
        with pytest.raises(DataError) as e:
            load_quotes(quotes([(9.9, 10.1, 1, 1), (9.8, 10.0, 1, 1)]).iloc[[1, 0]])
        assert (e.value.row, e.value.rule) == (1, "time_not_increasing")

    def test_ticks_without_sizes_load_without_volume(self):
        df = pd.DataFrame({"ts": secs(3), "price": [10.0, 10.2, 10.1]})
        b = batch(load_ticks(df))
        assert b.close.tolist() == [10.0, 10.2, 10.1]
        assert np.isnan(b.volume).all()
        # without a cap the market order fills at the next tick: 10.2
        r = run({0: [(5, {})]}, load_ticks(df))
        assert r.fills["price"].tolist() == [10.2]

    def test_sample_ticks_file_loads(self):
        raw = pd.read_csv(DATA / "ticksample.csv")
        data = load_ticks(DATA / "ticksample.csv")
        b = batch(data)
        assert data.assets == ("ticksample",)
        # one bar per distinct timestamp; volume is conserved
        assert len(b.ts) == raw["Datetime"].nunique()
        assert b.volume.sum() == raw["Volume"].sum()
        # the first trade: 3067.00 x 180
        assert (b.open[0], b.volume[0]) == (3067.0, 180.0)


class TestLoadQuotes:
    def test_columns_and_mid_price(self):
        data = load_quotes(quotes([(9.9, 10.1, 100, 200), (10.0, 10.2, 300, 400)]))
        b = batch(data)
        assert b.bid.tolist() == [9.9, 10.0] and b.ask.tolist() == [10.1, 10.2]
        assert b.bid_size.tolist() == [100, 300] and b.ask_size.tolist() == [200, 400]
        # what a strategy sees as the close is the mid: (9.9 + 10.1) / 2 = 10.0, 10.1
        assert b.close.tolist() == pytest.approx([10.0, 10.1])

    def test_crossed_quote_is_refused(self):
        df = quotes([(9.9, 10.1, 1, 1), (10.0, 10.2, 1, 1), (10.3, 10.2, 1, 1)])
        with pytest.raises(DataError) as e:
            load_quotes(df)
        # row 2: bid 10.3 > ask 10.2
        assert (e.value.rule, e.value.row) == ("crossed_quote", 2)

    def test_sample_bidask_file_loads(self):
        data = load_quotes(DATA / "bidask.csv")
        b = batch(data)
        # ten quotes, two at 16:53:54: the last one (0.5460 / 0.5470) counts -> 9 rows
        assert data.assets == ("bidask",)
        assert len(b.ts) == 9
        assert (b.bid[4], b.ask[4]) == (0.5460, 0.5470)
        assert np.isnan(b.bid_size).all() and np.isnan(b.ask_size).all()


# ============================================================================ matching
class TestTickMatching:
    def test_market_order_fills_at_the_next_ticks_price(self):
        t = secs(3)
        df = pd.DataFrame({"ts": [t[0], t[1], t[1], t[2]], "price": [10.0, 10.4, 10.6, 10.1],
                           "size": [5, 7, 4, 1]})
        r = run({0: [(3, {})]}, load_ticks(df))
        # placed on tick 0; the next timestamp's first trade is 10.4 (then 10.6)
        assert r.fills[["ts", "qty", "price"]].values.tolist() == [[t[1], 3, 10.4]]

    def test_sample_ticks_market_buy(self):
        r = run({0: [(1, {})]}, load_ticks(DATA / "ticksample.csv"))
        # the second tick trades at 3066.00 (2015-09-23 20:57:46.151)
        f = r.fills.iloc[0]
        assert f["price"] == 3066.0
        assert f["ts"] == pd.Timestamp("2015-09-23 20:57:46.151", tz="UTC")


class TestQuoteMatching:
    def test_market_buy_at_the_ask_and_sell_at_the_bid(self):
        data = load_quotes(quotes([(9.9, 10.1, 500, 500), (10.0, 10.2, 500, 500),
                                   (10.1, 10.3, 500, 500), (10.2, 10.4, 500, 500)]))
        r = run({0: [(10, {})], 1: [(-10, {})]}, data)
        # buy on quote 0 -> quote 1's ask 10.2; sell on quote 1 -> quote 2's bid 10.1
        assert r.fills[["qty", "price", "ref_price"]].values.tolist() == [
            [10, 10.2, 10.2], [-10, 10.1, 10.1]]
        assert r.trades["pnl"].iloc[0] == pytest.approx(-1.0)   # 10 x (10.1 - 10.2)

    def test_buy_limit_fills_at_the_ask_once_ask_reaches_the_limit(self):
        data = load_quotes(quotes([(10.0, 10.2, 500, 500), (9.95, 10.05, 500, 500),
                                   (9.9, 9.98, 500, 500), (9.9, 9.95, 500, 500)]))
        r = run({0: [(10, {"limit_price": 10.0})]}, data)
        # quote 1: ask 10.05 > 10.0 (although its bid 9.95 and mid 10.0 are not) -> no fill;
        # quote 2: ask 9.98 <= 10.0 -> fills at the ask 9.98
        assert r.fills[["ts", "price"]].values.tolist() == [[secs(4)[2], 9.98]]

    def test_sell_limit_and_stops_use_the_right_side(self):
        data = load_quotes(quotes([(10.0, 10.2, 500, 500), (10.1, 10.3, 500, 500),
                                   (10.25, 10.35, 500, 500), (9.7, 9.9, 500, 500)]))
        r = run({0: [(-10, {"limit_price": 10.2}), (10, {"stop_price": 10.3})]}, data,
                account="margin")
        # sell limit 10.2: quote 1 bid 10.1 < 10.2; quote 2 bid 10.25 >= 10.2 -> at 10.25.
        # buy stop 10.3: quote 1 ask 10.3 >= 10.3 -> triggers and fills at the ask 10.3
        fills = r.fills.set_index("order_id")
        assert (fills.loc[1, "price"], fills.loc[1, "ts"]) == (10.25, secs(4)[2])
        assert (fills.loc[2, "price"], fills.loc[2, "ts"]) == (10.3, secs(4)[1])

    def test_quoted_size_caps_the_fill_and_the_rest_carries_over(self):
        data = load_quotes(quotes([(9.9, 10.0, 1, 1), (9.9, 10.1, 500, 100),
                                   (9.9, 10.2, 500, 150), (9.9, 10.3, 500, 200)]))
        r = run({0: [(300, {})]}, data)
        # GTC buy 300 against ask sizes 100, 150, 200: 100 @ 10.1, 150 @ 10.2, 50 @ 10.3
        assert r.fills[["qty", "price"]].values.tolist() == [[100, 10.1], [150, 10.2],
                                                              [50, 10.3]]
        rows = r.orders[r.orders["order_id"] == 1]
        assert list(rows["status"])[-3:] == ["partially_filled", "partially_filled", "filled"]

    def test_quoted_size_is_shared_by_the_orders_at_that_quote(self):
        data = load_quotes(quotes([(9.9, 10.0, 1, 1), (9.9, 10.1, 500, 100),
                                   (9.9, 10.2, 500, 100)]))
        r = run({0: [(80, {}), (80, {})]}, data)
        # quote 1: order 1 takes 80 of 100, order 2 the last 20; quote 2: order 2's 60
        assert r.fills[["order_id", "qty", "price"]].values.tolist() == [
            [1, 80, 10.1], [2, 20, 10.1], [2, 60, 10.2]]

    def test_ioc_against_a_small_quote_cancels_the_rest(self):
        data = load_quotes(quotes([(9.9, 10.0, 1, 1), (9.9, 10.1, 500, 100),
                                   (9.9, 10.2, 500, 900)]))
        r = run({0: [(300, {"time_in_force": "IOC"})]}, data)
        assert r.fills["qty"].tolist() == [100]
        last = r.orders[r.orders["order_id"] == 1].iloc[-1]
        assert (last["status"], last["reason"], last["filled"]) == ("canceled",
                                                                    "ioc_unfilled", 100)

    def test_sample_bidask_market_buy(self):
        r = run({0: [(1000, {})]}, load_quotes(DATA / "bidask.csv"))
        # second quote 02/03/2010 16:53:51: bid 0.5343, ask 0.5347 -> buy at the ask
        assert r.fills["price"].tolist() == [0.5347]


# ============================================================================ equivalence
PRICES = [100.0, 100.5, 99.2, 99.8, 101.0, 102.5, 101.1, 100.2, 100.9]
SIZES = [10, 20, 30, 40, 50, 60, 70, 80, 90]


class Mixed(Strategy):
    """One strategy for bars, ticks and quotes: market, limit, trailing and stop orders."""

    def on_start(self):
        self.k = 0

    def on_bar(self, bars):
        b, a = self.broker, self.data.assets[0]
        if self.k == 0:
            b.order(a, 10)                          # 1: market
            b.order(a, 5, limit_price=99.5)         # 2: buy limit
        elif self.k == 3:
            b.order(a, -10, trail_amount=1.0)       # 3: trailing sell from close 99.8
        elif self.k == 6:
            b.order(a, 5, stop_price=100.5)         # 4: buy stop
        self.k += 1


# Hand calculation (every bar is one price p: open = high = low = close = p):
#   1 market buy 10 placed at tick 0 -> tick 1's price 100.5
#   2 buy limit 5 @ 99.5: tick 1 (100.5) no; tick 2 99.2 <= 99.5 -> min(99.2, 99.5) = 99.2
#   3 trailing sell 10, amount 1.0, from 99.8: stop 98.8; tick 4 101.0 -> 100.0; tick 5
#     102.5 -> 101.5; tick 6 101.1 <= 101.5 -> min(101.1, 101.5) = 101.1
#   4 buy stop 5 @ 100.5 placed at tick 6: tick 7 100.2 < 100.5; tick 8 100.9 -> 100.9
EXPECTED = [[1, 10, 100.5, 1], [2, 5, 99.2, 2], [3, -10, 101.1, 6], [4, 5, 100.9, 8]]


def as_rows(result):
    ts = secs(len(PRICES))
    return [[int(o), q, p, ts.index(t)] for o, q, p, t in
            result.fills[["order_id", "qty", "price", "ts"]].values.tolist()]


class TestModeEquivalence:
    def test_bars_ticks_and_quotes_give_the_same_fills(self):
        ts = secs(len(PRICES))
        ticks = pd.DataFrame({"ts": ts, "asset": "EQ", "price": PRICES, "size": SIZES})
        bars = pd.DataFrame({"ts": ts, "asset": "EQ", "open": PRICES, "high": PRICES,
                             "low": PRICES, "close": PRICES, "volume": SIZES})
        zero_spread = pd.DataFrame({"ts": ts, "asset": "EQ", "bid": PRICES, "ask": PRICES})
        r_bars = run_backtest(Mixed, bars, calendar=None)
        r_ticks = run_backtest(Mixed, load_ticks(ticks))
        r_quotes = run_backtest(Mixed, load_quotes(zero_spread))
        assert as_rows(r_ticks) == EXPECTED
        pd.testing.assert_frame_equal(r_bars.fills, r_ticks.fills)
        pd.testing.assert_frame_equal(r_bars.orders, r_ticks.orders)
        pd.testing.assert_frame_equal(r_ticks.fills, r_quotes.fills)
        pd.testing.assert_frame_equal(r_bars.portfolio, r_ticks.portfolio)


# ============================================================================ invariants
@st.composite
def quote_frames(draw):
    n = draw(st.integers(2, 10))
    mid = draw(st.floats(5.0, 100.0))
    rows = []
    for _ in range(n):
        mid *= 1 + draw(st.floats(-0.02, 0.02))
        half = draw(st.sampled_from([0.0, 0.01, 0.05]))
        rows.append((mid - half, mid + half, draw(st.sampled_from([0, 10, 100, np.nan])),
                     draw(st.sampled_from([0, 10, 100, np.nan]))))
    return quotes(rows)


QUOTE_ORDERS = st.lists(st.tuples(
    st.integers(0, 9), st.integers(1, 60).flatmap(lambda q: st.sampled_from([q, -q])),
    st.sampled_from(["market", "limit", "stop"]), st.floats(-0.03, 0.03),
    st.sampled_from(["GTC", "DAY", "IOC", "FOK"])), min_size=1, max_size=10)


class RandomQuoteOrders(Strategy):
    orders = ()

    def on_start(self):
        self.k = 0

    def on_bar(self, bars):
        px = self.data.current("Q")
        for k, qty, kind, off, tif in self.orders:
            if k != self.k:
                continue
            kw = {"time_in_force": tif}
            if kind == "limit":
                kw["limit_price"] = px * (1 + off)
            elif kind == "stop":
                kw["stop_price"] = px * (1 + off)
            self.broker.order("Q", qty, **kw)
        self.k += 1


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(quote_frames(), QUOTE_ORDERS)
def test_quote_fills_are_at_the_touch_and_within_size(df, orders):
    r = run_backtest(RandomQuoteOrders, load_quotes(df), params={"orders": tuple(orders)},
                     account="margin", cash=1e6)
    q = df.set_index("ts")
    for _, f in r.fills.iterrows():
        row = q.loc[f["ts"]]
        # a buy's reference price is the ask, a sell's the bid, of the quote it filled on
        assert f["ref_price"] == (row["ask"] if f["qty"] > 0 else row["bid"])
    # the fills of one side at one quote never exceed its quoted size
    for (t, buy), g in r.fills.groupby([r.fills["ts"], r.fills["qty"] > 0]):
        size = q.loc[t, "ask_size" if buy else "bid_size"]
        if not np.isnan(size):
            assert g["qty"].abs().sum() <= size
    # an order never fills more than its quantity, and never after it ended
    for oid, rows in r.orders.groupby("order_id"):
        f = r.fills[r.fills["order_id"] == oid]
        assert abs(f["qty"].sum()) <= abs(rows["qty"].iloc[-1])
        ended = rows[rows["status"].isin(["filled", "canceled", "rejected", "expired"])]
        if len(ended):
            assert len(ended) == 1 and (f["ts"] <= ended["ts"].iloc[0]).all()
