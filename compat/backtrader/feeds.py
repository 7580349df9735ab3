"""Data feeds: CSV files and pandas frames, preloaded into full-length line arrays.

Every feed is read completely when the run starts (Backtrader's ``preload``), filtered by
``fromdate``/``todate`` on Backtrader's float day numbers, and exposed as the lines
``close, low, high, open, volume, openinterest, datetime`` (plus any extra lines a
subclass declares). The same bars are handed to the native engine as one asset per feed,
named after the feed.

Reproduced quirks (see docs/migration/backtrader.md):

* daily CSV bars are stamped at the session end, 23:59:59.999990, which reads back as
  23:59:59.999989, so ``todate=datetime(2012, 12, 31)`` (midnight) drops that day's bar;
  pandas bars keep their own timestamps (midnight for dates);
* ``YahooFinanceCSVData`` scales open/high/low by adjusted close / close, uses the adjusted
  close, multiplies the volume by close / adjusted close, and rounds prices to 2 decimals
  with Python's ``round`` (``adjclose``, ``round``, ``decimals`` switch this off).
"""
from __future__ import annotations

import datetime as _dt
import io
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from .lines import Clock, LineSeries
from .utils import TIME_MAX, TimeFrame, date2num, datetime64_to_nums

__all__ = ["DataBase", "AbstractDataBase", "CSVDataBase", "GenericCSVData",
           "YahooFinanceCSVData", "YahooFinanceCSV", "BacktraderCSVData", "BacktraderCSV",
           "PandasData", "PandasDirectData", "GenericCSV"]

_STD_LINES = ("close", "low", "high", "open", "volume", "openinterest", "datetime")


class DataBase(LineSeries):
    """Base of all feeds (Backtrader's ``AbstractDataBase``/``DataBase``).

    Parameters
    ----------
    dataname : str, file-like or DataFrame
    name : str
        Name of the feed (and of the native asset).
    fromdate, todate : date or datetime, optional
        Keep bars inside this window (a date means its session start/end).
    timeframe, compression : int
        What one bar is (``TimeFrame.Days``, 1 by default).
    sessionstart, sessionend : time, optional
        Session end defaults to 23:59:59.999990 (the stamp of daily CSV bars).
    """

    lines = _STD_LINES
    params = (
        ("dataname", None), ("name", ""), ("compression", 1),
        ("timeframe", TimeFrame.Days), ("fromdate", None), ("todate", None),
        ("sessionstart", None), ("sessionend", None), ("filters", []), ("tz", None),
        ("tzinput", None), ("qcheck", 0.0), ("calendar", None),
    )
    _minperiod = 1

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        rest = self._bt_make_params(kwargs)
        if args or rest:
            raise TypeError(f"{cls.__name__}() takes keyword parameters only "
                            f"({', '.join(cls.params._defaults)}); got "
                            f"{list(args) + sorted(rest)}")
        p = self.p
        if isinstance(p.sessionstart, _dt.datetime):
            p.sessionstart = p.sessionstart.time()
        elif p.sessionstart is None:
            p.sessionstart = _dt.time.min
        if isinstance(p.sessionend, _dt.datetime):
            p.sessionend = p.sessionend.time()
        elif p.sessionend is None:
            p.sessionend = TIME_MAX
        if isinstance(p.fromdate, _dt.date) and not isinstance(p.fromdate, _dt.datetime):
            p.fromdate = _dt.datetime.combine(p.fromdate, p.sessionstart)
        if isinstance(p.todate, _dt.date) and not isinstance(p.todate, _dt.datetime):
            p.todate = _dt.datetime.combine(p.todate, p.sessionend)
        self._name = p.name or self._default_name()
        self._timeframe = p.timeframe
        self._compression = p.compression
        self._resample = None
        self._bt_filters = []
        self._loaded = False
        self._idx = -1
        self._bt_pending = ((), {})
        return self

    def _default_name(self) -> str:
        return ""

    # ------------------------------------------------------------------ loading
    def _bt_read(self) -> dict:
        """Every bar of the source as arrays keyed by line name (``datetime`` as day
        numbers), before date filtering. Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} cannot be read by the shim")

    def _bt_preload(self):
        """Read, filter and (for resampled feeds) compress the bars; build the lines."""
        if self._loaded:
            return
        cols = self._bt_bars()
        n = len(cols["datetime"])
        for name in self._line_names:
            if name not in cols:
                cols[name] = np.full(n, np.nan)
        self._clock = Clock(cols["datetime"])
        self._clock_owner = self
        self._bt_make_lines(self._clock, 1, cols)
        self._loaded = True

    def _bt_bars(self) -> dict:
        """The feed's bars as float arrays keyed by line name: read, cut to
        ``fromdate``/``todate`` and (for a resampled feed) compressed."""
        cols = self._bt_read()
        dt = np.asarray(cols["datetime"], dtype=np.float64)
        lo = -np.inf if self.p.fromdate is None else date2num(self.p.fromdate)
        hi = np.inf if self.p.todate is None else date2num(self.p.todate)
        keep = dt >= lo
        # the first bar after ``todate`` ends the feed
        over = np.flatnonzero(dt > hi)
        if len(over):
            keep[over[0]:] = False
        if keep.all():                    # (no copy when nothing is cut)
            cols = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
        else:
            cols = {k: np.asarray(v, dtype=np.float64)[keep] for k, v in cols.items()}
        for f in self._bt_filters:
            cols = f.apply(cols, self)
        self._deliver = None
        if self._resample is not None:
            from .resample import resample_columns
            cols = resample_columns(cols, self, **self._resample)
            self._deliver = cols.pop("_deliver")
        return cols

    # the feed is its own clock: its lines read the feed's bar index
    @property
    def _idx(self):
        return self._clock._idx if self._loaded else -1

    @_idx.setter
    def _idx(self, value):
        if self.__dict__.get("_loaded"):
            self._clock._idx = value

    def _bt_clock(self):
        return self._clock

    def __len__(self):
        return self._clock._idx + 1

    def buflen(self) -> int:
        return self._clock.buflen()

    # ---------------------------------------------------------------- Backtrader API
    def date2num(self, dt):
        return date2num(dt)

    def num2date(self, dt=None, tz=None, naive=True):
        from .utils import num2date
        if dt is None:
            return num2date(self.lines.datetime[0], tz, naive)
        return num2date(dt, tz, naive)

    def getfeed(self):
        return None

    def islive(self):
        return False

    def haslivedata(self):
        return False

    def resample(self, **kwargs):
        self._resample = kwargs

    def replay(self, **kwargs):
        raise NotImplementedError("replaydata is not supported by the ml4t shim")

    def addfilter(self, p, *args, **kwargs):
        """Apply a data filter to the bars when they load (``bt.filters.HeikinAshi``,
        ``bt.filters.SessionFilter``).

        Raises
        ------
        NotImplementedError
            Any other filter (Renko, CalendarDays, a callable, ...), named.
        """
        from . import filters
        if isinstance(p, type) and issubclass(p, (filters._ColumnFilter,
                                                  filters._Unsupported)):
            self._bt_filters.append(p(self, *args, **kwargs))
            return
        what = getattr(p, "__name__", type(p).__name__)
        raise NotImplementedError(f"the data filter {what} is not supported by the ml4t shim "
                                  "(supported: HeikinAshi, SessionFilter)")

    def clone(self, **kwargs):
        """A second feed over the same bars (Backtrader's clones have no name)."""
        params = dict(self.p._getkwargs())
        params.update(kwargs)
        params.setdefault("name", "")
        d = type(self)(**params)
        d._name = params["name"]
        d._bt_filters = list(self._bt_filters)
        return d

    def copyas(self, _dataname, **kwargs):
        d = self.clone(**kwargs)
        d._name = _dataname
        return d

    def setenvironment(self, env):
        self._env = env

    def getenvironment(self):
        return getattr(self, "_env", None)

    def __repr__(self):
        return f"<{type(self).__name__} {self._name!r}>"


AbstractDataBase = DataBase


class CSVDataBase(DataBase):
    """Base of CSV feeds: ``headers`` (skip the first line) and ``separator``."""

    params = (("headers", True), ("separator", ","))

    def _default_name(self) -> str:
        d = self.p.dataname
        if isinstance(d, (str, os.PathLike)):
            return os.path.splitext(os.path.basename(os.fspath(d)))[0]
        return ""

    def _lines_of_file(self):
        d = self.p.dataname
        if hasattr(d, "readline"):
            text = d.read()
        else:
            with io.open(d, "r") as fh:
                text = fh.read()
        rows = text.split("\n")
        if self.p.headers:
            rows = rows[1:]
        sep = self.p.separator
        return [r.rstrip("\r").split(sep) for r in rows if r != ""]

    def _bt_read(self) -> dict:
        out = {name: [] for name in self._line_names}
        for tokens in self._lines_of_file():
            row = self._parse(tokens)
            if row is None:
                continue
            for k, v in row.items():
                out[k].append(v)
        return {k: v for k, v in out.items() if len(v) or k in _STD_LINES}

    def _parse(self, tokens):
        raise NotImplementedError


class GenericCSVData(CSVDataBase):
    """A CSV with configurable columns (indices; -1 = absent) and date format."""

    params = (
        ("nullvalue", float("nan")), ("dtformat", "%Y-%m-%d %H:%M:%S"),
        ("tmformat", "%H:%M:%S"), ("datetime", 0), ("time", -1), ("open", 1), ("high", 2),
        ("low", 3), ("close", 4), ("volume", 5), ("openinterest", 6),
    )

    def _convert_dt(self, text):
        fmt = self.p.dtformat
        if isinstance(fmt, str):
            return _dt.datetime.strptime(text, fmt)
        if isinstance(fmt, int):
            ts = int(text) if fmt == 1 else float(text)
            return _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=ts)
        return fmt(text)

    def _bt_read(self) -> dict:
        p = self.p
        rows = self._lines_of_file()
        n = len(rows)
        if n == 0:
            return {k: np.zeros(0) for k in self._line_names}
        if isinstance(p.dtformat, str):
            text = [r[p.datetime] for r in rows]
            fmt = p.dtformat
            if p.time is not None and p.time >= 0:
                text = [t + "T" + r[p.time] for t, r in zip(text, rows)]
                fmt = fmt + "T" + p.tmformat
            stamps = pd.to_datetime(pd.Series(text), format=fmt).values.astype("M8[us]")
        else:
            stamps = np.array([self._convert_dt(r[p.datetime]) for r in rows],
                              dtype="M8[us]")
        nums = datetime64_to_nums(stamps)
        if p.timeframe >= TimeFrame.Days:
            end = p.sessionend
            eos = (stamps.astype("M8[D]").astype("M8[us]")
                   + np.timedelta64(((end.hour * 60 + end.minute) * 60 + end.second)
                                    * 1_000_000 + end.microsecond, "us"))
            eos_nums = datetime64_to_nums(eos)
            nums = np.where(eos_nums > nums, eos_nums, nums)
        out = {"datetime": nums}
        null = str(p.nullvalue)
        for name in self._line_names:
            if name == "datetime":
                continue
            col = getattr(p, name, None)
            if col is None or col < 0:
                out[name] = np.full(n, float(p.nullvalue))
            else:
                out[name] = np.array([r[col] if r[col] != "" else null for r in rows],
                                     dtype=np.float64)
        return out


GenericCSV = GenericCSVData


class YahooFinanceCSVData(CSVDataBase):
    """Yahoo CSV (``Date,Open,High,Low,Close,Adj Close,Volume``), adjusted and rounded."""

    lines = ("adjclose",)
    params = (("reverse", False), ("adjclose", True), ("adjvolume", True), ("round", True),
              ("decimals", 2), ("roundvolume", False), ("swapcloses", False))

    def _read_plain(self):
        d = self.p.dataname
        if not isinstance(d, (str, os.PathLike)) or not self.p.headers \
                or self.p.separator != ",":
            return None
        return _read_plain_yahoo(d, bool(self.p.reverse))

    def _bt_read(self) -> dict:
        p = self.p
        fast = self._read_plain()
        if fast is not None:
            days, o, h, lo, c, adj, vol = fast
            n = len(days)
        else:
            rows = self._lines_of_file()
            if p.reverse:
                rows.reverse()
            rows = [r for r in rows if "null" not in r[1:]]
            n = len(rows)
            if n == 0:
                return {k: np.zeros(0) for k in _STD_LINES + ("adjclose",)}
            days = np.array([r[0][0:10] for r in rows], dtype="M8[D]")
            if all(len(r) == 7 for r in rows):
                cols = list(zip(*rows))                 # one tuple of strings per column
                o, h, lo, c, adj = (np.array(cols[i], dtype=np.float64)
                                    for i in (1, 2, 3, 4, 5))
                try:
                    vol = np.array(cols[6], dtype=np.float64)
                except ValueError:
                    vol = np.array([_volume(r) for r in rows], dtype=np.float64)
            else:
                o, h, lo, c, adj = (np.array([r[i] for r in rows], dtype=np.float64)
                                    for i in (1, 2, 3, 4, 5))
                vol = np.array([_volume(r) for r in rows], dtype=np.float64)
        if p.swapcloses:
            c, adj = adj, c
        factor = c / adj
        if p.adjclose:
            o = o / factor
            h = h / factor
            lo = lo / factor
            c = adj
            if p.adjvolume:
                vol = vol * factor
        if p.round:
            d = p.decimals
            o, h, lo, c = (_round_like_python(a, d) for a in (o, h, lo, c))
        vol = _round_like_python(vol, p.roundvolume)
        end = p.sessionend
        stamps = (days.astype("M8[us]")
                  + np.timedelta64(((end.hour * 60 + end.minute) * 60 + end.second)
                                   * 1_000_000 + end.microsecond, "us"))
        return {"datetime": datetime64_to_nums(stamps), "open": o, "high": h, "low": lo,
                "close": c, "volume": vol, "openinterest": np.zeros(n), "adjclose": adj}


def _read_plain_yahoo(path, reverse: bool):
    """(days, open, high, low, close, adj close, volume) of a plain Yahoo CSV file in one
    Arrow parse, or None to read it line by line.

    Plain: a file path, a header line, then rows of exactly 7 comma-separated fields, the
    six after the date plain numbers (no ``null``, quotes, spaces or CRs). Arrow's number
    parser rounds correctly, as Python's ``float`` does, so the values are the same; any
    other file returns None.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, TypeError):
        return None
    head, sep, body = raw.partition(b"\n")
    # (single bytes first: ``b"n" in body`` is a memchr, the "null" search is not; an empty
    # line inside the body is caught by the row count below, as Arrow skips it)
    if not sep or not body.strip(b"\n") or (b"n" in body and b"null" in body) \
            or b"\r" in raw or b'"' in body or b" " in body:
        return None
    if not body.endswith(b"\n"):
        body += b"\n"                       # (Arrow wants a terminated last row)
    try:
        table = pcsv.read_csv(
            pa.py_buffer(body),
            read_options=pcsv.ReadOptions(autogenerate_column_names=True, use_threads=False),
            parse_options=pcsv.ParseOptions(quote_char=False),
            convert_options=pcsv.ConvertOptions(
                column_types={"f0": pa.string(), **{f"f{i}": pa.float64() for i in range(1, 7)}},
                null_values=[], strings_can_be_null=False))
    except Exception:                       # anything Arrow cannot read: the line path
        return None
    lines = np.count_nonzero(np.frombuffer(body.rstrip(b"\n"), dtype=np.uint8) == 10) + 1
    if table.num_columns != 7 or table.num_rows != lines:
        return None
    days = _iso_days(table.column(0))
    cols = [table.column(i).to_numpy() for i in range(1, 7)]
    if reverse:
        days = days[::-1].copy()
        cols = [x[::-1].copy() for x in cols]
    return (days, *cols)


def _iso_days(column):
    """Day numbers (``M8[D]``) of a column of date strings, read from their first ten
    characters (Backtrader's Yahoo reader takes ``line[0:10]``)."""
    import pyarrow.compute as pc

    try:                                    # plain ``YYYY-MM-DD``: Arrow parses them all
        return pc.cast(column, pa.date32()).to_numpy(zero_copy_only=False).astype("M8[D]")
    except (pa.ArrowException, ValueError, TypeError):
        return np.array(column.to_pylist(), dtype="U10").astype("M8[D]")


def _round_like_python(a, digits):
    """``[round(x, digits) for x in a]`` as a float64 array, vectorised.

    Python rounds the exact binary value half to even and returns the double nearest to
    the decimal result, i.e. ``k / 10**digits`` (a correctly rounded division) for the
    integer ``k`` nearest to ``x * 10**digits``. ``numpy.rint(x * 10**digits)`` finds the
    same ``k`` unless the (rounded) product lies within a few ulps of a half-integer; those
    values, non-finite ones and very large ones go through Python's ``round``.
    """
    a = np.asarray(a, dtype=np.float64)
    if isinstance(digits, bool):
        digits = int(digits)                    # round(x, False) is round(x, 0)
    if not isinstance(digits, int) or not 0 <= digits <= 8:
        return np.array([round(x, digits) for x in a.tolist()], dtype=np.float64)
    scale = float(10 ** digits)
    with np.errstate(all="ignore"):
        y = a * scale
        k = np.rint(y)
        out = k / scale
        frac = np.abs(y - np.floor(y) - 0.5)
    unsure = ~(np.isfinite(y) & (np.abs(y) < 2.0 ** 50)
               & (frac > 1e-6 + 8.0 * np.finfo(np.float64).eps * np.abs(y)))
    if unsure.any():
        idx = np.flatnonzero(unsure)
        out[idx] = [round(x, digits) for x in a[idx].tolist()]
    return out


def _volume(tokens):
    try:
        return float(tokens[6])
    except (ValueError, IndexError):
        return 0.0


YahooFinanceCSV = YahooFinanceCSVData
YahooLegacyCSV = YahooFinanceCSVData


class BacktraderCSVData(CSVDataBase):
    """Backtrader's own test format: ``Date[,Time],Open,High,Low,Close,Volume,OpenInterest``."""

    def _bt_read(self) -> dict:
        rows = self._lines_of_file()
        n = len(rows)
        if n == 0:
            return {k: np.zeros(0) for k in _STD_LINES}
        end = self.p.sessionend
        eos = ((end.hour * 60 + end.minute) * 60 + end.second) * 1_000_000 + end.microsecond
        days = np.array([r[0][0:10] for r in rows], dtype="M8[D]").astype("M8[us]")
        tod = np.array([((int(r[1][0:2]) * 60 + int(r[1][3:5])) * 60 + int(r[1][6:8]))
                        * 1_000_000 if len(r) == 8 else eos for r in rows], dtype=np.int64)
        cols = [np.array([r[-6 + j] for r in rows], dtype=np.float64) for j in range(6)]
        return {"datetime": datetime64_to_nums(days + tod.astype("m8[us]")),
                "open": cols[0], "high": cols[1], "low": cols[2], "close": cols[3],
                "volume": cols[4], "openinterest": cols[5]}


BacktraderCSV = BacktraderCSVData


# the last DataFrame index PandasData converted to day numbers, and the day numbers
_LAST_INDEX_NUMS: list = []


class PandasData(DataBase):
    """A pandas DataFrame feed.

    ``datetime=None`` takes the index; other line parameters take a column name or
    position, ``-1`` to find the column by (case-insensitive) name, ``None`` for absent.
    """

    params = (("nocase", True), ("datetime", None), ("open", -1), ("high", -1), ("low", -1),
              ("close", -1), ("volume", -1), ("openinterest", -1))

    def _column(self, frame, spec, line, names=None):
        """The column for ``line`` (``spec``: None = absent, a negative number = find the
        line's name, a name, or a position), or None."""
        if names is None:
            names = frame.columns.tolist()
        pos = self._column_position(spec, line, names)
        return None if pos is None else frame.iloc[:, pos]

    def _bt_read(self) -> dict:
        frame = self.p.dataname
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"PandasData(dataname=...) needs a pandas DataFrame, got "
                            f"{type(frame).__name__}")
        spec = self.p.datetime
        if spec is None:
            stamps = frame.index
            last = _LAST_INDEX_NUMS
            if last and last[0] is stamps:        # feeds cut from one panel share it
                return self._bt_columns(frame, last[1].copy())
        else:
            col = self._column(frame, spec, "datetime")
            if col is None:
                raise ValueError("PandasData: no datetime column found")
            stamps = col
        if not isinstance(stamps, pd.DatetimeIndex):
            stamps = pd.DatetimeIndex(pd.to_datetime(stamps))
        if stamps.tz is not None:
            stamps = stamps.tz_convert("UTC").tz_localize(None)
        nums = datetime64_to_nums(stamps.values)
        if spec is None:
            _LAST_INDEX_NUMS[:] = [frame.index, nums.copy()]
        return self._bt_columns(frame, nums)

    def _bt_columns(self, frame, nums) -> dict:
        out = {"datetime": nums}
        n = len(frame)
        names = frame.columns.tolist()          # read once (not per line)
        found = {}
        for line in self._line_names:
            if line == "datetime":
                continue
            pos = self._column_position(getattr(self.p, line, -1), line, names)
            if pos is None:
                out[line] = np.full(n, np.nan)
            else:
                found[line] = pos
        if found:
            cols = list(found.values())
            if all(isinstance(t, np.dtype) and t.kind in "fiub" for t in frame.dtypes.tolist()):
                # a frame of plain NumPy numbers converts as a whole (often a view of its
                # one block) far faster than a column selection builds a new frame
                block = frame.to_numpy(dtype=np.float64)[:, cols].T
            else:
                # one conversion of the needed columns (a Series per column costs more)
                block = frame.iloc[:, cols].to_numpy(dtype=np.float64).T
            for j, line in enumerate(found):
                out[line] = np.ascontiguousarray(block[j])
        return out

    def _column_position(self, spec, line, names):
        """Position in ``names`` of the column for ``line`` (``spec`` as in `_column`)."""
        if spec is None:
            return None
        if isinstance(spec, int) and spec < 0:
            for i, c in enumerate(names):
                if isinstance(c, str) and ((c.lower() == line.lower()) if self.p.nocase
                                           else c == line):
                    return i
            return None
        if isinstance(spec, str):
            for i, c in enumerate(names):
                if isinstance(c, str) and ((c.lower() == spec.lower()) if self.p.nocase
                                           else c == spec):
                    return i
            raise ValueError(f"PandasData: no column {spec!r} for line {line!r} "
                             f"(columns: {names})")
        pos = int(spec)
        if not -len(names) <= pos < len(names):
            raise IndexError(f"PandasData: column {pos} for line {line!r} is out of range "
                             f"({len(names)} columns)")
        return pos


PandasDirectData = PandasData


class _Composite(DataBase):
    """A feed made of other feeds (their standard lines), with the first one's time frame
    and compression."""

    _what = "a composite feed"

    def __new__(cls, *args, **kwargs):
        feeds = list(args)
        for d in feeds:
            if not isinstance(d, DataBase):
                raise TypeError(f"{cls._what} takes data feeds, got {type(d).__name__}")
            if d._resample is not None:
                raise NotImplementedError(f"resampled feeds in {cls._what} are not "
                                          "supported by the ml4t shim")
        self = DataBase.__new__(cls, **kwargs)
        if feeds:
            self.p.timeframe = self._timeframe = feeds[0]._timeframe
            self.p.compression = self._compression = feeds[0]._compression
        self._feeds = feeds
        return self


class Chainer(_Composite):
    """``cerebro.chaindata(d1, d2, ...)``: the feeds' bars one after the other, each bar
    later than the last one delivered (an overlap is skipped), with the first feed's time
    frame and compression. Only the standard lines are chained; Backtrader fails with an
    ``IndexError`` on feeds with more lines (Yahoo's ``adjclose``), the shim drops them."""

    _what = "chaindata()"

    def _bt_read(self) -> dict:
        parts, last = [], -np.inf
        for d in self._feeds:
            cols = d._bt_bars()
            dt = cols["datetime"]
            keep = dt > last
            if keep.any():
                n = int(keep.sum())
                parts.append({name: (np.asarray(cols[name])[keep] if name in cols
                                     else np.full(n, np.nan)) for name in _STD_LINES})
                last = dt[keep].max()
        if not parts:
            return {name: np.empty(0) for name in _STD_LINES}
        return {name: np.concatenate([p[name] for p in parts]) for name in _STD_LINES}


class RollOver(_Composite):
    """``cerebro.rolloverdata(d1, d2, ..., checkdate=f, checkcondition=g)``: one feed that
    follows ``d1`` and moves to the next feed when ``checkdate(dt, active)`` (and, with a
    next feed left, ``checkcondition(active, next)``) is true on a bar, as Backtrader's
    ``RollOver`` does:

    - on each bar the active feed advances; the waiting feeds advance to the first bar not
      before it; the callbacks see the feeds positioned on those bars;
    - on a roll the bar delivered is the next feed's (the one it was advanced to);
    - when the active feed runs out, the next one takes over from the bar after the one it
      had been advanced to.

    Without ``checkdate`` it never rolls. Backtrader loops forever when a waiting feed ends
    before the active one's bar; the shim stops advancing it.
    """

    params = (("checkdate", None), ("checkcondition", None))
    _what = "rolloverdata()"

    def _bt_read(self) -> dict:
        from .utils import num2date
        feeds = self._feeds
        for d in feeds:
            d._bt_preload()
        dts = [np.asarray(d.lines.datetime.array, dtype=np.float64) for d in feeds]
        cur = [-1] * len(feeds)               # each feed's current bar

        def advance(k) -> bool:
            if cur[k] + 1 >= len(dts[k]):
                return False
            cur[k] += 1
            return True

        def at(k):
            feeds[k]._idx = cur[k]
            return feeds[k]

        check_date, check_condition = self.p.checkdate, self.p.checkcondition
        active = 0 if feeds else None
        waiting = list(range(1, len(feeds)))
        rows: list = []
        while active is not None:
            if not advance(active):
                active = waiting.pop(0) if waiting else None
                continue
            dt0 = dts[active][cur[active]]
            for k in waiting:
                while cur[k] < 0 or dts[k][cur[k]] < dt0:
                    if not advance(k):
                        break
            if check_date is not None and check_date(num2date(dt0), at(active)):
                if waiting and (check_condition is None
                                or check_condition(at(active), at(waiting[0]))):
                    active = waiting.pop(0)
            rows.append((active, cur[active]))
        out = {}
        for name in _STD_LINES:
            arrays = [np.asarray(getattr(d.lines, name).array, dtype=np.float64)
                      for d in feeds]
            out[name] = np.array([arrays[k][i] for k, i in rows], dtype=np.float64)
        return out


class DataClone(DataBase):
    """A copy of another feed's bars (``data.clone()`` for a second clock)."""


def engine_columns(data: DataBase, ts_ns) -> dict:
    """The bars of a preloaded feed as the native engine's columns (``ts_ns``: the native
    timestamp of each bar, i.e. when the shim's master clock delivers it), for
    ``ml4t.data.bars_from_arrays`` (no pandas frame: building one costs more than the
    rest of a short run's setup under pandas 3)."""
    L = data.lines
    return {"ts": np.asarray(ts_ns, dtype=np.int64), "open": L.open.array,
            "high": L.high.array, "low": L.low.array, "close": L.close.array}


# ``bt.feeds.<Name>`` namespace helpers
Data = DataBase
__all__ += ["DataClone", "Data", "YahooLegacyCSV", "Chainer", "RollOver"]
