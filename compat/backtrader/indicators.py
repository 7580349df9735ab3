"""Indicators: Backtrader's built-ins and the base class for user indicators.

Every indicator is computed over the whole feed when it is created (the feeds are
preloaded), then read bar by bar. Values, warm-up (NaN before the minimum period) and
minimum periods follow Backtrader: the built-ins are composed from the same primitives
(simple average by exactly rounded sums, exponential smoothing seeded by a simple average,
Python ``max``/``min`` semantics, ...), evaluated with the same floating-point operations
in the same order, so crossovers and thresholds trigger on the same bars.

User indicators work both ways Backtrader allows: declaratively in ``__init__``
(``self.lines.x = expression``) or imperatively with ``next()`` (or ``once()``), which
the shim runs over the preloaded bars right after ``__init__``.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from ._params import OWNER, STAGE, run_declaring
from .lines import (Clock, LineBuffer, LineSeries, aligned, as_line, _register)

try:  # compiled loops (bit-identical to the Python loops below, which remain the fallback)
    from ml4t._core import btfast as _fast
except ImportError:  # pragma: no cover - the extension is always built in practice
    _fast = None

NAN = float("nan")

__all__ = ["Indicator"]


def _lineish(x) -> bool:
    return isinstance(x, (LineBuffer, LineSeries))


def _clock_of(x) -> Clock:
    return as_line(x)._clock


def _arr(x, clock):
    """Values of ``x`` on ``clock`` as a Python list (scalars become constants)."""
    line = as_line(x)
    if line is None:
        return [float(x)] * clock.buflen()
    return aligned(line, clock).tolist()


def _farr(x, clock):
    """Values of ``x`` on ``clock`` as a float64 array (scalars become constants)."""
    line = as_line(x)
    if line is None:
        return np.full(clock.buflen(), float(x))
    return np.ascontiguousarray(aligned(line, clock), dtype=np.float64)


def _mp(x) -> int:
    if isinstance(x, LineSeries):
        return x._minperiod
    if isinstance(x, LineBuffer):
        return x._minperiod
    return 1


class Indicator(LineSeries):
    """Base class of indicators.

    Positional arguments that are lines, indicators or data feeds are the indicator's
    data (``self.data``, ``self.data0``, ``self.data1``...); without any, the owner's
    first data is used. Parameters are keyword arguments.
    """

    _mindatas = 1
    _minperiod = 1
    csv = False
    aliased = False

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        owner = OWNER.get()
        datas = []
        i = 0
        while i < len(args) and _lineish(args[i]):
            datas.append(args[i])
            i += 1
        if not datas:
            src = getattr(owner, "datas", None) or []
            datas = list(src[:cls._mindatas])
            if not datas:
                raise TypeError(f"{cls.__name__} needs a data (a feed, line or indicator) "
                                "when it is not created inside a strategy")
        rest = self._bt_make_params(kwargs)
        d = self.__dict__
        d["_owner"] = owner
        d["datas"] = datas
        d["data"] = datas[0]
        for j, x in enumerate(datas):
            d[f"data{j}"] = x
        d["_sub"] = []
        mp = max(_mp(x) for x in datas)
        d["_minperiod"] = mp
        self._bt_make_lines(_clock_of(datas[0]), mp)
        d["_bt_pending"] = (args[i:], rest)
        if owner is not None:
            owner._bt_register(self)
        return self

    def __init__(self, *args, **kwargs):
        pass

    def _bt_register(self, item):
        self.__dict__["_sub"].append(item)

    def _bt_outer_init(self, init, args, kwargs):
        run_declaring(self, init, args, kwargs)
        self._bt_postinit()

    def _bt_postinit(self):
        mp = max([b._minperiod for b in self.lines] or [self._minperiod])
        subs = [x._minperiod for x in self._sub if isinstance(x, Indicator)]
        if subs:
            mp = max(mp, max(subs))
        self._minperiod = mp
        self._bt_compute()
        cls = type(self)
        if cls.once is not Indicator.once:
            self._run_once()
        elif (cls.next is not Indicator.next or cls.nextstart is not Indicator.nextstart
              or cls.prenext is not Indicator.prenext):
            self._run_next()

    def _bt_compute(self):
        """Vectorised computation of the built-ins (overridden by them)."""

    # ---------------------------------------------------- imperative indicators
    def _clocks(self):
        seen = {}
        for x in list(self.datas) + [self]:
            c = _clock_of(x)
            seen[id(c)] = c
        return list(seen.values())

    def _run_next(self):
        main = _clock_of(self)
        clocks = [c for c in self._clocks() if c is not main]
        saved = [(c, c._idx) for c in [main] + clocks]
        mp = self._minperiod
        tok = STAGE.set(2)
        try:
            dts = main._dtnums
            for i in range(main.buflen()):
                main._idx = i
                for c in clocks:
                    c._idx = int(np.searchsorted(c._dtnums, dts[i], side="right")) - 1
                if i + 1 < mp:
                    self.prenext()
                elif i + 1 == mp:
                    self.nextstart()
                else:
                    self.next()
        finally:
            STAGE.reset(tok)
            for c, idx in saved:
                c._idx = idx

    def _run_once(self):
        main = _clock_of(self)
        n = main.buflen()
        mp = self._minperiod
        saved = main._idx
        tok = STAGE.set(2)
        try:
            main._idx = n - 1
            self.preonce(0, mp - 1)
            self.oncestart(mp - 1, mp)
            self.once(mp, n)
        finally:
            STAGE.reset(tok)
            main._idx = saved

    def prenext(self):
        pass

    def nextstart(self):
        self.next()

    def next(self):
        pass

    def preonce(self, start, end):
        pass

    def oncestart(self, start, end):
        self.once(start, end)

    def once(self, start, end):
        pass


# ============================================================================ primitives
class PeriodN(Indicator):
    """An indicator over a window of ``period`` bars."""

    params = (("period", 1),)

    def __init__(self):
        self.addminperiod(self.p.period)

    def _span(self):
        """The input as a list and the first index to compute."""
        src = _arr(self.data, _clock_of(self))
        return src, self._minperiod - 1, len(src)


class OperationN(PeriodN):
    """``func`` applied to each window of ``period`` values."""

    func = None

    def _bt_compute(self):
        f = type(self).func
        fast = _FAST_WINDOW.get(f)
        if fast is not None and self._fast_window(fast):
            return
        src, start, n = self._span()
        p = self.p.period
        out = self.lines[0].array
        for i in range(max(start, 0), n):
            out[i] = f(src[i - p + 1:i + 1])

    def _fast_window(self, fast) -> bool:
        p = self.p.period
        if not isinstance(p, int) or p < 1:
            return False                        # the Python loop reports the problem
        src = _farr(self.data, _clock_of(self))
        return bool(fast(src, p, max(self._minperiod - 1, p - 1), self.lines[0].array))


def _fsum_window(src, p, start, out):
    return _fast.rolling_fsum(src, p, start, out, 1.0)


# compiled twins of the window functions of OperationN subclasses
_FAST_WINDOW = {} if _fast is None else {max: _fast.window_max, min: _fast.window_min,
                                         math.fsum: _fsum_window}


class Highest(OperationN):
    lines = ("highest",)
    func = max


class Lowest(OperationN):
    lines = ("lowest",)
    func = min


class SumN(OperationN):
    lines = ("sumn",)
    func = math.fsum


class AnyN(OperationN):
    lines = ("anyn",)
    func = any


class AllN(OperationN):
    lines = ("alln",)
    func = all


class ApplyN(OperationN):
    lines = ("apply",)
    params = (("func", None),)

    def _bt_compute(self):
        src, start, n = self._span()
        p = self.p.period
        f = self.p.func
        out = self.lines[0].array
        for i in range(max(start, 0), n):
            out[i] = f(src[i - p + 1:i + 1])


class Average(PeriodN):
    """Arithmetic mean of the window: exactly rounded sum / period."""

    lines = ("av",)

    def _bt_compute(self):
        p = self.p.period
        if _fast is not None and isinstance(p, int) and p >= 1:
            src = _farr(self.data, _clock_of(self))
            if _fast.rolling_fsum(src, p, max(self._minperiod - 1, p - 1),
                                  self.lines[0].array, float(p)):
                return
        src, start, n = self._span()
        out = self.lines[0].array
        fsum = math.fsum
        for i in range(max(start, 0), n):
            out[i] = fsum(src[i - p + 1:i + 1]) / p


class ExponentialSmoothing(Average):
    """``prev * (1 - alpha) + x * alpha``, seeded with the simple average of the first
    window (``alpha`` defaults to 2 / (1 + period))."""

    params = (("alpha", None),)

    def __init__(self):
        self.alpha = self.p.alpha
        if self.alpha is None:
            self.alpha = 2.0 / (1.0 + self.p.period)
        self.alpha1 = 1.0 - self.alpha
        super().__init__()

    def _bt_compute(self):
        src, start, n = self._span()
        if start < 0 or start >= n:
            return
        p = self.p.period
        out = self.lines[0].array
        prev = math.fsum(src[start - p + 1:start + 1]) / p
        out[start] = prev
        a, a1 = self.alpha, self.alpha1
        if _fast is not None and isinstance(a, float) and isinstance(a1, float):
            _fast.exp_smooth(_farr(self.data, _clock_of(self)), start, prev, a, a1, out)
            return
        vals = [0.0] * n
        for i in range(start + 1, n):
            prev = prev * a1 + src[i] * a
            vals[i] = prev
        out[start + 1:] = vals[start + 1:]


class WeightedAverage(PeriodN):
    """``coef * sum(window * weights)`` with an exactly rounded sum."""

    lines = ("av",)
    params = (("coef", 1.0), ("weights", tuple()))

    def _bt_compute(self):
        src, start, n = self._span()
        p = self.p.period
        coef = self.p.coef
        w = self.p.weights
        out = self.lines[0].array
        if (_fast is not None and isinstance(coef, float) and len(w) == p
                and all(isinstance(x, float) for x in w)):
            if _fast.weighted_fsum(np.asarray(src, dtype=np.float64),
                                   np.asarray(w, dtype=np.float64), max(start, p - 1),
                                   out, coef):
                return
        fsum = math.fsum
        for i in range(max(start, 0), n):
            out[i] = coef * fsum(map(operator.mul, src[i - p + 1:i + 1], w))


class Accum(Indicator):
    """Cumulative sum from ``seed``."""

    lines = ("accum",)
    params = (("seed", 0.0),)

    def _bt_compute(self):
        src, start, n = _arr(self.data, _clock_of(self)), self._minperiod - 1, \
            _clock_of(self).buflen()
        out = self.lines[0].array
        prev = self.p.seed
        if _fast is not None and isinstance(prev, (int, float)) and start < n:
            _fast.accum(np.asarray(src, dtype=np.float64), max(start, 0), float(prev), out)
            return
        for i in range(max(start, 0), n):
            prev = prev + src[i]
            out[i] = prev


# ------------------------------------------------------------------ logic functions
class _Logic:
    """Line functions (``bt.If``, ``bt.And``, ...): calling one returns a line."""

    def __new__(cls, *args, **kwargs):
        return cls._make(*args, **kwargs)


def _logic_line(args, compute, first=None, vectorised=None):
    """A line computed element-wise from ``args`` (lines or numbers) from the longest
    warm-up on. ``vectorised(arrays)`` is a numpy equivalent of ``compute`` (same
    results, Python's comparison semantics with NaN included)."""
    lines = [a for a in args if _lineish(a)]
    if not lines:
        raise TypeError("a line function needs at least one line argument")
    lead = first if first is not None else lines[0]
    clock = _clock_of(lead)
    mp = max(_mp(a) for a in args)
    n = clock.buflen()
    out = np.full(n, NAN)
    if vectorised is not None:
        arrays = [aligned(as_line(a), clock) if _lineish(a) else np.full(n, float(a))
                  for a in args]
        out[mp - 1:] = vectorised([x[mp - 1:] for x in arrays])
    else:
        vals = [_arr(a, clock) for a in args]
        for i in range(mp - 1, n):
            out[i] = compute([v[i] for v in vals])
    res = LineBuffer(clock, out, mp)
    _register(res)
    return res


def _truth(x):
    return x != 0.0                        # NaN is true, as bool(float("nan"))


def _v_max(arrays):
    out = arrays[0].copy()
    for x in arrays[1:]:
        m = x > out                        # Python's max keeps the first unless larger
        out[m] = x[m]
    return out


def _v_min(arrays):
    out = arrays[0].copy()
    for x in arrays[1:]:
        m = x < out
        out[m] = x[m]
    return out


def _v_and(arrays):
    out = _truth(arrays[0])
    for x in arrays[1:]:
        out = out & _truth(x)
    return out.astype(np.float64)


def _v_or(arrays):
    out = _truth(arrays[0])
    for x in arrays[1:]:
        out = out | _truth(x)
    return out.astype(np.float64)


class If(_Logic):
    """``a`` where ``cond`` is true, else ``b``."""

    @staticmethod
    def _make(cond, a, b):
        return _logic_line([cond, a, b], lambda v: v[1] if v[0] else v[2],
                           first=cond if _lineish(cond) else None,
                           vectorised=lambda x: np.where(_truth(x[0]), x[1], x[2]))


class And(_Logic):
    @staticmethod
    def _make(*args):
        def f(v):
            acc = v[0]
            for x in v[1:]:
                acc = bool(acc and x)
            return acc
        return _logic_line(list(args), f, vectorised=_v_and)


class Or(_Logic):
    @staticmethod
    def _make(*args):
        def f(v):
            acc = v[0]
            for x in v[1:]:
                acc = bool(acc or x)
            return acc
        return _logic_line(list(args), f, vectorised=_v_or)


class Max(_Logic):
    @staticmethod
    def _make(*args):
        return _logic_line(list(args), max, vectorised=_v_max)


class Min(_Logic):
    @staticmethod
    def _make(*args):
        return _logic_line(list(args), min, vectorised=_v_min)


class Sum(_Logic):
    @staticmethod
    def _make(*args):
        return _logic_line(list(args), math.fsum)


class Any(_Logic):
    @staticmethod
    def _make(*args):
        return _logic_line(list(args), any)


class All(_Logic):
    @staticmethod
    def _make(*args):
        return _logic_line(list(args), all)


class Cmp(_Logic):
    @staticmethod
    def _make(a, b):
        return _logic_line([a, b], lambda v: (v[0] > v[1]) - (v[0] < v[1]))


class CmpEx(_Logic):
    @staticmethod
    def _make(a, b, r1, r2, r3):
        return _logic_line([a, b, r1, r2, r3],
                           lambda v: v[2] if v[0] < v[1] else (v[4] if v[0] > v[1] else v[3]))


class DivByZero(_Logic):
    @staticmethod
    def _make(a, b, zero=0.0):
        return _logic_line([a, b], lambda v: v[0] / v[1] if v[1] else zero)


class DivZeroByZero(_Logic):
    @staticmethod
    def _make(a, b, single=float("inf"), dual=0.0):
        def f(v):
            if v[1] == 0.0:
                return dual if v[0] == 0.0 else single
            return v[0] / v[1]
        return _logic_line([a, b], f)


class Reduce(_Logic):
    @staticmethod
    def _make(flogic, *args, **kwargs):
        import functools
        if "initializer" in kwargs:
            return _logic_line(list(args), lambda v: functools.reduce(
                flogic, v, kwargs["initializer"]))
        return _logic_line(list(args), lambda v: functools.reduce(flogic, v))


# ==================================================================== moving averages
class MovingAverage:
    """Namespace of moving averages: ``MovAv.Simple``, ``MovAv.SMA``, ``MovAv.EMA``..."""

    _movavs = []

    @classmethod
    def register(cls, regcls):
        cls._movavs.append(regcls)
        name = regcls.__name__
        setattr(cls, name, regcls)
        short = ""
        if name.endswith("MovingAverage"):
            short = name.split("MovingAverage")[0]
        elif name.startswith("MovingAverage"):
            short = name.split("MovingAverage")[1]
        if short:
            setattr(cls, short, regcls)
        for a in regcls.__dict__.get("alias", ()):
            setattr(cls, a, regcls)


MovAv = MovingAverage


class MovingAverageBase(Indicator):
    params = (("period", 30),)
    plotinfo = dict(subplot=False)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_") and not cls.__dict__.get("_notregister"):
            MovingAverage.register(cls)


class MovingAverageSimple(MovingAverageBase):
    alias = ("SMA", "SimpleMovingAverage")
    lines = ("sma",)

    def __init__(self):
        self.lines[0] = Average(self.data, period=self.p.period)


class ExponentialMovingAverage(MovingAverageBase):
    alias = ("EMA", "MovingAverageExponential")
    lines = ("ema",)

    def __init__(self):
        es = ExponentialSmoothing(self.data, period=self.p.period,
                                  alpha=2.0 / (1.0 + self.p.period))
        self.lines[0] = es
        self.alpha, self.alpha1 = es.alpha, es.alpha1


class WeightedMovingAverage(MovingAverageBase):
    alias = ("WMA", "MovingAverageWeighted")
    lines = ("wma",)

    def __init__(self):
        p = self.p.period
        self.lines[0] = WeightedAverage(self.data, period=p, coef=2.0 / (p * (p + 1.0)),
                                        weights=tuple(float(x) for x in range(1, p + 1)))


class SmoothedMovingAverage(MovingAverageBase):
    alias = ("SMMA", "WilderMA", "MovingAverageSmoothed", "MovingAverageWilder",
             "ModifiedMovingAverage")
    lines = ("smma",)

    def __init__(self):
        self.lines[0] = ExponentialSmoothing(self.data, period=self.p.period,
                                             alpha=1.0 / self.p.period)


class DoubleExponentialMovingAverage(MovingAverageBase):
    alias = ("DEMA", "MovingAverageDoubleExponential")
    lines = ("dema",)
    params = (("_movav", ExponentialMovingAverage),)

    def __init__(self):
        ema = self.p._movav(self.data, period=self.p.period)
        ema2 = self.p._movav(ema, period=self.p.period)
        self.lines.dema = 2.0 * ema - ema2


class TripleExponentialMovingAverage(MovingAverageBase):
    alias = ("TEMA", "MovingAverageTripleExponential")
    lines = ("tema",)
    params = (("_movav", ExponentialMovingAverage),)

    def __init__(self):
        ema1 = self.p._movav(self.data, period=self.p.period)
        ema2 = self.p._movav(ema1, period=self.p.period)
        ema3 = self.p._movav(ema2, period=self.p.period)
        self.lines.tema = 3.0 * ema1 - 3.0 * ema2 + ema3


# =========================================================================== oscillators
class UpDay(Indicator):
    lines = ("upday",)
    params = (("period", 1),)

    def __init__(self):
        self.lines.upday = Max(self.data - self.data(-self.p.period), 0.0)


class DownDay(Indicator):
    lines = ("downday",)
    params = (("period", 1),)

    def __init__(self):
        self.lines.downday = Max(self.data(-self.p.period) - self.data, 0.0)


class UpDayBool(Indicator):
    lines = ("upday",)
    params = (("period", 1),)

    def __init__(self):
        self.lines.upday = self.data > self.data(-self.p.period)


class DownDayBool(Indicator):
    lines = ("downday",)
    params = (("period", 1),)

    def __init__(self):
        self.lines.downday = self.data(-self.p.period) > self.data


class RelativeStrengthIndex(Indicator):
    """RSI with Wilder's smoothing by default (``movav``), ``100 - 100 / (1 + rs)``."""

    alias = ("RSI", "RSI_SMMA", "RSI_Wilder")
    lines = ("rsi",)
    params = (("period", 14), ("movav", SmoothedMovingAverage), ("upperband", 70.0),
              ("lowerband", 30.0), ("safediv", False), ("safehigh", 100.0),
              ("safelow", 50.0), ("lookback", 1))

    def __init__(self):
        up = UpDay(self.data, period=self.p.lookback)
        down = DownDay(self.data, period=self.p.lookback)
        maup = self.p.movav(up, period=self.p.period)
        madown = self.p.movav(down, period=self.p.period)
        if not self.p.safediv:
            rs = maup / madown
        else:
            rs = DivZeroByZero(maup, madown, self._rscalc(self.p.safehigh),
                               self._rscalc(self.p.safelow))
        self.lines.rsi = 100.0 - 100.0 / (1.0 + rs)

    @staticmethod
    def _rscalc(rsi):
        try:
            return -100.0 / (rsi - 100.0) - 1.0
        except ZeroDivisionError:
            return float("inf")


class RSI_Safe(RelativeStrengthIndex):
    params = (("safediv", True),)


class RSI_SMA(RelativeStrengthIndex):
    alias = ("RSI_Cutler",)
    params = (("movav", MovingAverageSimple),)


class RSI_EMA(RelativeStrengthIndex):
    params = (("movav", ExponentialMovingAverage),)


class MACD(Indicator):
    """``macd = ema(fast) - ema(slow)``, ``signal = ema(macd, period_signal)``."""

    lines = ("macd", "signal")
    params = (("period_me1", 12), ("period_me2", 26), ("period_signal", 9),
              ("movav", ExponentialMovingAverage))
    plotinfo = dict(plothlines=[0.0])

    def __init__(self):
        me1 = self.p.movav(self.data, period=self.p.period_me1)
        me2 = self.p.movav(self.data, period=self.p.period_me2)
        self.lines.macd = me1 - me2
        self.lines.signal = self.p.movav(self.lines.macd, period=self.p.period_signal)


class MACDHisto(MACD):
    alias = ("MACDHistogram",)
    lines = ("histo",)

    def __init__(self):
        super().__init__()
        self.lines.histo = self.lines.macd - self.lines.signal


class StandardDeviation(Indicator):
    """Population standard deviation: ``sqrt(|mean(x^2) - mean(x)^2|)``."""

    alias = ("StdDev",)
    lines = ("stddev",)
    params = (("period", 20), ("movav", MovingAverageSimple), ("safepow", True))

    def __init__(self):
        mean = self.data1 if len(self.datas) > 1 else self.p.movav(self.data,
                                                                    period=self.p.period)
        meansq = self.p.movav(pow(self.data, 2), period=self.p.period)
        sqmean = pow(mean, 2)
        if self.p.safepow:
            self.lines.stddev = pow(abs(meansq - sqmean), 0.5)
        else:
            self.lines.stddev = pow(meansq - sqmean, 0.5)


class MeanDeviation(Indicator):
    alias = ("MeanDev",)
    lines = ("meandev",)
    params = (("period", 20), ("movav", MovingAverageSimple))

    def __init__(self):
        mean = self.data1 if len(self.datas) > 1 else self.p.movav(self.data,
                                                                    period=self.p.period)
        self.lines.meandev = self.p.movav(abs(self.data - mean), period=self.p.period)


class BollingerBands(Indicator):
    """``mid = sma``, ``top/bot = mid +/- devfactor * stddev``."""

    alias = ("BBands",)
    lines = ("mid", "top", "bot")
    params = (("period", 20), ("devfactor", 2.0), ("movav", MovingAverageSimple))
    plotinfo = dict(subplot=False)

    def __init__(self):
        self.lines.mid = ma = self.p.movav(self.data, period=self.p.period)
        stddev = self.p.devfactor * StandardDeviation(self.data, ma, period=self.p.period,
                                                      movav=self.p.movav)
        self.lines.top = ma + stddev
        self.lines.bot = ma - stddev


class BollingerBandsPct(BollingerBands):
    lines = ("pctb",)

    def __init__(self):
        super().__init__()
        self.l.pctb = (self.data - self.l.bot) / (self.l.top - self.l.bot)


class TrueHigh(Indicator):
    lines = ("truehigh",)

    def __init__(self):
        self.lines.truehigh = Max(self.data.high, self.data.close(-1))


class TrueLow(Indicator):
    lines = ("truelow",)

    def __init__(self):
        self.lines.truelow = Min(self.data.low, self.data.close(-1))


class TrueRange(Indicator):
    alias = ("TR",)
    lines = ("tr",)

    def __init__(self):
        self.lines.tr = TrueHigh(self.data) - TrueLow(self.data)


class AverageTrueRange(Indicator):
    alias = ("ATR",)
    lines = ("atr",)
    params = (("period", 14), ("movav", SmoothedMovingAverage))

    def __init__(self):
        self.lines.atr = self.p.movav(TrueRange(self.data), period=self.p.period)


class _StochasticBase(Indicator):
    lines = ("percK", "percD")
    params = (("period", 14), ("period_dfast", 3), ("movav", MovingAverageSimple),
              ("upperband", 80.0), ("lowerband", 20.0), ("safediv", False),
              ("safezero", 0.0))

    def __init__(self):
        hh = Highest(self.data.high, period=self.p.period)
        ll = Lowest(self.data.low, period=self.p.period)
        knum = self.data.close - ll
        kden = hh - ll
        if self.p.safediv:
            self.k = 100.0 * DivByZero(knum, kden, zero=self.p.safezero)
        else:
            self.k = 100.0 * (knum / kden)
        self.d = self.p.movav(self.k, period=self.p.period_dfast)


class StochasticFast(_StochasticBase):
    def __init__(self):
        super().__init__()
        self.lines.percK = self.k
        self.lines.percD = self.d


class Stochastic(_StochasticBase):
    """Slow stochastic: ``%K`` = the fast ``%D``, ``%D`` = its moving average."""

    alias = ("StochasticSlow",)
    params = (("period_dslow", 3),)

    def __init__(self):
        super().__init__()
        self.lines.percK = self.d
        self.l.percD = self.p.movav(self.l.percK, period=self.p.period_dslow)


class StochasticFull(_StochasticBase):
    lines = ("percDSlow",)
    params = (("period_dslow", 3),)

    def __init__(self):
        super().__init__()
        self.lines.percK = self.k
        self.lines.percD = self.d
        self.l.percDSlow = self.p.movav(self.l.percD, period=self.p.period_dslow)


class NonZeroDifference(Indicator):
    """``data0 - data1``, carrying the last non-zero difference forward."""

    _mindatas = 2
    alias = ("NZD",)
    lines = ("nzd",)

    def _bt_compute(self):
        clock = _clock_of(self)
        start = self._minperiod - 1
        out = self.lines[0].array
        n = clock.buflen()
        if start < 0 or start >= n:
            return
        if _fast is not None:
            _fast.nonzero_diff(_farr(self.data0, clock), _farr(self.data1, clock), start, out)
            return
        a = _arr(self.data0, clock)
        b = _arr(self.data1, clock)
        prev = a[start] - b[start]
        out[start] = prev
        for i in range(start + 1, n):
            d = a[i] - b[i]
            prev = d if d else prev
            out[i] = prev


def _ols_windows(y, x, p, start):
    """Intercept and slope of the least-squares line of ``y`` on ``x`` (with a constant)
    over each window of ``p`` values ending at ``start``, ``start + 1``, ...: the
    pseudo-inverse of [1, x] from its SVD (singular values below 1e-15 x the largest
    dropped), as statsmodels' ``OLS(...).fit()`` does. Windows with a non-finite value
    give NaN."""
    n = len(y)
    ends = np.arange(max(start, p - 1), n)
    if len(ends) == 0:
        return ends, np.zeros(0), np.zeros(0)
    idx = ends[:, None] - (p - 1) + np.arange(p)[None, :]
    ys, xs = y[idx], x[idx]
    ok = np.isfinite(ys).all(axis=1) & np.isfinite(xs).all(axis=1)
    X = np.stack([np.ones_like(xs), xs], axis=2)              # (windows, p, 2)
    X[~ok] = 0.0
    u, sv, vt = np.linalg.svd(X, full_matrices=False)
    cutoff = 1e-15 * sv.max(axis=1, keepdims=True)
    inv = np.where(sv > cutoff, 1.0 / np.where(sv > cutoff, sv, 1.0), 0.0)
    pinv = np.matmul(np.transpose(vt, (0, 2, 1)),
                     inv[:, :, None] * np.transpose(u, (0, 2, 1)))      # (windows, 2, p)
    params = np.matmul(pinv, np.where(ok[:, None], ys, 0.0)[:, :, None])[:, :, 0]
    params[~ok] = np.nan
    return ends, params[:, 0], params[:, 1]


class OLS_Slope_InterceptN(PeriodN):
    """Least-squares regression of ``data0`` on ``data1`` (with a constant) over the last
    ``period`` bars: ``slope`` and ``intercept`` (statsmodels' OLS in Backtrader; the same
    pseudo-inverse here, without statsmodels)."""

    _mindatas = 2
    lines = ("slope", "intercept")
    params = (("period", 10),)

    def _bt_compute(self):
        clock = _clock_of(self)
        ends, intercept, slope = _ols_windows(_farr(self.data0, clock),
                                              _farr(self.data1, clock), self.p.period,
                                              self._minperiod - 1)
        self.lines.slope.array[ends] = slope
        self.lines.intercept.array[ends] = intercept


class OLS_BetaN(PeriodN):
    """The regression slope of ``data0`` on ``data1`` over ``period`` bars. (Backtrader's
    own computes it with ``pandas.ols``, which pandas removed in 0.20, so it fails there;
    this is the slope ``pandas.ols`` returned.)"""

    _mindatas = 2
    lines = ("beta",)
    params = (("period", 10),)

    def _bt_compute(self):
        clock = _clock_of(self)
        ends, _, slope = _ols_windows(_farr(self.data0, clock), _farr(self.data1, clock),
                                      self.p.period, self._minperiod - 1)
        self.lines.beta.array[ends] = slope


class OLS_TransformationN(PeriodN):
    """The spread of ``data0`` over its rolling 10-bar regression on ``data1``, the
    spread's ``period`` mean and standard deviation, and its z-score."""

    _mindatas = 2
    lines = ("spread", "spread_mean", "spread_std", "zscore")
    params = (("period", 10),)

    def __init__(self):
        # (as in Backtrader: the regression keeps its own default window of 10 bars;
        # ``period`` only sets the mean and standard deviation of the spread)
        slint = OLS_Slope_InterceptN(*self.datas)
        spread = self.data0 - (slint.slope * self.data1 + slint.intercept)
        self.l.spread = spread
        self.l.spread_mean = SMA(spread, period=self.p.period)
        self.l.spread_std = StdDev(spread, period=self.p.period)
        self.l.zscore = (spread - self.l.spread_mean) / self.l.spread_std


class CointN(PeriodN):
    """Engle-Granger cointegration test of the two datas over the last ``period`` bars:
    ``score`` (the t statistic) and ``pvalue``, from ``statsmodels.tsa.stattools.coint``
    (needs statsmodels, as in Backtrader)."""

    _mindatas = 2
    lines = ("score", "pvalue")
    params = (("period", 10), ("trend", "c"))

    def _bt_compute(self):
        try:
            from statsmodels.tsa.stattools import coint
        except ImportError:
            raise ImportError("CointN runs statsmodels' coint test, as Backtrader's does: "
                              "pip install statsmodels") from None
        import pandas as pd
        clock = _clock_of(self)
        x, y = _farr(self.data0, clock), _farr(self.data1, clock)
        p = self.p.period
        score, pvalue = self.lines.score.array, self.lines.pvalue.array
        for i in range(max(self._minperiod - 1, p - 1), len(x)):
            s, pv, _ = coint(pd.Series(x[i - p + 1:i + 1]), pd.Series(y[i - p + 1:i + 1]),
                             trend=self.p.trend)
            score[i], pvalue[i] = s, pv


class _CrossBase(Indicator):
    _mindatas = 2
    lines = ("cross",)
    _crossup = True

    def __init__(self):
        nzd = NonZeroDifference(self.data0, self.data1)
        if self._crossup:
            before = nzd(-1) < 0.0
            after = self.data0 > self.data1
        else:
            before = nzd(-1) > 0.0
            after = self.data0 < self.data1
        self.lines.cross = And(before, after)


class CrossUp(_CrossBase):
    _crossup = True


class CrossDown(_CrossBase):
    _crossup = False


class CrossOver(Indicator):
    """+1 on the bar ``data0`` crosses above ``data1``, -1 when it crosses below."""

    _mindatas = 2
    lines = ("crossover",)

    def __init__(self):
        up = CrossUp(self.data, self.data1)
        down = CrossDown(self.data, self.data1)
        self.lines.crossover = up - down


class Momentum(Indicator):
    lines = ("momentum",)
    params = (("period", 12),)

    def __init__(self):
        self.l.momentum = self.data - self.data(-self.p.period)


class MomentumOscillator(Indicator):
    alias = ("MomentumOsc",)
    lines = ("momosc",)
    params = (("period", 12), ("band", 100.0))

    def __init__(self):
        self.l.momosc = 100.0 * (self.data / self.data(-self.p.period))


class RateOfChange(Indicator):
    alias = ("ROC",)
    lines = ("roc",)
    params = (("period", 12),)

    def __init__(self):
        before = self.data(-self.p.period)
        self.l.roc = (self.data - before) / before


class RateOfChange100(Indicator):
    alias = ("ROC100",)
    lines = ("roc100",)
    params = (("period", 12),)

    def __init__(self):
        self.l.roc100 = 100.0 * RateOfChange(self.data, period=self.p.period)


class PercentChange(Indicator):
    alias = ("PctChange",)
    lines = ("pctchange",)
    params = (("period", 30),)

    def __init__(self):
        self.lines.pctchange = self.data / self.data(-self.p.period) - 1.0


class WilliamsR(Indicator):
    lines = ("percR",)
    params = (("period", 14), ("upperband", -20.0), ("lowerband", -80.0))

    def __init__(self):
        h = Highest(self.data.high, period=self.p.period)
        lo = Lowest(self.data.low, period=self.p.period)
        self.lines.percR = -100.0 * (h - self.data.close) / (h - lo)


class CommodityChannelIndex(Indicator):
    alias = ("CCI",)
    lines = ("cci",)
    params = (("period", 20), ("factor", 0.015), ("movav", MovingAverageSimple),
              ("upperband", 100.0), ("lowerband", -100.0))

    def __init__(self):
        tp = (self.data.high + self.data.low + self.data.close) / 3.0
        tpmean = self.p.movav(tp, period=self.p.period)
        dev = tp - tpmean
        meandev = MeanDeviation(tp, tpmean, period=self.p.period, movav=self.p.movav)
        self.lines.cci = dev / (self.p.factor * meandev)


# ============================================================ more of Backtrader's catalogue
class FindFirstIndex(OperationN):
    """Bars ago (0 = this bar) of the most recent value in the window equal to
    ``_evalfunc(window)`` (``FindLastIndex``: of the oldest such value)."""

    lines = ("index",)
    params = (("_evalfunc", None),)
    _oldest = False

    def _bt_compute(self):
        src, start, n = self._span()
        p = self.p.period
        pick = self.p._evalfunc
        out = self.lines[0].array
        for i in range(max(start, 0), n):
            window = src[i - p + 1:i + 1]
            m = pick(window)
            if self._oldest:
                out[i] = p - 1 - next(k for k, v in enumerate(window) if v == m)
            else:
                out[i] = next(k for k, v in enumerate(reversed(window)) if v == m)


class FindFirstIndexHighest(FindFirstIndex):
    params = (("_evalfunc", max),)


class FindFirstIndexLowest(FindFirstIndex):
    params = (("_evalfunc", min),)


class FindLastIndex(FindFirstIndex):
    _oldest = True


class FindLastIndexHighest(FindLastIndex):
    params = (("_evalfunc", max),)


class FindLastIndexLowest(FindLastIndex):
    params = (("_evalfunc", min),)


class UpMove(Indicator):
    lines = ("upmove",)

    def __init__(self):
        self.lines.upmove = self.data - self.data(-1)


class DownMove(Indicator):
    lines = ("downmove",)

    def __init__(self):
        self.lines.downmove = self.data(-1) - self.data


class _Directional(Indicator):
    """Wilder's directional movement: +DM is the high's rise when it beats the low's
    fall (and is positive), -DM the reverse; each smoothed by ``movav`` over ``period``
    and divided by the ATR of the same smoothing, x 100. Subclasses name the lines that
    show ``DIplus`` / ``DIminus`` in ``_publish``."""

    params = (("period", 14), ("movav", SmoothedMovingAverage))
    _publish: tuple = ()             # (line, attribute) pairs
    _needs: tuple = ()               # attributes computed even when not published

    def __init__(self):
        p, movav = self.p.period, self.p.movav
        atr = AverageTrueRange(self.data, period=p, movav=movav)
        rise = self.data.high - self.data.high(-1)
        fall = self.data.low(-1) - self.data.low
        wanted = {attr for _, attr in self._publish} | set(self._needs)
        if "DIplus" in wanted:
            dm = If(And(rise > fall, rise > 0.0), rise, 0.0)
            self.DIplus = 100.0 * movav(dm, period=p) / atr
        if "DIminus" in wanted:
            dm = If(And(fall > rise, fall > 0.0), fall, 0.0)
            self.DIminus = 100.0 * movav(dm, period=p) / atr
        for line, attr in self._publish:
            setattr(self.lines, line, getattr(self, attr))


_BOTH_DI = (("plusDI", "DIplus"), ("minusDI", "DIminus"))


class DirectionalIndicator(_Directional):
    alias = ("DI",)
    lines = ("plusDI", "minusDI")
    _publish = _BOTH_DI


class PlusDirectionalIndicator(_Directional):
    alias = ("PlusDI",)
    lines = ("plusDI",)
    _publish = _BOTH_DI[:1]


class MinusDirectionalIndicator(_Directional):
    alias = ("MinusDI",)
    lines = ("minusDI",)
    _publish = _BOTH_DI[1:]


class AverageDirectionalMovementIndex(_Directional):
    """``100 x movav(|+DI - -DI| / (+DI + -DI))``."""

    alias = ("ADX",)
    lines = ("adx",)
    _needs = ("DIplus", "DIminus")

    def __init__(self):
        super().__init__()
        dx = abs(self.DIplus - self.DIminus) / (self.DIplus + self.DIminus)
        self.lines.adx = 100.0 * self.p.movav(dx, period=self.p.period)


class AverageDirectionalMovementIndexRating(AverageDirectionalMovementIndex):
    """ADX averaged with its value ``period`` bars earlier."""

    alias = ("ADXR",)
    lines = ("adxr",)

    def __init__(self):
        super().__init__()
        self.lines.adxr = (self.l.adx + self.l.adx(-self.p.period)) / 2.0


class DirectionalMovementIndex(AverageDirectionalMovementIndex):
    alias = ("DMI",)
    lines = ("plusDI", "minusDI")
    _publish = _BOTH_DI


class DirectionalMovement(AverageDirectionalMovementIndexRating):
    alias = ("DM",)
    lines = ("plusDI", "minusDI")
    _publish = _BOTH_DI


class HullMovingAverage(MovingAverageBase):
    """``wma(2 x wma(period // 2) - wma(period), int(sqrt(period)))``."""

    alias = ("HMA", "HullMA")
    lines = ("hma",)
    params = (("_movav", WeightedMovingAverage),)

    def __init__(self):
        p, ma = self.p.period, self.p._movav
        diff = 2.0 * ma(self.data, period=p // 2) - ma(self.data, period=p)
        self.lines.hma = ma(diff, period=int(pow(p, 0.5)))


class ZeroLagExponentialMovingAverage(MovingAverageBase):
    """EMA of ``2 x data - data((period - 1) // 2 bars ago)``."""

    alias = ("ZLEMA", "ZeroLagEma")
    lines = ("zlema",)
    params = (("_movav", ExponentialMovingAverage),)

    def __init__(self):
        lag = (self.p.period - 1) // 2
        self.lines.zlema = self.p._movav(2 * self.data - self.data(-lag), period=self.p.period)


class ExponentialSmoothingDynamic(ExponentialSmoothing):
    """Exponential smoothing whose ``alpha`` is a line (one factor per bar), seeded with
    the simple average of the window ending where both the window and ``alpha`` are
    ready."""

    alias = ("ExpSmoothingDynamic",)

    def __init__(self):
        super().__init__()
        alpha = self.alpha
        extra = max(0, _mp(alpha) - self.p.period)
        if extra:
            self.incminperiod(extra)

    def _bt_compute(self):
        src, start, n = self._span()
        if start < 0 or start >= n:
            return
        p = self.p.period
        clock = _clock_of(self)
        alpha = _arr(self.alpha, clock)
        out = self.lines[0].array
        prev = math.fsum(src[start - p + 1:start + 1]) / p
        out[start] = prev
        for i in range(start + 1, n):
            a = alpha[i]
            prev = prev * (1.0 - a) + src[i] * a
            out[i] = prev


class AdaptiveMovingAverage(MovingAverageBase):
    """Kaufman's adaptive moving average: smoothing factor
    ``(er x (fast - slow) + slow)^2`` with ``er = |change over period| / sum of |bar
    changes|`` and fast/slow ``2 / (n + 1)``."""

    alias = ("KAMA", "MovingAverageAdaptive")
    lines = ("kama",)
    params = (("fast", 2), ("slow", 30))

    def __init__(self):
        p = self.p.period
        change = self.data - self.data(-p)
        noise = SumN(abs(self.data - self.data(-1)), period=p)
        er = abs(change / noise)
        fast, slow = 2.0 / (self.p.fast + 1.0), 2.0 / (self.p.slow + 1.0)
        sc = pow(er * (fast - slow) + slow, 2)
        self.lines[0] = ExponentialSmoothingDynamic(self.data, period=p, alpha=sc)


class Trix(Indicator):
    """``100 x`` the one-bar rate of change of a triple EMA."""

    alias = ("TRIX",)
    lines = ("trix",)
    params = (("period", 15), ("_rocperiod", 1), ("_movav", ExponentialMovingAverage))

    def __init__(self):
        ma, p = self.p._movav, self.p.period
        e3 = ma(ma(ma(self.data, period=p), period=p), period=p)
        self.lines.trix = 100.0 * (e3 / e3(-self.p._rocperiod) - 1.0)


class TrixSignal(Trix):
    lines = ("signal",)
    params = (("sigperiod", 9),)

    def __init__(self):
        super().__init__()
        self.l.signal = self.p._movav(self.lines[0], period=self.p.sigperiod)


class DetrendedPriceOscillator(Indicator):
    """Data minus its moving average taken ``-period // 2 + 1`` bars ago (Python's
    precedence: ``(-period) // 2 + 1``)."""

    alias = ("DPO",)
    lines = ("dpo",)
    params = (("period", 20), ("movav", MovingAverageSimple))

    def __init__(self):
        ma = self.p.movav(self.data, period=self.p.period)
        self.lines.dpo = self.data - ma(-self.p.period // 2 + 1)


class AwesomeOscillator(Indicator):
    """Fast minus slow moving average of the bar's median price ``(high + low) / 2``."""

    alias = ("AwesomeOsc", "AO")
    lines = ("ao",)
    params = (("fast", 5), ("slow", 34), ("movav", MovingAverageSimple))

    def __init__(self):
        mid = (self.data.high + self.data.low) / 2.0
        self.l.ao = (self.p.movav(mid, period=self.p.fast)
                     - self.p.movav(mid, period=self.p.slow))


class PercentRank(OperationN):
    """Share of the window's values below its last value."""

    alias = ("PctRank",)
    lines = ("pctrank",)
    params = (("period", 50),)

    @staticmethod
    def func(window):
        last = window[-1]
        return math.fsum(x < last for x in window) / len(window)


class UltimateOscillator(Indicator):
    """Buying pressure (close - true low) over true range, summed over three windows and
    weighted 4 : 2 : 1, x 100 / 7."""

    lines = ("uo",)
    params = (("p1", 7), ("p2", 14), ("p3", 28), ("upperband", 70.0), ("lowerband", 30.0))

    def __init__(self):
        bp = self.data.close - TrueLow(self.data)
        tr = TrueRange(self.data)
        avs = [SumN(bp, period=q) / SumN(tr, period=q) for q in (self.p.p1, self.p.p2,
                                                                  self.p.p3)]
        f = 100.0 / 7.0
        self.lines.uo = (4.0 * f) * avs[0] + (2.0 * f) * avs[1] + f * avs[2]


class _Aroon(Indicator):
    """100 / period x (period - bars since the highest high / lowest low), over the last
    ``period + 1`` bars; subclasses list their lines among ``aroonup``, ``aroondown``,
    ``aroonosc`` (up - down)."""

    params = (("period", 14), ("upperband", 70), ("lowerband", 30))

    def __init__(self):
        p = self.p.period
        up = (100.0 / p) * (p - FindFirstIndexHighest(self.data.high, period=p + 1))
        down = (100.0 / p) * (p - FindFirstIndexLowest(self.data.low, period=p + 1))
        made = {"aroonup": lambda: up, "aroondown": lambda: down,
                "aroonosc": lambda: up - down}
        for name in self._line_names:
            setattr(self.lines, name, made[name]())


class AroonUp(_Aroon):
    lines = ("aroonup",)


class AroonDown(_Aroon):
    lines = ("aroondown",)


class AroonUpDown(_Aroon):
    alias = ("AroonIndicator",)
    lines = ("aroonup", "aroondown")


class AroonOscillator(_Aroon):
    alias = ("AroonOsc",)
    lines = ("aroonosc",)


class AroonUpDownOscillator(_Aroon):
    alias = ("AroonUpDownOsc",)
    lines = ("aroonup", "aroondown", "aroonosc")


class Ichimoku(Indicator):
    """Ichimoku cloud: conversion and base lines (midpoints of the highest high and lowest
    low over ``tenkan`` / ``kijun`` bars), the two leading spans pushed ``senkou_lead``
    bars forward, and ``chikou_span``, the close ``chikou`` bars *ahead* (as in Backtrader,
    whose indicators are computed over the whole preloaded feed: reading ``chikou_span[0]``
    in ``next()`` looks into the future; NaN on the last ``chikou`` bars)."""

    lines = ("tenkan_sen", "kijun_sen", "senkou_span_a", "senkou_span_b", "chikou_span")
    params = (("tenkan", 9), ("kijun", 26), ("senkou", 52), ("senkou_lead", 26),
              ("chikou", 26))

    def _midpoint(self, period):
        return (Highest(self.data.high, period=period) + Lowest(self.data.low, period=period)) / 2.0

    def __init__(self):
        p = self.p
        self.l.tenkan_sen = self._midpoint(p.tenkan)
        self.l.kijun_sen = self._midpoint(p.kijun)
        self.l.senkou_span_a = ((self.l.tenkan_sen + self.l.kijun_sen) / 2.0)(-p.senkou_lead)
        self.l.senkou_span_b = self._midpoint(p.senkou)(-p.senkou_lead)
        self.l.chikou_span = self.data.close(p.chikou)


class ParabolicSAR(PeriodN):
    """Wilder's parabolic stop and reverse, with Backtrader's start: on the second bar the
    trend is taken as the reverse of the close's direction (so the first bar reverses it),
    the stop at that bar's midpoint and the extreme at the previous bar's low (rising
    close) or high; the acceleration factor grows by ``af`` at each new extreme up to
    ``afmax``; the stop never enters the last two bars' range."""

    alias = ("PSAR",)
    lines = ("psar",)
    params = (("period", 2), ("af", 0.02), ("afmax", 0.20))

    def _bt_compute(self):
        clock = _clock_of(self)
        high, low, close = (_arr(x, clock) for x in (self.data.high, self.data.low,
                                                      self.data.close))
        out = self.lines[0].array
        step, cap, mp = self.p.af, self.p.afmax, self._minperiod
        state = None                     # (rising, sar, extreme, factor) for this bar
        for i in range(len(out)):
            bars = i + 1
            if bars == 1:
                continue
            if state is None and bars >= 2 and (bars == 2 or bars >= mp):
                rising_close = close[i] >= close[i - 1]
                # the trend starts reversed: the first step below flips it
                state = (not rising_close, (high[i] + low[i]) / 2.0,
                         low[i - 1] if rising_close else high[i - 1], step)
            if state is None:
                continue
            rising, sar, extreme, factor = state
            hi, lo = high[i], low[i]
            if (rising and sar >= lo) or (not rising and sar <= hi):
                rising = not rising
                sar, extreme, factor = extreme, (hi if rising else lo), step
            out[i] = sar if bars >= mp else NAN
            if rising and hi > extreme:
                extreme, factor = hi, min(factor + step, cap)
            elif not rising and lo < extreme:
                extreme, factor = lo, min(factor + step, cap)
            sar = sar + factor * (extreme - sar)
            if rising:
                if sar > lo or sar > low[i - 1]:
                    sar = min(lo, low[i - 1])
            elif sar < hi or sar < high[i - 1]:
                sar = max(hi, high[i - 1])
            state = (rising, sar, extreme, factor)


class _PriceOscillatorBase(Indicator):
    params = (("period1", 12), ("period2", 26), ("_movav", ExponentialMovingAverage))

    def __init__(self):
        self.ma1 = self.p._movav(self.data, period=self.p.period1)
        self.ma2 = self.p._movav(self.data, period=self.p.period2)
        self.lines[0] = self.ma1 - self.ma2


class PriceOscillator(_PriceOscillatorBase):
    """Fast minus slow moving average."""

    alias = ("PriceOsc", "AbsolutePriceOscillator", "APO", "AbsPriceOsc")
    lines = ("po",)


class PercentagePriceOscillator(_PriceOscillatorBase):
    """``100 x (fast - slow) / slow``, its ``period_signal`` average and the difference."""

    alias = ("PPO", "PercPriceOsc")
    lines = ("ppo", "signal", "histo")
    params = (("period_signal", 9),)
    _over_slow = True

    def __init__(self):
        super().__init__()
        self.lines.ppo = 100.0 * self.lines[0] / (self.ma2 if self._over_slow else self.ma1)
        self.l.signal = self.p._movav(self.l.ppo, period=self.p.period_signal)
        self.lines.histo = self.lines.ppo - self.lines.signal


class PercentagePriceOscillatorShort(PercentagePriceOscillator):
    """As ``PPO``, divided by the fast average."""

    alias = ("PPOShort", "PercPriceOscShort")
    _over_slow = False


class Vortex(Indicator):
    """``vi_plus = sum|high - previous low| / sum(true range)``, ``vi_minus`` with
    ``|low - previous high|``, over ``period`` bars."""

    lines = ("vi_plus", "vi_minus")
    params = (("period", 14),)

    def __init__(self):
        d, p = self.data, self.p.period
        rng = SumN(Max(abs(d.high - d.low), abs(d.high - d.close(-1)),
                       abs(d.low - d.close(-1))), period=p)
        self.l.vi_plus = SumN(abs(d.high - d.low(-1)), period=p) / rng
        self.l.vi_minus = SumN(abs(d.low - d.high(-1)), period=p) / rng


class TrueStrengthIndicator(Indicator):
    """``100 x`` double-smoothed change over double-smoothed absolute change."""

    alias = ("TSI",)
    lines = ("tsi",)
    params = (("period1", 25), ("period2", 13), ("pchange", 1),
              ("_movav", ExponentialMovingAverage))

    def __init__(self):
        ma, p1, p2 = self.p._movav, self.p.period1, self.p.period2
        change = self.data - self.data(-self.p.pchange)
        num = ma(ma(change, period=p1), period=p2)
        den = ma(ma(abs(change), period=p1), period=p2)
        self.lines.tsi = 100.0 * (num / den)


class KnowSureThing(Indicator):
    """Weighted sum of four smoothed ``ROC100``s, and its signal average."""

    alias = ("KST",)
    lines = ("kst", "signal")
    params = (("rp1", 10), ("rp2", 15), ("rp3", 20), ("rp4", 30),
              ("rma1", 10), ("rma2", 10), ("rma3", 10), ("rma4", 10), ("rsignal", 9),
              ("rfactors", [1.0, 2.0, 3.0, 4.0]), ("_rmovav", MovingAverageSimple),
              ("_smovav", MovingAverageSimple))

    def __init__(self):
        p = self.p
        smoothed = [p._rmovav(RateOfChange100(self.data, period=rp), period=rma)
                    for rp, rma in ((p.rp1, p.rma1), (p.rp2, p.rma2), (p.rp3, p.rma3),
                                    (p.rp4, p.rma4))]
        self.l.kst = sum(f * r for f, r in zip(p.rfactors, smoothed))
        self.l.signal = p._smovav(self.l.kst, period=p.rsignal)


class RelativeMomentumIndex(RelativeStrengthIndex):
    """RSI of the change over ``lookback`` bars (the line is also ``rmi``)."""

    alias = ("RMI",)
    linealias = (("rsi", "rmi"),)
    params = (("period", 20), ("lookback", 5))


class PrettyGoodOscillator(Indicator):
    """Distance from the moving average in ATRs."""

    alias = ("PGO", "PrettyGoodOsc")
    lines = ("pgo",)
    params = (("period", 14), ("_movav", MovingAverageSimple))

    def __init__(self):
        ma = self.p._movav(self.data, period=self.p.period)
        self.lines.pgo = (self.data - ma) / AverageTrueRange(self.data, period=self.p.period)


class AccelerationDecelerationOscillator(Indicator):
    """The awesome oscillator minus its ``period`` moving average."""

    alias = ("AccDeOsc",)
    lines = ("accde",)
    params = (("period", 5), ("movav", MovingAverageSimple))

    def __init__(self):
        ao = AwesomeOscillator(self.data)
        self.l.accde = ao - self.p.movav(ao, period=self.p.period)


class DV2(Indicator):
    """Percent rank (x 100, over ``period``) of the ``maperiod`` average of close over the
    bar's midpoint."""

    lines = ("dv2",)
    params = (("period", 252), ("maperiod", 2), ("_movav", MovingAverageSimple))

    def __init__(self):
        d = self.data
        ratio = self.p._movav(d.close / ((d.high + d.low) / 2.0), period=self.p.maperiod)
        self.lines.dv2 = PercentRank(ratio, period=self.p.period) * 100


class HeikinAshi(Indicator):
    """Heikin-Ashi candles: close = mean of the bar's OHLC; open = mean of the previous
    candle's open and close (the first: mean of the bar's open and close); high / low
    include the candle's open and close. Lines also named ``open``, ``high``, ``low``,
    ``close``."""

    _nextforce = True                   # Backtrader runs bar by bar with it

    lines = ("ha_open", "ha_high", "ha_low", "ha_close")
    linealias = (("ha_open", "open"), ("ha_high", "high"), ("ha_low", "low"),
                 ("ha_close", "close"))

    def __init__(self):
        self.addminperiod(2)             # the open refers to the previous candle

    def _bt_compute(self):
        clock = _clock_of(self)
        o, h, lo, c = (_farr(x, clock) for x in (self.data.open, self.data.high,
                                                  self.data.low, self.data.close))
        ha_close = (o + h + lo + c) / 4.0
        ha_open = np.empty_like(ha_close)
        if len(ha_open):
            ha_open[0] = (o[0] + c[0]) / 2.0
        for i in range(1, len(ha_open)):
            ha_open[i] = (ha_open[i - 1] + ha_close[i - 1]) / 2.0
        lines = self.lines
        lines.ha_close.array[:] = ha_close
        lines.ha_open.array[:] = ha_open
        lines.ha_high.array[:] = np.maximum(np.maximum(h, ha_open), ha_close)
        lines.ha_low.array[:] = np.minimum(np.minimum(lo, ha_open), ha_close)
        if len(ha_open):                 # (Backtrader: high / low wait for the 2nd bar)
            lines.ha_high.array[0] = lines.ha_low.array[0] = NAN


class Oscillator(Indicator):
    """The data minus a second line (``Oscillator(data, line)``), or, given one
    indicator, its own data minus it."""

    lines = ("osc",)

    def __init__(self):
        if len(self.datas) > 1:
            src, self.dataosc = self.data, self.data1
        else:
            src, self.dataosc = self.data.data, self.data
        self.lines[0] = src - self.dataosc


def _oscillator_of(movav):
    """``<MovingAverage>Oscillator``: the data minus the moving average, in the average's
    own line (aliases: the name + ``Osc``, each alias + ``Oscillator`` / ``Osc``)."""

    def __init__(self):
        movav.__init__(self)
        self.lines[0] = self.data - self.lines[0]

    name = movav.__name__
    aliases = [name + "Osc"] + [a + suffix for a in movav.__dict__.get("alias", ())
                                for suffix in ("Oscillator", "Osc")]
    return type(name + "Oscillator", (movav,), {
        "__init__": __init__, "__module__": __name__, "_notregister": True,
        "alias": tuple(aliases),
        "__doc__": f"The data minus its {name}."})


class _Laguerre(PeriodN):
    """Ehlers' four-stage Laguerre filter of the data, run from the first bar of the
    minimum period (the stages start at 0)."""

    params = (("gamma", 0.5),)

    def _stages(self):
        clock = _clock_of(self)
        src = _arr(self.data, clock)
        g = self.p.gamma
        l0 = l1 = l2 = l3 = 0.0
        for i in range(max(self._minperiod - 1, 0), len(src)):
            p0, p1, p2 = l0, l1, l2
            l0 = (1.0 - g) * src[i] + g * p0
            l1 = -g * l0 + p0 + g * p1
            l2 = -g * l1 + p1 + g * p2
            l3 = -g * l2 + p2 + g * l3
            yield i, l0, l1, l2, l3


class LaguerreRSI(_Laguerre):
    """The share of the Laguerre stages' rises among their moves (1.0 when flat)."""

    alias = ("LRSI",)
    lines = ("lrsi",)
    params = (("period", 6),)

    def _bt_compute(self):
        out = self.lines[0].array
        for i, l0, l1, l2, l3 in self._stages():
            up = down = 0.0
            for a, b in ((l0, l1), (l1, l2), (l2, l3)):
                if a >= b:
                    up += a - b
                else:
                    down += b - a
            total = up + down
            out[i] = 1.0 if not total else up / total


class LaguerreFilter(_Laguerre):
    """``(l0 + 2 l1 + 2 l2 + l3) / 6`` of the Laguerre stages."""

    alias = ("LAGF",)
    lines = ("lfilter",)

    def _bt_compute(self):
        out = self.lines[0].array
        for i, l0, l1, l2, l3 in self._stages():
            out[i] = (l0 + (2 * l1) + (2 * l2) + l3) / 6


class haDelta(Indicator):
    """Heikin-Ashi close minus open (of the data's candles with ``autoheikin``) and its
    ``period`` moving average."""

    alias = ("haD",)
    lines = ("haDelta", "smoothed")
    params = (("period", 3), ("movav", MovingAverageSimple), ("autoheikin", True))

    def __init__(self):
        d = HeikinAshi(self.data) if self.p.autoheikin else self.data
        self.lines.haDelta = delta = d.close - d.open
        self.lines.smoothed = self.p.movav(delta, period=self.p.period)


class ZeroLagIndicator(MovingAverageBase):
    """Ehlers' error-correcting EMA: each bar, the gain in [-gainlimit/10, gainlimit/10]
    (steps of 0.1) whose ``alpha (ema + gain (price - previous)) + (1 - alpha) previous``
    lies nearest the price; the first value is the EMA."""

    alias = ("ZLIndicator", "ZLInd", "EC", "ErrorCorrecting")
    lines = ("ec",)
    params = (("gainlimit", 50), ("_movav", ExponentialMovingAverage))

    def __init__(self):
        self.ema = ExponentialMovingAverage(self.data, period=self.p.period)

    def _bt_compute(self):
        clock = _clock_of(self)
        price, ema = _arr(self.data, clock), _arr(self.ema, clock)
        a, a1 = self.ema.alpha, self.ema.alpha1
        gains = [v / 10 for v in range(-self.p.gainlimit, self.p.gainlimit + 1)]
        out = self.lines[0].array
        prev = NAN
        for i in range(max(self._minperiod - 1, 0), len(out)):
            best, least, e, x = ema[i], float(2 ** 63 - 1), ema[i], price[i]
            for gain in gains:
                ec = a * (e + gain * (x - prev)) + a1 * prev
                err = abs(x - ec)
                if err < least:
                    least, best = err, ec
            out[i] = prev = best


class DicksonMovingAverage(MovingAverageBase):
    """Mean of the zero-lag error-correcting EMA and a Hull moving average."""

    alias = ("DMA", "DicksonMA")
    lines = ("dma",)
    params = (("gainlimit", 50), ("hperiod", 7), ("_movav", ExponentialMovingAverage),
              ("_hma", HullMovingAverage))

    def __init__(self):
        ec = ZeroLagIndicator(self.data, period=self.p.period, gainlimit=self.p.gainlimit,
                              _movav=self.p._movav)
        self.lines.dma = (ec + self.p._hma(self.data, period=self.p.hperiod)) / 2.0


class HurstExponent(PeriodN):
    """Twice the slope of log10(sqrt(std of lagged differences)) on log10(lag), over the
    last ``period`` values, lags ``lag_start`` (2) to ``lag_end`` (period // 2, excluded)."""

    alias = ("Hurst",)
    lines = ("hurst",)
    params = (("period", 40), ("lag_start", None), ("lag_end", None))

    def _bt_compute(self):
        p = self.p.period
        lags = np.asarray(range(self.p.lag_start or 2, self.p.lag_end or (p // 2)))
        loglags = np.log10(lags)
        src = _farr(self.data, _clock_of(self))
        out = self.lines[0].array
        for i in range(max(self._minperiod - 1, 0), len(out)):
            ts = src[i - p + 1:i + 1]
            tau = [np.sqrt(np.std(np.subtract(ts[lag:], ts[:-lag]))) for lag in lags]
            out[i] = np.polyfit(loglags, np.log10(tau), 1)[0] * 2.0


def _pivot_base(self):
    d = self.data
    h, lo, c = d.high, d.low, d.close
    if self.p.close:
        return (h + lo + 2.0 * c) / 4.0
    if self.p.open:
        return (h + lo + c + d.open) / 4.0
    return (h + lo + c) / 3.0


class PivotPoint(Indicator):
    """Floor pivot of each bar of the data (usually a coarser, resampled feed): ``p`` and
    supports / resistances ``s1 = 2p - high``, ``r1 = 2p - low``, ``s2/r2 = p -/+ range``."""

    lines = ("p", "s1", "s2", "r1", "r2")
    params = (("open", False), ("close", False), ("_autoplot", True))

    def __init__(self):
        h, lo = self.data.high, self.data.low
        self.lines.p = p = _pivot_base(self)
        self.lines.s1 = 2.0 * p - h
        self.lines.r1 = 2.0 * p - lo
        self.lines.s2 = p - (h - lo)
        self.lines.r2 = p + (h - lo)


class FibonacciPivotPoint(Indicator):
    """Pivot ``p`` with supports / resistances ``p -/+ level x range`` at three levels."""

    lines = ("p", "s1", "s2", "s3", "r1", "r2", "r3")
    params = (("open", False), ("close", False), ("_autoplot", True), ("level1", 0.382),
              ("level2", 0.618), ("level3", 1.0))

    def __init__(self):
        rng = self.data.high - self.data.low
        self.lines.p = p = _pivot_base(self)
        for k, level in ((1, self.p.level1), (2, self.p.level2), (3, self.p.level3)):
            setattr(self.lines, f"s{k}", p - level * rng)
            setattr(self.lines, f"r{k}", p + level * rng)


class DemarkPivotPoint(Indicator):
    """DeMark's pivot: ``x`` weights the low (close < open), the high (close > open) or
    the close (equal) twice in high + low + close + that; ``p = x / 4``,
    ``s1 = x / 2 - high``, ``r1 = x / 2 - low``."""

    lines = ("p", "s1", "r1")
    params = (("open", False), ("close", False), ("_autoplot", True), ("level1", 0.382),
              ("level2", 0.618), ("level3", 1.0))

    def __init__(self):
        d = self.data
        x = CmpEx(d.close, d.open, d.high + 2.0 * d.low + d.close,
                  2.0 * d.high + d.low + d.close, d.high + d.low + 2.0 * d.close)
        self.lines.p = x / 4.0
        self.lines.s1 = x / 2.0 - d.high
        self.lines.r1 = x / 2.0 - d.low

class Envelope(Indicator):
    """The data with a band ``perc`` percent above and below it."""

    lines = ("src", "top", "bot")
    params = (("perc", 2.5),)

    def __init__(self):
        self.lines.src = self.data
        perc = self.p.perc / 100.0
        self.lines.top = self.lines[0] * (1.0 + perc)
        self.lines.bot = self.lines[0] * (1.0 - perc)


def _envelope_of(movav):
    """``<MovingAverage>Envelope``: the moving average's line, then ``top`` and ``bot``
    ``perc`` percent above and below it (aliases: each alias + ``Envelope``)."""

    def __init__(self):
        movav.__init__(self)
        perc = self.p.perc / 100.0
        self.lines.top = self.lines[0] * (1.0 + perc)
        self.lines.bot = self.lines[0] * (1.0 - perc)

    return type(movav.__name__ + "Envelope", (movav,), {
        "__init__": __init__, "__module__": __name__, "_notregister": True,
        "lines": ("top", "bot"), "params": (("perc", 2.5),),
        "alias": tuple(a + "Envelope" for a in movav.__dict__.get("alias", ())),
        "__doc__": f"{movav.__name__} with a band ``perc`` percent above and below it."})


for _movav in list(MovingAverage._movavs):
    globals()[_movav.__name__ + "Envelope"] = _envelope_of(_movav)
    globals()[_movav.__name__ + "Oscillator"] = _oscillator_of(_movav)
del _movav

# every indicator class and alias by name (for ``bt.indicators.<Name>``)
def _collect():
    out = {}
    for name, obj in list(globals().items()):
        if isinstance(obj, type) and issubclass(obj, Indicator) and not name.startswith("_"):
            out[name] = obj
            for a in obj.__dict__.get("alias", ()):
                out[a] = obj
    return out


_ALL = _collect()
globals().update(_ALL)
MaxN, MinN = Highest, Lowest
ArithmeticMean = Mean = Average
ExpSmoothing = ExponentialSmoothing
AverageWeighted = WeightedAverage
CumSum = CumulativeSum = Accum
__all__ = sorted(set(__all__) | set(_ALL) | {
    "If", "And", "Or", "Max", "Min", "Sum", "Any", "All", "Cmp", "CmpEx", "DivByZero",
    "DivZeroByZero", "Reduce", "MovAv", "MovingAverage", "MaxN", "MinN", "ArithmeticMean",
    "Mean", "ExpSmoothing", "AverageWeighted", "CumSum", "CumulativeSum"})

def __getattr__(name):
    import difflib

    close = difflib.get_close_matches(name, list(_ALL), n=1)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}"
                         + (f"; did you mean {close[0]!r}?" if close else ""))

