"""``Cerebro``: collects feeds, strategies, sizers and analyzers, and runs them on the
native ml4t engine.

One run builds one ``ml4t.Engine`` configured for Backtrader's semantics:

* ``fill="next_open"`` (``"same_close"`` when ``broker.set_coc(True)``),
* ``fill_order="submission"`` (Backtrader fills in queue order),
* a cash account that allows shorting (short-sale proceeds are cash, as Backtrader's
  ``shortcash``), fractional quantities (Backtrader does not round sizes),
* the commission of ``broker.setcommission`` as a native commission model; a
  futures-like scheme (``margin``/``mult``) makes every feed a native ``Future`` in a
  margin account instead,
* ``calendar=None``: bars keep the feeds' own timestamps (daily CSV bars at
  23:59:59.999989).
* ``cheat_on_open=True``: the native ``on_open`` hook runs ``next_open()`` and the
  broker's submission check before the engine matches the new bar (``broker_coo``).

Each feed becomes one native asset named after the feed; the native clock walks the union
of the feeds' timestamps, which is Backtrader's master clock. An internal native
``ml4t.Strategy`` drives the Backtrader strategies once per slice.
"""
from __future__ import annotations

import contextlib
import datetime
import itertools
from collections import OrderedDict

import numpy as np

import ml4t.compat._preload  # noqa: F401  (the ml4t modules every run uses)
from ml4t._core.btstep import BarStep, order_news
from ml4t.orders import REASONS, STATUSES

from ._params import ParamsHolder
from .broker import NATIVE_NEWS, BackBroker
from .feeds import DataBase, engine_columns
from .lines import Clock, LineBuffer
from .strategy import BUILDING
from .utils import nums_to_datetime64

__all__ = ["Cerebro", "OptReturn"]


class OptReturn:
    """What an optimisation run returns per strategy: its params and analyzers."""

    def __init__(self, params, **kwargs):
        self.p = self.params = params
        for k, v in kwargs.items():
            setattr(self, k, v)


def _clock_keys(nums, repeats=True):
    """Day numbers as nanoseconds since the epoch; with ``repeats``, the k-th repeat of a
    time in a run of equal times is moved k ns later (``+inf`` stays the largest key)."""
    nums = np.asarray(nums, dtype=np.float64)
    finite = np.isfinite(nums)
    keys = np.full(len(nums), np.iinfo(np.int64).max, dtype=np.int64)
    keys[finite] = nums_to_datetime64(nums[finite]).astype("M8[ns]").astype(np.int64)
    if repeats and len(keys) > 1:
        same = np.flatnonzero(keys[1:] == keys[:-1]) + 1
        if len(same):
            idx = np.arange(len(keys))
            start = np.maximum.accumulate(np.where(keys != np.roll(keys, 1), idx, 0))
            start[0] = 0
            keys = keys + (idx - start)
    return keys


_NEWS = frozenset(code for code, name in STATUSES.items() if name in NATIVE_NEWS)


def _union(keys):
    """``np.unique`` of the concatenated arrays; one strictly increasing array (one feed's
    clock) is its own union."""
    if len(keys) == 1 and (len(keys[0]) < 2 or bool((keys[0][1:] > keys[0][:-1]).all())):
        return keys[0]
    return np.unique(np.concatenate(keys))


def _observer_kind(obs):
    """How the run drives an observer: the standard ones whose ``next`` is not
    overridden read recorded values or run only on bars with notifications."""
    from . import observers as o
    kind = type(obs)._bt_kind
    if kind == "recorded":
        own = {o.Cash: o.Cash.next, o.Value: o.Value.next, o.Broker: o.Broker.next}
        base = next((b for b in type(obs).__mro__ if b in own), None)
        if base is None or type(obs).next is not own[base]:
            return "bar"
        if "fund" in type(obs.p)._defaults and o._fund(obs):
            return "bar"                  # the fund value: shares change with add_cash
    elif kind == "events":
        base = next(b for b in type(obs).__mro__ if "_bt_kind" in b.__dict__)
        if type(obs).next is not base.next or type(obs).prenext is not o.Observer.prenext:
            return "bar"
    return kind


class _Run:
    """State of one backtest run shared by the broker, the strategies and the driver."""

    def __init__(self, cerebro, datas):
        self.cerebro = cerebro
        self.datas = datas
        self._build_clock(datas)
        self.native = None
        self.phase = None
        self.strats = []
        self._analyzers = {}
        self._values = {}
        self._cash = {}
        self._trade_ref = itertools.count(1)
        self.asset_of = {}
        # the native order log (``OrderBook``), read by :meth:`_take_events` from
        # ``_ev_seen`` on; the native ledger for its fills
        self._book = self._ledger = None
        self._ev_seen = 0
        self.k = -1
        self.opened = False
        self.observers_once = False      # set by Cerebro (Backtrader's runonce mode)
        # every attribute is set here: adding one later makes every ``self.x`` of the
        # per-bar loop slower (the instance loses its compact key-sharing dict)
        self._obs_clocks = {}
        self._ind_lines = {}
        self._adv = self._lens = self._ts_list = self._per_strat = self.timers = None
        self._quiet = None
        self.stepper = None              # the driver's compiled step (BarStep), if any

    def _build_clock(self, datas):
        """Backtrader's master clock: the union of the feeds' bar times; a resampled feed
        next to plain ones delivers each bar on the first tick of the following period
        (its last bar on one extra tick after the data ends).

        The ticks are keyed by nanosecond times: Backtrader times have microseconds, so a
        feed's bars that share a time (ticks printed in the same microsecond; Backtrader
        runs one step per bar) are told apart by 1 ns per repeat and each gets its own
        native bar."""
        keys = [_clock_keys(d._clock._dtnums) for d in datas]
        plain = [k for d, k in zip(datas, keys) if d._deliver is None]
        base = _union(plain or keys)
        ticks = []
        extra = False
        for d, k in zip(datas, keys):
            if d._deliver is None or not plain:
                t = np.searchsorted(base, k)
            else:
                t = np.searchsorted(base, _clock_keys(d._deliver, repeats=False), side="left")
                extra = extra or bool((t >= len(base)).any())
                t = np.minimum(t, len(base))
            ticks.append(t)
        ntick = len(base) + (1 if extra else 0)
        base_ns = base
        if extra:
            base_ns = np.append(base_ns, base_ns[-1] + 1000 if len(base_ns) else 0)
        # what the strategy's datetime shows at each tick: the latest feed datetime
        shown = np.full(ntick, -np.inf)
        for d, t in zip(datas, ticks):
            cur = np.full(ntick, -np.inf)
            cur[t] = d._clock._dtnums
            shown = np.maximum(shown, np.maximum.accumulate(cur))
        self.master = Clock(shown)
        self.master_ns = base_ns
        self.ticks = ticks
        self.nticks = ntick

    def native_ts(self, i):
        return self.master_ns[self.ticks[i]]

    # --------------------------------------------------------------- helpers
    def next_trade_ref(self):
        return next(self._trade_ref)

    def analyzers_of(self, strat):
        return self._analyzers.get(id(strat), ())

    def values_of(self, strat):
        return self._values.setdefault(id(strat), [])

    def cash_of(self, strat):
        return self._cash.setdefault(id(strat), [])

    def _will_advance(self, i, data):
        nxt = data._clock._idx + 1
        ticks = self.ticks[i]
        return nxt < len(ticks) and ticks[nxt] == self.k + 1

    def next_datetime(self, data):
        """The feed's datetime at the next master tick (Backtrader's expiry check)."""
        i = self._index_of(data)
        c = data._clock
        if self._will_advance(i, data):
            return c._dtnums[c._idx + 1]
        return c._dtnums[c._idx]

    def next_open(self, data):
        i = self._index_of(data)
        idx = data._clock._idx + (1 if self._will_advance(i, data) else 0)
        return data.lines.open.array.item(idx)

    def _index_of(self, data):
        for i, d in enumerate(self.datas):
            if d is data:
                return i
        raise KeyError(data)

    # ------------------------------------------------------------- the loop
    def _plan_ticks(self):
        """What moves at each master tick, worked out once: the clocks of the feeds that
        get a new bar (each advances by one bar, as the per-tick rule "advance when the
        feed's next bar belongs to this tick" does) and each strategy's minimum-period
        status (the longest warm-up left over its datas, Backtrader's
        ``_getminperstatus``)."""
        n = self.nticks
        nd = len(self.datas)
        lens = np.zeros((n, nd), dtype=np.int64)     # bars of each feed seen after tick k
        ks = np.arange(n)
        for i, t in enumerate(self.ticks):
            t = np.asarray(t, dtype=np.int64)
            if len(t) == 0 or (len(t) > 1 and not (np.diff(t) > 0).all()):
                idx = -1                             # repeated ticks: replay the rule
                col = lens[:, i]
                for k in range(n):
                    if idx + 1 < len(t) and t[idx + 1] == k:
                        idx += 1
                    col[k] = idx + 1
            else:
                lens[:, i] = np.searchsorted(t, ks, side="right")
        clocks = [d._clock for d in self.datas]
        moved = np.diff(lens, axis=0, prepend=0) > 0
        every = moved.all(axis=1)
        if every.all():                              # every feed on every tick
            adv = [clocks] * n
        else:
            shared = {}
            adv = []
            for k in range(n):
                if every[k]:
                    adv.append(clocks)
                    continue
                key = moved[k].tobytes()
                lst = shared.get(key)
                if lst is None:
                    lst = shared[key] = [clocks[i] for i in np.flatnonzero(moved[k])]
                adv.append(lst)
        self._adv = adv
        self._lens = lens
        self._ts_list = self.master_ns.tolist()

    def _strategy_status(self, strat):
        """``strat._getminperstatus()`` at every tick (lengths only grow, so it is known
        in advance); None when the strategy's minimum periods cannot be read."""
        mps = getattr(strat, "_minperiods", None)
        if mps is None or len(mps) != len(self.datas) or not self.datas:
            return None
        return (np.asarray(mps, dtype=np.int64)[None, :] - self._lens).max(axis=1).tolist()

    def start(self, native_broker):
        self.native = native_broker
        self._book = native_broker._book
        self._ledger = native_broker._ledger
        self._ev_seen = self._book.n_events
        for d in self.datas:
            d._clock._idx = -1
        self.master._idx = -1
        self._plan_ticks()
        self._per_strat = []
        for strat in self.strats:
            for a in self.analyzers_of(strat):
                a._start()
            for obs in strat._bt_observers:
                obs.start()
            strat.start()
        self.timers = list(self.cerebro._timers) + list(self.cerebro._run_timers)
        for timer in self.timers:
            timer._start(self.datas[0])
        for strat in self.strats:
            statuses = self._strategy_status(strat)
            every, events = [], []
            for obs in strat._bt_observers:
                kind = _observer_kind(obs)
                if kind == "recorded":
                    obs._bt_record(self)
                elif kind == "events":
                    obs._bt_lazy(self)
                    events.append(obs)
                else:
                    every.append(obs)
            self._per_strat.append((strat, statuses, list(self.analyzers_of(strat)),
                                    self.values_of(strat), self.cash_of(strat),
                                    every or None, events or None))
        self._quiet = self._quiet_plan()
        if self.stepper is not None:
            self.stepper.plan(self._quiet, native_broker._sim,
                              np.ascontiguousarray(self.master_ns, dtype=np.int64),
                              self._adv, self.master, self.nticks)

    def _quiet_plan(self):
        """What :meth:`step` needs for its short path, or None when a run cannot take it.

        The short path serves the bars on which nothing reaches the strategy (no order
        event, notification, expiry, trailing stop or cash addition): it moves the clocks
        and calls ``next()`` (or ``prenext()``/``nextstart()``) without asking the broker
        and the strategy, one by one, whether they have something to say. It needs one
        strategy whose statuses are known in advance, no timers, analyzers, observers
        computed bar by bar, cheat-on-open, or ``notify_cashvalue``/``notify_fund``
        hooks (they are called on every bar), and the shim's own broker."""
        from .broker import BackBroker
        from .strategy import Strategy
        if len(self._per_strat) != 1 or self.timers:
            return None
        strat, statuses, analyzers, values, cash, every, events = self._per_strat[0]
        broker = self.cerebro.broker
        cls = type(strat)
        if (statuses is None or analyzers or every is not None or broker._bt_cheat_open
                or broker._futures or type(broker) is not BackBroker
                or cls.notify_cashvalue is not Strategy.notify_cashvalue
                or cls.notify_fund is not Strategy.notify_fund):
            return None
        # next(), nextstart(), prenext() by (status >= 0) + (status > 0)
        steps = (strat.next, strat.nextstart, strat.prenext)
        # the value and cash the native broker reports (``float(ledger.nav)``, ``float(
        # ledger.cash)``), read from its ledger without the two property calls; the
        # strategy's pending notifications read from its ``__dict__`` (its class has a
        # ``__getattr__``, which makes every attribute read take the slow way)
        return (strat, strat.__dict__, statuses, steps, values, cash, events, broker,
                self.native._ledger, self._book)

    # ------------------------------------------------------------- observers
    def observer_clock(self, strat):
        """The clock of a strategy's observers: one bar per value recorded after the
        strategy's ``next()``."""
        clocks = self._obs_clocks
        clock = clocks.get(id(strat))
        if clock is None:
            from .observers import _ObserverClock
            clock = clocks[id(strat)] = _ObserverClock(self.values_of(strat),
                                                       self.master._dtnums)
        return clock

    def recorded_line(self, obs, kind):
        """A line of ``obs`` read from the strategy's recorded cash or value."""
        from .observers import _RecordedLine
        strat = obs._owner
        src = self.values_of(strat) if kind == "value" else self.cash_of(strat)
        return _RecordedLine(self.observer_clock(strat), src, kind)

    def _observe(self, strat, status, every):
        once = self.observers_once
        for obs in every:
            obs._bt_step(status, once)

    def native_ts_now(self):
        return int(self.master_ns[self.k])

    def _advance(self, ts_ns):
        k = self.k = self.k + 1
        if ts_ns != self._ts_list[k]:
            raise RuntimeError(f"internal: native slice {ts_ns} is not master tick {k}")
        self.master._idx = k
        for c in self._adv[k]:
            c._idx += 1
        return k

    def step_open(self, opens):
        """Cheat-on-open: the feeds move to the new bar, ``next_open()`` runs, then the
        broker checks the pending orders and transmits them before the native engine
        matches this bar (market orders fill at this open)."""
        k = self._advance(opens.ts_ns)
        self.opened = True
        for strat, *_ in self._per_strat:
            with self._strategy_behind(k, strat):
                strat._next_open()
        self.cerebro.broker._bt_open()

    @contextlib.contextmanager
    def _strategy_behind(self, k, strat):
        """Inside: the feeds show tick ``k`` while the strategy's own lines (``len(self)``,
        ``self.datetime``) and its indicators still show the previous one -- Backtrader
        moves them in the strategy's ``next`` step, after ``next_open()`` and timers."""
        moved = {id(c) for c in self._adv[k]}
        self.master._idx = k - 1
        swapped = []
        lags = {}
        for buf in self._indicator_lines(strat):
            c = buf._clock
            if id(c) in moved:
                lc = lags.get(id(c))
                if lc is None:
                    lc = lags[id(c)] = object.__new__(Clock)
                    lc._dtnums, lc._idx = c._dtnums, c._idx - 1
                swapped.append((buf, c))
                buf._clock = lc
        try:
            yield
        finally:
            for buf, c in swapped:
                buf._clock = c
            self.master._idx = k

    def _indicator_lines(self, strat):
        """Every line of the indicators and line operations a strategy declared."""
        cache = self._ind_lines
        out = cache.get(id(strat))
        if out is None:
            out, seen = [], set()
            stack = list(strat.__dict__.get("_bt_items", ()))
            while stack:
                it = stack.pop()
                if id(it) in seen:
                    continue
                seen.add(id(it))
                if isinstance(it, LineBuffer):
                    out.append(it)
                    continue
                lines = it.__dict__.get("lines")
                if lines is not None:
                    out.extend(b for b in lines._buffers if isinstance(b, LineBuffer))
                stack.extend(it.__dict__.get("_sub", ()))
            cache[id(strat)] = out
        return out

    def _after_quiet_next(self, k):
        """The short path's end of a ``next()`` that left order or trade notifications
        (``ml4t._core.btstep.BarStep``): recorded for the observers that act on them,
        then cleared, as the full path does."""
        strat, sd = self._quiet[0], self._quiet[1]
        if self._quiet[6] is not None:
            strat._bt_events.append((k, sd["_orderspending"], sd["_tradespending"]))
        strat._bt_clear()

    def step(self, bars):
        """One master tick, the full way (the bars without news take the compiled short
        path of ``BarStep``, see ``_quiet_plan``)."""
        if self.opened:
            self.opened = False
            k = self.k
        else:
            k = self._advance(bars.ts_ns)
        broker = self.cerebro.broker
        broker._bt_market(self._take_events())
        if broker._cash_addition:
            values = self.values_of(self.strats[0]) if self.strats else ()
            broker._bt_add_cash(values[-1] if values else None)
        first = self.strats[0] if self.strats else None
        for note in broker._bt_take_notifications():
            # (``is None``: the truth of a strategy is the truth of its current datetime)
            owner = note.p.owner
            (first if owner is None else owner)._bt_take_order(note)
        if self.timers:
            self._fire_timers(k)
        for strat, statuses, analyzers, values, cash, every, events in self._per_strat:
            strat._bt_notify()
            if statuses is None:
                status = strat._getminperstatus()
            else:
                status = strat._minperstatus = statuses[k]
            if status < 0:
                strat.next()
            elif status == 0:
                strat.nextstart()
            else:
                strat.prenext()
            for a in analyzers:
                if status < 0:
                    a._next()
                elif status == 0:
                    a._nextstart()
                else:
                    a._prenext()
            values.append(broker.getvalue())
            cash.append(broker.getcash())
            if every is not None:
                self._observe(strat, status, every)
            if strat._orderspending or strat._tradespending:
                if events is not None:       # for the observers that act on them
                    strat._bt_events.append((k, strat._orderspending, strat._tradespending))
                strat._bt_clear()
        broker._bt_end_of_bar(last_bar=(k == self.nticks - 1))

    def _take_events(self):
        """The native order events logged since the last call that the broker acts on
        (``NATIVE_NEWS``), in log order, as ``(order id, status, reason, fill)``: the
        status and reason names of the native ``Order`` snapshots; the ``(qty, price,
        commission, ts_ns)`` of the ``Fill`` of an execution, else None."""
        book = self._book
        n = book.n_events
        i = self._ev_seen
        if i == n:
            return ()
        self._ev_seen = n
        return order_news(book, self._ledger, i, n, _NEWS, STATUSES, REASONS)

    def _fire_timers(self, k):
        """Backtrader's order: after the broker handled the bar, before the strategies'
        notifications and ``next()``."""
        dtnum = float(self.master._dtnums[k])
        for timer in self.timers:
            if not timer._check(dtnum):
                continue
            owners = [timer.p.owner] + (list(self.strats) if timer.p.strats else [])
            for owner in owners:
                if any(owner is s for s in self.strats):
                    with self._strategy_behind(k, owner):
                        owner.notify_timer(timer, timer.lastwhen, *timer.args,
                                           **timer.kwargs)
                else:
                    owner.notify_timer(timer, timer.lastwhen, *timer.args, **timer.kwargs)

    def stop(self):
        for strat in self.strats:
            strat.stop()
            for obs in strat._bt_observers:
                obs.stop()
            for a in self.analyzers_of(strat):
                a._stop()


def _driver_class():
    from ml4t import Strategy as NativeStrategy

    class _BacktraderDriver(NativeStrategy):
        """The native strategy that runs the Backtrader strategies of one run."""

        def __init__(self, run):
            super().__init__()
            self._bt_run = run
            # the engine calls the run's compiled step directly: the short path of the
            # bars without news, else run.step (one call less on every bar)
            self.on_bar = run.stepper = BarStep(run)

        def on_start(self):
            self._bt_run.start(self.broker)

        def on_bar(self, bars):
            self._bt_run.step(bars)

        # (no on_order / on_fill: the run reads the native order log itself, see
        # _Run._take_events)

        def on_stop(self):
            self._bt_run.stop()

    class _CheatOnOpenDriver(_BacktraderDriver):
        def on_open(self, opens):
            self._bt_run.step_open(opens)

    return _BacktraderDriver, _CheatOnOpenDriver


def _slippage_model(p):
    """Backtrader's percentage / fixed slippage as a native slippage model (uncapped)."""
    if not p.slip_perc and not p.slip_fixed:
        return None
    from ml4t.models import SlippageModel

    perc, fixed = float(p.slip_perc), float(p.slip_fixed)

    class _BtSlippage(SlippageModel):
        def fill_price(self, ref, qty, volume):
            if perc:
                return ref * (1 + perc) if qty > 0 else ref * (1 - perc)
            return ref + fixed if qty > 0 else ref - fixed

    return _BtSlippage()


class Cerebro(ParamsHolder):
    """Backtrader's ``Cerebro`` on the ml4t engine.

    ``run()`` returns the strategy instances (a list of lists with ``optstrategy``).
    """

    params = (("preload", True), ("runonce", True), ("maxcpus", None), ("stdstats", True),
              ("oldbuysell", False), ("oldtrades", False), ("lookahead", 0),
              ("exactbars", False), ("optdatas", True), ("optreturn", True),
              ("objcache", False), ("live", False), ("writer", False),
              ("tradehistory", False), ("oldsync", False), ("tz", None),
              ("cheat_on_open", False), ("broker_coo", True), ("quicknotify", False))

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        rest = self._bt_make_params(kwargs)
        self._bt_pending = (args, rest)
        return self

    def __init__(self):
        self.datas = []
        self.datasbyname = OrderedDict()
        self.strats = []
        self.sizers = {}
        self.analyzers = []
        self.observers = []
        self.indicators = []
        self.optcbs = []
        self.runstrats = []
        self.signals = []
        self._signal_strat = (None, None, None)
        self._signal_concurrent = False
        self._signal_accumulate = False
        self._timers = []              # cerebro.add_timer (kept across runs)
        self._run_timers = []          # strategies' add_timer (one run's)
        self._broker = BackBroker()
        self._dooptimize = False
        self._event_stop = False
        self.last_result = None

    # ----------------------------------------------------------- composition
    def adddata(self, data, name=None):
        """Add a data feed (``name`` renames it)."""
        if not isinstance(data, DataBase):
            raise TypeError(f"adddata() needs a data feed (bt.feeds.*), got {type(data).__name__}")
        if name is not None:
            data._name = name
        data._id = len(self.datas)
        self.datas.append(data)
        self.datasbyname[data._name] = data
        return data

    def resampledata(self, dataname, name=None, **kwargs):
        """Add a copy of a feed compressed to a larger time frame (days -> weeks, months,
        years)."""
        if any(dataname is d for d in self.datas):
            dataname = dataname.clone()
        dataname.resample(**kwargs)
        return self.adddata(dataname, name=name)

    def replaydata(self, dataname, name=None, **kwargs):
        raise NotImplementedError("replaydata is not supported by the ml4t shim")

    def chaindata(self, *args, **kwargs):
        """Add one feed made of ``args`` one after the other (``feeds.Chainer``); it is
        named ``name``, else after the first feed's ``dataname``."""
        from .feeds import Chainer
        if set(kwargs) - {"name"}:
            raise TypeError(f"chaindata() takes the feeds and name=, got {sorted(kwargs)}")
        return self._add_composite(Chainer, args, kwargs)

    def rolloverdata(self, *args, **kwargs):
        """Add one feed rolling from each of ``args`` to the next (``feeds.RollOver``,
        with ``checkdate``/``checkcondition``); it is named ``name``, else after the
        first feed's ``dataname``."""
        from .feeds import RollOver
        return self._add_composite(RollOver, args, kwargs)

    def _add_composite(self, cls, args, kwargs):
        name = kwargs.pop("name", None)
        if not args:
            raise TypeError(f"{cls._what} needs at least one data feed")
        for d in args:
            if not isinstance(d, DataBase):
                raise TypeError(f"{cls._what} takes data feeds, got {type(d).__name__}")
        if name is None:
            name = args[0].p.dataname if isinstance(args[0].p.dataname, str) else ""
        return self.adddata(cls(*args, name=name, **kwargs), name=name)

    def addstrategy(self, strategy, *args, **kwargs):
        self.strats.append([(strategy, args, kwargs)])
        return len(self.strats) - 1

    def optstrategy(self, strategy, *args, **kwargs):
        """Run ``strategy`` once per combination of the given parameter values."""
        self._dooptimize = True
        args = [a if _iterable(a) else [a] for a in args]
        keys = list(kwargs)
        vals = [v if _iterable(v) else [v] for v in kwargs.values()]
        combos = [(strategy, tuple(a), dict(zip(keys, v)))
                  for a in itertools.product(*args) for v in itertools.product(*vals)]
        self.strats.append(combos)

    def optcallback(self, cb):
        self.optcbs.append(cb)

    def addsizer(self, sizercls, *args, **kwargs):
        self.sizers[None] = (sizercls, args, kwargs)

    def addsizer_byidx(self, idx, sizercls, *args, **kwargs):
        self.sizers[idx] = (sizercls, args, kwargs)

    def addanalyzer(self, ancls, *args, **kwargs):
        self.analyzers.append((ancls, args, kwargs))

    def addobserver(self, obscls, *args, **kwargs):
        self.observers.append((False, obscls, args, kwargs))

    def addobservermulti(self, obscls, *args, **kwargs):
        self.observers.append((True, obscls, args, kwargs))

    def addindicator(self, indcls, *args, **kwargs):
        self.indicators.append((indcls, args, kwargs))

    def addwriter(self, wrtcls, *args, **kwargs):
        pass

    def addtz(self, tz):
        self.p.tz = tz

    def addcalendar(self, cal):
        pass

    def add_signal(self, sigtype, sigcls, *sigargs, **sigkwargs):
        """A signal indicator for the run's ``SignalStrategy`` (``bt.SIGNAL_*`` type)."""
        self.signals.append((sigtype, sigcls, sigargs, sigkwargs))

    def signal_strategy(self, stratcls, *args, **kwargs):
        """The ``SignalStrategy`` subclass that receives the signals."""
        self._signal_strat = (stratcls, args, kwargs)

    def signal_concurrent(self, onoff):
        """Let the signals place an order while another is still open."""
        self._signal_concurrent = onoff

    def signal_accumulate(self, onoff):
        """Let the signals add to an open position."""
        self._signal_accumulate = onoff

    def add_timer(self, when, offset=datetime.timedelta(), repeat=datetime.timedelta(),
                  weekdays=[], weekcarry=False, monthdays=[], monthcarry=True, allow=None,
                  tzdata=None, strats=False, cheat=False, *args, **kwargs):
        """A timer calling ``cerebro.notify_timer`` (and, with ``strats=True``, every
        strategy's); see ``bt.timer``."""
        return self._add_timer(self, when, offset=offset, repeat=repeat, weekdays=weekdays,
                               weekcarry=weekcarry, monthdays=monthdays,
                               monthcarry=monthcarry, allow=allow, tzdata=tzdata,
                               strats=strats, cheat=cheat, args=args, kwargs=kwargs)

    def _add_timer(self, owner, when, **kw):
        from .timer import Timer

        mine = owner is self
        timer = Timer(len(self._timers) + len(self._run_timers), owner, when=when, **kw)
        (self._timers if mine else self._run_timers).append(timer)
        return timer

    def notify_timer(self, timer, when, *args, **kwargs):
        """Override (in a ``Cerebro`` subclass) to hear timers added with
        ``cerebro.add_timer``."""

    def addstore(self, store):
        raise NotImplementedError("stores (live trading) are not supported by the ml4t shim")

    def runstop(self):
        self._event_stop = True

    def getbroker(self):
        return self._broker

    def setbroker(self, broker):
        self._broker = broker
        broker.cerebro = self
        return broker

    broker = property(getbroker, setbroker)

    # ------------------------------------------------------------------- run
    def run(self, **kwargs):
        """Run every strategy (every combination with ``optstrategy``).

        Returns
        -------
        list
            The strategy instances; with ``optstrategy`` a list with one list per
            combination (``OptReturn`` objects when ``optreturn=True``).
        """
        from ml4t.engine import fewer_young_collections
        with fewer_young_collections():       # (as the native engine's runs: see there)
            return self._run_all(kwargs)

    def _run_all(self, kwargs):
        for k, v in kwargs.items():
            if k not in self.p._defaults:
                raise TypeError(f"Cerebro.run() got an unknown parameter {k!r}")
            setattr(self.p, k, v)
        if not self.datas:
            return []
        if self.p.cheat_on_open:
            if not self.p.broker_coo:
                raise NotImplementedError(
                    "cheat_on_open=True with broker_coo=False (next_open orders filling at "
                    "the next bar) is not supported by the ml4t shim")
            self._broker.set_coo(True)
        if self.signals:
            # Backtrader: the signal strategy (``signal_strategy`` or a plain one) is
            # added after the others, with the signals and the two switches
            from .strategy import SignalStrategy
            cls, args, kw = self._signal_strat
            if cls is None:
                cls, args, kw = SignalStrategy, (), {}
            self.addstrategy(cls, *args, _accumulate=self._signal_accumulate,
                             _concurrent=self._signal_concurrent, signals=self.signals, **kw)
        if not self.strats:
            from .strategy import Strategy
            self.addstrategy(Strategy)
        for d in self.datas:
            d._bt_preload()
        self._names()
        combos = list(itertools.product(*self.strats))
        self.runstrats = []
        for combo in combos:
            strats = self._run_combo(combo)
            if self._dooptimize and self.p.optreturn:
                strats = [OptReturn(s.params, analyzers=s.analyzers, strategycls=type(s))
                          for s in strats]
            for cb in self.optcbs:
                cb(strats)
            self.runstrats.append(strats)
        if self._dooptimize:
            return self.runstrats
        return self.runstrats[0] if self.runstrats else []

    def _names(self):
        seen = set()
        for i, d in enumerate(self.datas):
            name = d._name or f"data{i}"
            base, n = name, 1
            while name in seen:
                name = f"{base}_{n}"
                n += 1
            seen.add(name)
            d._bt_asset = name

    def _engine_config(self):
        broker = self._broker
        schemes = [broker.getcommissioninfo(d) for d in self.datas]
        first = schemes[0]
        same = all(scheme is first or (type(scheme) is type(first)
                                        and scheme.p._getitems() == first.p._getitems())
                   for scheme in schemes)
        if same:
            commission = first._native_model()
        else:
            # ``setcommission(..., name=...)``: each feed is charged by its own scheme
            kinds = {bool(scheme._stocklike) for scheme in schemes}
            if len(kinds) > 1:
                stock = next(d._name for d, sc in zip(self.datas, schemes) if sc._stocklike)
                fut = next(d._name for d, sc in zip(self.datas, schemes) if not sc._stocklike)
                raise NotImplementedError(
                    "stock-like and futures-like commission schemes in one run (here "
                    f"{stock!r} and {fut!r}) are not supported by the ml4t shim: futures "
                    "run in a native margin account, which would also lend on the stocks")
            from ml4t.models import PerAssetCommission
            commission = PerAssetCommission(
                {d._bt_asset: scheme._native_model() for d, scheme in zip(self.datas, schemes)})
        # a futures-like scheme: each feed is a native Future in a margin account
        # (margin per contract, daily settlement) that never liquidates (Backtrader's
        # broker has no margin calls)
        contracts = {d._bt_asset: scheme._native_future(d._bt_asset)
                     for d, scheme in zip(self.datas, schemes)}
        futures = any(c is not None for c in contracts.values())
        return dict(
            cash=float(broker.startingcash),
            fill="same_close" if broker.p.coc else "next_open",
            commission=commission,
            slippage=_slippage_model(broker.p),
            account="margin" if futures else "cash", allow_short=True,
            fill_order="submission", fractional=True,
            contracts=contracts if futures else None,
            margin_calls=False,           # Backtrader's broker never liquidates
            # Backtrader: the earlier-submitted member of an OCO group / bracket fills
            # when one bar touches both; only the opening part of a fill needs cash
            intrabar_policy="submission", cash_check="opening",
            # a stop-limit triggered inside the bar may fill at its limit (bar direction)
            stop_limit_rule="bar_direction",
            calendar=None, record="slice", record_positions=False,
        )

    def _run_combo(self, combo):
        from ml4t import Engine
        from ml4t.data import bars_from_arrays
        from .sizers import FixedSize

        run = _Run(self, self.datas)
        self._run_timers = []
        for d in self.datas:
            run.asset_of[id(d)] = d._bt_asset
            d._clock._idx = -1
        broker = self._broker
        broker._bt_start(run)
        strats = []
        for idx, (cls, args, kwargs) in enumerate(combo):
            tok = BUILDING.set((self, run))
            try:
                strat = cls(*args, **kwargs)
            finally:
                BUILDING.reset(tok)
            strats.append(strat)
        run.strats = strats
        default_sizer = self.sizers.get(None, (None, (), {}))
        for idx, strat in enumerate(strats):
            self._add_observers(strat)
            for indcls, a, kw in self.indicators:
                from ._params import OWNER, STAGE
                t1, t2 = OWNER.set(strat), STAGE.set(1)
                try:
                    indcls(*a, **kw)
                finally:
                    OWNER.reset(t1)
                    STAGE.reset(t2)
                strat._bt_postinit()
            for ancls, a, kw in self.analyzers:
                strat._addanalyzer(ancls, *a, **dict(kw))
            run._analyzers[id(strat)] = list(strat.analyzers) + strat._slave_analyzers
            sizer, sa, skw = self.sizers.get(idx, default_sizer)
            strat.setsizer(FixedSize() if sizer is None else sizer(*sa, **skw))
        run.observers_once = self._runs_once(strats)
        columns = {d._bt_asset: engine_columns(d, run.native_ts(i))
                   for i, d in enumerate(self.datas)}
        if self.datas and not any(len(c["ts"]) for c in columns.values()):
            from ml4t.errors import DataError
            names = ", ".join(repr(d._name or d._bt_asset) for d in self.datas)
            raise DataError(f"no feed has a bar to run on ({names}); check the files and "
                            "the feeds' fromdate/todate", path="<feeds>", rule="no_rows")
        bars = bars_from_arrays(columns, calendar=None, source="<feeds>")
        engine = Engine(**self._engine_config())
        broker._bt_cheat_open = bool(self.p.cheat_on_open)
        driver = _driver_class()[1 if self.p.cheat_on_open else 0](run)
        result = engine.run(driver, bars)
        broker._bt_stop()
        self.last_result = result
        return strats

    def _add_observers(self, strat):
        """Backtrader's order: the standard observers (``stdstats``), then the added
        ones."""
        from . import observers
        if self.p.stdstats:
            strat._addobserver(False, observers.Broker)
            strat._addobserver(True, observers.BuySell,
                               **({} if self.p.oldbuysell else {"barplot": True}))
            if self.p.oldtrades or len(self.datas) == 1:
                strat._addobserver(False, observers.Trades)
            else:
                strat._addobserver(False, observers.DataTrades)
        for multi, obscls, a, kw in self.observers:
            strat._addobserver(multi, obscls, *a, **dict(kw))

    def _runs_once(self, strats):
        """Whether Backtrader would run this in its vectorised mode (``runonce``):
        preloaded, no resampled feed, no ``exactbars``, no indicator that forces
        bar-by-bar mode (``HeikinAshi``). Observers then get ``prenext``/``nextstart``/
        ``next`` by the strategy's warm-up status, else ``nextstart`` then ``next``."""
        if not (self.p.preload and self.p.runonce) or self.p.exactbars:
            return False
        if any(d._resample is not None for d in self.datas):
            return False
        for strat in strats:
            stack = list(strat.__dict__.get("_bt_items", ()))
            seen = set()
            while stack:
                it = stack.pop()
                if id(it) in seen:
                    continue
                seen.add(id(it))
                if getattr(type(it), "_nextforce", False):
                    return False
                stack.extend(getattr(it, "__dict__", {}).get("_sub", ()))
        return True

    # ------------------------------------------------------------------ plot
    def plot(self, plotter=None, numfigs=1, iplot=True, start=None, end=None, width=16,
             height=9, dpi=300, tight=True, use=None, savefig=None, **kwargs):
        """Plot each strategy of the last run with matplotlib (prices, indicators,
        buy/sell markers, value). Returns a list of lists of figures."""
        from .plot import plot_strategy
        figs = []
        for stratlist in self.runstrats:
            for strat in stratlist:
                if hasattr(strat, "datas"):
                    figs.append([plot_strategy(strat, width=width, height=height,
                                               start=start, end=end, use=use,
                                               savefig=savefig)])
        return figs


def _iterable(x):
    if isinstance(x, (str, bytes)):
        return False
    try:
        iter(x)
    except TypeError:
        return False
    return True
