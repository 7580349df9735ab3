"""Parity of the Backtrader shim's futures-like commission schemes with real Backtrader.

``broker.setcommission(commission=2.0, margin=1000.0, mult=100.0)`` (or a
``CommInfoBase`` with ``stocklike=False``) makes Backtrader's broker treat a feed as a
futures contract: opening debits ``margin`` per contract from cash and closing credits it
back, the P&L (``mult`` x price move) is settled into cash at each fill and at each bar's
close, commission is charged per contract (``COMM_FIXED``) or on size x price
(``COMM_PERC``, without the multiplier), ``getvalue()`` is cash plus the margin held,
and an order whose opening part does not fit the cash is refused with ``Margin`` (at
submission, on the creation close, and again at the fill). The shim maps each such feed
onto a native ``ml4t.Future`` with ``margin`` as its initial margin per contract.

Each scenario runs once on real Backtrader and once on the shim (harness in
``tests/test_bt_parity.py``); order and trade notifications, the cash and value seen in
every ``next()``, and the final value and cash must agree to 1e-9 relative.
"""
from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("backtrader")

from test_bt_parity import NVDA, assert_parity, logged, statuses, yahoo  # noqa: E402


def booked(bt):
    """``logged`` plus the broker's cash and value in every ``next()``."""

    class Booked(logged(bt)):
        def book(self):
            self.__dict__.setdefault("log", []).append(
                ("bar", self.datetime.datetime(0), self.broker.getcash(),
                 self.broker.getvalue(), self.position.size))

    return Booked


# ------------------------------------------------------------------------- scenarios
def futures_sma_cross(bt):
    """Long-only SMA crossover, 10 contracts, fixed commission per contract."""

    class SmaCross(booked(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=10), bt.ind.SMA(period=30))

        def next(self):
            self.book()
            if self.cross > 0:
                self.buy(size=10)
            elif self.cross < 0 and self.position:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt))
    c.addstrategy(SmaCross)
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    c.broker.setcash(50000)
    c.broker.setcommission(commission=2.0, margin=1000.0, mult=100.0)
    return c


def futures_long_short(bt):
    """Always in the market: reversals of 5 contracts long/short with order_target_size."""

    class LongShort(booked(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.EMA(period=8), bt.ind.EMA(period=21))

        def next(self):
            self.book()
            if self.cross > 0:
                self.order_target_size(target=5)
            elif self.cross < 0:
                self.order_target_size(target=-5)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2000, 1, 1), end=dt.datetime(2010, 12, 31)))
    c.addstrategy(LongShort)
    c.broker.setcash(20000)
    c.broker.setcommission(commission=2.5, margin=800.0, mult=50.0,
                           commtype=bt.CommInfoBase.COMM_FIXED)
    return c


def futures_percent_scheme(bt):
    """A user's CommInfoBase subclass: stocklike=False, commission on size x price
    (no multiplier), added with addcommissioninfo."""

    class FutComm(bt.CommInfoBase):
        params = (("stocklike", False), ("commtype", bt.CommInfoBase.COMM_PERC),
                  ("percabs", True), ("commission", 0.0005), ("mult", 25.0),
                  ("margin", 600.0))

    class Flip(booked(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=5), bt.ind.SMA(period=15))

        def next(self):
            self.book()
            if self.cross > 0:
                self.buy(size=abs(self.position.size) + 4)
            elif self.cross < 0:
                self.sell(size=abs(self.position.size) + 4)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2003, 1, 1), end=dt.datetime(2006, 12, 31)))
    c.addstrategy(Flip)
    c.broker.setcash(10000)
    c.broker.addcommissioninfo(FutComm())
    return c


def futures_margin(bt):
    """Orders refused for margin: at submission (more contracts than the cash covers),
    at the fill (two resting limit buys that each fit alone fill on one bar), and a
    reversal whose opening leg no longer fits after the closing leg's loss (Partial,
    then Margin)."""

    class Tight(booked(bt)):
        def __init__(self):
            self.n = 0

        def next(self):
            self.book()
            self.n += 1
            n, px = self.n, self.data.close[0]
            if n == 5:
                self.buy(size=40)                                # 40 x 1000 > cash
            elif n == 10:
                self.limit = round(px * 0.95, 2)
                self.buy(size=15, exectype=bt.Order.Limit, price=self.limit)
            elif n == 11:
                self.buy(size=15, exectype=bt.Order.Limit, price=self.limit)
            elif n == 60 and self.position:
                self.close()
            elif n >= 70 and n % 5 == 0:
                size = self.position.size
                if not size:                                     # all the margin there is
                    self.buy(size=int(self.broker.getvalue() / 1000.0))
                elif size > 0:
                    self.sell(size=2 * size)                     # reverse
                else:
                    self.buy(size=-2 * size)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2001, 1, 1), end=dt.datetime(2002, 12, 31)))
    c.addstrategy(Tight)
    c.broker.setcash(25000)
    c.broker.setcommission(commission=3.0, margin=1000.0, mult=100.0)
    return c


def futures_two_feeds(bt):
    """Two feeds under the default futures-like scheme, long/short 6 contracts each."""

    class Pair(booked(bt)):
        def __init__(self):
            self.cross = [bt.ind.CrossOver(bt.ind.SMA(d, period=10), bt.ind.SMA(d, period=30))
                          for d in self.datas]

        def next(self):
            self.book()
            for d, x in zip(self.datas, self.cross):
                if x > 0:
                    self.order_target_size(d, target=6)
                elif x < 0:
                    self.order_target_size(d, target=-6)

    c = bt.Cerebro()
    start, end = dt.datetime(2005, 1, 1), dt.datetime(2008, 12, 31)
    c.adddata(yahoo(bt, start=start, end=end), name="ORCL")
    c.adddata(yahoo(bt, path=NVDA, start=start, end=end), name="NVDA")
    c.addstrategy(Pair)
    c.broker.setcash(15000)
    c.broker.setcommission(commission=2.0, margin=1000.0, mult=20.0)
    return c


def futures_per_feed_schemes(bt):
    """Two contracts with their own schemes (``setcommission(..., name=...)``): ORCL at
    2.0 per contract, margin 1,000, x20; NVDA 0.2% of size x price, margin 600, x10."""
    c = futures_two_feeds(bt)
    c.broker.setcommission(commission=2.0, margin=1000.0, mult=20.0, name="ORCL")
    c.broker.setcommission(commission=0.002, margin=600.0, mult=10.0,
                           commtype=bt.CommInfoBase.COMM_PERC, name="NVDA")
    return c


def futures_brackets(bt):
    """Bracket entries (limit entry, stop and take-profit legs) on a futures feed."""

    class Brackets(booked(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=5), bt.ind.SMA(period=20))

        def next(self):
            self.book()
            if self.cross > 0 and not self.position:
                p = self.data.close[0]
                self.buy_bracket(size=5, price=p * 0.99, stopprice=p * 0.95,
                                 limitprice=p * 1.05)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2004, 1, 1), end=dt.datetime(2007, 12, 31)))
    c.addstrategy(Brackets)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=1.5, margin=1500.0, mult=100.0)
    return c


def futures_cheat_on_close(bt):
    c = futures_long_short(bt)
    c.broker.set_coc(True)
    return c


SCENARIOS = [futures_sma_cross, futures_long_short, futures_percent_scheme, futures_margin,
             futures_two_feeds, futures_per_feed_schemes, futures_brackets,
             futures_cheat_on_close]


@pytest.mark.parametrize("build", SCENARIOS, ids=[f.__name__ for f in SCENARIOS])
def test_parity(build):
    ref, got = assert_parity(build, min_events=20)
    assert any(e[0] == "trade" and e[3] for e in got["log"]), "no closed trade"


def futures_pyramid(bt):
    """Adding to an open position after the price moved against it: Backtrader checks
    the new contracts' margin against cash settled at the previous close (the open
    position's move to the fill price is settled only after the check), the native
    engine against the account at the fill price."""

    class Pyramid(booked(bt)):
        def __init__(self):
            self.n = 0

        def next(self):
            self.book()
            self.n += 1
            if self.n in (10, 11):
                self.buy(size=12, exectype=bt.Order.Limit, price=self.data.close[0] * 0.97)
            elif self.n == 20:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2001, 1, 1), end=dt.datetime(2001, 2, 28)))
    c.addstrategy(Pyramid)
    c.broker.setcash(25000)
    c.broker.setcommission(commission=3.0, margin=1000.0, mult=100.0)
    return c


def _margin_of(result, margin):
    """(cash, value - margin x |contracts held|) in every next()."""
    return [(e[2], e[3] - margin * abs(e[4])) for e in result["log"] if e[0] == "bar"]


def test_quirk_cash_is_value_less_margin_held():
    """Backtrader's cash is the account value less ``margin`` per contract held, and it
    goes below zero without any liquidation when losses exceed the free cash."""
    ref, got = assert_parity(futures_margin)
    for r in (ref, got):
        for cash, free in _margin_of(r, 1000.0):
            assert abs(cash - free) <= 1e-9 * max(1.0, abs(cash))
    assert ref["cash"] < 0 < ref["value"]


def test_quirk_futures_margin_statuses():
    """Refused for margin at submission (Submitted, Margin), at the fill (Accepted, then
    Margin on a later bar) and in the opening leg of a reversal (Partial, Margin)."""
    ref, got = assert_parity(futures_margin)
    seq = statuses(got)
    pairs = list(zip(seq, seq[1:]))
    assert ("Submitted", "Margin") in pairs
    assert ("Partial", "Margin") in pairs
    assert ("Completed", "Margin") in pairs      # two resting limits filled on one bar


def test_quirk_fixed_commission_per_contract_and_pnl_with_mult():
    """Hand-computed: 10 contracts at 2.0 cost 20 per fill; a trade's pnl is
    size x price move x 100 and its value is margin x size."""
    ref, got = assert_parity(futures_sma_cross)
    trades = [e for e in got["log"] if e[0] == "trade"]
    orders = [e for e in got["log"] if e[0] == "order" and e[4] == "Completed"]
    assert orders and all(abs(e[8] - 20.0) < 1e-12 and abs(e[9] - 10000.0) < 1e-9
                          for e in orders)
    closed = [e for e in trades if e[3]]
    assert closed and all(abs(e[10] - 40.0) < 1e-9 for e in closed)
    entry = {}
    for e in orders:
        if e[6] > 0:
            entry[e[3]] = e[7]
        else:
            first = entry.popitem()[1]
            pnl = -e[6] * (e[7] - first) * 100.0
            match = [t for t in closed if t[1] == e[1]]
            assert match and abs(match[0][7] - pnl) <= 1e-9 * max(1.0, abs(pnl))


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="native futures check an enlarging fill on the account at the "
                   "fill price; Backtrader leaves out the open position's move since the "
                   "last close (needs a native check option)")
def test_known_difference_pyramid_margin_check():
    assert_parity(futures_pyramid)


def negative_value(bt):
    """Backtrader keeps trading with a negative account value (its broker never
    liquidates); the shim runs the engine with ``margin_calls=False``."""
    class Short(bt.Strategy):
        def next(self):
            if len(self) == 1:
                self.sell(size=40)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(1999, 1, 1), end=dt.datetime(1999, 12, 31)))
    c.addstrategy(Short)
    c.broker.setcash(25000)
    c.broker.setcommission(commission=3.0, margin=500.0, mult=100.0)
    return c


def test_negative_value_keeps_running_like_backtrader():
    import backtrader
    import ml4t.compat.backtrader as shim

    real = negative_value(backtrader)
    real.run()
    assert real.broker.getvalue() < 0 and real.broker.getcash() < 0
    ours = negative_value(shim)
    ours.run()
    assert ours.broker.getvalue() == pytest.approx(real.broker.getvalue(), rel=1e-9)
    assert ours.broker.getcash() == pytest.approx(real.broker.getcash(), rel=1e-9)


def fixed_commission_not_stocklike(bt):
    """``setcommission(commission=c, commtype=COMM_FIXED)`` without ``stocklike=True``:
    the broker's ``stocklike=False`` default makes the scheme futures-like with a margin
    of 1 per share and multiplier 1 (100 shares hold 100 of cash)."""

    class Cross(booked(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=10), bt.ind.SMA(period=30))

        def next(self):
            self.book()
            if self.cross > 0:
                self.buy(size=100)
            elif self.cross < 0 and self.position:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2000, 1, 1), end=dt.datetime(2009, 12, 31)))
    c.addstrategy(Cross)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.01, commtype=bt.CommInfoBase.COMM_FIXED)
    return c


def test_quirk_fixed_commission_without_stocklike_is_futures_like():
    ref, got = assert_parity(fixed_commission_not_stocklike)
    held = [(e[2], e[3], e[4]) for e in got["log"] if e[0] == "bar" and e[4]]
    assert held and all(abs(value - cash - size) <= 1e-9 * value for cash, value, size in held)
