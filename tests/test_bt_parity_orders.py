"""Parity of the Backtrader shim's order features of issue #6 with real Backtrader:
``exectype=Order.Close``, ``exectype=Order.StopTrailLimit`` and
``Cerebro(cheat_on_open=True)`` with ``next_open()``.

Each scenario runs once on real Backtrader and once on the shim; order notifications,
trade notifications and the final value/cash must agree to 1e-9 relative (see
``tests/test_bt_parity.py`` for the harness).
"""
from __future__ import annotations

import datetime as dt
import math

import pytest

pytest.importorskip("backtrader")

from test_bt_parity import DATA, NVDA, assert_parity, logged, yahoo  # noqa: E402

MIN5 = str(DATA / "2006-min-005.txt")


# ------------------------------------------------------------------- Order.Close
def close_daily(bt):
    """Market-on-close on daily bars: an order placed on bar t fills at bar t+1's close
    (the bar's own close is never used); one is placed on the last bar and never heard
    of, one has a validity that ends before it could fill."""

    class OnClose(logged(bt)):
        def __init__(self):
            self.fast = bt.ind.SMA(period=5)
            self.slow = bt.ind.SMA(period=20)
            self.cross = bt.ind.CrossOver(self.fast, self.slow)
            self.n = 0

        def next(self):
            self.n += 1
            if self.cross > 0:
                self.buy(size=100, exectype=bt.Order.Close)
            elif self.cross < 0 and self.position:
                self.sell(size=self.position.size, exectype=bt.Order.Close)
            if self.n % 37 == 0:
                # expires before the next bar's close: Expired, never filled
                self.buy(size=5, exectype=bt.Order.Close, valid=self.data.datetime.date(0))
            if len(self.data) == self.data.buflen():
                self.buy(size=7, exectype=bt.Order.Close)      # last bar: never notified

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2004, 1, 1), end=dt.datetime(2005, 12, 31)))
    c.addstrategy(OnClose)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def close_intraday(bt):
    """Market-on-close on 5-minute bars (sessions are calendar days, Backtrader's default
    session end): placed during the day it fills at the close of the day's last bar and
    is notified on the next day's first bar; placed on the day's last bar (17:30) it
    fills at the close of the next day's first bar."""

    class OnCloseIntraday(logged(bt)):
        def next(self):
            t = self.data.datetime.time(0)
            if t == dt.time(10, 0):
                self.buy(size=3, exectype=bt.Order.Close)
            elif t == dt.time(12, 0) and self.position:
                self.sell(size=2, exectype=bt.Order.Close)
            elif t == dt.time(17, 30):
                self.sell(size=1, exectype=bt.Order.Close)

    c = bt.Cerebro()
    c.adddata(bt.feeds.BacktraderCSVData(dataname=MIN5, timeframe=bt.TimeFrame.Minutes,
                                         compression=5))
    c.addstrategy(OnCloseIntraday)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.0005)
    return c


# ---------------------------------------------------------- Order.StopTrailLimit
def _trail_limit(bt, **trail):
    class TrailLimit(logged(bt)):
        """Long entries protected by a sell StopTrailLimit, short entries by a buy
        StopTrailLimit, the limit 1.5% beyond the stop (``plimit`` set from the
        creation close); a stop that triggers without a fill rests as a limit."""

        def __init__(self):
            self.sma = bt.ind.SMA(period=15)
            self.o = None

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive() and self.o is not None and o.ref == self.o.ref:
                self.o = None

        def next(self):
            if self.o is not None:
                return
            px = self.data.close[0]
            if not self.position:
                if px > self.sma[0]:
                    self.buy(size=40)
                    self.o = self.sell(size=40, exectype=bt.Order.StopTrailLimit, price=px,
                                       plimit=px * 0.985, **trail)
                else:
                    self.sell(size=40)
                    self.o = self.buy(size=40, exectype=bt.Order.StopTrailLimit, price=px,
                                      plimit=px * 1.015, **trail)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2001, 1, 1), end=dt.datetime(2003, 12, 31)))
    c.addstrategy(TrailLimit)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def stoptraillimit_amount(bt):
    return _trail_limit(bt, trailamount=0.6)


def stoptraillimit_percent(bt):
    return _trail_limit(bt, trailpercent=0.04)


def stoptraillimit_plimit_only(bt):
    """Only ``plimit`` given (no ``price``): Backtrader starts the trail from plimit and
    the limit sits on the stop (offset 0)."""

    class PlimitOnly(logged(bt)):
        def __init__(self):
            self.o = None

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive() and self.o is not None and o.ref == self.o.ref:
                self.o = None

        def next(self):
            if self.o is None and not self.position:
                self.buy(size=25)
                self.o = self.sell(size=25, exectype=bt.Order.StopTrailLimit,
                                   plimit=self.data.close[0] * 0.99, trailpercent=0.03)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2006, 1, 1), end=dt.datetime(2007, 12, 31)))
    c.addstrategy(PlimitOnly)
    c.broker.setcash(10000)
    return c


# ------------------------------------------------------------------ cheat_on_open
def cheat_on_open(bt):
    """next_open() sizes an all-in buy on the open price; market orders placed there fill
    at that open (Backtrader's broker_coo). Indicators still show the previous bar in
    next_open(); a next() order fills at the next open as usual."""

    class Coo(logged(bt)):
        def __init__(self):
            self.sma = bt.ind.SMA(period=15)
            self.opens = []

        def next_open(self):
            self.opens.append((len(self.data), self.sma[0]))
            if not self.position and self.data.close[-1] > self.sma[0]:
                size = int(self.broker.getcash() * 0.98 / self.data.open[0])
                self.buy(size=size)
            elif self.position and self.data.close[-1] < self.sma[0]:
                self.close()

        def next(self):
            if self.position and self.data.close[0] < self.data.close[-1] * 0.97:
                self.sell(size=1)

    c = bt.Cerebro(cheat_on_open=True)
    c.adddata(yahoo(bt, start=dt.datetime(2005, 1, 1), end=dt.datetime(2006, 12, 31)))
    c.addstrategy(Coo)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def cheat_on_open_two_feeds(bt):
    """Two feeds; next_open() places a limit just under this open on one, a market order
    on the other, and exits with Order.Close -- which, placed at the open, fills at this
    bar's close and is heard on the next bar."""

    class CooTwo(logged(bt)):
        def __init__(self):
            self.live = set()
            self.smas = [bt.ind.SMA(d, period=10) for d in self.datas]

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive():
                self.live.discard(o.data._name)

        def next_open(self):
            for i, (d, sma) in enumerate(zip(self.datas, self.smas)):
                pos = self.getposition(d).size
                if d._name in self.live:
                    continue
                if not pos and d.close[-1] > sma[0]:
                    if i == 0:
                        self.buy(data=d, size=20, exectype=bt.Order.Limit,
                                 price=d.open[0] * 0.995)
                    else:
                        self.buy(data=d, size=20)
                    self.live.add(d._name)
                elif pos and d.close[-1] < sma[0]:
                    self.sell(data=d, size=pos, exectype=bt.Order.Close)
                    self.live.add(d._name)

    c = bt.Cerebro(cheat_on_open=True)
    c.adddata(yahoo(bt, start=dt.datetime(2005, 1, 1), end=dt.datetime(2006, 6, 30)))
    c.adddata(yahoo(bt, path=NVDA, start=dt.datetime(2005, 1, 1), end=dt.datetime(2006, 6, 30)))
    c.addstrategy(CooTwo)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def stop_limits_far_side(bt):
    """StopLimit and StopTrailLimit exits whose limit lies beyond the stop (a sell limit
    above its stop, a buy limit below): triggered inside a bar they fill at the limit
    when the bar closes past it moving away from the open, else rest as a limit."""

    class FarSide(logged(bt)):
        def __init__(self):
            self.o = None
            self.n = 0

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive() and self.o is not None and o.ref == self.o.ref:
                self.o = None

        def next(self):
            if self.o is not None:
                return
            self.n += 1
            px = self.data.close[0]
            long_ = self.n % 2 == 1
            if not self.position:
                (self.buy if long_ else self.sell)(size=30)
                side = self.sell if long_ else self.buy
                sgn = 1 if long_ else -1
                if self.n % 4 < 2:
                    self.o = side(size=30, exectype=bt.Order.StopLimit,
                                  price=px * (1 - sgn * 0.02), plimit=px * (1 - sgn * 0.01))
                else:
                    self.o = side(size=30, exectype=bt.Order.StopTrailLimit, price=px,
                                  plimit=px * (1 + sgn * 0.006), trailpercent=0.02)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2000, 1, 1), end=dt.datetime(2003, 12, 31)))
    c.addstrategy(FarSide)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


SCENARIOS = [close_daily, close_intraday, stoptraillimit_amount, stoptraillimit_percent,
             stoptraillimit_plimit_only, cheat_on_open, cheat_on_open_two_feeds,
             stop_limits_far_side]


@pytest.mark.parametrize("build", SCENARIOS, ids=[f.__name__ for f in SCENARIOS])
def test_parity(build):
    assert_parity(build, min_events=10)


# ------------------------------------------------------------------------ quirks
def _close_fills(modname):
    """(created time, executed time, executed price, time heard) of every Completed
    Close order of the intraday scenario."""
    import importlib
    bt = importlib.import_module(modname)
    cerebro = close_intraday(bt)
    out = []

    class Heard(cerebro.strats[0][0][0]):
        def notify_order(self, o):
            super().notify_order(o)
            if o.status == o.Completed:
                out.append((bt.num2date(o.created.dt), bt.num2date(o.executed.dt),
                            o.executed.price, self.data.datetime.datetime(0)))

    cerebro.strats = [[(Heard, (), {})]]
    cerebro.run()
    return out


def test_quirk_close_orders_fill_at_the_session_close_or_the_next_bars_close():
    import pandas as pd
    ref = _close_fills("backtrader")
    got = _close_fills("ml4t.compat.backtrader")
    assert len(ref) >= 50
    assert [r[:3] for r in got] == [r[:3] for r in ref] and [r[3] for r in got] == [
        r[3] for r in ref]
    bars = pd.read_csv(MIN5)
    close = {pd.Timestamp(f"{d} {t}").to_pydatetime(): c
             for d, t, c in zip(bars["Date"], bars["Time"], bars["Close"])}
    times = sorted(close)
    for created, executed, price, heard in ref:
        nxt = times[times.index(created) + 1]
        if created.time() == dt.time(17, 30):
            # placed on the day's last bar: the close of the next day's first bar
            assert executed == heard == nxt and price == pytest.approx(close[nxt], rel=1e-12)
        else:
            # placed during the day: the close of the day's last bar, heard a bar later
            last = max(t for t in times if t.date() == created.date())
            after = times[times.index(last) + 1]
            assert executed == last and heard == after
            assert price == pytest.approx(close[last], rel=1e-12)


def _next_open_seen(modname):
    import importlib
    bt = importlib.import_module(modname)
    cerebro = cheat_on_open(bt)
    strat = cerebro.run()[0]
    return strat.opens, list(strat.sma.lines[0].array)


def test_quirk_next_open_sees_the_new_bar_but_indicators_of_the_previous_one():
    ref_opens, sma = _next_open_seen("backtrader")
    got_opens, _ = _next_open_seen("ml4t.compat.backtrader")
    assert len(ref_opens) > 400 and len(got_opens) == len(ref_opens)
    for (n, v), (m, w) in zip(ref_opens, got_opens):
        assert n == m and (v == w or (math.isnan(v) and math.isnan(w)))
        # bar n (1-based) is the new bar; the SMA shown is the one of bar n - 1
        assert v == sma[n - 2] or (math.isnan(v) and math.isnan(sma[n - 2]))


def stoptrail_from_price(bt):
    """StopTrail and StopTrailLimit with ``price=`` above the close: the trail starts
    from that price, not from the close."""

    class FromPrice(logged(bt)):
        def __init__(self):
            self.o = None

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive() and self.o is not None and o.ref == self.o.ref:
                self.o = None

        def next(self):
            if self.o is None and not self.position:
                px = self.data.close[0]
                self.buy(size=30)
                if len(self.data) % 2:
                    self.o = self.sell(size=30, exectype=bt.Order.StopTrail, price=px * 1.03,
                                       trailpercent=0.05)
                else:
                    self.o = self.sell(size=30, exectype=bt.Order.StopTrailLimit,
                                       price=px * 1.02, plimit=px * 0.99, trailamount=0.8)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2008, 1, 1), end=dt.datetime(2009, 12, 31)))
    c.addstrategy(FromPrice)
    c.broker.setcash(10000)
    return c


def test_parity_trail_from_price():
    assert_parity(stoptrail_from_price, min_events=10)


def _created_prices(modname, build):
    import importlib
    bt = importlib.import_module(modname)
    cerebro = build(bt)
    out = []

    class Prices(cerebro.strats[0][0][0]):
        def notify_order(self, o):
            super().notify_order(o)
            out.append((o.ref, o.getstatusname(), o.created.price, o.created.pricelimit))

    cerebro.strats = [[(Prices, (), {})]]
    cerebro.run()
    return out


@pytest.mark.parametrize("build", [stoptraillimit_amount, stoptraillimit_plimit_only,
                                   stoptrail_from_price])
def test_trailing_notifications_show_the_live_stop_and_limit(build):
    ref = _created_prices("backtrader", build)
    got = _created_prices("ml4t.compat.backtrader", build)
    assert len(ref) == len(got) and len(ref) > 100
    first_ref = {}
    first_got = {}
    for (r, s, p, pl), (g, t, q, ql) in zip(ref, got):
        assert first_ref.setdefault(r, len(first_ref)) == first_got.setdefault(g, len(first_got))
        assert s == t
        assert q == pytest.approx(p, rel=1e-9) and ql == pytest.approx(pl, rel=1e-9)


def _open_view(modname):
    import importlib
    bt = importlib.import_module(modname)
    out = []

    class View(bt.Strategy):
        def __init__(self):
            self.sma = bt.ind.SMA(period=3)

        def prenext_open(self):
            out.append(("prenext_open", len(self), len(self.data),
                        self.data.datetime.date(0)))

        def next_open(self):
            out.append(("next_open", len(self), len(self.data), self.datetime.date(0),
                        self.data.datetime.date(0), self.data.close[0], self.sma[0]))

    c = bt.Cerebro(cheat_on_open=True)
    c.adddata(yahoo(bt, start=dt.datetime(2005, 1, 1), end=dt.datetime(2005, 3, 31)))
    c.addstrategy(View)
    c.run()
    return out


def test_quirk_next_open_strategy_lines_lag_the_feed():
    """In next_open() the feed is on the new bar (its close included) while the
    strategy's own lines (len(self), self.datetime) and indicators are on the previous
    one; prenext_open() runs until the bar after the warm-up ends."""
    ref = _open_view("backtrader")
    got = _open_view("ml4t.compat.backtrader")
    assert got == ref
    assert [e[0] for e in ref[:4]] == ["prenext_open"] * 3 + ["next_open"]
    assert all(e[1] == e[2] - 1 for e in ref)
    assert all(e[3] < e[4] for e in ref if e[0] == "next_open")
