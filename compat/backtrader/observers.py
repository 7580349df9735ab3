"""Observers: lines computed after the strategy's ``next()`` on every bar and read through
``self.stats`` (``self.stats.broker.value[0]``), as in Backtrader.

Backtrader updates observers after ``next()`` and the analyzers, so inside ``next()`` an
observer's ``[0]`` is the value of the *previous* bar (NaN on the first bar) and
``len(observer)`` is ``len(self) - 1``. Observers compute from the first bar, the
strategy's warm-up included (an observer's ``prenext`` calls its ``next``; ``Benchmark``
waits). With ``stdstats`` (the default) every
strategy gets ``Broker``, ``BuySell`` per data (``barplot=True``) and ``Trades`` (one
data) or ``DataTrades`` (several).

The standard observers are not called per bar when their ``next`` is Backtrader's own:
``Broker``/``Cash``/``Value`` read the cash and value the run records anyway, and
``BuySell``/``Trades``/``DataTrades`` only run on bars with notifications. Custom
observers (``next()`` writing ``self.lines.x[0]``) run on every bar.
"""
from __future__ import annotations

import math

from ._params import OWNER
from .lines import Clock, LineBuffer, LineSeries

__all__ = ["Observer", "Broker", "Cash", "Value", "BuySell", "Trades", "DataTrades",
           "DrawDown", "TimeReturn", "Benchmark", "LogReturns", "LogReturns2", "FundValue",
           "FundShares", "DrawDown_Old", "DrawDownLength", "CashValue", "FundShareValue",
           "FundVal"]

NAN = float("nan")


class _ObserverClock(Clock):
    """The strategy's clock as an observer sees it: one bar per recorded value (the
    run appends a strategy's value after its ``next()`` and before its observers)."""

    def __init__(self, recorded, dtnums):
        self._recorded = recorded
        self._dtnums = dtnums
        self._fixed = None               # a past bar, while it is being caught up

    @property
    def _idx(self):
        fixed = self._fixed
        return len(self._recorded) - 1 if fixed is None else fixed

    @_idx.setter
    def _idx(self, value):
        pass                             # follows the recorded values


class _RecordedLine(LineBuffer):
    """A line copied, when read, from a list the run appends to every bar (the cash or
    value of the strategy's broker)."""

    __slots__ = ("_src", "_done", "_arr")

    def __init__(self, clock, src, name=""):
        self._src, self._done = src, 0
        LineBuffer.__init__(self, clock, None, 1, name)

    @property
    def array(self):
        src = self._src
        n, done = len(src), self._done
        if done < n:
            self._arr[done:n] = src[done:n]
            self._done = n
        return self._arr

    @array.setter
    def array(self, value):
        self._arr = value


class _EventLine(LineBuffer):
    """A line of an observer that only acts on bars with notifications: those bars are
    logged during the run and the observer's ``next()`` runs for them when the line is
    read (each logged bar once, in order)."""

    __slots__ = ("_obs", "_arr")

    def __init__(self, clock, obs, name=""):
        self._obs = obs
        LineBuffer.__init__(self, clock, None, 1, name)

    @property
    def array(self):
        obs = self._obs
        if obs._bt_done < len(obs._owner._bt_events) and not obs._bt_catching_up:
            obs._bt_catch_up()
        return self._arr

    @array.setter
    def array(self, value):
        self._arr = value


class Observer(LineSeries):
    """Base class of observers: declare ``lines`` (and ``params``), write them in
    ``next()`` with ``self.lines.<name>[0] = ...``. ``self._owner`` is the strategy,
    ``self.datas`` its datas (one data for ``addobservermulti``)."""

    _stclock = True
    csv = True
    _bt_kind = "bar"                    # "bar": next() every bar; "events"; "recorded"

    def __new__(cls, *args, _bt_datas=None, **kwargs):
        self = object.__new__(cls)
        strat = OWNER.get()
        if strat is None or not hasattr(strat, "_bt_observers"):
            raise RuntimeError(f"{cls.__name__} is created by cerebro.run(); add it with "
                               "cerebro.addobserver()")
        rest = self._bt_make_params(kwargs)
        datas = list(strat.datas if _bt_datas is None else _bt_datas)
        d = self.__dict__
        d["_owner"] = strat
        d["datas"] = datas
        d["ddatas"] = {x: None for x in datas}
        if datas:
            d["data"] = datas[0]
        for i, data in enumerate(datas):
            d[f"data{i}"] = data
        d["_analyzers"] = []
        d["_bt_started"] = False
        self._bt_make_lines(strat._run.observer_clock(strat), 1)
        d["_bt_pending"] = (args, rest)
        return self

    def __init__(self, *args, **kwargs):
        pass

    def _bt_outer_init(self, init, args, kwargs):
        tok = OWNER.set(self._owner)     # slave analyzers attach to the strategy
        try:
            init(self, *args, **kwargs)
        finally:
            OWNER.reset(tok)

    def _bt_clock(self):
        return self.lines[0]._clock if len(self.lines) else None

    # ------------------------------------------------------------------ hooks
    def start(self):
        pass

    def stop(self):
        pass

    def prenext(self):
        self.next()                      # an observer is always observing

    def nextstart(self):
        self.next()

    def next(self):
        pass

    def _bt_lazy(self, run):
        """Run ``next()`` only for the logged bars with notifications, when read."""
        self._bt_done = 0
        self._bt_catching_up = False
        clock = self.lines[0]._clock
        for i, name in enumerate(self.lines._names):
            _swap_line(self, i, _EventLine(clock, self, name))

    def _bt_catch_up(self):
        """``next()`` for each logged bar not seen yet, with the strategy's notification
        lists, the observer's clock and the feeds' clocks as they were on that bar."""
        strat = self._owner
        run = strat._run
        log = strat._bt_events
        clock = self.lines[0]._clock
        feeds = [d._clock for d in run.datas]
        saved = (strat._orderspending, strat._tradespending, [c._idx for c in feeds])
        self._bt_catching_up = True
        try:
            while self._bt_done < len(log):
                k, orders, trades = log[self._bt_done]
                self._bt_done += 1
                strat._orderspending, strat._tradespending = orders, trades
                clock._fixed = k
                lens = run._lens[k]
                for i, c in enumerate(feeds):
                    c._idx = int(lens[i]) - 1
                self.next()
        finally:
            strat._orderspending, strat._tradespending, idx = saved
            for c, i in zip(feeds, idx):
                c._idx = i
            clock._fixed = None
            self._bt_catching_up = False

    def _bt_step(self, status, once):
        """One bar, after the strategy's ``next()`` (Backtrader's ``_next_observers``)."""
        if once:
            if status < 0:
                self.next()
            elif status == 0:
                self.nextstart()
            else:
                self.prenext()
        elif self._bt_started:
            self.next()
        else:
            self.__dict__["_bt_started"] = True
            self.nextstart()


def _swap_line(obs, i, buf):
    """Put ``buf`` in the place of line ``i`` (and of the attributes naming it)."""
    lines = obs.lines
    old = lines._buffers[i]
    lines._replace(i, buf)
    d = obs.__dict__
    for key in (lines._names[i], "line_" + lines._names[i], "line", "_l0"):
        if d.get(key) is old:
            d[key] = buf


def _fund(obs):
    fund = obs.p.fund
    return obs._owner.broker.fundmode if fund is None else fund


class Cash(Observer):
    """The broker's cash after each bar."""

    lines = ("cash",)
    _bt_kind = "recorded"

    def next(self):
        self.lines[0][0] = self._owner.broker.getcash()

    def _bt_record(self, run):
        _swap_line(self, 0, run.recorded_line(self, "cash"))


class Value(Observer):
    """The broker's value after each bar (``fund=True``: the fund value)."""

    lines = ("value",)
    params = (("fund", None),)
    _bt_kind = "recorded"

    def start(self):
        self._fundmode = _fund(self)

    def next(self):
        broker = self._owner.broker
        self.lines[0][0] = broker.fundvalue if self._fundmode else broker.getvalue()

    def _bt_record(self, run):
        _swap_line(self, 0, run.recorded_line(self, "value"))


class Broker(Observer):
    """Cash and value after each bar; in fund mode the value line holds the fund value
    and the cash line stays NaN."""

    lines = ("cash", "value")
    params = (("fund", None),)
    alias = ("CashValue",)
    _bt_kind = "recorded"

    def start(self):
        self._fundmode = _fund(self)

    def next(self):
        broker = self._owner.broker
        if self._fundmode:
            self.lines.value[0] = broker.fundvalue
        else:
            self.lines.value[0] = broker.getvalue()
            self.lines.cash[0] = broker.getcash()

    def _bt_record(self, run):
        _swap_line(self, 0, run.recorded_line(self, "cash"))
        _swap_line(self, 1, run.recorded_line(self, "value"))


CashValue = Broker


class FundValue(Observer):
    """The value of one fund share after each bar."""

    lines = ("fundval",)
    alias = ("FundShareValue", "FundVal")

    def next(self):
        self.lines.fundval[0] = self._owner.broker.fundvalue


FundShareValue = FundVal = FundValue


class FundShares(Observer):
    """The number of fund shares after each bar."""

    lines = ("fundshares",)

    def next(self):
        self.lines.fundshares[0] = self._owner.broker.fundshares


class BuySell(Observer):
    """The average execution price of the buys and of the sells of the bar (NaN
    without); ``barplot=True`` puts a marker ``bardist`` under the low / over the high
    instead."""

    lines = ("buy", "sell")
    params = (("barplot", False), ("bardist", 0.015))
    _bt_kind = "events"

    def next(self):
        buys, sells = [], []
        for order in self._owner._orderspending:
            if order.data is not self.data or not order.executed.size:
                continue
            (buys if order.isbuy() else sells).append(order.executed.price)
        self._mark(self.lines.buy, buys, "_buylen", lambda: self.data.low[0] *
                   (1 - self.p.bardist))
        self._mark(self.lines.sell, sells, "_selllen", lambda: self.data.high[0] *
                   (1 + self.p.bardist))

    def _mark(self, line, prices, count, beside):
        # the running average of the bar's executions (several passes only on replay)
        cur = line[0]
        if cur != cur:
            cur, n = 0.0, 0
        else:
            n = self.__dict__.get(count, 0)
        total = cur + math.fsum(prices)
        n += len(prices)
        value = total / n if n else NAN
        if not self.p.barplot:
            line[0] = value
        elif value == value:
            line[0] = beside()
        self.__dict__[count] = n


class Trades(Observer):
    """The net (``pnlcomm=True``) or gross profit of each trade closed in the bar, in
    ``pnlplus`` or ``pnlminus`` by its sign."""

    lines = ("pnlplus", "pnlminus")
    params = (("pnlcomm", True),)
    _bt_kind = "events"

    def next(self):
        for trade in self._owner._tradespending:
            if trade.data not in self.ddatas or not trade.isclosed:
                continue
            pnl = trade.pnlcomm if self.p.pnlcomm else trade.pnl
            if pnl >= 0.0:
                self.lines.pnlplus[0] = pnl
            else:
                self.lines.pnlminus[0] = pnl


class DataTrades(Observer):
    """The gross profit of each trade closed in the bar, one line per data (named after
    the data with ``usenames``, else ``data0``, ``data1``...)."""

    params = (("usenames", True),)
    _bt_kind = "events"

    def __new__(cls, *args, _bt_datas=None, **kwargs):
        strat = OWNER.get()
        datas = list(strat.datas if (strat is not None and _bt_datas is None)
                     else (_bt_datas or ()))
        usenames = kwargs.get("usenames", True)
        names = tuple((d._name or f"data{i}") if usenames else f"data{i}"
                      for i, d in enumerate(datas))
        sub = type(cls.__name__, (cls,), {"lines": names, "__module__": cls.__module__})
        return Observer.__new__(sub, *args, _bt_datas=_bt_datas, **kwargs)

    def next(self):
        for trade in self._owner._tradespending:
            if trade.data not in self.ddatas or not trade.isclosed:
                continue
            i = next(i for i, d in enumerate(self.datas) if d is trade.data)
            self.lines[i][0] = trade.pnl


def _slave(obs, ancls, **kwargs):
    return obs._owner._addanalyzer_slave(ancls, **kwargs)


class DrawDown(Observer):
    """The drawdown (percent) and the maximum drawdown so far, from a ``DrawDown``
    analyzer of its own."""

    lines = ("drawdown", "maxdrawdown")
    params = (("fund", None),)

    def __init__(self):
        from .analyzers import DrawDown as Analyzer
        self._dd = _slave(self, Analyzer, **self.p._getkwargs())

    def next(self):
        self.lines.drawdown[0] = self._dd.rets.drawdown
        self.lines.maxdrawdown[0] = self._dd.rets.max.drawdown


class DrawDownLength(Observer):
    """The length of the current drawdown and the longest one so far (bars)."""

    lines = ("len", "maxlen")

    def __init__(self):
        from .analyzers import DrawDown as Analyzer
        self._dd = _slave(self, Analyzer)

    def next(self):
        self.lines.len[0] = self._dd.rets.len
        self.lines.maxlen[0] = self._dd.rets.max.len


class DrawDown_Old(Observer):
    """Drawdown from the highest value seen (percent) and its maximum."""

    lines = ("drawdown", "maxdrawdown")

    def __init__(self):
        self.maxdd = 0.0
        self.peak = float("-inf")

    def next(self):
        value = self._owner.broker.getvalue()
        if value > self.peak:
            self.peak = value
        self.lines.drawdown[0] = dd = 100.0 * (self.peak - value) / self.peak
        self.lines.maxdrawdown[0] = self.maxdd = max(self.maxdd, dd)


class TimeReturn(Observer):
    """The return of the current period (``timeframe``/``compression``; default: the
    whole run) from a ``TimeReturn`` analyzer of its own."""

    lines = ("timereturn",)
    params = (("timeframe", None), ("compression", None), ("fund", None))

    def __init__(self):
        from .analyzers import TimeReturn as Analyzer
        self.treturn = _slave(self, Analyzer, **self.p._getkwargs())

    def next(self):
        self.lines.timereturn[0] = self.treturn.rets.get(self.treturn.dtkey, NAN)


class Benchmark(TimeReturn):
    """The strategy's period return (``timereturn``) next to that of a data
    (``benchmark``, the first data unless ``data`` is given)."""

    lines = ("benchmark",)
    params = (("data", None), ("_doprenext", False), ("firstopen", False), ("fund", None))

    def __init__(self):
        from .analyzers import TimeReturn as Analyzer
        if self.p.data is None:
            self.p.data = self.data0
        kwargs = self.p._getkwargs()
        bench = _slave(self, Analyzer, **kwargs)          # the data's returns
        kwargs.update(data=None)
        self.treturn, self.tbench = _slave(self, Analyzer, **kwargs), bench

    def next(self):
        super().next()
        self.lines.benchmark[0] = self.tbench.rets.get(self.treturn.dtkey, NAN)

    def prenext(self):
        if self.p._doprenext:
            super().prenext()


class LogReturns(Observer):
    """The log return of the current period of the first data, from a
    ``LogReturnsRolling`` analyzer of its own."""

    lines = ("logret1",)
    params = (("timeframe", None), ("compression", None), ("fund", None))

    def __init__(self):
        from .analyzers import LogReturnsRolling
        self.logret1 = _slave(self, LogReturnsRolling, data=self.data0,
                              **self.p._getkwargs())

    def next(self):
        self.lines.logret1[0] = self.logret1.rets[self.logret1.dtkey]


class LogReturns2(LogReturns):
    """``LogReturns`` for the first two datas."""

    lines = ("logret2",)

    def __init__(self):
        from .analyzers import LogReturnsRolling
        super().__init__()
        self.logret2 = _slave(self, LogReturnsRolling, data=self.data1,
                              **self.p._getkwargs())

    def next(self):
        super().next()
        self.lines.logret2[0] = self.logret2.rets[self.logret2.dtkey]
