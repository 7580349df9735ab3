"""``Strategy``: the base class of Backtrader strategies, run by the native engine.

A strategy is created by ``Cerebro.run()`` after the feeds are loaded. Its ``__init__``
declares indicators (computed at once over the whole data); then, once per bar of the
native clock, the shim delivers the order/trade notifications due on that bar and calls
``prenext``, ``nextstart`` or ``next``: ``next`` once every data has at least as many bars
as the longest minimum period of the indicators declared on it.
"""
from __future__ import annotations

import collections
import contextvars
import datetime as _dt
import copy as _copy

from ._params import OWNER, STAGE, run_declaring
from .lines import LineBuffer, LineSeries
from .order import Order, Trade

__all__ = ["Strategy", "StrategyBase", "SignalStrategy"]

# (cerebro, run state) of the strategy being constructed
BUILDING: contextvars.ContextVar = contextvars.ContextVar("ml4t_bt_building", default=None)


class ItemCollection(list):
    """A list whose items also read as attributes by name (``self.analyzers.sharpe``)."""

    def __init__(self):
        super().__init__()
        self._names = []

    def append(self, item, name=None):
        super().append(item)
        self._names.append(name)
        if name:
            setattr(self, name, item)

    def getnames(self):
        return list(self._names)

    def getitems(self):
        return list(zip(self._names, self))

    def getbyname(self, name):
        return self[self._names.index(name)]


class Strategy(LineSeries):
    """Base class of Backtrader strategies (see the module docstring).

    Hooks: ``start``, ``prenext``, ``nextstart``, ``next``, ``stop``, ``notify_order``,
    ``notify_trade``, ``notify_cashvalue``, ``notify_fund``.
    """

    lines = ("datetime",)
    csv = True
    _minperiod = 1

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        ctx = BUILDING.get()
        if ctx is None:
            raise RuntimeError(f"{cls.__name__} is created by cerebro.run(); add it with "
                               "cerebro.addstrategy()")
        cerebro, run = ctx
        rest = self._bt_make_params(kwargs)
        d = self.__dict__
        d["env"] = d["cerebro"] = cerebro
        d["broker"] = cerebro.broker
        d["_run"] = run
        datas = list(cerebro.datas)
        d["datas"] = datas
        if datas:
            d["data"] = datas[0]
        for i, data in enumerate(datas):
            d[f"data{i}"] = data
        d["_bt_items"] = []
        d["_orders"] = []
        d["_orderspending"] = []
        d["_trades"] = collections.defaultdict(lambda: collections.defaultdict(list))
        d["_tradespending"] = []
        d["analyzers"] = ItemCollection()
        d["stats"] = d["observers"] = ItemCollection()
        d["_bt_observers"] = []          # every observer, multi ones included, in order
        d["_bt_events"] = []             # (bar, order and trade notifications) per bar
        d["_slave_analyzers"] = []       # analyzers observers made for themselves
        d["writers"] = []
        d["_tradehistoryon"] = False
        d["_bt_fills"] = []
        d["_minperstatus"] = 1 << 30
        from .sizers import FixedSize
        d["_sizer"] = FixedSize()
        self._sizer.set(self, self.broker)
        self._bt_make_lines(run.master, 1, {"datetime": run.master._dtnums})
        d["_bt_pending"] = (args, rest)
        return self

    def __init__(self, *args, **kwargs):
        pass

    def _bt_register(self, item):
        self.__dict__["_bt_items"].append(item)

    def _bt_outer_init(self, init, args, kwargs):
        run_declaring(self, init, args, kwargs)
        self._bt_postinit()

    def _bt_postinit(self):
        """Minimum period per data: the longest of the indicators declared on it."""
        per_clock = {}
        overall = []
        for item in self._bt_items:
            mp = item._minperiod
            clock = item._bt_clock() if isinstance(item, LineSeries) else item._clock
            per_clock[id(clock)] = max(per_clock.get(id(clock), 1), mp)
            overall.append(mp)
        self._minperiods = [per_clock.get(id(d._bt_clock()), 1) for d in self.datas]
        self._minperiod = max(overall or [1])

    def _getminperstatus(self):
        status = max(mp - len(d) for mp, d in zip(self._minperiods, self.datas))
        self._minperstatus = status
        return status

    # ------------------------------------------------------------------ hooks
    def start(self):
        """Called before the first bar."""

    def stop(self):
        """Called after the last bar."""

    def prenext(self):
        """Called while some indicator is still warming up."""

    def nextstart(self):
        """Called once, on the first bar where every indicator is ready."""
        self.next()

    def next(self):
        """Called on every bar once every indicator is ready."""

    def prenext_open(self):
        """Cheat-on-open twin of ``prenext``."""

    def nextstart_open(self):
        """Cheat-on-open twin of ``nextstart``."""
        self.next_open()

    def next_open(self):
        """With ``Cerebro(cheat_on_open=True)``: called when a new bar arrives, before the
        broker fills orders on it; market orders placed here fill at this bar's open."""

    def _next_open(self):
        # Backtrader uses the minimum-period status of the previous bar here
        status = self._minperstatus
        if status < 0:
            self.next_open()
        elif status == 0:
            self.nextstart_open()
        else:
            self.prenext_open()

    def notify_order(self, order):
        """Order status changes, a bar after they happen (as in Backtrader)."""

    def notify_trade(self, trade):
        """A trade opened or closed."""

    def notify_cashvalue(self, cash, value):
        """Cash and value before ``next()``."""

    def notify_fund(self, cash, value, fundvalue, shares):
        """Cash, value and fund value before ``next()``."""

    def notify_store(self, msg, *args, **kwargs):
        pass

    def notify_data(self, data, status, *args, **kwargs):
        pass

    def notify_timer(self, timer, when, *args, **kwargs):
        pass

    def add_timer(self, when, offset=_dt.timedelta(), repeat=_dt.timedelta(), weekdays=[],
                  weekcarry=False, monthdays=[], monthcarry=True, allow=None, tzdata=None,
                  cheat=False, *args, **kwargs):
        """A timer calling this strategy's ``notify_timer`` (see ``bt.timer``); call it
        in ``__init__`` or ``start``."""
        return self.env._add_timer(self, when, offset=offset, repeat=repeat,
                                   weekdays=weekdays, weekcarry=weekcarry,
                                   monthdays=monthdays, monthcarry=monthcarry, allow=allow,
                                   tzdata=tzdata, strats=False, cheat=cheat, args=args,
                                   kwargs=kwargs)

    # ----------------------------------------------------------- data access
    def getdatanames(self):
        return [d._name for d in self.datas]

    def getdatabyname(self, name):
        return self.env.datasbyname[name]

    def getposition(self, data=None, broker=None):
        data = data if data is not None else self.datas[0]
        return (broker or self.broker).getposition(data)

    position = property(getposition)

    def getpositionbyname(self, name=None, broker=None):
        data = self.datas[0] if not name else self.getdatabyname(name)
        return (broker or self.broker).getposition(data)

    positionbyname = property(getpositionbyname)

    def getpositions(self, broker=None):
        return (broker or self.broker).positions

    positions = property(getpositions)

    def getpositionsbyname(self, broker=None):
        b = broker or self.broker
        return collections.OrderedDict((n, b.positions[d])
                                       for n, d in self.env.datasbyname.items())

    positionsbyname = property(getpositionsbyname)

    def _data(self, data):
        if isinstance(data, str):
            return self.getdatabyname(data)
        return data if data is not None else self.datas[0]

    # ---------------------------------------------------------------- orders
    def buy(self, data=None, size=None, price=None, plimit=None, exectype=None, valid=None,
            tradeid=0, oco=None, trailamount=None, trailpercent=None, parent=None,
            transmit=True, **kwargs):
        """Buy ``size`` (from the sizer if None) of ``data`` (the first data if None)."""
        data = self._data(data)
        size = size if size is not None else self.getsizing(data, isbuy=True)
        if size:
            return self.broker.buy(self, data, size=abs(size), price=price, plimit=plimit,
                                   exectype=exectype, valid=valid, tradeid=tradeid, oco=oco,
                                   trailamount=trailamount, trailpercent=trailpercent,
                                   parent=parent, transmit=transmit, **kwargs)
        return None

    def sell(self, data=None, size=None, price=None, plimit=None, exectype=None, valid=None,
             tradeid=0, oco=None, trailamount=None, trailpercent=None, parent=None,
             transmit=True, **kwargs):
        """Sell (or short) ``size`` of ``data``."""
        data = self._data(data)
        size = size if size is not None else self.getsizing(data, isbuy=False)
        if size:
            return self.broker.sell(self, data, size=abs(size), price=price, plimit=plimit,
                                    exectype=exectype, valid=valid, tradeid=tradeid, oco=oco,
                                    trailamount=trailamount, trailpercent=trailpercent,
                                    parent=parent, transmit=transmit, **kwargs)
        return None

    def close(self, data=None, size=None, **kwargs):
        """Close the position in ``data`` (or ``size`` of it)."""
        data = self._data(data) if data is not None else self.data
        possize = self.getposition(data, self.broker).size
        size = abs(size if size is not None else possize)
        if possize > 0:
            return self.sell(data=data, size=size, **kwargs)
        if possize < 0:
            return self.buy(data=data, size=size, **kwargs)
        return None

    def cancel(self, order):
        """Cancel an order (no effect while it is still waiting to be accepted)."""
        self.broker.cancel(order)

    def _bracket(self, side, other, data, size, price, plimit, exectype, valid, tradeid,
                 trailamount, trailpercent, oargs, stopprice, stopexec, stopargs, limitprice,
                 limitexec, limitargs, kwargs):
        kargs = dict(size=size, data=data, price=price, plimit=plimit, exectype=exectype,
                     valid=valid, tradeid=tradeid, trailamount=trailamount,
                     trailpercent=trailpercent)
        kargs.update(oargs)
        kargs.update(kwargs)
        kargs["transmit"] = limitexec is None and stopexec is None
        o = side(**kargs)
        ostop = olimit = None
        if stopexec is not None:
            kargs = dict(data=data, price=stopprice, exectype=stopexec, valid=valid,
                         tradeid=tradeid)
            kargs.update(stopargs)
            kargs.update(kwargs)
            kargs["parent"] = o
            kargs["transmit"] = limitexec is None
            kargs["size"] = o.size
            ostop = other(**kargs)
        if limitexec is not None:
            kargs = dict(data=data, price=limitprice, exectype=limitexec, valid=valid,
                         tradeid=tradeid)
            kargs.update(limitargs)
            kargs.update(kwargs)
            kargs["parent"] = o
            kargs["transmit"] = True
            kargs["size"] = o.size
            olimit = other(**kargs)
        return [o, ostop, olimit]

    def buy_bracket(self, data=None, size=None, price=None, plimit=None,
                    exectype=Order.Limit, valid=None, tradeid=0, trailamount=None,
                    trailpercent=None, oargs={}, stopprice=None, stopexec=Order.Stop,
                    stopargs={}, limitprice=None, limitexec=Order.Limit, limitargs={},
                    **kwargs):
        """A buy entry (Limit by default) with a sell stop below and a sell limit above;
        returns ``[entry, stop, limit]``."""
        return self._bracket(self.buy, self.sell, data, size, price, plimit, exectype, valid,
                             tradeid, trailamount, trailpercent, oargs, stopprice, stopexec,
                             stopargs, limitprice, limitexec, limitargs, kwargs)

    def sell_bracket(self, data=None, size=None, price=None, plimit=None,
                     exectype=Order.Limit, valid=None, tradeid=0, trailamount=None,
                     trailpercent=None, oargs={}, stopprice=None, stopexec=Order.Stop,
                     stopargs={}, limitprice=None, limitexec=Order.Limit, limitargs={},
                     **kwargs):
        """A sell entry with a buy stop above and a buy limit below."""
        return self._bracket(self.sell, self.buy, data, size, price, plimit, exectype, valid,
                             tradeid, trailamount, trailpercent, oargs, stopprice, stopexec,
                             stopargs, limitprice, limitexec, limitargs, kwargs)

    def order_target_size(self, data=None, target=0, **kwargs):
        """Buy or sell so the position becomes ``target`` units (open orders are not
        counted, as in Backtrader)."""
        data = self._data(data) if data is not None else self.data
        possize = self.getposition(data, self.broker).size
        if not target and possize:
            return self.close(data=data, size=possize, **kwargs)
        if target > possize:
            return self.buy(data=data, size=target - possize, **kwargs)
        if target < possize:
            return self.sell(data=data, size=possize - target, **kwargs)
        return None

    def order_target_value(self, data=None, target=0.0, price=None, **kwargs):
        """Buy or sell whole units so the position is worth about ``target``."""
        data = self._data(data) if data is not None else self.data
        possize = self.getposition(data, self.broker).size
        if not target and possize:
            return self.close(data=data, size=possize, price=price, **kwargs)
        value = self.broker.getvalue(datas=[data])
        comminfo = self.broker.getcommissioninfo(data)
        price = price if price is not None else data.close[0]
        if target > value:
            size = comminfo.getsize(price, target - value)
            return self.buy(data=data, size=size, price=price, **kwargs)
        if target < value:
            size = comminfo.getsize(price, value - target)
            return self.sell(data=data, size=size, price=price, **kwargs)
        return None

    def order_target_percent(self, data=None, target=0.0, **kwargs):
        """Target a fraction of the portfolio value (``0.05`` = 5%)."""
        data = self._data(data) if data is not None else self.data
        target *= self.broker.getvalue()
        return self.order_target_value(data=data, target=target, **kwargs)

    # ----------------------------------------------------------------- sizers
    def setsizer(self, sizer):
        self._sizer = sizer
        sizer.set(self, self.broker)
        return sizer

    def getsizer(self):
        return self._sizer

    sizer = property(getsizer, setsizer)

    def getsizing(self, data=None, isbuy=True):
        data = data if data is not None else self.datas[0]
        return self._sizer.getsizing(data, isbuy=isbuy)

    def set_tradehistory(self, onoff=True):
        self._tradehistoryon = onoff

    # ----------------------------------------------------------- notifications
    def _bt_take_order(self, order):
        """Queue an order notification and update the trades its executions touch."""
        if order.p.simulated:
            return
        self._orderspending.append(order)
        if not order.executed.size:
            return
        data = order.data
        trades = self._trades[data][order.tradeid]
        run = self._run
        if not trades:
            trade = Trade(data=data, tradeid=order.tradeid,
                          historyon=self._tradehistoryon, ref=run.next_trade_ref())
            trades.append(trade)
        else:
            trade = trades[-1]
        comminfo = order.comminfo
        for bit in order.executed.iterpending():
            self._bt_fills.append((data, bit.dt, bit.size, bit.price))
            if bit.closed:
                trade.update(bit.closed, bit.price, bit.closedcomm, comminfo)
                if trade.isclosed:
                    self._tradespending.append(_copy.copy(trade))
            if bit.opened:
                if trade.isclosed:
                    trade = Trade(data=data, tradeid=order.tradeid,
                                  historyon=self._tradehistoryon, ref=run.next_trade_ref())
                    trades.append(trade)
                trade.update(bit.opened, bit.price, bit.openedcomm, comminfo)
                if trade.isclosed:
                    self._tradespending.append(_copy.copy(trade))
            if trade.justopened:
                self._tradespending.append(_copy.copy(trade))

    def _bt_notify(self):
        orders = self._orderspending
        trades = self._tradespending
        quiet = self.__dict__.get("_bt_quiet")
        if quiet is None:
            # no cash/value to tell when the cash/value hooks are Strategy's own (empty)
            # ones and no analyzer listens
            cls, d = type(self), self.__dict__
            quiet = d["_bt_quiet"] = (
                cls.notify_cashvalue is Strategy.notify_cashvalue
                and cls.notify_fund is Strategy.notify_fund
                and "notify_cashvalue" not in d and "notify_fund" not in d
                and not self._run.analyzers_of(self))
        if quiet:
            for order in orders:
                self.notify_order(order)
            for trade in trades:
                self.notify_trade(trade)
            return
        analyzers = self._run.analyzers_of(self)
        for order in orders:
            self.notify_order(order)
            for a in analyzers:
                a._notify_order(order)
        for trade in trades:
            self.notify_trade(trade)
            for a in analyzers:
                a._notify_trade(trade)
        broker = self.broker
        cash = broker.getcash()
        value = broker.getvalue()
        shares = broker.get_fundshares()
        fundvalue = value / shares
        self.notify_cashvalue(cash, value)
        self.notify_fund(cash, value, fundvalue, shares)
        for a in analyzers:
            a._notify_cashvalue(cash, value)
            a._notify_fund(cash, value, fundvalue, shares)

    def _bt_clear(self):
        """End of the bar (after the observers read them): the bar's notifications go."""
        d = self.__dict__
        d["_orders"].extend(d["_orderspending"])
        d["_orderspending"] = []
        d["_tradespending"] = []

    def _addanalyzer(self, ancls, *args, **kwargs):
        name = kwargs.pop("_name", "") or ancls.__name__.lower()
        count = sum(1 for n in self.analyzers.getnames() if n and n.rstrip("0123456789") == name)
        name = name + (str(count) if count else "")
        tok = OWNER.set(self)
        try:
            analyzer = ancls(*args, **kwargs)
        finally:
            OWNER.reset(tok)
        self.analyzers.append(analyzer, name)
        return analyzer

    def _addanalyzer_slave(self, ancls, *args, **kwargs):
        """An analyzer an observer uses: it hears and runs like the strategy's own but is
        not in ``self.analyzers``."""
        tok = OWNER.set(self)
        try:
            analyzer = ancls(*args, **kwargs)
        finally:
            OWNER.reset(tok)
        self._slave_analyzers.append(analyzer)
        return analyzer

    def _addobserver(self, multi, obscls, *args, **kwargs):
        """One observer over every data (``self.stats.<name>``), or with ``multi`` one
        per data (``self.stats.<name>`` is then a list, not in ``getnames()``)."""
        name = kwargs.pop("obsname", "") or obscls.__name__.lower()
        tok = OWNER.set(self)
        try:
            if not multi:
                obs = obscls(*args, **kwargs)
                self.stats.append(obs, name)
                made = [obs]
            else:
                made = [obscls(*args, _bt_datas=[d], **kwargs) for d in self.datas]
                setattr(self.stats, name, made)
        finally:
            OWNER.reset(tok)
        self._bt_observers.extend(made)
        return made

    def _addsizer(self, sizer, *args, **kwargs):
        from .sizers import FixedSize
        self.setsizer(FixedSize() if sizer is None else sizer(*args, **kwargs))

    def getindicators(self):
        from .indicators import Indicator
        return [x for x in self._bt_items if isinstance(x, Indicator)]

    def getindicators_lines(self):
        return [x for x in self._bt_items if isinstance(x, LineBuffer)]

    def getobservers(self):
        return list(self.observers)


StrategyBase = Strategy


class SignalStrategy(Strategy):
    """Trades from signal indicators (``cerebro.add_signal`` or ``signal_add``), as
    Backtrader's: each bar, before the subclass's own ``next``, it enters, exits or
    reverses ``_data`` (default the first data) from the signs of the signals' current
    values, one order at a time unless ``_concurrent``, adding to a position only with
    ``_accumulate``."""

    params = (("signals", []), ("_accumulate", False), ("_concurrent", False),
              ("_data", None))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("next")
        if own is not None and own is not SignalStrategy.next:
            cls._next_custom = own              # the signal logic runs first
            cls.next = SignalStrategy.next

    def _bt_outer_init(self, init, args, kwargs):
        from .lines import LineRoot

        target = self.p._data
        if target is None:
            target = self.data0
        elif isinstance(target, int) and not isinstance(target, bool):
            target = self.datas[target]
        elif isinstance(target, str):
            target = self.getdatabyname(target)
        elif not isinstance(target, LineRoot):
            target = self.data0
        self._dtarget = target
        self._signals = collections.defaultdict(list)
        self._sentinel = None

        def then_signals(obj, *a, **k):
            init(obj, *a, **k)
            for sigtype, sigcls, sigargs, sigkwargs in obj.p.signals:
                obj._signals[sigtype].append(sigcls(*sigargs, **sigkwargs))

        super()._bt_outer_init(then_signals, args, kwargs)
        from . import signal as sg

        self._longexit = bool(self._signals[sg.SIGNAL_LONGEXIT])
        self._shortexit = bool(self._signals[sg.SIGNAL_SHORTEXIT])

    def signal_add(self, sigtype, signal):
        self._signals[sigtype].append(signal)

    def _bt_notify(self):
        # an order that ended frees the way for the next one (the sentinel)
        if self._sentinel is not None:
            for order in self._orderspending:
                if order.ref == self._sentinel.ref and not order.alive():
                    self._sentinel = None
                    break
        super()._bt_notify()

    def next(self):
        self._next_signal()
        custom = getattr(self, "_next_custom", None)
        if custom is not None:
            custom()

    def _next_signal(self):
        from . import signal as sg

        if self._sentinel is not None and not self.p._concurrent:
            return
        sigs = self._signals

        def every(kind, test):
            lst = sigs[kind]
            return all(test(x[0]) for x in lst) if lst else test(0.0)

        def pos(v):
            return v > 0.0

        def neg(v):
            return v < 0.0

        nonzero = bool
        go_long = every(sg.SIGNAL_LONGSHORT, pos)
        go_short = every(sg.SIGNAL_LONGSHORT, neg)
        l_enter = (every(sg.SIGNAL_LONG, pos) or every(sg.SIGNAL_LONG_INV, neg)
                   or every(sg.SIGNAL_LONG_ANY, nonzero))
        s_enter = (every(sg.SIGNAL_SHORT, neg) or every(sg.SIGNAL_SHORT_INV, pos)
                   or every(sg.SIGNAL_SHORT_ANY, nonzero))
        l_exit = (every(sg.SIGNAL_LONGEXIT, neg) or every(sg.SIGNAL_LONGEXIT_INV, pos)
                  or every(sg.SIGNAL_LONGEXIT_ANY, nonzero))
        s_exit = (every(sg.SIGNAL_SHORTEXIT, pos) or every(sg.SIGNAL_SHORTEXIT_INV, neg)
                  or every(sg.SIGNAL_SHORTEXIT_ANY, nonzero))
        l_rev = not self._longexit and s_enter
        s_rev = not self._shortexit and l_enter
        l_leave = not self._longexit and (
            every(sg.SIGNAL_LONG, neg) or every(sg.SIGNAL_LONG_INV, pos)
            or every(sg.SIGNAL_LONG_ANY, nonzero))
        s_leave = not self._shortexit and (
            every(sg.SIGNAL_SHORT, pos) or every(sg.SIGNAL_SHORT_INV, neg)
            or every(sg.SIGNAL_SHORT_ANY, nonzero))
        target = self._dtarget
        size = self.getposition(target).size
        if not size:
            if go_long or l_enter:
                self._sentinel = self.buy(target)
            elif go_short or s_enter:
                self._sentinel = self.sell(target)
        elif size > 0:
            if go_short or l_exit or l_rev or l_leave:
                self.close(target)
            if go_short or l_rev:
                self._sentinel = self.sell(target)
            if (go_long or l_enter) and self.p._accumulate:
                self._sentinel = self.buy(target)
        else:
            if go_long or s_exit or s_rev or s_leave:
                self.close(target)
            if go_long or s_rev:
                self._sentinel = self.buy(target)
            if (go_short or s_enter) and self.p._accumulate:
                self._sentinel = self.sell(target)
