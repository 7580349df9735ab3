"""Parity of the Backtrader shim with real Backtrader on the sample data.

Each scenario is a realistic Backtrader script written once against a module ``bt`` and
run twice: with ``import backtrader as bt`` and with ``import ml4t.compat.backtrader as
bt``. The order notifications (bar, order, status, size, executed size/price/commission/
value, created price), the trade notifications (pnl, pnlcomm, size, price, barlen,
commission), the analyzers' ``get_analysis()`` and the final value must agree (numbers
to 1e-9 relative). Backtrader numbers orders across runs in one process, the shim per
run, so order references are compared by order of first appearance.
"""
from __future__ import annotations

import datetime as dt
import importlib
import math
import pathlib

import pandas as pd
import pytest

pytest.importorskip("backtrader")

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "backtrader"
ORCL = str(DATA / "orcl-1995-2014.txt")
NVDA = str(DATA / "nvda-1999-2014.txt")
YHOO = str(DATA / "yhoo-1996-2014.txt")
REL = 1e-9


# ----------------------------------------------------------------------------- harness
def logged(bt):
    """A Strategy base class that records every notification it receives."""

    class Logged(bt.Strategy):
        def notify_order(self, o):
            self.__dict__.setdefault("log", []).append(
                ("order", self.datetime.datetime(0), o.data._name, o.ref, o.getstatusname(),
                 o.size, o.executed.size, o.executed.price, o.executed.comm,
                 o.executed.value, o.created.price))

        def notify_trade(self, t):
            self.__dict__.setdefault("log", []).append(
                ("trade", self.datetime.datetime(0), t.data._name, t.isclosed, t.justopened,
                 t.size, t.price, t.pnl, t.pnlcomm, t.barlen, t.commission))

    return Logged


def one_order(bt):
    """A logged strategy that keeps its order in flight in ``self.o`` (None when there
    is none: cleared when the order completes, is canceled, expires or is refused)."""

    class OneOrder(logged(bt)):
        o = None

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive():
                self.o = None

    return OneOrder


def plain(x):
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x


def run(modname, build):
    bt = importlib.import_module(modname)
    cerebro = build(bt)
    strats = cerebro.run()
    s = strats[0]
    refs = {}
    log = []
    for e in getattr(s, "log", []):
        if e[0] == "order":
            e = e[:3] + (refs.setdefault(e[3], len(refs) + 1),) + e[4:]
        log.append(e)
    analysis = {name: plain(a.get_analysis())
                for name, a in zip(s.analyzers.getnames(), s.analyzers)}
    return {"log": log, "value": cerebro.broker.getvalue(), "cash": cerebro.broker.getcash(),
            "analysis": analysis}


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= REL * max(1.0, abs(a), abs(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def assert_parity(build, min_events=1):
    ref = run("backtrader", build)
    got = run("ml4t.compat.backtrader", build)
    assert len(ref["log"]) >= min_events, "scenario produced too few notifications"
    for i, (x, y) in enumerate(zip(ref["log"], got["log"])):
        assert same(x, y), f"notification {i} differs:\n backtrader: {x}\n shim:       {y}"
    assert len(ref["log"]) == len(got["log"])
    assert same(ref["analysis"], got["analysis"]), (ref["analysis"], got["analysis"])
    assert abs(ref["value"] - got["value"]) <= REL * abs(ref["value"])
    assert abs(ref["cash"] - got["cash"]) <= REL * max(1.0, abs(ref["cash"]))
    return ref, got


def statuses(result):
    return [e[4] for e in result["log"] if e[0] == "order"]


def yahoo(bt, path=ORCL, start=None, end=None, **kw):
    return bt.feeds.YahooFinanceCSVData(dataname=path, fromdate=start, todate=end, **kw)


# ------------------------------------------------------------------------- scenarios
def sma_cross_sizer(bt):
    class SmaCross(logged(bt)):
        params = (("fast", 10), ("slow", 30))

        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=self.p.fast),
                                          bt.ind.SMA(period=self.p.slow))

        def next(self):
            if self.cross > 0:
                self.buy()
            elif self.cross < 0:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt))
    c.addstrategy(SmaCross)
    c.addsizer(bt.sizers.PercentSizer, percents=50)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.001)
    return c


def target_percent(bt):
    class Target(logged(bt)):
        params = dict(period=20)

        def __init__(self):
            self.sma = bt.ind.SMA(period=self.p.period)

        def next(self):
            self.order_target_percent(target=0.9 if self.data.close[0] > self.sma[0] else 0.0)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2000, 1, 1), end=dt.datetime(2012, 12, 31)))
    c.addstrategy(Target)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.001)
    return c


def limit_entries_valid(bt):
    class Limits(one_order(bt)):
        def __init__(self):
            self.sma = bt.ind.SMA(period=15)

        def next(self):
            if self.o:
                return
            if not self.position:
                if self.data.close[0] > self.sma[0]:
                    self.o = self.buy(exectype=bt.Order.Limit, size=100,
                                      price=self.data.close[0] * 0.98,
                                      valid=dt.timedelta(days=3))
            elif len(self) % 7 == 0:
                self.o = self.sell(exectype=bt.Order.Limit, size=100,
                                   price=self.data.close[0] * 1.02,
                                   valid=dt.timedelta(days=2))

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2003, 1, 1), end=dt.datetime(2008, 12, 31)))
    c.addstrategy(Limits)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def buy_brackets(bt):
    class Brackets(logged(bt)):
        def __init__(self):
            self.sma = bt.ind.SMA(period=20)
            self.live = []

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive() and o.ref in self.live:
                self.live.remove(o.ref)

        def next(self):
            if self.live or self.position:
                return
            if self.data.close[0] > self.sma[0]:
                p = self.data.close[0] * 0.99
                orders = self.buy_bracket(price=p, stopprice=p * 0.95, limitprice=p * 1.05,
                                          size=50, valid=dt.timedelta(days=5))
                self.live = [o.ref for o in orders]

    c = bt.Cerebro()
    c.adddata(yahoo(bt, NVDA, dt.datetime(2003, 1, 1), dt.datetime(2012, 12, 31)))
    c.addstrategy(Brackets)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def sell_brackets(bt):
    class ShortBrackets(logged(bt)):
        def __init__(self):
            self.sma = bt.ind.SMA(period=20)
            self.live = []

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive() and o.ref in self.live:
                self.live.remove(o.ref)

        def next(self):
            if self.live or self.position:
                return
            px = self.data.close[0]
            if px < self.sma[0]:
                orders = self.sell_bracket(exectype=bt.Order.Market, stopprice=px * 1.04,
                                           limitprice=px * 0.94, size=30,
                                           limitargs=dict(valid=dt.timedelta(days=20)))
                self.live = [o.ref for o in orders]

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2001, 1, 1), end=dt.datetime(2006, 12, 31)))
    c.addstrategy(ShortBrackets)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def bracket_refused(bt):
    class Refused(logged(bt)):
        def next(self):
            if len(self) % 15 == 0 and not self.position:
                px = self.data.close[0]
                self.buy_bracket(price=px, stopprice=px * 0.9, limitprice=px * 1.1, size=10**6)
                self.buy_bracket(price=px * 0.99, stopprice=px * 0.9, limitprice=px * 1.1,
                                 size=100)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2001, 1, 1), end=dt.datetime(2002, 12, 31)))
    c.addstrategy(Refused)
    c.broker.setcash(10000)
    return c


def bracket_shapes(bt):
    """Brackets the native broker has no single call for (one leg, a stop-limit leg):
    the shim holds the legs and activates them when the entry fills."""
    class Shapes(logged(bt)):
        def __init__(self):
            self.sma = bt.ind.SMA(period=20)
            self.live = []

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive() and o.ref in self.live:
                self.live.remove(o.ref)

        def next(self):
            if self.live or self.position:
                return
            p = self.data.close[0]
            if p > self.sma[0]:
                orders = self.buy_bracket(price=p * 0.99, stopprice=p * 0.95, limitexec=None,
                                          size=20)
            elif len(self) % 3 == 0:
                orders = self.buy_bracket(exectype=bt.Order.Market, stopprice=p * 0.9,
                                          limitprice=p * 1.03, stopexec=bt.Order.StopLimit,
                                          stopargs=dict(plimit=p * 0.88), size=20)
            else:
                return
            self.live = [o.ref for o in orders if o is not None]

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2003, 1, 1), end=dt.datetime(2007, 12, 31)))
    c.addstrategy(Shapes)
    c.broker.setcash(10000)
    return c


def trailing_stops(bt):
    class Trail(one_order(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.EMA(period=10), bt.ind.EMA(period=40))

        def next(self):
            if self.o:
                return
            if not self.position:
                if self.cross > 0:
                    self.o = self.buy(size=100)
            else:
                self.o = self.sell(size=100, exectype=bt.Order.StopTrail, trailpercent=0.05)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, YHOO, dt.datetime(2001, 1, 1), dt.datetime(2012, 12, 31)))
    c.addstrategy(Trail)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def trailing_amount(bt):
    class TrailAmount(one_order(bt)):
        def next(self):
            if self.o:
                return
            if not self.position:
                self.o = self.buy(size=10)
            else:
                self.o = self.sell(size=10, exectype=bt.Order.StopTrail, trailamount=1.5)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2005, 1, 1), end=dt.datetime(2009, 12, 31)))
    c.addstrategy(TrailAmount)
    c.broker.setcash(10000)
    return c


def rotation(bt):
    class Rotation(logged(bt)):
        params = (("period", 60),)

        def __init__(self):
            self.mom = {d: bt.ind.ROC(d, period=self.p.period) for d in self.datas}

        def next(self):
            if len(self) % 20:
                return
            ranked = sorted(self.datas, key=lambda d: self.mom[d][0], reverse=True)
            for d in ranked[1:]:
                if self.getposition(d).size:
                    self.order_target_percent(d, target=0.0)
            self.order_target_percent(ranked[0], target=0.95)

    c = bt.Cerebro()
    for path, name in ((ORCL, "orcl"), (NVDA, "nvda"), (YHOO, "yhoo")):
        c.adddata(yahoo(bt, path, dt.datetime(2002, 1, 1), dt.datetime(2013, 12, 31)), name=name)
    c.addstrategy(Rotation)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.001)
    return c


def shorts(bt):
    class Shorts(logged(bt)):
        def __init__(self):
            self.rsi = bt.ind.RSI(period=14)

        def next(self):
            if not self.position:
                if self.rsi > 70:
                    self.sell(size=200)
                elif self.rsi < 30:
                    self.buy(size=200)
            elif self.position.size < 0 and self.rsi < 50:
                self.close()
            elif self.position.size > 0 and self.rsi > 50:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2004, 1, 1), end=dt.datetime(2014, 12, 31)))
    c.addstrategy(Shorts)
    c.broker.setcash(20000)
    c.broker.setcommission(commission=0.001)
    return c


def analyzers(bt):
    class WithAnalyzers(logged(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=10), bt.ind.SMA(period=30))

        def next(self):
            if self.cross > 0:
                self.buy()
            elif self.cross < 0:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt))
    c.addstrategy(WithAnalyzers)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.001)
    c.addsizer(bt.sizers.PercentSizer, percents=95)
    c.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe")
    c.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe_daily",
                  timeframe=bt.TimeFrame.Days, annualize=True)
    c.addanalyzer(bt.analyzers.SharpeRatio_A, _name="sharpe_a",
                  timeframe=bt.TimeFrame.Months)
    c.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    c.addanalyzer(bt.analyzers.TimeDrawDown, _name="timedrawdown")
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    c.addanalyzer(bt.analyzers.Returns, _name="returns")
    c.addanalyzer(bt.analyzers.TimeReturn, _name="timereturn")
    c.addanalyzer(bt.analyzers.TimeReturn, _name="monthly", timeframe=bt.TimeFrame.Months)
    c.addanalyzer(bt.analyzers.TimeReturn, _name="weekly", timeframe=bt.TimeFrame.Weeks)
    c.addanalyzer(bt.analyzers.SQN, _name="sqn")
    c.addanalyzer(bt.analyzers.AnnualReturn, _name="annual")
    c.addanalyzer(bt.analyzers.Transactions, _name="transactions")
    c.addanalyzer(bt.analyzers.PositionsValue, _name="positions")
    return c


def gap_margin(bt):
    class AllIn(logged(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=5), bt.ind.SMA(period=20))

        def next(self):
            if self.cross > 0:
                self.buy(size=int(self.broker.getcash() / self.data.close[0]))
            elif self.cross < 0:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(1998, 1, 1), end=dt.datetime(2003, 12, 31)))
    c.addstrategy(AllIn)
    c.broker.setcash(10000)
    return c


def cumulative_check(bt):
    class ThreeOrders(logged(bt)):
        def next(self):
            if len(self) % 10 == 0:
                cash, px = self.broker.getcash(), self.data.close[0]
                self.buy(size=int(cash * 0.6 / px))
                self.buy(size=int(cash * 0.6 / px))
                self.buy(size=int(cash * 0.1 / px))
            elif len(self) % 10 == 5 and self.position:
                self.close()
                self.buy(size=10)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2005, 1, 1), end=dt.datetime(2006, 12, 31)))
    c.addstrategy(ThreeOrders)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.002)
    return c


def cancels(bt):
    class Cancels(logged(bt)):
        def __init__(self):
            self.o = None

        def next(self):
            n = len(self)
            if n % 6 == 1:
                self.o = self.buy(exectype=bt.Order.Limit, price=self.data.close[0] * 0.97,
                                  size=10)
                self.cancel(self.o)
            elif n % 6 == 3 and self.o is not None and self.o.alive():
                self.cancel(self.o)
            elif n % 6 == 5 and self.position:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2007, 1, 1), end=dt.datetime(2008, 12, 31)))
    c.addstrategy(Cancels)
    c.broker.setcash(10000)
    return c


def valid_kinds(bt):
    class Validity(logged(bt)):
        def next(self):
            n, px = len(self), self.data.close[0]
            if n == 3:
                self.buy(exectype=bt.Order.Limit, price=px * 1.05, valid=bt.Order.DAY, size=1)
            if n == 4:
                self.buy(exectype=bt.Order.Limit, price=px * 1.05, valid=3, size=1)
            if n == 5:
                self.buy(exectype=bt.Order.Limit, price=px * 0.9, valid=0, size=1)
            if n == 6:
                self.buy(exectype=bt.Order.Limit, price=px * 0.9, size=1,
                         valid=self.data.datetime.date(0) + dt.timedelta(days=10))
            if n == 7:
                self.buy(exectype=bt.Order.Stop, price=px * 1.02, valid=dt.timedelta(days=4),
                         size=1)
            if n == 8:
                self.buy(valid=dt.timedelta(days=0.5), size=1)
            if n == 9:
                self.sell(exectype=bt.Order.Limit, price=px * 1.3, size=1,
                          valid=self.data.datetime.datetime(0) + dt.timedelta(days=20))

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2008, 9, 1), end=dt.datetime(2009, 3, 31)))
    c.addstrategy(Validity)
    c.broker.setcash(10000)
    return c


def stop_orders(bt):
    class Breakout(one_order(bt)):
        def __init__(self):
            self.hi = bt.ind.Highest(self.data.high, period=20)
            self.lo = bt.ind.Lowest(self.data.low, period=20)

        def next(self):
            if self.o:
                return
            if not self.position:
                self.o = self.buy(exectype=bt.Order.Stop, price=self.hi[0], size=50,
                                  valid=dt.timedelta(days=10))
            else:
                self.o = self.sell(exectype=bt.Order.StopLimit, price=self.lo[0],
                                   plimit=self.lo[0] * 0.98, size=50)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2000, 1, 1), end=dt.datetime(2010, 12, 31)))
    c.addstrategy(Breakout)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def oco_groups(bt):
    class Ladder(logged(bt)):
        def __init__(self):
            self.live = []

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive():
                self.live = [x for x in self.live if x.ref != o.ref]

        def next(self):
            if self.live:
                return
            px = self.data.close[0]
            if not self.position:
                o1 = self.buy(exectype=bt.Order.Limit, price=px * 0.97, size=20,
                              valid=dt.timedelta(days=8))
                o2 = self.buy(exectype=bt.Order.Limit, price=px * 0.95, size=40, oco=o1)
                o3 = self.buy(exectype=bt.Order.Limit, price=px * 0.93, size=60, oco=o1)
                self.live = [o1, o2, o3]
            else:
                self.live = [self.close(exectype=bt.Order.Limit, price=px * 1.04)]

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2000, 1, 1), end=dt.datetime(2004, 12, 31)))
    c.addstrategy(Ladder)
    c.broker.setcash(10000)
    return c


def oco_both_touched(bt):
    """Sell limit and sell stop 1% either side of the close in one OCO group, placed
    limit-first and stop-first in turn; NVDA's wide bars often touch both."""
    class Band(logged(bt)):
        def __init__(self):
            self.live = []
            self.n = 0

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive():
                self.live = [x for x in self.live if x.ref != o.ref]

        def next(self):
            if self.live:
                return
            px = self.data.close[0]
            if not self.position:
                self.live = [self.buy(size=100)]
                return
            self.n += 1
            if self.n % 2:
                a = self.sell(exectype=bt.Order.Limit, price=px * 1.01, size=100)
                b = self.sell(exectype=bt.Order.Stop, price=px * 0.99, size=100, oco=a)
            else:
                a = self.sell(exectype=bt.Order.Stop, price=px * 0.99, size=100)
                b = self.sell(exectype=bt.Order.Limit, price=px * 1.01, size=100, oco=a)
            self.live = [a, b]

    c = bt.Cerebro()
    c.adddata(yahoo(bt, NVDA, start=dt.datetime(2000, 1, 1), end=dt.datetime(2003, 12, 31)))
    c.addstrategy(Band)
    c.broker.setcash(100000)
    return c

def bracket_both_touched(bt):
    """Buy and sell brackets with legs 1.5% away: some bars touch both legs."""
    class Tight(logged(bt)):
        def __init__(self):
            self.live = []

        def notify_order(self, o):
            super().notify_order(o)
            if not o.alive():
                self.live = [x for x in self.live if x.ref != o.ref]

        def next(self):
            if self.live or self.position:
                return
            px = self.data.close[0]
            if len(self) % 2:
                self.live = self.buy_bracket(size=100, exectype=bt.Order.Limit, price=px,
                                             stopprice=px * 0.985, limitprice=px * 1.015)
            else:
                self.live = self.sell_bracket(size=100, exectype=bt.Order.Limit, price=px,
                                              stopprice=px * 1.015, limitprice=px * 0.985)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, NVDA, start=dt.datetime(2000, 1, 1), end=dt.datetime(2003, 12, 31)))
    c.addstrategy(Tight)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.001)
    return c

def cover_short_no_cash(bt):
    """A 1000-share short on 2,000 cash covered (or reversed) after a 30% rise: the
    cover costs more than the cash (no submission check, so the fill decides)."""
    class Squeeze(logged(bt)):
        def next(self):
            if not self.position:
                self.sell(size=1000)
            elif self.data.close[0] > self.position.price * 1.3:
                if len(self) % 2:
                    self.close()                     # cover: 1000 shares
                else:
                    self.buy(size=3000)              # reversal: cover + 2000 long

    c = bt.Cerebro()
    c.adddata(yahoo(bt, NVDA, start=dt.datetime(2001, 1, 1), end=dt.datetime(2008, 12, 31)))
    c.addstrategy(Squeeze)
    c.broker.setcash(2000)
    c.broker.set_checksubmit(False)
    c.broker.setcommission(commission=0.001)
    return c


def cheat_on_close(bt):
    c = sma_cross_sizer(bt)
    c.broker.set_coc(True)
    c.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    return c


def target_size_value(bt):
    class Targets(logged(bt)):
        def __init__(self):
            self.rsi = bt.ind.RSI(period=10)

        def next(self):
            if self.rsi < 35:
                self.order_target_size(target=300)
            elif self.rsi > 65:
                self.order_target_value(target=0)
            elif 48 < self.rsi[0] < 52:
                self.order_target_value(target=2000)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2002, 1, 1), end=dt.datetime(2011, 12, 31)))
    c.addstrategy(Targets)
    c.broker.setcash(50000)
    c.broker.setcommission(commission=0.0005)
    return c


def sizers(bt):
    c = sma_cross_sizer(bt)
    c.addsizer(bt.sizers.AllInSizerInt)
    c.broker.setcommission(commission=0.0)
    return c


def _ema_cross(bt):
    class EmaCross(logged(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.EMA(period=8), bt.ind.SMA(period=21))
            self.atr = bt.ind.ATR(period=10)

        def next(self):
            if self.cross > 0 and not self.position:
                self.buy(size=2)
            elif self.cross < 0 and self.position:
                self.close()

    return EmaCross


def pandas_feed(bt):
    df = pd.read_csv(ORCL, parse_dates=["Date"], index_col="Date").rename(
        columns={"Open": "o", "High": "h", "Low": "l", "Close": "c", "Volume": "vol"})
    c = bt.Cerebro()
    c.adddata(bt.feeds.PandasData(dataname=df, open="o", high="h", low="l", close="c",
                                  volume="vol", openinterest=None,
                                  fromdate=dt.datetime(2005, 1, 1),
                                  todate=dt.datetime(2010, 12, 31)), name="ORCL")
    c.addstrategy(_ema_cross(bt))
    c.broker.setcash(1000)
    return c


def pandas_feed_column(bt):
    df = pd.read_csv(ORCL)
    df["Date"] = pd.to_datetime(df["Date"])
    c = bt.Cerebro()
    c.adddata(bt.feeds.PandasData(dataname=df, datetime="Date", todate=dt.datetime(1999, 12, 31)))
    c.addstrategy(_ema_cross(bt))
    c.broker.setcash(1000)
    return c


def generic_csv(bt):
    c = bt.Cerebro()
    c.adddata(bt.feeds.GenericCSVData(dataname=ORCL, dtformat="%Y-%m-%d", datetime=0, open=1,
                                      high=2, low=3, close=4, volume=6, openinterest=-1,
                                      fromdate=dt.date(2001, 1, 1), todate=dt.date(2003, 12, 31)))
    c.addstrategy(_ema_cross(bt))
    c.broker.setcash(1000)
    return c


def backtrader_csv_daily(bt):
    c = bt.Cerebro()
    c.adddata(bt.feeds.BacktraderCSVData(dataname=str(DATA / "2006-day-001.txt")))
    c.addstrategy(_ema_cross(bt))
    c.broker.setcash(100000)
    return c


def backtrader_csv_intraday(bt):
    c = bt.Cerebro()
    c.adddata(bt.feeds.BacktraderCSVData(dataname=str(DATA / "2006-min-005.txt"),
                                         timeframe=bt.TimeFrame.Minutes, compression=5))
    c.addstrategy(_ema_cross(bt))
    c.broker.setcash(100000)
    c.addanalyzer(bt.analyzers.TimeReturn, _name="daily", timeframe=bt.TimeFrame.Days)
    return c


def feeds_with_gaps(bt):
    class TwoFeeds(logged(bt)):
        def __init__(self):
            self.s0 = bt.ind.SMA(self.data0, period=10)
            self.s1 = bt.ind.SMA(self.data1, period=30)

        def next(self):
            for d, s in ((self.data0, self.s0), (self.data1, self.s1)):
                pos = self.getposition(d).size
                if d.close[0] > s[0] and not pos:
                    self.buy(data=d, size=10)
                elif d.close[0] < s[0] and pos:
                    self.close(data=d)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, NVDA, dt.datetime(1998, 1, 1), dt.datetime(2001, 12, 31)))
    c.adddata(yahoo(bt, ORCL, dt.datetime(1999, 6, 1), dt.datetime(2002, 6, 30)))
    c.addstrategy(TwoFeeds)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    return c


def two_strategies(bt):
    class Trend(logged(bt)):
        def __init__(self):
            self.sma = bt.ind.SMA(period=15)

        def next(self):
            if self.data.close[0] > self.sma[0] and not self.position:
                self.buy(size=10)
            elif self.data.close[0] < self.sma[0] and self.position:
                self.sell(size=10)

    class Reversion(bt.Strategy):
        def __init__(self):
            self.rsi = bt.ind.RSI(period=7)

        def next(self):
            if self.rsi < 30:
                self.buy(size=5)
            elif self.rsi > 70:
                self.sell(size=5)

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2003, 1, 1), end=dt.datetime(2005, 12, 31)))
    c.addstrategy(Trend)
    c.addstrategy(Reversion)
    c.broker.setcash(10000)
    return c


def resample_weekly(bt):
    class Weekly(logged(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=4), bt.ind.SMA(period=12))

        def next(self):
            if self.data.datetime.date(0) > dt.date(2008, 12, 15):
                return          # the final partial week is filled differently (see the guide)
            if self.cross > 0:
                self.buy(size=10)
            elif self.cross < 0 and self.position:
                self.close()

    c = bt.Cerebro()
    c.resampledata(yahoo(bt, start=dt.datetime(1998, 1, 1), end=dt.datetime(2008, 12, 31)),
                   timeframe=bt.TimeFrame.Weeks)
    c.addstrategy(Weekly)
    c.broker.setcash(10000)
    c.addanalyzer(bt.analyzers.TimeReturn, _name="weekly")
    return c


def resample_daily_weekly(bt):
    class DailyWeekly(logged(bt)):
        def __init__(self):
            self.wsma = bt.ind.SMA(self.data1, period=10)
            self.dsma = bt.ind.SMA(self.data0, period=20)

        def next(self):
            if (self.data0.close[0] > self.dsma[0] and self.data1.close[0] > self.wsma[0]
                    and not self.position):
                self.buy(size=10)
            elif self.data0.close[0] < self.dsma[0] and self.position:
                self.close()

    c = bt.Cerebro()
    d = yahoo(bt, start=dt.datetime(2001, 1, 1), end=dt.datetime(2007, 12, 31))
    c.adddata(d)
    c.resampledata(d, timeframe=bt.TimeFrame.Weeks)
    c.addstrategy(DailyWeekly)
    c.broker.setcash(10000)
    return c


def resample_monthly_orders(bt):
    class Monthly(one_order(bt)):
        def __init__(self):
            self.mom = bt.ind.Momentum(self.data1, period=3)

        def next(self):
            if self.o:
                return
            if self.mom[0] > 0 and not self.getposition(self.data1):
                self.o = self.buy(data=self.data1, size=5)
            elif self.mom[0] < 0 and self.getposition(self.data1):
                self.o = self.close(data=self.data1)

    c = bt.Cerebro()
    d = yahoo(bt, start=dt.datetime(1996, 1, 1), end=dt.datetime(2010, 12, 31))
    c.adddata(d)
    c.resampledata(d, timeframe=bt.TimeFrame.Months)
    c.addstrategy(Monthly)
    c.broker.setcash(10000)
    return c


def resample_intraday_orders(bt):
    """5-minute bars traded on a 15-minute trend: an SMA of the resampled feed against
    the 5-minute close, market orders on the 5-minute feed."""
    class Intraday(logged(bt)):
        def __init__(self):
            self.trend = bt.ind.SMA(self.data1, period=8)

        def next(self):
            if self.data0.close[0] > self.trend[0] and not self.position:
                self.buy(data=self.data0, size=2)
            elif self.data0.close[0] < self.trend[0] and self.position:
                self.close(data=self.data0)

    c = bt.Cerebro()
    d = bt.feeds.BacktraderCSVData(dataname=str(DATA / "2006-min-005.txt"),
                                   timeframe=bt.TimeFrame.Minutes, compression=5)
    c.adddata(d)
    c.resampledata(d, timeframe=bt.TimeFrame.Minutes, compression=15)
    c.addstrategy(Intraday)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.0005)
    c.addanalyzer(bt.analyzers.TimeReturn, _name="daily", timeframe=bt.TimeFrame.Days)
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    return c


def resample_hourly_limits(bt):
    """Only the resampled feed: 1-minute bars with volume compressed to hours, limit
    entries 0.1% under the close valid for two hours, stops under the entry."""
    class Hourly(one_order(bt)):
        def __init__(self):
            self.fast = bt.ind.EMA(period=3)
            self.slow = bt.ind.EMA(period=8)

        def next(self):
            if self.o:
                return
            if not self.position and self.fast[0] > self.slow[0]:
                self.o = self.buy(exectype=bt.Order.Limit, price=self.data.close[0] * 0.999,
                                  valid=dt.timedelta(hours=2), size=3)
            elif self.position and self.fast[0] < self.slow[0]:
                self.o = self.close()

    c = bt.Cerebro()
    d = bt.feeds.BacktraderCSVData(dataname=str(DATA / "2006-01-02-volume-min-001.txt"),
                                   timeframe=bt.TimeFrame.Minutes, compression=1)
    c.resampledata(d, timeframe=bt.TimeFrame.Minutes, compression=60)
    c.addstrategy(Hourly)
    c.broker.setcash(100000)
    return c


def commission_per_data(bt):
    """Named schemes: ORCL pays the default 0.1%, NVDA a fixed 0.02 per share
    (``setcommission(..., name="NVDA")``), YHOO 0.3%."""
    class Pair(logged(bt)):
        def __init__(self):
            self.sma = {d: bt.ind.SMA(d, period=20) for d in self.datas}

        def next(self):
            for d in self.datas:
                pos = self.getposition(d).size
                if d.close[0] > self.sma[d][0] and not pos:
                    self.buy(data=d, size=40)
                elif d.close[0] < self.sma[d][0] and pos:
                    self.close(data=d)

    c = bt.Cerebro()
    start, end = dt.datetime(2004, 1, 1), dt.datetime(2006, 12, 31)
    c.adddata(yahoo(bt, ORCL, start, end), name="ORCL")
    c.adddata(yahoo(bt, NVDA, start, end), name="NVDA")
    c.adddata(yahoo(bt, YHOO, start, end), name="YHOO")
    c.addstrategy(Pair)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    c.broker.setcommission(commission=0.02, commtype=bt.CommInfoBase.COMM_FIXED,
                           stocklike=True, name="NVDA")
    c.broker.setcommission(commission=0.003, name="YHOO")
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    return c


def custom_pieces(bt):
    class Spread(bt.Indicator):
        lines = ("spread", "smooth")
        params = dict(period=10)

        def __init__(self):
            self.addminperiod(self.p.period)

        def next(self):
            vals = self.data.close.get(size=self.p.period)
            self.lines.spread[0] = max(vals) - min(vals)
            prev = self.lines.smooth[-1]
            self.lines.smooth[0] = (self.lines.spread[0] if prev != prev
                                    else 0.8 * prev + 0.2 * self.lines.spread[0])

    class ZScore(bt.Indicator):
        lines = ("z",)
        params = (("period", 20),)

        def __init__(self):
            m = bt.ind.SMA(self.data, period=self.p.period)
            self.lines.z = (self.data - m) / bt.ind.StdDev(self.data, period=self.p.period)

    class Risk(bt.Sizer):
        params = (("risk", 0.02),)

        def _getsizing(self, comminfo, cash, data, isbuy):
            return int(cash * self.p.risk / max(data.close[0] * 0.05, 0.01))

    class Counter(bt.Analyzer):
        def start(self):
            self.n = 0
            self.values = []

        def notify_cashvalue(self, cash, value):
            self.values.append(value)

        def next(self):
            self.n += 1

        def stop(self):
            self.rets["bars"] = self.n
            self.rets["last"] = self.values[-1]

    class Custom(logged(bt)):
        params = dict(z_in=-1.5, z_out=0.5)

        def __init__(self):
            self.z = ZScore(self.data)
            self.spread = Spread(period=15)
            self.signal = bt.And(self.z < self.p.z_in, self.spread.smooth > 0.5)

        def next(self):
            if self.signal[0] and not self.position:
                self.buy()
            elif self.position and self.z[0] > self.p.z_out:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(1999, 1, 1), end=dt.datetime(2010, 12, 31)))
    c.addstrategy(Custom, z_in=-1.2)
    c.broker.setcash(30000)
    c.broker.setcommission(commission=0.001)
    c.addsizer(Risk, risk=0.01)
    c.addanalyzer(Counter, _name="counter")
    return c


def _fixed_size_cross(bt):
    class Cross(logged(bt)):
        params = (("fast", 10), ("slow", 30))

        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=self.p.fast),
                                          bt.ind.SMA(period=self.p.slow))

        def next(self):
            if self.cross > 0:
                self.buy(size=100)
            elif self.cross < 0 and self.position:
                self.close()

    return Cross


def _cross_cerebro(bt):
    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2000, 1, 1), end=dt.datetime(2009, 12, 31)))
    c.addstrategy(_fixed_size_cross(bt))
    c.broker.setcash(10000)
    return c


def commission_fixed(bt):
    c = _cross_cerebro(bt)
    c.broker.setcommission(commission=0.01, commtype=bt.CommInfoBase.COMM_FIXED, stocklike=True)
    return c


def commission_percent_not_abs(bt):
    c = _cross_cerebro(bt)
    c.broker.setcommission(commission=0.1, percabs=False)
    return c


def slippage_fixed(bt):
    c = _cross_cerebro(bt)
    c.broker.set_slippage_fixed(0.01)
    return c


def no_checksubmit(bt):
    class Unchecked(logged(bt)):
        def next(self):
            if len(self) % 5 == 0:
                o = self.buy(size=int(self.broker.getcash() * 1.2 / self.data.close[0]))
                if len(self) % 10 == 0:
                    self.cancel(o)
            elif self.position:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2004, 1, 1), end=dt.datetime(2005, 12, 31)))
    c.addstrategy(Unchecked)
    c.broker.setcash(10000)
    c.broker.set_checksubmit(False)
    return c


def cheat_on_open_check(bt):
    class AllIn(logged(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=5), bt.ind.SMA(period=15))

        def next(self):
            if self.cross > 0:
                self.buy(size=int(self.broker.getcash() / self.data.close[0]))
            elif self.cross < 0 and self.position:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2000, 1, 1), end=dt.datetime(2009, 12, 31)))
    c.addstrategy(AllIn)
    c.broker.setcash(10000)
    c.broker.set_coo(True)
    return c


def broker_instance(bt):
    c = _cross_cerebro(bt)
    c.broker = bt.brokers.BackBroker(cash=25000, coc=True)
    return c


def chained_feeds(bt):
    """``cerebro.chaindata``: ORCL 1998 then 1998-06 .. 1999-06 (the overlap skipped), a
    gap, then 2001 (a third piece), traded by an SMA crossover; the chained feed is named
    after the first piece's file, and a second, named chain of NVDA runs beside it."""
    def piece(path, a, b):
        return bt.feeds.GenericCSVData(dataname=path, fromdate=a, todate=b,
                                       dtformat="%Y-%m-%d", datetime=0, open=1, high=2,
                                       low=3, close=4, volume=6, openinterest=-1)

    class Chained(logged(bt)):
        def __init__(self):
            self.cross = {d: bt.ind.CrossOver(bt.ind.SMA(d, period=5), bt.ind.SMA(d, period=15))
                          for d in self.datas}

        def next(self):
            for d in self.datas:
                if self.cross[d][0] > 0:
                    self.buy(data=d, size=100)
                elif self.cross[d][0] < 0 and self.getposition(d).size:
                    self.close(data=d)

    c = bt.Cerebro()
    D = dt.datetime
    c.chaindata(piece(ORCL, D(1998, 1, 1), D(1998, 12, 31)),
                piece(ORCL, D(1998, 6, 1), D(1999, 6, 30)),
                piece(ORCL, D(2001, 1, 1), D(2001, 12, 31)))
    c.chaindata(piece(NVDA, D(2000, 1, 1), D(2000, 12, 31)),
                piece(NVDA, D(2001, 3, 1), D(2001, 12, 31)), name="NVDA")
    c.addstrategy(Chained)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.001)
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    c.addanalyzer(bt.analyzers.DrawDown, _name="dd")
    return c


SCENARIOS = [
    chained_feeds, sma_cross_sizer, target_percent, limit_entries_valid, buy_brackets, sell_brackets,
    bracket_refused, bracket_shapes, trailing_stops, trailing_amount, rotation, shorts, analyzers, gap_margin,
    cumulative_check, cancels, valid_kinds, stop_orders, oco_groups, cheat_on_close,
    target_size_value, sizers, pandas_feed, pandas_feed_column, generic_csv,
    backtrader_csv_daily, backtrader_csv_intraday, feeds_with_gaps, two_strategies,
    resample_weekly, resample_daily_weekly, resample_monthly_orders,
    resample_intraday_orders, resample_hourly_limits, commission_per_data, custom_pieces,
    commission_fixed, commission_percent_not_abs, slippage_fixed, no_checksubmit,
    cheat_on_open_check, broker_instance,
]


@pytest.mark.parametrize("build", SCENARIOS, ids=[f.__name__ for f in SCENARIOS])
def test_parity(build):
    assert_parity(build)


# ------------------------------------------------------------- quirks, one by one
def test_quirk_submit_and_fill_cash_checks():
    """Notes 3: a buy sized on the close passes the submission check and is refused at
    the fill when the next open gaps up: Submitted, Accepted, Margin on one bar."""
    ref, got = assert_parity(gap_margin)
    sequence = statuses(got)
    assert any(sequence[i:i + 3] == ["Submitted", "Accepted", "Margin"]
               for i in range(len(sequence) - 2))


def test_quirk_cumulative_submission_check():
    """Notes 3: the check is cumulative in submission order; a refused order's cash stays
    spent for the rest of the check, so a small third order is refused too."""
    ref, got = assert_parity(cumulative_check)
    assert statuses(got).count("Margin") >= 20


def test_quirk_notifications_a_bar_late_and_submitted_cancel_ignored():
    """Notes 4: notifications come before the next bar's next(); cancel() of an order
    that is only Submitted does nothing; orders placed on the last bar are never heard of."""
    ref, got = assert_parity(cancels)
    first = [e for e in got["log"] if e[0] == "order"][:3]
    # bar 1: buy + cancel (ignored, still Submitted); both statuses arrive on bar 2;
    # the cancel made on bar 3 is heard on bar 4
    assert [e[4] for e in first] == ["Submitted", "Accepted", "Canceled"]
    assert first[0][1] == first[1][1] < first[2][1]

    def last_bar(bt):
        class LastBar(logged(bt)):
            def next(self):
                if len(self) == self.data.buflen():
                    self.buy(size=1)

        c = bt.Cerebro()
        c.adddata(yahoo(bt, start=dt.datetime(2010, 1, 1), end=dt.datetime(2010, 3, 31)))
        c.addstrategy(LastBar)
        return c

    ref, got = assert_parity(last_bar, min_events=0)
    assert got["log"] == []


def test_quirk_stoptrail_notifications_share_created():
    """Notes 6: StopTrail starts at the creation close x (1 - pct), ratchets on closes, and
    notifications share the live ``created``: the Submitted notification (delivered a bar
    later) already shows the trail moved by that bar's close."""
    ref, got = assert_parity(trailing_stops)

    def snapshots(bt):
        class Seen(bt.Strategy):
            def __init__(self):
                self.seen = []
                self.o = None

            def notify_order(self, o):
                if o.exectype == bt.Order.StopTrail:
                    self.seen.append((o.getstatusname(), o.created.pclose, o.created.price,
                                      o.executed.price))
                if not o.alive():
                    self.o = None

            def next(self):
                if self.o:
                    return
                self.o = (self.buy(size=10) if not self.position else
                          self.sell(size=10, exectype=bt.Order.StopTrail, trailpercent=0.04))

        c = bt.Cerebro()
        c.adddata(yahoo(bt, start=dt.datetime(2003, 1, 1), end=dt.datetime(2007, 12, 31)))
        c.addstrategy(Seen)
        return c.run()[0].seen

    import backtrader as bbt
    import ml4t.compat.backtrader as mbt
    a, b = snapshots(bbt), snapshots(mbt)
    assert same(a, b)
    submitted = [x for x in b if x[0] == "Submitted"]
    assert all(price >= pclose * 0.96 - 1e-9 for _, pclose, price, _ in submitted)
    assert any(price > pclose * 0.96 + 1e-9 for _, pclose, price, _ in submitted)


def test_quirk_valid_semantics():
    """Notes 7: DAY expires before it can fill on daily bars; valid=3 expires at once;
    valid=0 never expires; timedelta validity counts calendar days."""
    ref, got = assert_parity(valid_kinds)
    by_ref = {}
    for e in got["log"]:
        if e[0] == "order":
            by_ref.setdefault(e[3], []).append(e[4])
    assert by_ref[1] == ["Submitted", "Accepted", "Expired"]     # DAY
    assert by_ref[2] == ["Submitted", "Accepted", "Expired"]     # valid=3
    assert "Expired" not in by_ref[3]                            # valid=0


def test_quirk_bracket_cancel_semantics():
    """Notes 8: when one leg fills the other is Canceled; when the entry expires both legs
    are Canceled; a refused entry makes its legs Rejected."""
    ref, got = assert_parity(buy_brackets)
    seq = statuses(got)
    assert "Expired" in seq and "Canceled" in seq and "Completed" in seq
    ref, got = assert_parity(bracket_refused)
    assert set(statuses(got)) == {"Submitted", "Margin", "Rejected"}


def test_quirk_csv_bar_timestamps_and_todate():
    """Notes 9: CSV daily bars are stamped 23:59:59.999989, PandasData keeps midnight, so
    ``todate=datetime(2012, 12, 31)`` drops that day's CSV bar."""
    import ml4t.compat.backtrader as mbt
    import backtrader as bbt

    def stamps(bt, feed):
        class Grab(bt.Strategy):
            def __init__(self):
                self.seen = []

            def next(self):
                self.seen.append(self.data.datetime.datetime(0))

        c = bt.Cerebro()
        c.adddata(feed)
        c.addstrategy(Grab)
        return c.run()[0].seen

    for bt in (bbt, mbt):
        seen = stamps(bt, yahoo(bt, start=dt.datetime(2012, 12, 20),
                                end=dt.datetime(2012, 12, 31)))
        assert seen[-1] == dt.datetime(2012, 12, 28, 23, 59, 59, 999989)
        df = pd.read_csv(ORCL, parse_dates=["Date"], index_col="Date")
        seen = stamps(bt, bt.feeds.PandasData(dataname=df, fromdate=dt.datetime(2012, 12, 20),
                                              todate=dt.datetime(2012, 12, 31)))
        assert seen[-1] == dt.datetime(2012, 12, 31)


def test_quirk_yahoo_adjusts_and_rounds():
    """Notes 1: open/high/low scaled by adj close / close, prices rounded to 2 decimals."""
    import backtrader as bbt
    import ml4t.compat.backtrader as mbt

    def columns(bt):
        class Grab(bt.Strategy):
            def __init__(self):
                self.rows = []

            def next(self):
                d = self.data
                self.rows.append((d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0]))

        c = bt.Cerebro()
        c.adddata(yahoo(bt))
        c.addstrategy(Grab)
        return c.run()[0].rows

    a, b = columns(bbt), columns(mbt)
    assert a == b                                   # bit for bit
    assert a[0] == (1.96, 1.95, 1.88, 1.88, 40811939.0) or a[0][3] == round(a[0][3], 2)


def test_quirk_commission_and_trade_pnlcomm():
    """Notes 5: commission is a fraction of size x price on every fill; a trade's
    commission holds entry and exit and pnlcomm = pnl - commission."""
    ref, got = assert_parity(sma_cross_sizer)
    closed = [e for e in got["log"] if e[0] == "trade" and e[3]]
    assert closed and all(abs(e[8] - (e[7] - e[10])) < 1e-9 for e in closed)


def test_quirk_sizing_truncation_and_target_zero():
    """Notes 10: PercentSizer is fractional, AllInSizerInt and order_target_* whole; a
    target of 0 goes through close()."""
    ref, got = assert_parity(sma_cross_sizer)
    sizes = [e[5] for e in got["log"] if e[0] == "order" and e[4] == "Submitted"]
    assert any(isinstance(s, float) and not float(s).is_integer() for s in sizes)
    ref, got = assert_parity(target_percent)
    sizes = [e[5] for e in got["log"] if e[0] == "order" and e[4] == "Submitted"]
    assert all(float(s).is_integer() for s in sizes)


def test_quirk_short_proceeds_are_cash():
    """Notes 11: a short adds its proceeds to cash; value = cash + size x close."""
    assert_parity(shorts)


def test_quirk_closing_part_never_checked_for_cash():
    """Notes 18: covering a short is never refused for cash (cash goes below zero); a
    reversal that does not fit fills its closing part (Partial) and then gets Margin."""
    ref, got = assert_parity(cover_short_no_cash)
    sequence = statuses(got)
    assert any(sequence[i:i + 2] == ["Partial", "Margin"] for i in range(len(sequence) - 1))
    covers = [e for e in got["log"] if e[0] == "order" and e[4] == "Completed" and e[5] > 0]
    assert covers, "no short was covered outright"
    # (in this run Backtrader's cash falls to about -28,849 after a cover)


def test_quirk_oco_earlier_submitted_member_fills():
    """Notes 19: when one bar touches two members of an OCO group or both legs of a
    bracket, the earlier-submitted one fills (a bracket's stop, created before its limit)."""
    assert_parity(oco_both_touched)
    assert_parity(bracket_both_touched)


def test_quirk_analyzer_defaults_and_labels():
    """Notes 12: SharpeRatio defaults to yearly, 1% risk free, no annualisation; TimeReturn
    labels each year by Dec 31 even when the last bar is earlier."""
    def yearly(bt):
        c = _cross_cerebro(bt)              # data ends on 2009-12-30 (todate at midnight)
        c.addanalyzer(bt.analyzers.TimeReturn, _name="yearly", timeframe=bt.TimeFrame.Years)
        c.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe")
        return c

    ref, got = assert_parity(yearly)
    assert list(got["analysis"]["yearly"])[-1] == dt.date(2009, 12, 31)
    assert got["analysis"]["sharpe"]["sharperatio"] == pytest.approx(
        ref["analysis"]["sharpe"]["sharperatio"], rel=1e-9)


def test_quirk_refs_count_per_run():
    """Notes 13: Backtrader's refs count across runs; the shim's start at 1 each run."""
    import ml4t.compat.backtrader as mbt
    firsts = []
    for _ in range(2):
        s = sma_cross_sizer(mbt).run()[0]
        firsts.append(min(e[3] for e in s.log if e[0] == "order"))
    assert firsts == [1, 1]


def test_quirk_stop_attribute_shadows_stop():
    """Notes 14: a user attribute ``self.stop`` shadows Strategy.stop(); both engines crash
    at the end the same way."""
    import backtrader as bbt
    import ml4t.compat.backtrader as mbt
    for bt in (bbt, mbt):
        class Shadow(bt.Strategy):
            def __init__(self):
                self.stop = 0.95

        c = bt.Cerebro()
        c.adddata(yahoo(bt, start=dt.datetime(2010, 1, 1), end=dt.datetime(2010, 2, 1)))
        c.addstrategy(Shadow)
        with pytest.raises(TypeError):
            c.run()


def test_quirk_first_bar_reads_wrap_around():
    """Preloaded buffers: ``close[-1]`` on the first bar reads the data's last close."""
    import backtrader as bbt
    import ml4t.compat.backtrader as mbt
    out = []
    for bt in (bbt, mbt):
        class Peek(bt.Strategy):
            def next(self):
                if len(self) == 1:
                    out.append((self.data.close[0], self.data.close[-1]))

        c = bt.Cerebro()
        c.adddata(yahoo(bt, start=dt.datetime(2010, 1, 1), end=dt.datetime(2010, 3, 1)))
        c.addstrategy(Peek)
        c.run()
    assert out[0] == out[1]


def test_optstrategy_runs_each_combination():
    results = {}
    for name in ("backtrader", "ml4t.compat.backtrader"):
        bt = importlib.import_module(name)
        c = bt.Cerebro(maxcpus=1)
        c.adddata(yahoo(bt, start=dt.datetime(2000, 1, 1), end=dt.datetime(2009, 12, 31)))
        c.optstrategy(_fixed_size_cross(bt), fast=(5, 10), slow=range(20, 41, 10))
        c.broker.setcash(10000)
        c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="ta")
        c.addanalyzer(bt.analyzers.Returns, _name="ret")
        out = c.run()
        results[name] = [(r[0].params.fast, r[0].params.slow,
                          r[0].analyzers.ret.get_analysis()["rtot"],
                          plain(r[0].analyzers.ta.get_analysis()))
                         for r in out]
    assert len(results["backtrader"]) == 6
    assert same(results["backtrader"], results["ml4t.compat.backtrader"])


def _example_on_both(name):
    """examples/<name> run with its import line as it is and switched to real Backtrader:
    (orders, analyses, final value) of each."""
    import sys
    import types
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / name
    source = path.read_text()
    assert "import ml4t.compat.backtrader as bt\n" in source
    outcome = []
    for line in ("import backtrader as bt\n", "import ml4t.compat.backtrader as bt\n"):
        module = types.ModuleType(path.stem + "_example")
        module.__file__ = str(path)
        sys.modules[module.__name__] = module        # Backtrader's metaclasses look it up
        try:
            exec(compile(source.replace("import ml4t.compat.backtrader as bt\n", line),
                         str(path), "exec"), module.__dict__)
            cerebro = module.make_cerebro()
            strat = cerebro.run()[0]
        finally:
            del sys.modules[module.__name__]
        refs = {}
        orders = [(refs.setdefault(o.ref, len(refs)), o.getstatusname(), o.data._name,
                   o.executed.size, o.executed.price, o.executed.comm) for o in strat._orders]
        analysis = {n: plain(a.get_analysis())
                    for n, a in zip(strat.analyzers.getnames(), strat.analyzers)}
        outcome.append((orders, analysis, cerebro.broker.getvalue()))
    return outcome


def test_example_runs_the_same_on_both():
    """examples/bt_sma_crossover.py with its import line switched to real Backtrader."""
    (orders_a, an_a, value_a), (orders_b, an_b, value_b) = _example_on_both(
        "bt_sma_crossover.py")
    assert len(orders_a) > 100
    assert same(orders_a, orders_b)
    assert same(an_a, an_b)
    assert abs(value_a - value_b) <= REL * value_a


def test_rotation_example_runs_the_same_on_both():
    """examples/bt_monthly_rotation.py (a monthly timer, ADX, PyFolio) on both engines."""
    (orders_a, an_a, value_a), (orders_b, an_b, value_b) = _example_on_both(
        "bt_monthly_rotation.py")
    assert len(orders_a) > 50
    assert same(orders_a, orders_b)
    _close_nested(an_a, an_b)
    assert abs(value_a - value_b) <= REL * value_a


def _close_nested(a, b, path="") -> None:
    """Equal structures; floats within 1e-9 relative (the engines' cash agrees to that)."""
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys differ"
        for k in a:
            _close_nested(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _close_nested(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or \
            math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {a!r} vs {b!r}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def test_pyfolio_analyzer_gives_backtraders_items():
    """The book's Backtrader notebook: ``addanalyzer(bt.analyzers.PyFolio)`` then
    ``get_pf_items()`` for pyfolio. Same analysis dicts (returns, positions with headers
    and cash, transactions with headers, gross leverage) and the same four pandas objects;
    ``GrossLeverage`` alone too."""
    out = {}
    for name in ("backtrader", "ml4t.compat.backtrader"):
        bt = importlib.import_module(name)
        c = _cross_cerebro(bt)
        c.addanalyzer(bt.analyzers.PyFolio, _name="pyfolio")
        c.addanalyzer(bt.analyzers.GrossLeverage, _name="glev")
        strat = c.run()[0]
        pf = strat.analyzers.pyfolio
        out[name] = (pf.get_analysis(), pf.get_pf_items(), strat.analyzers.glev.get_analysis())
    (ref, ref_items, ref_lev), (got, got_items, got_lev) = out.values()
    _close_nested(ref, got)
    _close_nested(ref_lev, got_lev)
    assert len(ref["transactions"]) > 10 and max(ref["gross_lev"].values()) > 0.4   # traded
    for a, b in zip(ref_items, got_items):
        if isinstance(a, pd.Series):
            pd.testing.assert_series_equal(a, b, rtol=1e-9, atol=1e-9)
        else:
            pd.testing.assert_frame_equal(a, b, rtol=1e-9, atol=1e-9)
    returns, positions, transactions, gross_lev = got_items
    assert str(returns.index.tz) == "UTC" and list(positions.columns)[-1] == "cash"
    assert list(transactions.columns) == ["amount", "price", "sid", "symbol", "value"]


def test_calmar_vwr_periodstats_and_rolling_log_returns():
    """The remaining stock analyzers, with their defaults and with other time frames,
    against Backtrader's on the 2000-2009 crossover."""
    specs = {
        "calmar": ("Calmar", {}), "calmar_q": ("Calmar", {"period": 8}),
        "vwr": ("VWR", {}), "vwr_m": ("VWR", {"timeframe": "Months", "tau": 0.3}),
        "stats": ("PeriodStats", {}), "stats_m": ("PeriodStats", {"timeframe": "Months",
                                                                 "zeroispos": True}),
        "logret": ("LogReturnsRolling", {}),
        "logret_w": ("LogReturnsRolling", {"timeframe": "Weeks", "compression": 4}),
    }
    out = {}
    for name in ("backtrader", "ml4t.compat.backtrader"):
        bt = importlib.import_module(name)
        c = _cross_cerebro(bt)
        for label, (cls, kw) in specs.items():
            kw = {k: getattr(bt.TimeFrame, v) if k == "timeframe" else v
                  for k, v in kw.items()}
            c.addanalyzer(getattr(bt.analyzers, cls), _name=label, **kw)
        strat = c.run()[0]
        out[name] = {label: getattr(strat.analyzers, label).get_analysis() for label in specs}
    ref, got = out.values()
    for label in specs:
        _close_nested(dict(ref[label]), dict(got[label]), label)
    assert len(ref["calmar"]) == 120 and ref["stats"]["positive"] + ref["stats"]["negative"] > 0


def _timer_run(modname, variant):
    """A strategy trading from ``notify_timer`` (alternately 50% and flat), recording each
    call (bar count, ``when``, extra arguments, the feed's close, an SMA, the strategy's
    date) and every order notification."""
    bt = importlib.import_module(modname)

    class Timed(bt.Strategy):
        def __init__(self):
            self.sma = bt.ind.SMA(period=5)
            self.calls, self.notes = [], []
            if variant == "monthly":
                self.add_timer(when=bt.timer.SESSION_START, monthdays=[1], monthcarry=True)
            elif variant == "monthdays_no_carry":
                self.add_timer(when=bt.timer.SESSION_START, monthdays=[1, 15],
                               monthcarry=False, tag="m")
            elif variant == "weekly":
                self.add_timer(when=bt.timer.SESSION_END, weekdays=[5], weekcarry=True)
            elif variant == "time_allow":
                self.add_timer(when=dt.time(10, 0), offset=dt.timedelta(minutes=30),
                               allow=lambda d: d.day % 3 == 0)
            elif variant == "pandas_session_end":
                self.add_timer(when=bt.timer.SESSION_END)

        def notify_timer(self, timer, when, *args, **kwargs):
            self.calls.append((len(self), str(when), args, sorted(kwargs.items()),
                               self.data.close[0], self.sma[0],
                               str(self.datetime.date(0)) if len(self) else None))
            self.order_target_percent(target=0.5 if len(self.calls) % 2 else 0.0)

        def notify_order(self, order):
            self.notes.append((len(self), order.getstatusname(), order.executed.size,
                               order.executed.price))

    class Hears(bt.Cerebro):
        def notify_timer(self, timer, when, *args, **kwargs):
            self.heard.append((str(when), args, sorted(kwargs.items())))

    c = Hears()
    c.heard = []
    if variant == "pandas_session_end":      # bars stamped at midnight, before the end
        frame = pd.read_csv(ORCL, parse_dates=["Date"], index_col="Date").loc["2003":"2005"]
        c.adddata(bt.feeds.PandasData(dataname=frame.rename(columns=str.lower)))
    else:
        c.adddata(yahoo(bt, start=dt.datetime(2003, 1, 1), end=dt.datetime(2005, 12, 31)))
    c.addstrategy(Timed)
    c.broker.setcash(100000)
    if variant == "cerebro_strats":
        c.add_timer(bt.timer.SESSION_END, weekdays=[1, 3], weekcarry=False, strats=True,
                    key=1)
    strat = c.run()[0]
    return strat.calls, strat.notes, c.heard, c.broker.getvalue()


def _same_nan(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_nan(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("variant", ["monthly", "monthdays_no_carry", "weekly", "time_allow",
                                     "pandas_session_end", "cerebro_strats"])
def test_timers(variant):
    """``add_timer``: the same calls on the same bars with the same ``when`` (month / week
    days with and without carry, a time with an offset and an ``allow`` filter, a cerebro
    timer with ``strats=True``), the strategy one bar behind inside ``notify_timer`` (its
    ``len``, date and indicators; the feed already on the new bar), the same orders."""
    calls, notes, heard, value = _timer_run("backtrader", variant)
    got_calls, got_notes, got_heard, got_value = _timer_run("ml4t.compat.backtrader", variant)
    assert _same_nan(got_calls, calls)
    assert got_notes == notes and got_heard == heard
    assert math.isclose(got_value, value, rel_tol=1e-9)
    expected = {"monthly": 36, "monthdays_no_carry": 59, "weekly": 157, "time_allow": 247,
                "pandas_session_end": 0, "cerebro_strats": 297}
    assert len(calls) == expected[variant]


def _signal_run(modname, variant):
    """``cerebro.add_signal`` set-ups on ORCL 2005-2008: every notification (and the
    custom ``next`` calls of a ``SignalStrategy`` subclass) and the final value."""
    bt = importlib.import_module(modname)

    class CloseOverSMA(bt.Indicator):
        lines = ("signal",)
        params = (("period", 30),)

        def __init__(self):
            self.lines.signal = self.data - bt.indicators.SMA(period=self.p.period)

    class FastOverSlow(bt.Indicator):
        lines = ("signal",)

        def __init__(self):
            self.lines.signal = bt.ind.SMA(period=5) - bt.ind.SMA(period=30)

    seen = []

    class Logged(bt.SignalStrategy):
        def notify_order(self, order):
            seen.append((len(self), order.getstatusname(), order.executed.size,
                         order.executed.price))

        def next(self):
            seen.append(("own next", len(self)))

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2005, 1, 1), end=dt.datetime(2008, 12, 31)))
    c.broker.setcash(50000)
    if variant != "default":
        c.signal_strategy(Logged)
    if variant == "longshort":
        c.add_signal(bt.SIGNAL_LONGSHORT, CloseOverSMA)
    elif variant == "long_with_exit":
        c.add_signal(bt.SIGNAL_LONG, CloseOverSMA, period=20)
        c.add_signal(bt.SIGNAL_LONGEXIT, FastOverSlow)
    elif variant == "short_inv_accumulate":
        c.add_signal(bt.SIGNAL_SHORT_INV, CloseOverSMA, period=15)
        c.signal_accumulate(True)
    elif variant == "long_concurrent":
        c.add_signal(bt.SIGNAL_LONG, CloseOverSMA)
        c.signal_concurrent(True)
        c.addsizer(bt.sizers.FixedSize, stake=7)
    elif variant == "default":                # no signal_strategy: a plain SignalStrategy
        c.add_signal(bt.SIGNAL_LONGSHORT, CloseOverSMA)
        c.addanalyzer(bt.analyzers.Transactions, _name="tx")
    strats = c.run()
    if variant == "default":
        seen = [(str(k), v) for k, v in strats[0].analyzers.tx.get_analysis().items()]
    return seen, c.broker.getvalue(), [type(s).__name__ for s in strats]


@pytest.mark.parametrize("variant", ["longshort", "long_with_exit", "short_inv_accumulate",
                                     "long_concurrent", "default"])
def test_signal_strategies(variant):
    """Signals: long/short, a long entry with a separate exit signal, an inverted short
    entry that accumulates, concurrent orders, and the default ``SignalStrategy`` (its
    transactions): the same notifications in the same order and final value."""
    seen, value, kinds = _signal_run("backtrader", variant)
    got_seen, got_value, got_kinds = _signal_run("ml4t.compat.backtrader", variant)
    assert got_kinds == kinds
    assert got_seen == seen
    assert math.isclose(got_value, value, rel_tol=1e-9)
    assert len(seen) > 20


# ------------------------------------------------------- intraday resampling, bar by bar
from test_bt_resample import recorder  # noqa: E402  (what each step shows, per feed)

def _bars_seen(bt, src, src_tf, compression, plain, tf="Minutes", **kw):
    c = bt.Cerebro(stdstats=False)
    if src.endswith(".csv"):
        d = bt.feeds.GenericCSVData(
            dataname=str(DATA / src), dtformat="%Y-%m-%dT%H:%M:%S.%f",
            timeframe=getattr(bt.TimeFrame, src_tf[0]), compression=src_tf[1], datetime=0,
            time=-1, open=1, high=2, low=3, close=4, volume=5, openinterest=6)
    else:
        d = bt.feeds.BacktraderCSVData(dataname=str(DATA / src),
                                       timeframe=getattr(bt.TimeFrame, src_tf[0]),
                                       compression=src_tf[1])
    if plain:
        c.adddata(d)
    c.resampledata(d, timeframe=getattr(bt.TimeFrame, tf), compression=compression, **kw)
    c.addstrategy(recorder(bt))
    return c.run()[0].rows


MIN5 = ("2006-min-005.txt", ("Minutes", 5))
MIN1 = ("2006-01-02-volume-min-001.txt", ("Minutes", 1))
TICKS = ("ticksample.csv", ("Ticks", 1))
INTRADAY = [
    (MIN5, 15, False, {}), (MIN5, 15, True, {}), (MIN5, 60, True, {}), (MIN5, 7, False, {}),
    (MIN5, 7, True, {}), (MIN5, 10, False, {}), (MIN5, 5, True, {}),
    (MIN5, 15, True, dict(rightedge=False)), (MIN5, 7, False, dict(rightedge=False)),
    (MIN5, 15, True, dict(boundoff=5)), (MIN5, 7, False, dict(boundoff=5)),
    (MIN5, 15, True, dict(bar2edge=False)), (MIN5, 7, False, dict(bar2edge=False)),
    (MIN5, 7, False, dict(adjbartime=False)), (MIN5, 15, True, dict(sessionend=False)),
    (MIN1, 5, False, {}), (MIN1, 30, True, {}),
    (TICKS, 1, False, dict(tf="Seconds")), (TICKS, 5, True, dict(tf="Seconds")),
    (TICKS, 1, True, {}), (TICKS, 3, False, {}),
]


@pytest.mark.parametrize("src, comp, plain, kw", INTRADAY,
                         ids=[f"{s[0][:8]}-{c}-{'plain' if p else 'alone'}-"
                              f"{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}"
                              for s, c, p, kw in INTRADAY])
def test_intraday_resampling_bars(src, comp, plain, kw):
    """Every step of a strategy next to intraday resampled bars (and their source, when
    ``plain``): each feed's length, time and OHLCV as real Backtrader shows them."""
    ref = _bars_seen(importlib.import_module("backtrader"), src[0], src[1], comp, plain, **kw)
    got = _bars_seen(importlib.import_module("ml4t.compat.backtrader"), src[0], src[1], comp,
                     plain, **kw)
    assert len(ref) > 1
    for i, (x, y) in enumerate(zip(ref, got)):
        assert x == y, f"step {i}:\n backtrader: {x}\n shim:       {y}"
    assert len(ref) == len(got)


def test_intraday_example_runs_the_same_on_both():
    """examples/bt_intraday_resample.py (5-minute bars with an hourly resampling, stops)
    on both engines."""
    (orders_a, an_a, value_a), (orders_b, an_b, value_b) = _example_on_both(
        "bt_intraday_resample.py")
    assert len(orders_a) > 100
    assert any(o[1] == "Canceled" for o in orders_a)
    assert same(orders_a, orders_b)
    _close_nested(an_a, an_b)
    assert abs(value_a - value_b) <= REL * value_a


def test_named_commission_schemes_charge_each_feed_its_own():
    """``setcommission(..., name=...)``: NVDA pays 0.02 per share (0.80 per 40-share
    fill), ORCL the default 0.1% and YHOO 0.3% of size x price, in both engines."""
    ref, got = assert_parity(commission_per_data, min_events=40)
    fills = [e for e in got["log"] if e[0] == "order" and e[4] == "Completed"]
    rate = {"ORCL": 0.001, "YHOO": 0.003}
    assert {e[2] for e in fills} == {"ORCL", "NVDA", "YHOO"}
    for e in fills:
        name, size, price, comm = e[2], e[6], e[7], e[8]
        want = 0.02 * abs(size) if name == "NVDA" else rate[name] * abs(size) * price
        assert comm == pytest.approx(want, rel=1e-12)


# ---------------------------------------------------------------------------- observers
def _observed(bt, strat):
    """(name, line, len, [0], [-1]) of every line of every observer of ``strat``."""
    rows = []
    for name, obs in strat.stats.getitems():
        rows.append(_lines_of(name, obs))
    for name in ("buysell",):
        for i, obs in enumerate(getattr(strat.stats, name, None) or ()):
            rows.append(_lines_of(f"{name}{i}", obs))
    return rows


def _lines_of(name, obs):
    out = [name, len(obs)]
    for i, line in enumerate(obs.lines):
        out.append((obs.lines._getlinealias(i), line[0] if len(obs) else None,
                    line[-1] if len(obs) > 1 else None))
    return tuple(out)


def observing(bt, build_feeds, next_body, observers=(), cerebro_kw=None, broker=None,
              indicators=True):
    """A strategy trading an SMA cross on each data that records, in every ``next()``
    and ``prenext()``, what each observer shows, and every observer line in ``stop()``."""

    class Observing(bt.Strategy):
        def __init__(self):
            if indicators:
                self.cross = [bt.ind.CrossOver(bt.ind.SMA(d, period=5),
                                               bt.ind.SMA(d, period=20))
                              for d in self.datas]

        def start(self):
            self.seen = []

        def prenext(self):
            self.seen.append(("pre", len(self), _observed(bt, self)))

        def next(self):
            self.seen.append(("next", len(self), _observed(bt, self)))
            next_body(self)

        def stop(self):
            self.final = [(name, [list(line.get(size=len(obs))) for line in obs.lines])
                          for name, obs in self.stats.getitems()]

    c = bt.Cerebro(**(cerebro_kw or {}))
    for d in build_feeds(bt):
        c.adddata(d)
    c.addstrategy(Observing)
    c.broker.setcash(10000)
    c.broker.setcommission(commission=0.001)
    if broker:
        broker(c.broker)
    for multi, cls, kw in observers:
        (c.addobservermulti if multi else c.addobserver)(getattr(bt.observers, cls), **kw)
    return c


def _cross_trades(s):
    for d, x in zip(s.datas, s.cross):
        if x > 0 and not s.getposition(d):
            s.buy(data=d, size=20)
        elif x < 0 and s.getposition(d):
            s.close(data=d)


def _one(bt):
    return [yahoo(bt, start=dt.datetime(2004, 1, 1), end=dt.datetime(2005, 6, 30))]


def _two(bt):
    return [yahoo(bt, start=dt.datetime(2004, 1, 1), end=dt.datetime(2005, 6, 30)),
            yahoo(bt, NVDA, dt.datetime(2004, 3, 1), dt.datetime(2005, 6, 30))]


ALL_OBSERVERS = [(False, "DrawDown", {}), (False, "DrawDownLength", {}),
                 (False, "DrawDown_Old", {}), (False, "Value", {}), (False, "Cash", {}),
                 (False, "FundValue", {}), (False, "FundShares", {}),
                 (False, "TimeReturn", dict(timeframe=None)),
                 (False, "TimeReturn", dict(obsname="weekly", timeframe=5)),
                 (False, "Benchmark", dict(timeframe=6)),
                 (False, "LogReturns", dict(timeframe=5))]
OBSERVER_SETUPS = {
    "stdstats_one_data": (_one, {}, (), None),
    "every_observer": (_one, {}, ALL_OBSERVERS, None),
    "two_datas_datatrades": (_two, {}, [(True, "BuySell", {}), (False, "Trades", {})], None),
    "bar_by_bar_mode": (_one, dict(runonce=False), ALL_OBSERVERS[:4], None),
    "no_stdstats": (_one, dict(stdstats=False, oldbuysell=True),
                    [(False, "Broker", {}), (True, "BuySell", {})], None),
    "fund_mode": (_one, {}, [(False, "DrawDown", {}), (False, "TimeReturn", {})],
                  lambda b: b.set_fundmode(True, 50.0)),
}


@pytest.mark.parametrize("setup", list(OBSERVER_SETUPS))
def test_observers(setup):
    """What ``self.stats`` shows inside ``prenext()``/``next()`` (each observer's length,
    ``[0]`` and ``[-1]``: the previous bar's values, NaN during the warm-up in the
    vectorised mode) and every observer line at the end, as in Backtrader."""
    feeds, ckw, obs, broker = OBSERVER_SETUPS[setup]
    out = []
    for mod in ("backtrader", "ml4t.compat.backtrader"):
        bt = importlib.import_module(mod)
        c = observing(bt, feeds, _cross_trades, obs, ckw, broker)
        s = c.run()[0]
        out.append((s.seen, s.final, c.broker.getvalue()))
    (seen_a, final_a, value_a), (seen_b, final_b, value_b) = out
    assert len(seen_a) > 100 and final_a
    for i, (x, y) in enumerate(zip(seen_a, seen_b)):
        assert same(x, y), f"step {i}:\n backtrader: {x}\n shim:       {y}"
    assert len(seen_a) == len(seen_b)
    assert same(final_a, final_b)
    assert abs(value_a - value_b) <= REL * value_a


def test_custom_observer_reads_the_bar_notifications():
    """Backtrader's documented custom observer: an ``Observer`` subclass whose ``next``
    reads ``self._owner._orderspending`` (the bar's order notifications) to mark the
    creation price of accepted and expired limit buys; the strategy reads it back."""
    out = []
    for mod in ("backtrader", "ml4t.compat.backtrader"):
        bt = importlib.import_module(mod)

        class OrderObserver(bt.observer.Observer):
            lines = ("created", "expired")

            def next(self):
                for order in self._owner._orderspending:
                    if order.data is not self.data or not order.isbuy():
                        continue
                    if order.status in (bt.Order.Accepted, bt.Order.Submitted):
                        self.lines.created[0] = order.created.price
                    elif order.status == bt.Order.Expired:
                        self.lines.expired[0] = order.created.price

        class Limits(bt.Strategy):
            def __init__(self):
                self.sma = bt.ind.SMA(period=10)
                self.seen = []

            def next(self):
                o = self.stats.orderobserver[0]       # a list: one per data (multi)
                self.seen.append((len(o), o.created[0], o.expired[0]))
                if not self.position and self.data.close[0] > self.sma[0]:
                    self.buy(exectype=bt.Order.Limit, price=self.data.close[0] * 0.98,
                             valid=dt.timedelta(days=2), size=10)
                elif self.position and len(self) % 9 == 0:
                    self.close()

        c = bt.Cerebro()
        c.adddata(yahoo(bt, start=dt.datetime(2006, 1, 1), end=dt.datetime(2007, 6, 30)))
        c.addstrategy(Limits)
        c.addobservermulti(OrderObserver)
        c.broker.setcash(10000)
        s = c.run()[0]
        out.append(s.seen)
    ref, got = out
    assert sum(1 for _, c, e in ref if c == c) > 10 and sum(1 for _, c, e in ref if e == e) > 5
    assert same(ref, got)


# ------------------------------------------------------------------------ add_cash
def add_cash_run(bt, fund):
    """An SMA cross adding cash twice and taking some out (and adding some before the
    run, which Backtrader drops), with the value-based analyzers."""

    class Adds(bt.Strategy):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=5), bt.ind.SMA(period=20))
            self.rows = []

        def notify_fund(self, cash, value, fundvalue, shares):
            self.rows.append(("fund", len(self), cash, value, fundvalue, shares))

        def next(self):
            b = self.broker
            self.rows.append(("next", len(self), b.getcash(), b.getvalue(), b.fundvalue,
                              b.fundshares, self.stats.broker.value[0]))
            if len(self) in (30, 31):
                b.add_cash(5000)
            if len(self) == 90:
                b.add_cash(-2000)
            if self.cross > 0 and not self.position:
                self.buy(size=40)
            elif self.cross < 0 and self.position:
                self.close()

    c = bt.Cerebro()
    c.adddata(yahoo(bt, start=dt.datetime(2004, 1, 1), end=dt.datetime(2005, 6, 30)))
    c.addstrategy(Adds)
    c.broker.setcash(10000)
    c.broker.add_cash(777)
    if fund:
        c.broker.set_fundmode(True, 50.0)
    for name, cls, kw in (("tr", "TimeReturn", dict(timeframe=bt.TimeFrame.Months)),
                          ("dd", "DrawDown", {}), ("tdd", "TimeDrawDown", {}),
                          ("ret", "Returns", {}), ("sharpe", "SharpeRatio",
                                                   dict(timeframe=bt.TimeFrame.Weeks)),
                          ("vwr", "VWR", {}), ("lev", "GrossLeverage", {})):
        c.addanalyzer(getattr(bt.analyzers, cls), _name=name, **kw)
    return c


@pytest.mark.parametrize("fund", [False, True], ids=["value", "fund_mode"])
def test_add_cash(fund):
    """``broker.add_cash`` arrives at the next bar after its orders (not in that bar's
    cash check), before ``next()``; in fund mode it buys fund shares at the last fund
    value and the analyzers follow the fund value (so the deposits are not returns);
    cash added before the run is dropped. Everything as in Backtrader."""
    out = []
    for mod in ("backtrader", "ml4t.compat.backtrader"):
        bt = importlib.import_module(mod)
        c = add_cash_run(bt, fund)
        s = c.run()[0]
        out.append((s.rows, {n: plain(a.get_analysis())
                             for n, a in zip(s.analyzers.getnames(), s.analyzers)},
                    c.broker.getvalue(), c.broker.getcash()))
    (rows_a, an_a, value_a, cash_a), (rows_b, an_b, value_b, cash_b) = out
    cash_at = {r[1]: r[2] for r in rows_a if r[0] == "next"}
    assert cash_at[29] == cash_at[30] == 10000           # before the run: dropped
    assert cash_at[31] == cash_at[30] + 5000             # bar 31 sees bar 30's addition
    for i, (x, y) in enumerate(zip(rows_a, rows_b)):
        assert same(x, y), f"row {i}:\n backtrader: {x}\n shim:       {y}"
    assert len(rows_a) == len(rows_b)
    _close_nested(an_a, an_b)
    assert same((value_a, cash_a), (value_b, cash_b))


def test_chaindata_joins_pieces_and_names_the_chain():
    """The chained feeds trade under their chain's name (the first piece's file, or
    ``name=``), with the same orders as Backtrader, overlap skipped."""
    ref, got = assert_parity(chained_feeds, min_events=20)
    names = {e[2] for e in got["log"] if e[0] == "order"}
    assert names == {ORCL, "NVDA"}


def test_chaindata_bars_by_hand():
    """ORCL 1998 + 1998-06..1999-06: 252 bars of 1998, then 1999's first session
    (1999-01-04) follows 1998-12-31 directly; 375 bars in all."""
    import ml4t.compat.backtrader as sbt

    def piece(a, b):
        return sbt.feeds.GenericCSVData(dataname=ORCL, fromdate=a, todate=b,
                                        dtformat="%Y-%m-%d", datetime=0, open=1, high=2,
                                        low=3, close=4, volume=6, openinterest=-1)
    seen = []

    class Watch(sbt.Strategy):
        def next(self):
            seen.append(self.data.datetime.date(0))

    c = sbt.Cerebro()
    c.chaindata(piece(dt.datetime(1998, 1, 1), dt.datetime(1998, 12, 31)),
                piece(dt.datetime(1998, 6, 1), dt.datetime(1999, 6, 30)))
    c.addstrategy(Watch)
    c.run()
    assert len(seen) == 375 and len(set(seen)) == 375 and seen == sorted(seen)
    assert seen[251:253] == [dt.date(1998, 12, 31), dt.date(1999, 1, 4)]
    with pytest.raises(TypeError, match="data feeds"):
        sbt.Cerebro().chaindata("not a feed")


# ------------------------------------------------------------------------ rollover
def _piece(bt, path, a, b):
    return bt.feeds.GenericCSVData(dataname=path, fromdate=a, todate=b, dtformat="%Y-%m-%d",
                                   datetime=0, open=1, high=2, low=3, close=4, volume=6,
                                   openinterest=-1)


def _quarter_roll(d, data):
    return d.month in (3, 6, 9, 12) and d.day >= 15


def _more_volume(d0, d1):
    return d1.volume[0] > 0.5 * d0.volume[0]


ROLLOVERS = {
    # name: (pieces as (file, from, to), checkdate, checkcondition)
    "quarterly_with_condition": ([(ORCL, (2005, 1, 1), (2005, 12, 31)),
                                  (NVDA, (2005, 2, 1), (2006, 6, 30)),
                                  (YHOO, (2005, 1, 1), (2006, 12, 31))],
                                 _quarter_roll, _more_volume),
    "no_condition": ([(ORCL, (2005, 1, 1), (2005, 12, 31)),
                      (NVDA, (2005, 1, 1), (2006, 12, 31))], _quarter_roll, None),
    "never_rolls": ([(ORCL, (2005, 1, 1), (2005, 6, 30)),
                     (NVDA, (2005, 1, 1), (2005, 12, 31))], None, None),
    "runs_out_first": ([(ORCL, (2005, 1, 1), (2005, 3, 31)),
                        (NVDA, (2005, 2, 1), (2005, 9, 30))], lambda d, data: False, None),
    "later_start": ([(ORCL, (2005, 1, 1), (2005, 12, 31)),
                     (YHOO, (2005, 5, 2), (2006, 3, 31))],
                    lambda d, data: d.month == 7 and d.day >= 10, None),
}


def _rolled(bt, name):
    pieces, checkdate, checkcondition = ROLLOVERS[name]
    seen = []

    class Watch(bt.Strategy):
        def next(self):
            seen.append((len(self), self.data.datetime.date(0), self.data.open[0],
                         self.data.close[0], self.data.volume[0]))

    c = bt.Cerebro()
    feeds = [_piece(bt, f, dt.datetime(*a), dt.datetime(*b)) for f, a, b in pieces]
    kw = {"checkdate": checkdate}
    if checkcondition is not None:
        kw["checkcondition"] = checkcondition
    c.rolloverdata(*feeds, **kw)
    c.addstrategy(Watch)
    c.run()
    return seen, c.datas[0]._name


@pytest.mark.parametrize("name", list(ROLLOVERS))
def test_rolloverdata_bars(name):
    """Every bar a strategy sees through ``rolloverdata``, as Backtrader delivers it."""
    ref = _rolled(importlib.import_module("backtrader"), name)
    got = _rolled(importlib.import_module("ml4t.compat.backtrader"), name)
    assert len(ref[0]) > 40
    assert ref == got


def rolled_trading(bt):
    """An SMA crossover trading a rolled-over feed, with analyzers."""
    class Rolled(logged(bt)):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=5), bt.ind.SMA(period=20))

        def next(self):
            if self.cross[0] > 0:
                self.buy(size=50)
            elif self.cross[0] < 0 and self.position.size:
                self.close()

    pieces, checkdate, checkcondition = ROLLOVERS["quarterly_with_condition"]
    c = bt.Cerebro()
    c.rolloverdata(*[_piece(bt, f, dt.datetime(*a), dt.datetime(*b)) for f, a, b in pieces],
                   checkdate=checkdate, checkcondition=checkcondition, name="ROLL")
    c.addstrategy(Rolled)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.001)
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    return c


def test_rolloverdata_trading():
    ref, got = assert_parity(rolled_trading, min_events=10)
    assert {e[2] for e in got["log"] if e[0] == "order"} == {"ROLL"}


# ------------------------------------------------------------------------ data filters
def heikin_ashi_trading(bt):
    """``data.addfilter(bt.filters.HeikinAshi)`` on ORCL 2004-2007: the strategy, its
    indicators and the fills all see the remodelled candles."""
    class HA(logged(bt)):
        def __init__(self):
            self.sma = bt.ind.SMA(period=10)

        def next(self):
            up = self.data.close[0] > self.data.open[0]
            if up and self.data.close[0] > self.sma[0] and not self.position:
                self.buy(size=100)
            elif not up and self.position:
                self.close()

    c = bt.Cerebro()
    d = yahoo(bt, ORCL, dt.datetime(2004, 1, 1), dt.datetime(2007, 12, 31))
    d.addfilter(bt.filters.HeikinAshi)
    c.adddata(d)
    c.addstrategy(HA)
    c.broker.setcash(100000)
    c.broker.setcommission(commission=0.001)
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    return c


def session_filtered_intraday(bt):
    """``SessionFilter`` on 5-minute bars with a 10:00-15:00 session: the bars outside it
    never reach the strategy or the broker."""
    class Intraday(logged(bt)):
        def __init__(self):
            self.ema = bt.ind.EMA(period=12)

        def next(self):
            if self.data.close[0] > self.ema[0] and not self.position:
                self.buy(size=10)
            elif self.data.close[0] < self.ema[0] and self.position:
                self.close()

    c = bt.Cerebro()
    d = bt.feeds.BacktraderCSVData(dataname=str(DATA / "2006-min-005.txt"),
                                   timeframe=bt.TimeFrame.Minutes, compression=5,
                                   sessionstart=dt.time(10, 0), sessionend=dt.time(15, 0))
    d.addfilter(bt.filters.SessionFilter)
    c.adddata(d)
    c.addstrategy(Intraday)
    c.broker.setcash(100000)
    return c


@pytest.mark.parametrize("build", [heikin_ashi_trading, session_filtered_intraday],
                         ids=["heikin_ashi", "session_filter"])
def test_data_filters(build):
    ref, got = assert_parity(build, min_events=20)
    fills = [e for e in got["log"] if e[0] == "order" and e[4] == "Completed"]
    assert len(fills) >= 10 and len(fills) == len([e for e in ref["log"] if e[0] == "order"
                                                    and e[4] == "Completed"])


def test_heikin_ashi_filter_bars_by_hand():
    """First bar: close (o+h+l+c)/4, open (o+c)/2, high/low unchanged; next: open the
    mean of the previous remodelled open and close."""
    import ml4t.compat.backtrader as sbt
    seen = []

    class Watch(sbt.Strategy):
        def next(self):
            d = self.data
            seen.append((d.open[0], d.high[0], d.low[0], d.close[0]))

    raw = pd.read_csv(ORCL, index_col=0, parse_dates=True).loc["2004-01-02":"2004-01-05"]
    c = sbt.Cerebro()
    d = sbt.feeds.YahooFinanceCSVData(dataname=ORCL, fromdate=dt.datetime(2004, 1, 1),
                                      todate=dt.date(2004, 1, 5), adjclose=False)
    d.addfilter(sbt.filters.HeikinAshi)
    c.adddata(d)
    c.addstrategy(Watch)
    c.run()
    (o0, h0, l0, c0), (o1, h1, l1, c1) = raw[["Open", "High", "Low", "Close"]].to_numpy()
    ha_c0 = (o0 + h0 + l0 + c0) / 4
    ha_o0 = (o0 + c0) / 2
    ha_c1, ha_o1 = (o1 + h1 + l1 + c1) / 4, (ha_o0 + ha_c0) / 2
    assert seen[0] == pytest.approx((ha_o0, h0, l0, ha_c0), rel=1e-12)
    assert seen[1] == pytest.approx((ha_o1, max(ha_o1, ha_c1, h1), min(ha_o1, ha_c1, l1),
                                     ha_c1), rel=1e-12)
    with pytest.raises(NotImplementedError, match="Renko"):
        d.addfilter(sbt.filters.Renko)


def test_session_filter_keeps_the_session_bars():
    """5-minute bars from 09:05 to 17:30; a 10:00-15:00 session keeps the bars stamped
    10:00 through 15:00, both ends included."""
    import ml4t.compat.backtrader as sbt
    seen = []

    class Watch(sbt.Strategy):
        def next(self):
            seen.append(self.data.datetime.time(0))

    c = sbt.Cerebro()
    d = sbt.feeds.BacktraderCSVData(dataname=str(DATA / "2006-min-005.txt"),
                                    timeframe=sbt.TimeFrame.Minutes, compression=5,
                                    sessionstart=dt.time(10, 0), sessionend=dt.time(15, 0))
    d.addfilter(sbt.filters.SessionFilter)
    c.adddata(d)
    c.addstrategy(Watch)
    c.run()
    times = pd.read_csv(DATA / "2006-min-005.txt")["Time"]
    assert len(seen) == int(((times >= "10:00:00") & (times <= "15:00:00")).sum()) > 1000
    assert min(seen) == dt.time(10, 0) and max(seen) == dt.time(15, 0)
