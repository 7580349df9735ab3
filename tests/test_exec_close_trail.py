"""Market-on-close orders, trailing stop-limits and the ``on_open`` hook (issue #6).

Every number is worked out by hand from the rules in ``ml4t/_core/matching.pyx`` and
``ml4t/_core/clock.pyx``:

* market-on-close (``at_close=True``): fills at the close of the last bar of its asset
  in the session it was placed in; placed at (or after) that bar -- always so with daily
  bars -- at the close of the asset's next bar; never on the bar it was placed on; a
  session the data ends in never closes (``end_of_data``);
* trailing stop-limit (a trail plus ``limit_offset``): stop and limit (stop -/+ offset)
  move with the trail up to and including the bar that triggers the stop; then the
  limit stays where it is;
* ``Strategy.on_open(opens)``: called before a slice's bars are read; orders placed there
  are matched against that slice.

Daily bars are stamped on consecutive XNYS sessions (``conftest.day_ts``); intraday bars
are hourly, four per session (``conftest.intraday_ts``).
"""
from __future__ import annotations

import math

import pytest

from conftest import day_ts, final, frame, intraday_ts, order_rows, run
from ml4t import Strategy, run_backtest
from ml4t.errors import OrderError


def fills_of(result, order_id):
    return result.fills[result.fills["order_id"] == order_id].reset_index(drop=True)


# ====================================================================== market-on-close
DAILY = [(10.0, 10.5, 9.5, 10.2), (11.0, 11.5, 10.5, 11.2), (12.0, 12.5, 11.5, 12.2),
         (13.0, 13.5, 12.5, 13.2)]


def test_moc_daily_fills_at_the_next_bars_close():
    df = frame({"X": DAILY})
    res = run({0: [("X", 10, {"at_close": True})], 3: [("X", 5, {"at_close": True})]}, df)
    f = fills_of(res, 1)
    assert len(f) == 1
    assert f.loc[0, "price"] == 11.2                  # bar 1's close, not bar 0's (10.2)
    assert f.loc[0, "ts"] == day_ts(4)[1]
    assert final(res, 1)["status"] == "filled"
    # placed on the last bar: the data ends before its session closes
    last = final(res, 2)
    assert (last["status"], last["reason"]) == ("canceled", "end_of_data")
    assert res.portfolio["cash"].iloc[-1] == pytest.approx(100_000 - 10 * 11.2)


INTRADAY = [(100.0, 101.0, 99.0, 100.5), (100.5, 102.0, 100.0, 101.5),
            (101.5, 103.0, 101.0, 102.5), (102.5, 104.0, 102.0, 103.5),   # day 1
            (104.0, 105.0, 103.0, 104.5), (104.5, 106.0, 104.0, 105.5),
            (105.5, 107.0, 105.0, 106.5), (106.5, 108.0, 106.0, 107.5)]   # day 2


class MocIntraday(Strategy):
    def on_start(self):
        self.k = 0
        self.heard = []

    def on_fill(self, fill):
        self.heard.append((self.k, fill.order_id, fill.price, fill.ts))

    def on_bar(self, bars):
        if self.k == 1:
            self.broker.order("X", 5, at_close=True)      # mid-session: the day's close
        elif self.k == 3:
            self.broker.order("X", -2, at_close=True)     # the day's last bar: next close
        elif self.k == 5:
            self.broker.order("X", 1, at_close=True)      # its session never closes
        self.k += 1


def test_moc_intraday_session_close_and_last_bar():
    ts = intraday_ts(2, 4)
    res = run_backtest(MocIntraday, frame({"X": INTRADAY}, ts))
    strat = res.strategy
    # order 1 fills at day 1's last close (103.5), stamped at that bar, and is heard
    # before on_bar of day 2's first bar (4 bars seen); order 2, placed on that last
    # bar, fills at the close of the next bar (day 2's first: 104.5), matched with that
    # bar and heard before its on_bar too
    assert strat.heard == [(4, 1, 103.5, ts[3]), (4, 2, 104.5, ts[4])]
    last = final(res, 3)
    assert (last["status"], last["reason"]) == ("canceled", "end_of_data")
    cash = 100_000 - 5 * 103.5 + 2 * 104.5
    assert res.portfolio["cash"].iloc[-1] == pytest.approx(cash)


def test_moc_takes_no_prices_and_no_ioc():
    df = frame({"X": DAILY})

    def bad(kw):
        return lambda s, bars: s.broker.order("X", 1, at_close=True, **kw)

    for kw, words in (({"limit_price": 10.0}, "market-on-close"),
                      ({"trail_amount": 1.0}, "market-on-close"),
                      ({"time_in_force": "IOC"}, "GTC or DAY")):
        with pytest.raises(OrderError, match=words):
            run({0: [bad(kw)]}, df)


# ================================================================= trailing stop-limit
class TrailLimit(Strategy):
    """Enter 10 X (or short) at bar 0's open; place the trailing stop-limit at bar 0's
    close (100)."""

    side = 1
    kw = {}

    def on_start(self):
        self.k = 0
        self.broker.order("X", 10 * self.side)

    def on_bar(self, bars):
        if self.k == 0:
            self.broker.order("X", -10 * self.side, **self.kw)
        self.k += 1


def _trail_run(bars, side, kw):
    cls = type("T", (TrailLimit,), {"side": side, "kw": kw})
    return run_backtest(cls, frame({"X": bars}))


def test_sell_trailing_stop_limit_by_amount_rests_after_a_gap_then_fills_at_its_limit():
    bars = [(100.0, 101.0, 99.0, 100.0),
            # low 100 > stop 98: no trigger; the trail moves to the close 105:
            # stop 103, limit 102
            (101.0, 106.0, 100.0, 105.0),
            # opens at 101.5 <= 103: triggered at the open, a sell limit at 102 all bar;
            # high 101.8 < 102: no fill
            (101.5, 101.8, 100.5, 101.0),
            # the limit stays 102: high 104 >= 102, fills at max(open 101, 102) = 102
            (101.0, 104.0, 100.0, 103.5)]
    res = _trail_run(bars, 1, {"trail_amount": 2.0, "limit_offset": 1.0})
    rows = order_rows(res, 2)
    assert rows["stop_price"].iloc[0] == 98.0 and rows["limit_price"].iloc[0] == 97.0
    f = fills_of(res, 2)
    assert list(f["price"]) == [102.0]
    assert f.loc[0, "ts"] == day_ts(4)[3]
    assert final(res, 2)["stop_price"] == 103.0 and final(res, 2)["limit_price"] == 102.0


def test_trail_moves_on_the_trigger_bar_then_the_limit_stays():
    bars = [(100.0, 101.0, 99.0, 100.0),      # stop 98, limit 99 (offset -1: above)
            # low 97 <= 98 inside the bar: triggered; the stop (98) is below the limit
            # (99), so no fill this bar; the close 104 still moves the trail: stop 102,
            # limit 103
            (99.0, 104.5, 97.0, 104.0),
            # a limit at 103 from now on: high 103.5 >= 103 > open 102.5: fills at 103
            (102.5, 103.5, 101.0, 101.5)]
    res = _trail_run(bars, 1, {"trail_amount": 2.0, "limit_offset": -1.0})
    assert list(fills_of(res, 2)["price"]) == [103.0]


def test_buy_trailing_stop_limit_by_percent():
    bars = [(100.0, 101.0, 99.0, 100.0),      # short entry; stop 105, limit 105.5
            # high 100 < 105; the trail follows the close 96: stop 100.8, limit 101.3
            (99.0, 100.0, 95.0, 96.0),
            # high 101 >= 100.8 inside the bar, the stop within the limit: fills at 100.8
            (97.0, 101.0, 96.5, 100.5)]
    res = _trail_run(bars, -1, {"trail_percent": 0.05, "limit_offset": 0.5})
    rows = order_rows(res, 2)
    assert rows["stop_price"].iloc[0] == pytest.approx(105.0)
    assert rows["limit_price"].iloc[0] == pytest.approx(105.5)
    f = fills_of(res, 2)
    assert len(f) == 1 and f.loc[0, "price"] == pytest.approx(96 * 1.05)
    assert f.loc[0, "qty"] == 10


def test_trail_start_sets_where_the_trail_begins():
    # trail from 104 (not the close 100): stop 102, limit 101; bar 1 opens at 101.5,
    # below the stop: a limit at 101 all bar, filled at the open 101.5
    bars = [(100.0, 101.0, 99.0, 100.0), (101.5, 102.0, 100.5, 101.0)]
    res = _trail_run(bars, 1, {"trail_amount": 2.0, "limit_offset": 1.0, "trail_start": 104.0})
    assert list(fills_of(res, 2)["price"]) == [101.5]


def test_trailing_stop_limit_bad_input():
    df = frame({"X": DAILY})
    cases = (({"limit_offset": 1.0}, "need trail_amount or trail_percent"),
             ({"trail_start": 10.0}, "need trail_amount or trail_percent"),
             ({"trail_amount": 1.0, "limit_offset": math.inf}, "finite limit_offset"),
             ({"trail_amount": 1.0, "limit_offset": 1.0, "limit_price": 9.0},
              "takes no limit_price"))
    for kw, words in cases:
        with pytest.raises(OrderError, match=words):
            run({0: [("X", -1, kw)]}, df)


# ============================================================================= on_open
class OpenBuyer(Strategy):
    def on_start(self):
        self.log = []

    def on_open(self, opens):
        self.log.append(("open", opens["X"], self.data.current("X"),
                         self.broker.position("X").qty, "X" in opens, "Y" in opens))
        if sum(e[0] == "open" for e in self.log) == 3:   # the third slice: buy at its open
            self.broker.order("X", 10)

    def on_bar(self, bars):
        self.log.append(("bar", bars.close["X"], self.broker.position("X").qty))


def test_on_open_orders_fill_at_this_open_and_it_sees_only_the_past():
    res = run_backtest(OpenBuyer, frame({"X": DAILY}))
    log = res.strategy.log
    nan = log[0][2]
    assert math.isnan(nan)                          # no close known before the first bar
    assert log[1:] == [
        ("bar", 10.2, 0.0),
        ("open", 11.0, 10.2, 0.0, True, False), ("bar", 11.2, 0.0),
        ("open", 12.0, 11.2, 0.0, True, False), ("bar", 12.2, 10.0),
        ("open", 13.0, 12.2, 10.0, True, False), ("bar", 13.2, 10.0)]
    f = fills_of(res, 1)
    assert list(f["price"]) == [12.0] and f.loc[0, "ts"] == day_ts(4)[2]
    assert res.portfolio["cash"].iloc[-1] == pytest.approx(100_000 - 120.0)


class MocExitFirst(Strategy):
    def on_start(self):
        self.k = 0
        self.broker.order("X", 9)                         # bar 0's open: 9 x 100, cash 100

    def on_bar(self, bars):
        if self.k == 1:
            self.broker.order("Y", 10, at_close=True)     # needs 500 at the close
            self.broker.order("X", -9, at_close=True)     # frees 900 at the close
        self.k += 1


@pytest.mark.parametrize("fill_order, y_status, cash", [
    ("exit_first", "filled", 100 + 9 * 100 - 10 * 50),   # the sale first: both fill
    ("submission", "rejected", 100 + 9 * 100),           # the buy first: 500 > 100
])
def test_moc_session_close_sequencing(fill_order, y_status, cash):
    ts = intraday_ts(2, 4)
    flat = [(100.0, 100.5, 99.5, 100.0)] * 8
    ys = [(50.0, 50.5, 49.5, 50.0)] * 8
    res = run_backtest(MocExitFirst, frame({"X": flat, "Y": ys}, ts), cash=1000.0,
                       fill_order=fill_order)
    assert final(res, 2)["status"] == y_status
    assert final(res, 3)["status"] == "filled"
    assert res.portfolio["cash"].iloc[-1] == pytest.approx(cash)
    if y_status == "rejected":
        assert final(res, 2)["reason"] == "insufficient_cash"


# ===================================================== stop_limit_rule="bar_direction"
class LongThenStopLimit(Strategy):
    """Buy 10 X at bar 0's open; at bar 0's close place ``order`` (sell stop 95, limit
    97: the limit above the stop)."""

    def on_start(self):
        self.k = 0
        self.broker.order("X", 10)

    def on_bar(self, bars):
        if self.k == 0:
            self.broker.order("X", -10, stop_price=95.0, limit_price=97.0)
        self.k += 1


@pytest.mark.parametrize("rule, price, bar", [
    # bar 1 triggers inside (open 96 > 95 >= low 94) and closes up at 98 >= limit 97:
    # "bar_direction" fills at the limit there; "stop_only" rests it as a limit at 97,
    # filled on bar 2 at max(open 98.5, 97)
    ("bar_direction", 97.0, 1), ("stop_only", 98.5, 2)])
def test_sell_stop_limit_triggered_inside_an_up_bar(rule, price, bar):
    bars = [(100.0, 101.0, 99.0, 100.0), (96.0, 99.0, 94.0, 98.0), (98.5, 99.0, 97.5, 98.0)]
    res = run_backtest(LongThenStopLimit, frame({"X": bars}), stop_limit_rule=rule)
    f = fills_of(res, 2)
    assert list(f["price"]) == [price] and f.loc[0, "ts"] == day_ts(3)[bar]


@pytest.mark.parametrize("rule, price, bar", [
    # buy stop 105, limit 103: bar 1 triggers inside (open 104 < 105 <= high 106) and
    # closes down at 102.5 <= 103: "bar_direction" fills at the limit 103 on bar 1;
    # "stop_only" rests it, bar 2 fills it at min(open 102, 103)
    ("bar_direction", 103.0, 1), ("stop_only", 102.0, 2)])
def test_buy_stop_limit_triggered_inside_a_down_bar(rule, price, bar):
    bars = [(100.0, 101.0, 99.0, 100.0), (104.0, 106.0, 101.0, 102.5),
            (102.0, 103.0, 101.5, 102.5)]
    res = run({0: [("X", 10, {"stop_price": 105.0, "limit_price": 103.0})]},
              frame({"X": bars}), stop_limit_rule=rule)
    f = fills_of(res, 1)
    assert list(f["price"]) == [price] and f.loc[0, "ts"] == day_ts(3)[bar]


def test_buy_stop_limit_on_an_up_bar_rests_under_either_rule():
    # same trigger, but the bar closes up (open 102 < close 104): no fill on bar 1 even
    # with "bar_direction"; bar 2 (low 102.5 <= 103) fills at min(open 103.5, 103)
    bars = [(100.0, 101.0, 99.0, 100.0), (102.0, 106.0, 101.0, 104.0),
            (103.5, 104.0, 102.5, 103.0)]
    res = run({0: [("X", 10, {"stop_price": 105.0, "limit_price": 103.0})]},
              frame({"X": bars}), stop_limit_rule="bar_direction")
    f = fills_of(res, 1)
    assert list(f["price"]) == [103.0] and f.loc[0, "ts"] == day_ts(3)[2]


def test_stop_limit_rule_is_checked():
    from ml4t.errors import ConfigError
    with pytest.raises(ConfigError, match="stop_limit_rule"):
        run({}, frame({"X": DAILY}), stop_limit_rule="path")
