"""Lines: Backtrader's time series, computed eagerly on full numpy arrays.

Data feeds are preloaded before the strategy is built, so every line is a full-length
array from the start and every indicator or line expression is computed once, when it is
declared (Backtrader's ``runonce`` mode). During the run a line only moves its read
position: ``line[0]`` is the value of the current bar of its *clock* (the data feed it
belongs to), ``line[-1]`` the one before, ``len(line)`` the number of bars seen so far.

Reproduced quirks:

* values before a line's minimum period are NaN, also for comparisons;
* reading before the first bar wraps around to the end of the array, as Backtrader's
  preloaded buffers do (``close[-1]`` on the first bar is the *last* close of the data);
* while strategies and indicators are being declared, arithmetic and comparisons on
  lines build new lines; while the backtest runs they act on the current values
  (``if self.sma > self.data.close:`` compares numbers).
"""
from __future__ import annotations

import array as _array
import operator

import numpy as np

from ._params import OWNER, STAGE, ParamsHolder
from .utils import num2date

NAN = float("nan")

_NP_OPS = {
    operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
    operator.truediv: np.true_divide, operator.floordiv: np.floor_divide,
    operator.pow: np.power, operator.mod: np.mod,
    operator.lt: np.less, operator.gt: np.greater, operator.le: np.less_equal,
    operator.ge: np.greater_equal, operator.eq: np.equal, operator.ne: np.not_equal,
}


class Clock:
    """A timeline: the bars of one data feed, or the strategy's master clock.

    Attributes
    ----------
    _idx : int
        Index of the current bar (-1 before the first one).
    _dtnums : numpy.ndarray
        Backtrader day numbers of every bar.
    """

    def __init__(self, dtnums):
        self._dtnums = np.asarray(dtnums, dtype=np.float64)
        self._idx = -1

    def buflen(self) -> int:
        return len(self._dtnums)


def as_line(x):
    """The LineBuffer behind ``x`` (a line, an indicator, a data feed) or None."""
    if isinstance(x, LineBuffer):
        return x
    if isinstance(x, LineSeries):
        return x.lines[0]
    return None


def aligned(line: "LineBuffer", clock: Clock) -> np.ndarray:
    """``line``'s values on ``clock``: the last value at or before each of its bars."""
    if line._clock is clock:
        return line.array
    src = line._clock._dtnums
    pos = np.searchsorted(src, clock._dtnums, side="right") - 1
    out = np.where(pos >= 0, line.array[np.clip(pos, 0, None)], NAN)
    return out


def _register(item):
    owner = OWNER.get()
    if owner is not None:
        owner._bt_register(item)


def _binary(a, b, op, reverse=False):
    la = as_line(a)
    lb = as_line(b)
    clock = la._clock
    A = la.array
    if lb is not None:
        B = aligned(lb, clock)
        mp = max(la._minperiod, lb._minperiod)
    else:
        B = b
        mp = la._minperiod
    npop = _NP_OPS.get(op)
    with np.errstate(all="ignore"):
        if op is operator.pow:
            out = _py_pow(B, A) if reverse else _py_pow(A, B)
        elif npop is not None:
            out = npop(B, A) if reverse else npop(A, B)
        else:
            f = np.frompyfunc(lambda x, y: op(y, x) if reverse else op(x, y), 2, 1)
            out = f(A, B)
    out = np.asarray(out, dtype=np.float64).copy()
    if np.ndim(out) == 0:
        out = np.full(len(A), float(out))
    out[:mp - 1] = NAN
    res = LineBuffer(clock, out, mp)
    _register(res)
    return res


def _py_pow(x, y):
    """Element-wise ``x ** y`` with Python's float power (numpy's can differ in the last
    bit); a complex result is NaN."""
    xs = np.broadcast_to(np.asarray(x, dtype=np.float64), np.shape(x) or np.shape(y))
    ys = np.broadcast_to(np.asarray(y, dtype=np.float64), xs.shape)
    out = []
    for a, b in zip(xs.tolist(), ys.tolist()):
        try:
            r = a ** b
        except (OverflowError, ZeroDivisionError):
            r = NAN
        out.append(r if isinstance(r, float) else NAN)
    return np.asarray(out, dtype=np.float64)


def _unary(a, op):
    la = as_line(a)
    with np.errstate(all="ignore"):
        if op is operator.abs:
            out = np.abs(la.array)
        elif op is operator.neg:
            out = -la.array
        elif op is operator.pos:
            out = la.array.copy()
        else:
            out = np.asarray(np.frompyfunc(op, 1, 1)(la.array), dtype=np.float64)
    out = np.asarray(out, dtype=np.float64).copy()
    out[:la._minperiod - 1] = NAN
    res = LineBuffer(la._clock, out, la._minperiod)
    _register(res)
    return res


def delayed(line: "LineBuffer", ago: int) -> "LineBuffer":
    """``line(ago)``: the line shifted by ``ago`` bars (negative = past values)."""
    n = len(line.array)
    out = np.full(n, NAN)
    if ago < 0:
        k = -ago
        if k < n:
            out[k:] = line.array[:n - k]
        mp = line._minperiod + k
    elif ago > 0:
        if ago < n:
            out[:n - ago] = line.array[ago:]
        if ago <= n:
            # Backtrader's preloaded buffers: the last bar reads around the end of the
            # array to the value ``ago - 1`` (the bars before it, past the end, are NaN)
            out[n - 1] = line.array[ago - 1]
        # values from the first bar whose source bar is ready; the minimum period a
        # strategy waits for is Backtrader's max(source's, ago)
        res = LineBuffer(line._clock, out, max(line._minperiod, ago))
        _register(res)
        return res
    else:
        out[:] = line.array
        mp = line._minperiod
    out[:mp - 1] = NAN
    res = LineBuffer(line._clock, out, mp)
    _register(res)
    return res


def _fast_op(op, reverse=False, series=False):
    """The dunder method of ``op``: builds a line while declaring (stage 1), compares or
    computes the current values while the backtest runs (stage 2). ``series``: the
    method of :class:`LineSeries`, reading its first line's current value in place (no
    ``self[0]`` call: these run on every bar of ``next()``)."""
    stage = STAGE.get
    if series:
        def method(self, other):
            if stage() == 1:
                return _binary(self, other, op, reverse)
            if isinstance(other, LineRoot):
                other = other[0]
            l0 = self.__dict__["_l0"]
            value = l0.array.item(l0._clock._idx)
            return op(other, value) if reverse else op(value, other)
    elif reverse:
        def method(self, other):
            if stage() == 1:
                return _binary(self, other, op, True)
            if isinstance(other, LineRoot):
                other = other[0]
            return op(other, self[0])
    else:
        def method(self, other):
            if stage() == 1:
                return _binary(self, other, op)
            if isinstance(other, LineRoot):
                other = other[0]
            return op(self[0], other)
    method.__name__ = f"__{'r' if reverse else ''}{op.__name__.strip('_')}__"
    method._bt_op = (op, reverse)
    return method


class LineRoot:
    """Operators shared by single lines and multi-line objects."""

    __slots__ = ()

    def _line0(self) -> "LineBuffer":
        raise NotImplementedError

    def _op(self, other, op, reverse=False):
        if STAGE.get() == 1:
            return _binary(self, other, op, reverse)
        a = self[0]
        if isinstance(other, LineRoot):
            other = other[0]
        return op(other, a) if reverse else op(a, other)

    def _own(self, op):
        if STAGE.get() == 1:
            return _unary(self, op)
        return op(self[0])

    # one function per operator (no extra call layer: these run on every bar of next())
    __add__ = _fast_op(operator.add)
    __radd__ = _fast_op(operator.add, True)
    __sub__ = _fast_op(operator.sub)
    __rsub__ = _fast_op(operator.sub, True)
    __mul__ = _fast_op(operator.mul)
    __rmul__ = _fast_op(operator.mul, True)
    __truediv__ = _fast_op(operator.truediv)
    __rtruediv__ = _fast_op(operator.truediv, True)
    __floordiv__ = _fast_op(operator.floordiv)
    __rfloordiv__ = _fast_op(operator.floordiv, True)
    __pow__ = _fast_op(operator.pow)
    __rpow__ = _fast_op(operator.pow, True)
    __mod__ = _fast_op(operator.mod)
    __rmod__ = _fast_op(operator.mod, True)
    __lt__ = _fast_op(operator.lt)
    __gt__ = _fast_op(operator.gt)
    __le__ = _fast_op(operator.le)
    __ge__ = _fast_op(operator.ge)
    __eq__ = _fast_op(operator.eq)
    __ne__ = _fast_op(operator.ne)
    def __abs__(self): return self._own(operator.abs)
    def __neg__(self): return self._own(operator.neg)
    def __pos__(self): return self._own(operator.pos)

    def __bool__(self):
        if STAGE.get() == 1:
            raise TypeError("the truth value of a line is only known while the backtest "
                            "runs; in __init__ build a line instead (e.g. bt.If, bt.And)")
        return bool(self[0])

    __hash__ = object.__hash__


class LineBuffer(LineRoot):
    """One line: a full-length float64 array read relative to its clock's current bar.

    Attributes
    ----------
    array : numpy.ndarray
        Every value of the line (NaN before its minimum period).
    """

    __slots__ = ("array", "_clock", "_minperiod", "_name", "__weakref__")

    def __init__(self, clock: Clock, array=None, minperiod: int = 1, name: str = ""):
        self._clock = clock
        if array is None:
            array = np.full(clock.buflen(), NAN)
        self.array = array
        self._minperiod = int(minperiod)
        self._name = name

    def _line0(self):
        return self

    # -- reading and writing relative to the current bar
    def __getitem__(self, ago):
        return self.array.item(self._clock._idx + ago)

    def __setitem__(self, ago, value):
        self.array[self._clock._idx + ago] = value

    def __len__(self):
        return self._clock._idx + 1

    def __call__(self, ago=None):
        if ago is None:
            return coupled(self)
        if STAGE.get() == 2:
            return self[ago]
        return delayed(self, int(ago))

    def get(self, ago: int = 0, size: int = 1):
        """The ``size`` values ending ``ago`` bars back, as ``array('d')``."""
        end = self._clock._idx + ago + 1
        vals = self.array[end - size:end] if size > 0 else self.array[end:end - size]
        out = _array.array("d")
        out.frombytes(np.ascontiguousarray(vals).tobytes())
        return out

    def getzero(self, idx: int = 0, size: int = 1):
        return self.get(idx, size)

    def buflen(self) -> int:
        return len(self.array)

    def plot(self, idx=0, size=None):
        return self.array[: self._clock._idx + 1] if size is None else self.array[idx:idx + size]

    @property
    def idx(self):
        return self._clock._idx

    # minimum period management (Backtrader's semantics: "add" overlaps one bar)
    def addminperiod(self, minperiod):
        self._minperiod += minperiod - 1

    def incminperiod(self, minperiod):
        self._minperiod += minperiod

    def setminperiod(self, minperiod):
        self._minperiod = minperiod

    def updateminperiod(self, minperiod):
        self._minperiod = max(self._minperiod, minperiod)

    def __repr__(self):
        return f"<line {self._name or '?'} len={len(self)}>"


class DateTimeLine(LineBuffer):
    """The ``datetime`` line: float day numbers with ``date()``/``datetime()``/``time()``."""

    __slots__ = ("_last",)

    def _dt(self, ago, tz, naive):
        i = self._clock._idx + ago
        if tz is None:
            last = getattr(self, "_last", None)
            if last is not None and last[0] == i:
                return last[1]
            value = num2date(self.array.item(i))
            self._last = (i, value)
            return value
        return num2date(self.array.item(i), tz, naive)

    def datetime(self, ago: int = 0, tz=None, naive: bool = True):
        return self._dt(ago, tz, naive)

    def date(self, ago: int = 0, tz=None, naive: bool = True):
        return self._dt(ago, tz, naive).date()

    def time(self, ago: int = 0, tz=None, naive: bool = True):
        return self._dt(ago, tz, naive).time()

    def dt(self, ago: int = 0):
        return self.datetime(ago)

    def tm(self, ago: int = 0):
        return self.time(ago)


def coupled(x):
    """``line()`` without arguments: the line seen on the owner's clock (Backtrader's
    LineCoupler, used to compare a weekly line with daily ones)."""
    line = as_line(x)
    owner = OWNER.get()
    clock = None
    if owner is not None:
        datas = getattr(owner, "datas", None) or []
        if datas:
            clock = datas[0]._bt_clock()
    if clock is None or clock is line._clock:
        return line
    vals = aligned(line, clock)
    first = np.flatnonzero(~np.isnan(vals))
    mp = int(first[0]) + 1 if len(first) else len(vals) + 1
    res = LineBuffer(clock, np.asarray(vals, dtype=np.float64).copy(), mp)
    _register(res)
    return res


class Lines:
    """The lines of one object, by index, by name, iterable; assigning binds a value."""

    def __init__(self, names, buffers, aliases=None):
        object.__setattr__(self, "_names", tuple(names))
        object.__setattr__(self, "_buffers", list(buffers))
        index = {n: i for i, n in enumerate(names)}
        for alias, name in (aliases or {}).items():     # ``linealias``: a second name
            index.setdefault(alias, index[name])
        object.__setattr__(self, "_index", index)
        # each line also as a plain attribute: ``self.lines.close`` without a Python call
        for name, i in index.items():
            if not hasattr(type(self), name):
                object.__setattr__(self, name, self._buffers[i])

    def _replace(self, i, buf):
        """Put another buffer in the place of line ``i`` (under each of its names)."""
        self._buffers[i] = buf
        for name, j in self._index.items():
            if j == i and not hasattr(type(self), name):
                object.__setattr__(self, name, buf)

    def __getitem__(self, i):
        return self._buffers[i]

    def __setitem__(self, i, value):
        self._bind(i, value)

    def __getattr__(self, name):
        try:
            return self._buffers[self._index[name]]
        except KeyError:
            raise AttributeError(f"no line named {name!r} (lines: {', '.join(self._names)})") \
                from None

    def __setattr__(self, name, value):
        if name in self._index:
            self._bind(self._index[name], value)
        else:
            raise AttributeError(f"cannot add line {name!r}: declare it in the class's lines "
                                 f"= (...) (lines: {', '.join(self._names)})")

    def _bind(self, i, value):
        target = self._buffers[i]
        src = as_line(value)
        if src is None:
            target.array[:] = float(value)
            return
        target.array[:] = aligned(src, target._clock)
        target._minperiod = max(target._minperiod, src._minperiod)

    def __iter__(self):
        return iter(self._buffers)

    def __len__(self):
        return len(self._buffers)

    def size(self):
        return len(self._buffers)

    def fullsize(self):
        return len(self._buffers)

    def getlinealiases(self):
        return self._names

    def _getlinealias(self, i):
        return self._names[i]

    def itersize(self):
        return iter(self._buffers)


class LineSeries(LineRoot, ParamsHolder):
    """An object with named lines: data feeds, indicators, strategies."""

    lines = ()
    _line_names: tuple = ()
    _line_aliases: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = []
        for b in reversed(cls.__mro__[1:]):
            for n in b.__dict__.get("_line_names", ()):
                if n not in names:
                    names.append(n)
        own = cls.__dict__.get("lines", ())
        if isinstance(own, str):
            own = (own,)
        for n in own:
            if n not in names:
                names.append(n)
        cls._line_names = tuple(names)
        aliases = {}
        for b in reversed(cls.__mro__):
            for name, alias in b.__dict__.get("linealias", ()):
                aliases[alias] = name
        cls._line_aliases = {a: n for a, n in aliases.items() if n in names}

    def _bt_make_lines(self, clock: Clock, minperiod: int = 1, arrays=None):
        bufs = []
        for i, name in enumerate(self._line_names):
            arr = None if arrays is None else arrays.get(name)
            kind = DateTimeLine if name == "datetime" else LineBuffer
            bufs.append(kind(clock, arr, minperiod, name))
        aliases = self._line_aliases
        lines = Lines(self._line_names, bufs, aliases)
        d = self.__dict__
        d["lines"] = d["l"] = lines
        if bufs:
            d["line"] = bufs[0]
            d["_l0"] = bufs[0]
        for name, buf in zip(self._line_names, bufs):
            d.setdefault(name, buf)
            d.setdefault("line_" + name, buf)
        for alias, name in aliases.items():
            d.setdefault(alias, bufs[self._line_names.index(name)])
        return lines

    def _line0(self):
        return self.__dict__["_l0"]

    def __getitem__(self, ago):
        l0 = self.__dict__["_l0"]
        return l0.array.item(l0._clock._idx + ago)

    def __setitem__(self, ago, value):
        self.__dict__["_l0"][ago] = value

    def __len__(self):
        return len(self.__dict__["_l0"])

    def __call__(self, ago=None, line=-1):
        buf = self.lines[0 if line == -1 else line] if not isinstance(line, str) \
            else getattr(self.lines, line)
        return buf(ago)

    def get(self, ago: int = 0, size: int = 1):
        return self.lines[0].get(ago, size)

    def getlinealiases(self):
        return self._line_names

    @property
    def array(self):
        return self.lines[0].array

    def buflen(self):
        return self.lines[0].buflen()

    def _bt_clock(self) -> Clock:
        return self.lines[0]._clock

    # minimum period management
    def addminperiod(self, minperiod):
        for b in self.lines:
            b.addminperiod(minperiod)
        self._minperiod += minperiod - 1

    def incminperiod(self, minperiod):
        for b in self.lines:
            b.incminperiod(minperiod)
        self._minperiod += minperiod

    def setminperiod(self, minperiod):
        for b in self.lines:
            b.setminperiod(minperiod)
        self._minperiod = minperiod

    def updateminperiod(self, minperiod):
        for b in self.lines:
            b.updateminperiod(minperiod)
        self._minperiod = max(self._minperiod, minperiod)

    def __getattr__(self, name):
        # dataN, data_close, dataN_close, dataN_K (as Backtrader resolves them)
        if name.startswith("data") and "datas" in self.__dict__:
            datas = self.__dict__["datas"]
            head, _, tail = name[4:].partition("_")
            if head == "" or head.isdigit():
                k = int(head) if head else 0
                if k < len(datas):
                    d = datas[k]
                    if not tail:
                        return d
                    if tail.isdigit():
                        return d.lines[int(tail)]
                    return getattr(d.lines, tail)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


try:  # the compiled LineSeries operators (the same methods as _fast_op's, see there)
    from ml4t._core.btops import series_op as _series_op
except ImportError:  # pragma: no cover - the extension is always built in practice
    _series_op = None


def _series_method(op, reverse):
    """``LineSeries``'s operator method for ``op``: compiled when the extension is built."""
    if _series_op is None:
        return _fast_op(op, reverse, series=True)
    method = _series_op(op, reverse, STAGE, LineRoot, _binary)
    method.__name__ = f"__{'r' if reverse else ''}{op.__name__.strip('_')}__"
    method._bt_op = (op, reverse)
    return method


# LineSeries reads its own first line in its operators (see _fast_op)
for _name, _method in list(vars(LineRoot).items()):
    if hasattr(_method, "_bt_op"):
        setattr(LineSeries, _name, _series_method(*_method._bt_op))
del _name, _method


def line_minperiod(x) -> int:
    if isinstance(x, LineSeries):
        return x._minperiod
    if isinstance(x, LineBuffer):
        return x._minperiod
    return 1
