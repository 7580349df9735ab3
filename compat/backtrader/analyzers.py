"""Analyzers with Backtrader's hooks and ``get_analysis()`` shapes.

An analyzer hears what its strategy hears (``notify_order``, ``notify_trade``,
``notify_cashvalue``, ``notify_fund``) and runs ``prenext``/``nextstart``/``next`` after
the strategy on every bar; ``stop`` after the last bar. The values it sees (cash, value,
trades) come from the native engine through the shim.
"""
from __future__ import annotations

import datetime as _dt
import collections
import math
import sys
from collections import OrderedDict

from ._params import OWNER, ParamsHolder
from .utils import AutoDict, AutoOrderedDict, TimeFrame, period_key

__all__ = ["Analyzer", "TimeFrameAnalyzerBase", "TimeReturn", "SharpeRatio", "SharpeRatio_A",
           "DrawDown", "TimeDrawDown", "TradeAnalyzer", "Returns", "SQN",
           "SystemQualityNumber", "AnnualReturn", "Transactions", "PositionsValue",
           "Calmar", "VWR", "VariabilityWeightedReturn", "LogReturnsRolling", "PeriodStats",
           "GrossLeverage", "PyFolio"]


def average(x, bessel=False):
    return math.fsum(x) / (len(x) - bessel)


def standarddev(x, avgx=None, bessel=False):
    if avgx is None:
        avgx = average(x)
    return math.sqrt(average([pow(y - avgx, 2.0) for y in x], bessel=bessel))


class Analyzer(ParamsHolder):
    """Base class of analyzers (override ``next``, ``notify_*``, ``stop`` and
    ``get_analysis``; ``self.rets`` is an ordered dict by default)."""

    csv = True

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        owner = OWNER.get()
        if isinstance(owner, Analyzer):
            parent, strategy = owner, owner.strategy
        else:
            parent, strategy = None, owner
        if strategy is None:
            raise RuntimeError(f"{cls.__name__} is created by cerebro.run(); add it with "
                               "cerebro.addanalyzer()")
        rest = self._bt_make_params(kwargs)
        d = self.__dict__
        d["_children"] = []
        d["strategy"] = strategy
        d["_parent"] = parent
        d["datas"] = strategy.datas
        if strategy.datas:
            d["data"] = strategy.datas[0]
        for i, data in enumerate(strategy.datas):
            d[f"data{i}"] = data
        self.create_analysis()
        d["_bt_pending"] = (args, rest)
        return self

    def __init__(self, *args, **kwargs):
        pass

    def _bt_outer_init(self, init, args, kwargs):
        tok = OWNER.set(self)
        try:
            init(self, *args, **kwargs)
        finally:
            OWNER.reset(tok)
        if self._parent is not None:
            self._parent._children.append(self)

    def __len__(self):
        return len(self.strategy)

    # --------------------------------------------------- dispatch (children first)
    def _start(self):
        for c in self._children:
            c._start()
        self.start()

    def _stop(self):
        for c in self._children:
            c._stop()
        self.stop()

    def _prenext(self):
        for c in self._children:
            c._prenext()
        self.prenext()

    def _nextstart(self):
        for c in self._children:
            c._nextstart()
        self.nextstart()

    def _next(self):
        for c in self._children:
            c._next()
        self.next()

    def _notify_order(self, order):
        for c in self._children:
            c._notify_order(order)
        self.notify_order(order)

    def _notify_trade(self, trade):
        for c in self._children:
            c._notify_trade(trade)
        self.notify_trade(trade)

    def _notify_cashvalue(self, cash, value):
        for c in self._children:
            c._notify_cashvalue(cash, value)
        self.notify_cashvalue(cash, value)

    def _notify_fund(self, cash, value, fundvalue, shares):
        for c in self._children:
            c._notify_fund(cash, value, fundvalue, shares)
        self.notify_fund(cash, value, fundvalue, shares)

    # ------------------------------------------------------------------ hooks
    def notify_cashvalue(self, cash, value):
        pass

    def notify_fund(self, cash, value, fundvalue, shares):
        pass

    def notify_order(self, order):
        pass

    def notify_trade(self, trade):
        pass

    def next(self):
        pass

    def prenext(self):
        self.next()

    def nextstart(self):
        self.next()

    def start(self):
        pass

    def stop(self):
        pass

    def create_analysis(self):
        self.rets = OrderedDict()

    def get_analysis(self):
        return self.rets

    def pprint(self, *args, **kwargs):
        import pprint
        pprint.pprint(self.get_analysis(), *args, **kwargs)

    def print(self, *args, **kwargs):
        print(f"{type(self).__name__}:")
        for k, v in self.get_analysis().items():
            print(f"  - {k}: {v}")


class TimeFrameAnalyzerBase(Analyzer):
    """An analyzer that acts when a time-frame period (year, month, ...) ends."""

    params = (("timeframe", None), ("compression", None), ("_doprenext", True))

    def _start(self):
        self.timeframe = self.p.timeframe or self.data._timeframe
        self.compression = self.p.compression or self.data._compression
        self.dtcmp, self.dtkey = period_key(_dt.datetime.min, self.timeframe,
                                            self.compression)
        super()._start()

    def _prenext(self):
        for c in self._children:
            c._prenext()
        if self._dt_over():
            self.on_dt_over()
        if self.p._doprenext:
            self.prenext()

    def _nextstart(self):
        for c in self._children:
            c._nextstart()
        if self._dt_over() or not self.p._doprenext:
            self.on_dt_over()
        self.nextstart()

    def _next(self):
        for c in self._children:
            c._next()
        if self._dt_over():
            self.on_dt_over()
        self.next()

    def on_dt_over(self):
        pass

    def _dt_over(self):
        if self.timeframe == TimeFrame.NoTimeFrame:
            dtcmp, dtkey = sys.maxsize, _dt.datetime.max
        else:
            dtcmp, dtkey = period_key(self.strategy.datetime.datetime(), self.timeframe,
                                      self.compression)
        if self.dtcmp is None or dtcmp > self.dtcmp:
            self.dtkey, self.dtkey1 = dtkey, self.dtkey
            self.dtcmp, self.dtcmp1 = dtcmp, self.dtcmp
            return True
        return False


class TimeReturn(TimeFrameAnalyzerBase):
    """Return of the portfolio (or of ``data``) over each period, keyed by the period's
    label (years by Dec 31, months by their last day...)."""

    params = (("data", None), ("firstopen", True), ("fund", None))

    def start(self):
        self._fundmode = _fund_mode(self)
        self._value_start = 0.0
        self._lastvalue = None
        if self.p.data is None:
            self._lastvalue = _fund_value(self)

    def notify_fund(self, cash, value, fundvalue, shares):
        if self.p.data is not None:
            self._value = self.p.data[0]
        else:
            self._value = fundvalue if self._fundmode else value

    def on_dt_over(self):
        if self.p.data is None or self._lastvalue is not None:
            self._value_start = self._lastvalue
        elif self.p.firstopen:
            self._value_start = self.p.data.open[0]
        else:
            self._value_start = self.p.data[0]

    def next(self):
        self.rets[self.dtkey] = (self._value / self._value_start) - 1.0
        self._lastvalue = self._value


class SharpeRatio(Analyzer):
    """Sharpe ratio of the period returns (yearly by default) against ``riskfreerate``
    (1%), not annualised unless ``annualize=True``."""

    params = (("timeframe", TimeFrame.Years), ("compression", 1), ("riskfreerate", 0.01),
              ("factor", None), ("convertrate", True), ("annualize", False),
              ("stddev_sample", False), ("daysfactor", None), ("legacyannual", False),
              ("fund", None))
    RATEFACTORS = {TimeFrame.Days: 252, TimeFrame.Weeks: 52, TimeFrame.Months: 12,
                   TimeFrame.Years: 1}

    def __init__(self):
        if self.p.legacyannual:
            self.anret = AnnualReturn()
        else:
            self.timereturn = TimeReturn(timeframe=self.p.timeframe,
                                         compression=self.p.compression, fund=self.p.fund)

    def stop(self):
        if self.p.legacyannual:
            rate = self.p.riskfreerate
            avg = average([r - rate for r in self.anret.rets])
            dev = standarddev(self.anret.rets)
            self.ratio = avg / dev
        else:
            returns = list(self.timereturn.get_analysis().values())
            rate = self.p.riskfreerate
            factor = None
            if self.p.timeframe == TimeFrame.Days and self.p.daysfactor is not None:
                factor = self.p.daysfactor
            elif self.p.factor is not None:
                factor = self.p.factor
            elif self.p.timeframe in self.RATEFACTORS:
                factor = self.RATEFACTORS[self.p.timeframe]
            if factor is not None:
                if self.p.convertrate:
                    rate = pow(1.0 + rate, 1.0 / factor) - 1.0
                else:
                    returns = [pow(1.0 + x, factor) - 1.0 for x in returns]
            n = len(returns) - self.p.stddev_sample
            if n:
                excess = [r - rate for r in returns]
                avg = average(excess)
                dev = standarddev(excess, avgx=avg, bessel=self.p.stddev_sample)
                try:
                    ratio = avg / dev
                    if factor is not None and self.p.convertrate and self.p.annualize:
                        ratio = math.sqrt(factor) * ratio
                except (ValueError, TypeError, ZeroDivisionError):
                    ratio = None
            else:
                ratio = None
            self.ratio = ratio
        self.rets["sharperatio"] = self.ratio


class SharpeRatio_A(SharpeRatio):
    params = (("annualize", True),)


class DrawDown(Analyzer):
    """Current and maximum drawdown in % and money, and their lengths in bars."""

    params = (("fund", None),)

    def create_analysis(self):
        self.rets = AutoOrderedDict()
        self.rets.len = 0
        self.rets.drawdown = 0.0
        self.rets.moneydown = 0.0
        self.rets.max.len = 0.0
        self.rets.max.drawdown = 0.0
        self.rets.max.moneydown = 0.0
        self._maxvalue = float("-inf")

    def stop(self):
        self.rets._close()

    def start(self):
        self._fundmode = _fund_mode(self)

    def notify_fund(self, cash, value, fundvalue, shares):
        if self._fundmode:
            value = fundvalue
        self._value = value
        self._maxvalue = max(self._maxvalue, value)

    def next(self):
        r = self.rets
        r.moneydown = moneydown = self._maxvalue - self._value
        r.drawdown = drawdown = 100.0 * moneydown / self._maxvalue
        r.max.moneydown = max(r.max.moneydown, moneydown)
        r.max.drawdown = max(r.max.drawdown, drawdown)
        r.len = r.len + 1 if drawdown else 0
        r.max.len = max(r.max.len, r.len)


class TimeDrawDown(TimeFrameAnalyzerBase):
    params = (("fund", None),)

    def start(self):
        self.dd = 0.0
        self.maxdd = 0.0
        self.maxddlen = 0
        self.peak = float("-inf")
        self.ddlen = 0

    def on_dt_over(self):
        value = _fund_value(self)
        if value > self.peak:
            self.peak = value
            self.ddlen = 0
        self.dd = dd = 100.0 * (self.peak - value) / self.peak
        self.ddlen += bool(dd)
        self.maxdd = max(self.maxdd, dd)
        self.maxddlen = max(self.maxddlen, self.ddlen)

    def stop(self):
        self.rets["maxdrawdown"] = self.maxdd
        self.rets["maxdrawdownperiod"] = self.maxddlen


class TradeAnalyzer(Analyzer):
    """Statistics of closed trades: totals, streaks, P&L, won/lost, long/short, lengths."""

    def create_analysis(self):
        self.rets = AutoOrderedDict()
        self.rets.total.total = 0

    def stop(self):
        self.rets._close()

    def notify_trade(self, trade):
        r = self.rets
        if trade.justopened:
            r.total.total += 1
            r.total.open += 1
            return
        if trade.status != trade.Closed:
            return
        res = AutoDict()
        won = res.won = int(trade.pnlcomm >= 0.0)
        res.lost = int(not won)
        res.tlong = trade.long
        res.tshort = not trade.long
        r.total.open -= 1
        r.total.closed += 1
        for wl in ("won", "lost"):
            x = res[wl]
            r.streak[wl].current *= x
            r.streak[wl].current += x
            longest = r.streak[wl].longest or 0
            r.streak[wl].longest = max(longest, r.streak[wl].current)
        pnl = r.pnl
        pnl.gross.total += trade.pnl
        pnl.gross.average = r.pnl.gross.total / r.total.closed
        pnl.net.total += trade.pnlcomm
        pnl.net.average = r.pnl.net.total / r.total.closed
        for wl in ("won", "lost"):
            x = res[wl]
            node = r[wl]
            node.total += x
            npnl = node.pnl
            value = trade.pnlcomm * x
            npnl.total += value
            npnl.average = npnl.total / (node.total or 1.0)
            m = npnl.max or 0.0
            npnl.max = (max if wl == "won" else min)(m, value)
        for side in ("long", "short"):
            node = r[side]
            s = res["t" + side]
            node.total += s
            node.pnl.total += trade.pnlcomm * s
            node.pnl.average = node.pnl.total / (node.total or 1.0)
            for wl in ("won", "lost"):
                x = res[wl]
                value = trade.pnlcomm * x * s
                node[wl] += x * s
                node.pnl[wl].total += value
                node.pnl[wl].average = node.pnl[wl].total / (node[wl] or 1.0)
                m = node.pnl[wl].max or 0.0
                node.pnl[wl].max = (max if wl == "won" else min)(m, value)
        ln = r.len
        ln.total += trade.barlen
        ln.average = ln.total / r.total.closed
        m = ln.max or 0
        ln.max = max(m, trade.barlen)
        m = ln.min or sys.maxsize
        ln.min = min(m, trade.barlen)
        for wl in ("won", "lost"):
            node = ln[wl]
            x = res[wl]
            node.total += trade.barlen * x
            node.average = node.total / (r[wl].total or 1.0)
            m = node.max or 0
            node.max = max(m, trade.barlen * x)
            if trade.barlen * x:
                m = node.min or sys.maxsize
                node.min = min(m, trade.barlen * x)
        for side in ("long", "short"):
            node = ln[side]
            s = res["t" + side]
            barlen = trade.barlen * s
            node.total += barlen
            node.average = node.total / (r[side].total or 1.0)
            m = node.max or 0
            node.max = max(m, barlen)
            m = node.min or sys.maxsize
            node.min = min(m, barlen or m)
            for wl in ("won", "lost"):
                x = res[wl]
                barlen2 = trade.barlen * s * x
                sub = node[wl]
                sub.total += barlen2
                sub.average = sub.total / (r[side][wl] or 1.0)
                m = sub.max or 0
                sub.max = max(m, barlen2)
                m = sub.min or sys.maxsize
                sub.min = min(m, barlen2 or m)


class Returns(TimeFrameAnalyzerBase):
    """Total, average and annualised log returns."""

    params = (("tann", None), ("fund", None))
    _TANN = {TimeFrame.Days: 252.0, TimeFrame.Weeks: 52.0, TimeFrame.Months: 12.0,
             TimeFrame.Years: 1.0}

    def start(self):
        self._value_start = _fund_value(self)
        self._tcount = 0

    def stop(self):
        self._value_end = _fund_value(self)
        try:
            ratio = self._value_end / self._value_start
        except ZeroDivisionError:
            rtot = float("-inf")
        else:
            rtot = float("-inf") if ratio < 0.0 else math.log(ratio)
        self.rets["rtot"] = rtot
        self.rets["ravg"] = ravg = rtot / self._tcount
        tann = self.p.tann or self._TANN.get(self.timeframe, None)
        if tann is None:
            tann = self._TANN.get(self.data._timeframe, 1.0)
        rnorm = math.expm1(ravg * tann) if ravg > float("-inf") else ravg
        self.rets["rnorm"] = rnorm
        self.rets["rnorm100"] = rnorm * 100.0

    def on_dt_over(self):
        self._tcount += 1


class SQN(Analyzer):
    """Van Tharp's System Quality Number: sqrt(n) * mean(pnlcomm) / std(pnlcomm)."""

    alias = ("SystemQualityNumber",)

    def create_analysis(self):
        self.rets = AutoOrderedDict()

    def start(self):
        self.pnl = []
        self.count = 0

    def notify_trade(self, trade):
        if trade.status == trade.Closed:
            self.pnl.append(trade.pnlcomm)
            self.count += 1

    def stop(self):
        if self.count > 1:
            avg = average(self.pnl)
            dev = standarddev(self.pnl)
            try:
                sqn = math.sqrt(len(self.pnl)) * avg / dev
            except ZeroDivisionError:
                sqn = None
        else:
            sqn = 0
        self.rets.sqn = sqn
        self.rets.trades = self.count


SystemQualityNumber = SQN


class AnnualReturn(Analyzer):
    """Return of each calendar year from the value recorded at every bar."""

    def start(self):
        self._values = self.strategy._run.values_of(self.strategy)

    def stop(self):
        cur_year = -1
        value_start = value_end = 0.0
        self.rets = []
        self.ret = OrderedDict()
        values = self._values
        data = self.data
        for i in range(len(data) - 1, -1, -1):
            dt = data.datetime.date(-i)
            value_cur = values[len(values) - 1 - i]
            if dt.year > cur_year:
                if cur_year >= 0:
                    r = value_end / value_start - 1.0
                    self.rets.append(r)
                    self.ret[cur_year] = r
                    value_start = value_end
                else:
                    value_start = value_cur
                cur_year = dt.year
            value_end = value_cur
        if cur_year not in self.ret:
            r = value_end / value_start - 1.0
            self.rets.append(r)
            self.ret[cur_year] = r

    def get_analysis(self):
        return self.ret


class Transactions(Analyzer):
    """Executions per bar, netted per data: ``{datetime: [[size, price, sid, symbol,
    value], ...]}``."""

    params = (("headers", False), ("_pfheaders", ("date", "amount", "price", "sid", "symbol",
                                                  "value")))

    def start(self):
        if self.p.headers:
            self.rets[self.p._pfheaders[0]] = [list(self.p._pfheaders[1:])]
        self._positions = {}
        self._idnames = list(enumerate(self.strategy.getdatanames()))

    def notify_order(self, order):
        from .order import Order, Position
        if order.status not in (Order.Partial, Order.Completed):
            return
        pos = self._positions.setdefault(order.data._name, Position())
        for bit in order.executed.iterpending():
            pos.update(bit.size, bit.price)

    def next(self):
        entries = []
        for i, name in self._idnames:
            pos = self._positions.get(name)
            if pos is not None and pos.size:
                entries.append([pos.size, pos.price, i, name, -pos.size * pos.price])
        if entries:
            self.rets[self.strategy.datetime.datetime()] = entries
        self._positions.clear()


class PositionsValue(Analyzer):
    """Value of each data's position (and cash) at every bar."""

    params = (("headers", False), ("cash", False))

    def start(self):
        if self.p.headers:
            headers = [d._name or "Data%d" % i for i, d in enumerate(self.datas)]
            self.rets["Datetime"] = headers + ["cash"] * self.p.cash
        self._usedate = min(d._timeframe for d in self.datas) >= TimeFrame.Days

    def next(self):
        pvals = [self.strategy.broker.get_value([d]) for d in self.datas]
        if self.p.cash:
            pvals.append(self.strategy.broker.get_cash())
        key = (self.strategy.datetime.date() if self._usedate
               else self.strategy.datetime.datetime())
        self.rets[key] = pvals


class GrossLeverage(Analyzer):
    """``(value - cash) / value`` at every bar, keyed by the bar's datetime (``fund=True``:
    the fund value instead of the value)."""

    params = (("fund", None),)

    def start(self):
        self._fundmode = (getattr(self.strategy.broker, "fundmode", False)
                          if self.p.fund is None else self.p.fund)

    def notify_fund(self, cash, value, fundvalue, shares):
        self._cash = cash
        self._value = fundvalue if self._fundmode else value

    def next(self):
        self.rets[self.data0.datetime.datetime()] = (self._value - self._cash) / self._value


class PyFolio(Analyzer):
    """What pyfolio needs, gathered by four child analyzers: ``returns`` (``TimeReturn``
    over ``timeframe``), ``positions`` (``PositionsValue`` with headers and cash),
    ``transactions`` (``Transactions`` with headers) and ``gross_lev``
    (``GrossLeverage``); ``get_pf_items()`` turns them into pyfolio's inputs."""

    params = (("timeframe", TimeFrame.Days), ("compression", 1))

    def __init__(self):
        self._returns = TimeReturn(timeframe=self.p.timeframe,
                                   compression=self.p.compression)
        self._positions = PositionsValue(headers=True, cash=True)
        self._transactions = Transactions(headers=True)
        self._gross_lev = GrossLeverage()

    def stop(self):
        self.rets["returns"] = self._returns.get_analysis()
        self.rets["positions"] = self._positions.get_analysis()
        self.rets["transactions"] = self._transactions.get_analysis()
        self.rets["gross_lev"] = self._gross_lev.get_analysis()

    def get_pf_items(self):
        """``(returns, positions, transactions, gross_lev)`` as pyfolio takes them:
        Series / DataFrames indexed by UTC timestamps. As in Backtrader, ``positions``
        keeps only the last data's value and the cash (the last two columns)."""
        import pandas as pd

        def utc(frame):
            frame.index = pd.to_datetime(frame.index).tz_localize("UTC")
            return frame

        returns = utc(pd.DataFrame.from_records(list(self.rets["returns"].items()),
                                                index="index", columns=["index", "return"]))
        rows = [[k] + v[-2:] for k, v in self.rets["positions"].items()]
        head = rows.pop(0)
        positions = utc(pd.DataFrame.from_records(rows, index=head[0], columns=head))
        txs = [[k] + v for k, vs in self.rets["transactions"].items() for v in vs]
        head = txs.pop(0)
        transactions = utc(pd.DataFrame.from_records(txs, index=head[0], columns=head))
        lev = utc(pd.DataFrame.from_records(list(self.rets["gross_lev"].items()),
                                            index="index", columns=["index", "gross_lev"]))
        return returns["return"], positions, transactions, lev["gross_lev"]


def _fund_mode(analyzer) -> bool:
    """``fund`` as given, else the broker's fund mode."""
    fund = analyzer.p.fund
    return getattr(analyzer.strategy.broker, "fundmode", False) if fund is None else fund


def _fund_value(analyzer):
    """The account value an analyzer follows: the value, or the fund value with ``fund``
    (or the broker's fund mode)."""
    broker = analyzer.strategy.broker
    fund = analyzer.p.fund if analyzer.p.fund is not None else getattr(broker, "fundmode",
                                                                       False)
    return broker.fundvalue if fund else broker.getvalue()


class Calmar(TimeFrameAnalyzerBase):
    """At the end of each period: the average log return per period over the last
    ``period`` periods' values divided by the largest drawdown (in percent) seen so far."""

    params = (("timeframe", TimeFrame.Months), ("period", 36), ("fund", None))

    def __init__(self):
        self._maxdd = TimeDrawDown(timeframe=self.p.timeframe, compression=self.p.compression)

    def start(self):
        self._mdd = float("-inf")
        self._values = collections.deque([float("nan")] * self.p.period, maxlen=self.p.period)
        self._values.append(_fund_value(self))

    def on_dt_over(self):
        self._mdd = max(self._mdd, self._maxdd.maxdd)
        self._values.append(_fund_value(self))
        rann = math.log(self._values[-1] / self._values[0]) / len(self._values)
        self.calmar = calmar = rann / (self._mdd or float("inf"))
        self.rets[self.dtkey] = calmar

    def stop(self):
        self.on_dt_over()


class VWR(TimeFrameAnalyzerBase):
    """Variability-weighted return: the annualised return (``Returns``) x (1 - (sample
    deviation of the values from their average-growth path / ``sdev_max``) ^ ``tau``)."""

    params = (("tann", None), ("tau", 0.20), ("sdev_max", 2.0), ("fund", None))

    def __init__(self):
        self._returns = Returns(timeframe=self.p.timeframe, compression=self.p.compression,
                                tann=self.p.tann)

    def start(self):
        self._fund = (self.p.fund if self.p.fund is not None
                      else getattr(self.strategy.broker, "fundmode", False))
        self._pis = [_fund_value(self)]          # each period's starting value
        self._pns = [None]                       # and its last seen value

    def notify_fund(self, cash, value, fundvalue, shares):
        self._pns[-1] = fundvalue if self._fund else value

    def on_dt_over(self):
        self._pis.append(self._pns[-1])
        self._pns.append(None)

    def stop(self):
        if self._pns[-1] is None:
            self._pis.pop()
            self._pns.pop()
        rs = self._returns.get_analysis()
        ravg, rnorm100 = rs["ravg"], rs["rnorm100"]
        dts = [pn / (pi * math.exp(ravg * n)) - 1.0
               for n, (pi, pn) in enumerate(zip(self._pis, self._pns), 1)]
        sdev = standarddev(dts, bessel=True)
        self.rets["vwr"] = rnorm100 * (1.0 - pow(sdev / self.p.sdev_max, self.p.tau))


VariabilityWeightedReturn = VWR


class PeriodStats(Analyzer):
    """Average, standard deviation, best, worst and the counts of positive, negative and
    unchanged period returns (``TimeReturn`` over ``timeframe``)."""

    params = (("timeframe", TimeFrame.Years), ("compression", 1), ("zeroispos", False),
              ("fund", None))

    def __init__(self):
        self._tr = TimeReturn(timeframe=self.p.timeframe, compression=self.p.compression,
                              fund=self.p.fund)

    def stop(self):
        trets = list(self._tr.get_analysis().values())
        pos = sum(r > 0.0 for r in trets)
        neg = sum(r < 0.0 for r in trets)
        zero = sum(r == 0.0 for r in trets)
        if self.p.zeroispos:
            pos, zero = pos + zero, 0
        self.rets["average"] = avg = average(trets)
        self.rets["stddev"] = standarddev(trets, avg)
        self.rets["positive"] = pos
        self.rets["negative"] = neg
        self.rets["nochange"] = zero
        self.rets["best"] = max(trets)
        self.rets["worst"] = min(trets)


class LogReturnsRolling(TimeFrameAnalyzerBase):
    """Log return over the last ``compression`` periods, at every bar (of the portfolio,
    or of ``data``)."""

    params = (("data", None), ("firstopen", True), ("fund", None))

    def start(self):
        self._fund = (self.p.fund if self.p.fund is not None
                      else getattr(self.strategy.broker, "fundmode", False))
        self._values = collections.deque([float("nan")] * self.compression,
                                         maxlen=self.compression)
        if self.p.data is None:
            self._lastvalue = _fund_value(self)

    def notify_fund(self, cash, value, fundvalue, shares):
        if self.p.data is not None:
            self._value = self.p.data[0]
        else:
            self._value = fundvalue if self._fund else value

    def on_dt_over(self):
        if self.p.data is None or len(self.p.data) > 1:
            start = self._lastvalue
        else:
            start = self.p.data.open[0] if self.p.firstopen else self.p.data[0]
        self._values.append(start)

    def next(self):
        self.rets[self.dtkey] = math.log(self._value / self._values[0])
        self._lastvalue = self._value
