"""Bundle data as Zipline stores it, read straight from a csvdir folder (no ingest step).

Zipline's csvdir ingest keeps daily prices as ``uint32`` thousandths and volumes as
``uint32`` shares; every price an algorithm sees or trades at is therefore rounded to
3 decimals. ``BundleData`` reproduces that storage in memory:

* prices: ``round(x * 1000)`` as ``uint32``, read back as ``n * 0.001`` (0 reads NaN);
* volumes: truncated to ``uint32``;
* splits: the ``split`` column, kept as Zipline's history ratio ``1 / split``;
* dividends: the ``dividend`` column with Zipline's history ratio
  ``1 - amount / previous stored close``. csvdir files carry no pay date, so Zipline
  never pays these dividends; they only adjust history windows. The shim therefore
  hands the native engine no dividend column (see the migration guide).

Validation goes through the native loader (``ml4t.data.load_bars``), so bad rows raise
``ml4t.errors.DataError`` naming file, row and rule, and split-adjusted input is refused
by ``ml4t.corporate.check_price_adjustment`` with its ``split_adjusted_input`` message
unless the bundle declares ``price_adjustment``.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings

import numpy as np
import pandas as pd

from ml4t.compat.zipline.assets import Equity

__all__ = ["BundleData", "stored_prices"]

DAY_NS = 86_400 * 1_000_000_000


def stored_prices(values: np.ndarray) -> np.ndarray:
    """Prices as a Zipline daily bundle stores and reads them (3 decimals, 0 -> NaN)."""
    with np.errstate(invalid="ignore"):
        scaled = np.round(np.asarray(values, dtype=np.float64) * 1000.0)
    scaled[~np.isfinite(scaled) | (scaled < 0) | (scaled > np.iinfo(np.uint32).max)] = 0
    ints = scaled.astype(np.uint32)
    out = ints.astype(np.float64) * 0.001
    out[ints == 0] = np.nan
    return out


def _stored_volumes(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).copy()
    v[~np.isfinite(v) | (v < 0) | (v > np.iinfo(np.uint32).max)] = 0
    return v.astype(np.uint32).astype(np.float64)


_HEADER = b"date,open,high,low,close,volume,dividend,split"
# a field of 17 characters or more may be a number of more than 15 significant digits,
# which pandas' parser may round differently from Arrow's
_LONG = 17
_FIELDS = ("date", "open", "high", "low", "close", "volume", "dividend", "split")


def _widest_field(buf: bytes, step: int = 1 << 18) -> int:
    """Length of the longest comma- or newline-separated field of ``buf``.

    numpy over blocks of ``step`` bytes that stay in cache (~0.05 s for 66 MB here; one
    pass over the whole buffer at once costs ~0.4 s in page faults).
    """
    a = np.frombuffer(buf, dtype=np.uint8)
    n = a.size
    is_sep = np.empty(min(step, n), dtype=bool)
    is_nl = np.empty(min(step, n), dtype=bool)
    widest = 0
    prev = -1                          # position of the last separator seen
    for s in range(0, n, step):
        block = a[s:s + step]
        x, y = is_sep[:block.size], is_nl[:block.size]
        np.equal(block, 44, out=x)
        np.equal(block, 10, out=y)
        np.logical_or(x, y, out=x)
        pos = np.flatnonzero(x)
        if pos.size == 0:
            continue
        widest = max(widest, int(pos[0]) + s - prev - 1)
        if pos.size > 1:
            widest = max(widest, int(np.diff(pos).max()) - 1)
        prev = int(pos[-1]) + s
    return max(widest, n - 1 - prev)


def _load_fast(folder: str, bounds: dict):
    """The folder's bars from one Arrow CSV parse of all files, or None.

    Reading 500 files one ``pandas.read_csv`` at a time costs several ms each; here the
    files of the plain layout (exactly the csvdir header, ``YYYY-MM-DD`` dates, numbers
    only: no quotes, empty fields, NaN, blank lines or CRs) are parsed in one
    ``pyarrow.csv`` call and validated by ``load_bars`` as one long frame. Arrow rounds
    every number correctly, as pandas' parser does for numbers of up to 15 significant
    digits; a file with a longer number, anything unusual or any error (so that the
    message names the file and line) returns None, and the caller reads the folder file
    by file.
    """
    from ml4t.data import load_bars
    from ml4t.errors import DataError

    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:               # pragma: no cover - pyarrow is a dependency
        return None
    names = sorted(os.listdir(folder))
    files = [n for n in names if n.lower().endswith((".csv", ".csv.gz"))
             and os.path.isfile(os.path.join(folder, n))]
    if not files or any(not n.endswith(".csv") for n in files):
        return None
    bodies = []
    counts = []
    for n in files:
        with open(os.path.join(folder, n), "rb") as fh:
            raw = fh.read()
        nl = raw.find(b"\n")
        if nl < 0 or raw[:nl] != _HEADER or nl + 1 == len(raw):
            return None
        bodies.append(memoryview(raw)[nl + 1:])       # no copy until the join
        lines = raw.count(b"\n", nl + 1)
        if not raw.endswith(b"\n"):
            bodies.append(b"\n")
            lines += 1
        counts.append(lines)
    buf = b"".join(bodies)
    del bodies
    # (empty fields fail Arrow's float/date conversion and blank lines the row count)
    if b"\r" in buf or b'"' in buf or _widest_field(buf) >= _LONG:
        return None
    cols = list(_FIELDS)
    try:
        table = pcsv.read_csv(
            pa.py_buffer(buf),   # one thread: Arrow's pool saves ~0.1 s of wall for ~0.2 s CPU
            read_options=pcsv.ReadOptions(column_names=cols, use_threads=False,
                                          block_size=1 << 24),
            parse_options=pcsv.ParseOptions(quote_char=False),
            convert_options=pcsv.ConvertOptions(
                column_types={"date": pa.date32(), **{c: pa.float64() for c in cols[1:]}},
                null_values=[], strings_can_be_null=False),
            memory_pool=pa.system_memory_pool())   # freed buffers go back: lower peak RSS
        del buf
        if table.num_rows != sum(counts) or any(c.null_count for c in table.columns):
            return None
        frame = {"date": table.column("date").to_numpy().astype("datetime64[ns]"),
                 "asset": pd.Categorical.from_codes(
                     np.repeat(np.arange(len(files), dtype=np.int32), counts),
                     categories=pd.Index([n[:-4] for n in files], dtype=object))}
        for c in cols[1:]:
            frame[c] = table.column(c).to_numpy()
        del table
        frame = pd.DataFrame(frame, copy=False)        # no consolidation copy
        return load_bars(frame, **bounds)
    except (ValueError, TypeError, DataError, pa.ArrowException):
        return None


def get_exchange_calendar(name: str, first: pd.Timestamp, last: pd.Timestamp):
    """An exchange calendar covering ``first - 40d .. last + 40d`` (built for that window, cached)."""
    from ml4t.calendars import calendar

    return calendar(name, first - pd.Timedelta(days=40), last + pd.Timedelta(days=40))


#: the engine's name for the placeholder asset of sessions where no asset has a bar
#: (``BundleData.engine_bars``): a csvdir file name cannot contain "/"
SESSION_PLACEHOLDER = "/session"

#: bump when the cache layout or the stored form changes
_CACHE_FORMAT = 1


def _installed_version(module: str, dist: str) -> str:
    """The installed version of ``dist`` (import name ``module``) without importing it.

    ``importlib.metadata.version`` scans every entry of ``sys.path`` (~50 ms, as long as a
    small backtest); the ``<name>-<version>.dist-info`` folder beside the module says the
    same. Falls back to ``importlib.metadata`` for other layouts."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is not None and spec.origin:
        site = os.path.dirname(os.path.dirname(spec.origin))
        prefix = dist.replace("-", "_").lower() + "-"
        try:
            hits = [n for n in os.listdir(site)
                    if n.lower().startswith(prefix) and n.endswith(".dist-info")]
        except OSError:
            hits = []
        if len(hits) == 1:
            return hits[0][len(prefix):-len(".dist-info")]
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:     # pragma: no cover
        return "?"


def _cache_file(cache_dir, folder: str, calendar: str, price_adjustment: str, lo, hi) -> str:
    """Cache path for this folder's current files and these reading options.

    The key covers every ``*.csv`` file's name, size and modification time, the calendar,
    the price adjustment, the session bounds and the versions of ml4t and
    exchange_calendars: changing any file or option reads the CSV files again.
    """
    import ml4t

    h = hashlib.sha256()
    for n in sorted(os.listdir(folder)):
        if n.lower().endswith((".csv", ".csv.gz")):
            st = os.stat(os.path.join(folder, n))
            h.update(f"{n}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    xc_version = _installed_version("exchange_calendars", "exchange-calendars")
    h.update(json.dumps([os.path.abspath(folder), calendar, price_adjustment, str(lo), str(hi),
                         ml4t.__version__, xc_version, _CACHE_FORMAT]).encode())
    name = os.path.basename(os.path.dirname(os.path.abspath(folder))) \
        if os.path.basename(folder) == "daily" else os.path.basename(os.path.abspath(folder))
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40] or "bundle"
    return os.path.join(os.fspath(cache_dir), f"{safe}-{h.hexdigest()[:20]}.npz")


class BundleData:
    """Every bar of a csvdir bundle, in Zipline's stored form, as numpy arrays.

    Parameters
    ----------
    csvdir : str
        A csvdir root holding ``daily/<SYMBOL>.csv`` (or the ``daily`` folder itself).
    calendar : str, default "XNYS"
        ``exchange_calendars`` name.
    price_adjustment : {"detect", "raw", "split_adjusted"}
        As ``ml4t.Engine``: refuse split-adjusted prices (default), trust the prices
        as traded, or rebuild traded prices by undoing the splits.
    start_session, end_session : timestamp-like, optional
        Keep only these sessions (as Zipline's ``register(start_session=...)``).

    Attributes
    ----------
    symbols : list of str
        Sorted; an asset's ``sid`` is its position.
    assets : list of Equity
    sessions : pandas.DatetimeIndex
        Calendar sessions (tz-naive) from the first to the last date with data.
    open, high, low, close, volume : numpy.ndarray
        ``(len(sessions), len(symbols))`` stored values (NaN / 0 where no bar).
    splits, dividends : dict
        Per sid: list of ``(session index, value, history ratio)``.

    Raises
    ------
    FileNotFoundError
        No such folder, or no ``*.csv`` in it.
    ml4t.errors.DataError
        Bad rows, dates that are not sessions, or split-adjusted prices not declared.
    """

    def __init__(self, csvdir, *, calendar: str = "XNYS", price_adjustment: str = "detect",
                 start_session=None, end_session=None, cache_dir=None):
        from ml4t.corporate import check_price_adjustment
        from ml4t.data import load_bars

        root = os.fspath(csvdir)
        daily = os.path.join(root, "daily")
        folder = daily if os.path.isdir(daily) else root
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"csvdir bundle: no such folder {root!r}")
        if not any(".csv" in n for n in os.listdir(folder)):
            raise FileNotFoundError(f"csvdir bundle: no <symbol>.csv files in {folder!r}")
        self.source = folder
        self.calendar_name = calendar
        self._exchange_calendar = None
        lo = None if start_session is None else pd.Timestamp(start_session).tz_localize(None)
        hi = None if end_session is None else pd.Timestamp(end_session).tz_localize(None)
        cache_file = None
        if cache_dir is not None:
            cache_file = _cache_file(cache_dir, folder, calendar, price_adjustment, lo, hi)
            if self._restore(cache_file):
                return
        # validation and split-adjusted detection by the native loader (dates stay dates:
        # the shim stamps sessions itself, from one calendar)
        bounds = dict(calendar=None, start=None if lo is None else lo.tz_localize("UTC"),
                      end=None if hi is None else hi.tz_localize("UTC"))
        bars = _load_fast(folder, bounds)
        if bars is None:
            bars = load_bars(folder, **bounds)
        bars = check_price_adjustment(bars, price_adjustment)
        self.symbols = list(bars.assets)
        batch = next(iter(bars.batches()))
        days = np.asarray(batch.ts, dtype=np.int64) // DAY_NS
        first = pd.Timestamp(int(days.min()) * DAY_NS)
        last = pd.Timestamp(int(days.max()) * DAY_NS)
        cal = get_exchange_calendar(calendar, first, last)
        self._exchange_calendar = cal
        all_sessions = pd.DatetimeIndex(cal.sessions)
        if all_sessions.tz is not None:
            all_sessions = all_sessions.tz_localize(None)
        self.sessions = all_sessions[(all_sessions >= first) & (all_sessions <= last)]
        session_days = (self.sessions.as_unit("ns").asi8 // DAY_NS)
        row = np.searchsorted(session_days, days)
        bad = np.flatnonzero((row >= len(session_days))
                             | (session_days[np.minimum(row, len(session_days) - 1)] != days))
        if len(bad):
            from ml4t.errors import DataError
            i = int(bad[0])
            raise DataError(f"{pd.Timestamp(int(days[i]) * DAY_NS):%Y-%m-%d} is not a "
                            f"{calendar} session (asset {self.symbols[int(batch.asset[i])]!r})",
                            path=folder, column="date", rule="not_a_session")
        col = np.asarray(batch.asset, dtype=np.int64)
        shape = (len(self.sessions), len(self.symbols))
        self.open = np.full(shape, np.nan)
        self.high = np.full(shape, np.nan)
        self.low = np.full(shape, np.nan)
        self.close = np.full(shape, np.nan)
        self.volume = np.zeros(shape)
        self.open[row, col] = stored_prices(batch.open)
        self.high[row, col] = stored_prices(batch.high)
        self.low[row, col] = stored_prices(batch.low)
        self.close[row, col] = stored_prices(batch.close)
        self.volume[row, col] = _stored_volumes(batch.volume)
        self.has_bar = np.zeros(shape, dtype=bool)
        self.has_bar[row, col] = True
        # corporate actions, with Zipline's history ratios
        self.splits = {a: [] for a in range(len(self.symbols))}
        self.dividends = {a: [] for a in range(len(self.symbols))}
        split = np.asarray(bars.extra.get("split", np.ones(len(row))), dtype=np.float64)
        for i in np.flatnonzero(split != 1.0):
            self.splits[int(col[i])].append((int(row[i]), float(split[i]), 1.0 / float(split[i])))
        div = np.asarray(bars.extra.get("dividend", np.zeros(len(row))), dtype=np.float64)
        for i in np.flatnonzero(div != 0.0):
            r, a, amount = int(row[i]), int(col[i]), float(div[i])
            ratio = np.nan
            if r > 0:
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = 1.0 - amount / self.close[r - 1, a]
            self.dividends[a].append((r, amount, float(ratio)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # exchange_calendars vs pandas 3.1 deprecations
            closes = pd.DatetimeIndex(cal.closes.loc[self.sessions])
            opens = pd.DatetimeIndex(cal.first_minutes.loc[self.sessions])
            early = pd.DatetimeIndex(cal.early_closes)
        self.session_closes = closes.tz_localize("UTC") if closes.tz is None \
            else closes.tz_convert("UTC")
        self.session_first_minutes = opens.tz_localize("UTC") if opens.tz is None \
            else opens.tz_convert("UTC")
        # what schedule_function and before_trading_start need of the calendar: its sessions
        # and early closes over the calendar's window (the data's span +- 40 days), its zone
        self.calendar_sessions = all_sessions
        self.early_closes = early.tz_localize(None) if early.tz is not None else early
        self.tz = str(cal.tz)
        self._finish()
        if cache_file is not None:
            self._save(cache_file)

    def _finish(self) -> None:
        """The views derived from the stored arrays (also after reading a cache)."""
        # per asset, in application order: (session index, price factor, volume factor);
        # on one date Zipline applies dividends before splits
        self.adjustments = {}
        for a in range(len(self.symbols)):
            adj = [(r, 0, ratio, 1.0) for r, _, ratio in self.dividends[a]
                   if np.isfinite(ratio) and ratio > 0]
            adj += [(r, 1, ratio, 1.0 / ratio) for r, _, ratio in self.splits[a]]
            adj.sort(key=lambda x: (x[0], x[1]))
            self.adjustments[a] = [(r, pf, vf) for r, _, pf, vf in adj]
        self.assets = []
        n_sessions = self.has_bar.shape[0]
        first_rows = self.has_bar.argmax(axis=0)                     # every asset has a bar
        last_rows = n_sessions - 1 - self.has_bar[::-1].argmax(axis=0)
        for a, name in enumerate(self.symbols):
            start = self.sessions[int(first_rows[a])]
            end = self.sessions[int(last_rows[a])]
            self.assets.append(Equity(a, name, "", start, end, None, end + pd.Timedelta(days=1),
                                      "CSVDIR", "CSVDIR", "??", 0.01, 1.0))
        self.first_trading_row = int(np.flatnonzero(self.has_bar.any(axis=1))[0])
        self.first_trading_day = self.sessions[self.first_trading_row]
        self._ffill_close = None
        self._last_bar = None
        self.__dict__.pop("_asset_finder", None)

    @property
    def asset_finder(self):
        """Zipline's ``AssetFinder`` over this bundle's assets (``lookup_symbols``, ...)."""
        finder = self.__dict__.get("_asset_finder")
        if finder is None:
            from ml4t.compat.zipline.assets import AssetFinder
            finder = self._asset_finder = AssetFinder(self.assets, store=self)
        return finder

    @property
    def equity_daily_bar_reader(self):
        """The bundle's daily bars as Zipline's reader (``load_raw_arrays``, ``sessions``);
        also what ``USEquityPricingLoader.without_fx`` takes."""
        from ml4t.compat.zipline.data.bar_reader import DailyBarReader
        return DailyBarReader(self)

    @property
    def adjustment_reader(self):
        """A handle on the bundle's splits and dividends, for
        ``USEquityPricingLoader.without_fx`` (pipelines apply them as Zipline does)."""
        from ml4t.compat.zipline.data.bar_reader import AdjustmentReader
        return AdjustmentReader(self)

    @property
    def exchange_calendar(self):
        """The ``exchange_calendars`` calendar over the data's span (built on first use when
        the bundle came from a cache)."""
        if self._exchange_calendar is None:
            self._exchange_calendar = get_exchange_calendar(
                self.calendar_name, self.sessions[0], self.sessions[-1])
        return self._exchange_calendar

    # ----------------------------------------------------------------------------- cache
    _ARRAYS = ("open", "high", "low", "close", "volume", "has_bar")

    def _save(self, path: str) -> None:
        """Write the stored form to ``path`` (an ``.npz``), atomically."""
        def ns(index):
            return np.asarray(pd.DatetimeIndex(index).as_unit("ns").asi8, dtype=np.int64)

        def rows(table, width):
            flat = [(a, *t) for a, lst in table.items() for t in lst]
            return np.asarray(flat, dtype=np.float64).reshape(len(flat), width)

        meta = dict(format=_CACHE_FORMAT, symbols=self.symbols, tz=self.tz,
                    calendar=self.calendar_name, source=self.source)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp.npz"
        np.savez(tmp, meta=np.asarray(json.dumps(meta)),
                 sessions=ns(self.sessions), session_closes=ns(self.session_closes),
                 session_first_minutes=ns(self.session_first_minutes),
                 calendar_sessions=ns(self.calendar_sessions),
                 early_closes=ns(self.early_closes),
                 splits=rows(self.splits, 4), dividends=rows(self.dividends, 4),
                 **{k: getattr(self, k) for k in self._ARRAYS})
        os.replace(tmp, path)

    def _restore(self, path: str) -> bool:
        """Read the stored form from ``path``; False when there is no usable cache."""
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return False
        with z:
            try:
                meta = json.loads(str(z["meta"]))
                if meta.get("format") != _CACHE_FORMAT:
                    return False
                for k in self._ARRAYS:
                    setattr(self, k, z[k])
                self.symbols = list(meta["symbols"])
                self.tz = meta["tz"]
                self.sessions = pd.DatetimeIndex(z["sessions"].view("M8[ns]"))
                self.session_closes = pd.DatetimeIndex(z["session_closes"].view("M8[ns]"),
                                                       tz="UTC")
                self.session_first_minutes = pd.DatetimeIndex(
                    z["session_first_minutes"].view("M8[ns]"), tz="UTC")
                self.calendar_sessions = pd.DatetimeIndex(z["calendar_sessions"].view("M8[ns]"))
                self.early_closes = pd.DatetimeIndex(z["early_closes"].view("M8[ns]"))
                self.splits = {a: [] for a in range(len(self.symbols))}
                self.dividends = {a: [] for a in range(len(self.symbols))}
                for a, r, ratio, _ in z["splits"].tolist():
                    self.splits[int(a)].append((int(r), ratio, 1.0 / ratio))
                for a, r, amount, ratio in z["dividends"].tolist():
                    self.dividends[int(a)].append((int(r), amount, ratio))
            except (KeyError, ValueError, TypeError):
                return False
        self._finish()
        return True

    # -------------------------------------------------------------------------------- lookup
    def split_sids_at(self, row: int) -> frozenset:
        """The sids with a split on session ``row``."""
        by_row = self.__dict__.get("_split_rows")
        if by_row is None:
            by_row = {}
            for a, lst in self.splits.items():
                for r, _, _ in lst:
                    by_row.setdefault(r, set()).add(a)
            by_row = self._split_rows = {r: frozenset(v) for r, v in by_row.items()}
        return by_row.get(row, frozenset())

    def session_index(self, session) -> int:
        """Index of a session label (tz-naive midnight) in ``sessions``."""
        return int(self.sessions.get_loc(pd.Timestamp(session)))

    @property
    def ffill_close(self) -> np.ndarray:
        """Closes forward-filled down each column (Zipline's ``price`` field, unadjusted)."""
        if self._ffill_close is None:
            self._ffill_close = pd.DataFrame(self.close).ffill().to_numpy(copy=True)
        return self._ffill_close

    @property
    def last_bar(self) -> np.ndarray:
        """Per sid, the row of its last bar in the bundle (-1 for none): past it Zipline's
        ``price`` is NaN (the asset's end date has passed), not the last close."""
        if self._last_bar is None:
            n = self.has_bar.shape[0]
            rev = self.has_bar[::-1].argmax(axis=0)
            self._last_bar = np.where(self.has_bar.any(axis=0), n - 1 - rev, -1)
        return self._last_bar

    def field_array(self, field: str) -> np.ndarray:
        if field == "price":
            return self.close
        return getattr(self, field)

    def window(self, sid: int, field: str, end: int, bar_count: int) -> np.ndarray:
        """``bar_count`` values of ``field`` ending at session ``end``, adjusted as of
        ``end`` and rounded to 3 decimals, as ``data.history`` returns them.

        The caller has checked that the window starts inside the data.
        """
        start = end - bar_count + 1
        base = self.volume if field == "volume" else self.close if field == "price" \
            else getattr(self, field)
        vals = base[start:end + 1, sid].astype(np.float64, copy=True)
        if field == "price" and np.isnan(vals).any():
            # forward-fill, starting from the last close before the window
            vals = self.ffill_close[start:end + 1, sid].copy()
            if np.isnan(vals[0]) and start > 0:
                lead = np.isnan(vals) & (np.cumsum(~np.isnan(vals)) == 0)
                vals[lead] = self.ffill_close[start - 1, sid]
            last = self.last_bar[sid]
            if last < end:                # none after the asset's end date (Zipline)
                vals[max(last + 1 - start, 0):] = np.nan
        volume = field == "volume"
        for r, pf, vf in self.adjustments[sid]:
            if start < r <= end:
                if volume:
                    if vf != 1.0:
                        vals[: r - start] *= vf
                else:
                    vals[: r - start] *= pf
        return np.round(vals, 3)

    def window_block(self, sids, field: str, end: int, bar_count: int) -> np.ndarray:
        """``window`` for several sids at once: a ``(bar_count, len(sids))`` array whose
        column ``j`` equals ``window(sids[j], field, end, bar_count)`` exactly."""
        start = end - bar_count + 1
        base = self.volume if field == "volume" else self.close if field == "price" \
            else getattr(self, field)
        sids = np.asarray(sids, dtype=np.intp)
        vals = base[start:end + 1, sids]
        gaps = np.flatnonzero(np.isnan(vals).any(axis=0)) if field == "price" else ()
        volume = field == "volume"
        adjustments = self.adjustments
        for j, sid in enumerate(sids.tolist()):
            for r, pf, vf in adjustments[sid]:
                if start < r <= end:
                    if volume:
                        if vf != 1.0:
                            vals[: r - start, j] *= vf
                    else:
                        vals[: r - start, j] *= pf
        out = np.round(vals, 3)
        for j in gaps:                # forward-filled prices: the one-asset path
            out[:, j] = self.window(int(sids[j]), field, end, bar_count)
        return out

    def engine_bars(self, first: int, last: int):
        """Sessions ``first..last`` as the native engine's `ml4t.data.BarData`.

        Each bar is stamped at its session close in UTC (so the engine needs no calendar of
        its own); stored (3-decimal) prices, truncated volumes and the ``split`` column; no
        ``dividend`` column (Zipline never pays csvdir dividends). The rows were validated
        when the bundle was read and the grid is already in (session, asset) order, so the
        arrays go to the engine as they are instead of through a second ``load_bars`` pass;
        `engine_frame` holds the same rows as a DataFrame and
        ``tests/test_zipline_csvdir_fast.py`` checks both paths give the same `BarData`.
        A session where no asset has a bar gets one bar of the placeholder asset
        ``SESSION_PLACEHOLDER`` (volume 0), which `engine_frame` does not have.
        """
        from ml4t.data import BarBatch, BarData

        window = self.has_bar[first:last + 1]
        n_rows, n_assets = window.shape
        closes = self.session_closes.as_unit("ns").asi8
        if n_rows and window.all():
            # every asset has a bar on every session (the grids are C-ordered): the grids'
            # rows are the bars in (session, asset) order, as they are (no gather, no
            # copy: fresh memory is slow to touch on some virtual machines)
            def gather(grid):
                return np.ascontiguousarray(grid[first:last + 1]).reshape(-1)

            present = np.arange(n_assets)
            asset = np.tile(np.arange(n_assets, dtype=np.int32), n_rows)
            ts = np.repeat(closes[first:last + 1], n_assets)
            flat = None
        else:
            # the bars' positions in the (session, asset) grid, row by row; gathering by
            # flat position is several times faster than by (row, column) pairs
            flat = np.flatnonzero(window) + first * n_assets
            rows, cols = np.divmod(flat, n_assets)
            # the assets with a bar in the window (ascending) and each bar's position among
            # them, by lookup table (no sort of the ~1 M bar columns)
            present = np.flatnonzero(window.any(axis=0))
            position = np.zeros(n_assets, dtype=np.int32)
            position[present] = np.arange(len(present), dtype=np.int32)
            asset = position[cols]

            def gather(grid):
                return np.take(np.ravel(grid), flat)

        o, h, lo, c, vol = (gather(self.open), gather(self.high), gather(self.low),
                            gather(self.close), gather(self.volume))
        split = np.ones(len(o))
        for a, lst in self.splits.items():
            for r, ratio, _ in lst:
                if first <= r <= last:
                    at = r * n_assets + a
                    if flat is None:
                        split[at - first * n_assets] = ratio
                    else:
                        k = int(np.searchsorted(flat, at))
                        if k < len(flat) and flat[k] == at:     # (a split needs a bar)
                            split[k] = ratio
        names = tuple(self.symbols[int(a)] for a in present)
        empty = np.flatnonzero(~window.any(axis=1)) + first
        if empty.size:
            # Zipline runs every session, also one where no asset has a bar; the engine
            # moves from bar to bar, so such a session gets a bar of a placeholder asset
            # (never tradable: volume 0; a name no file can have), and nothing else
            names += (SESSION_PLACEHOLDER,)
            at = np.searchsorted(rows, empty)
            ones = np.ones(empty.size)
            rows = np.insert(rows, at, empty)
            asset = np.insert(asset, at, np.int32(len(names) - 1))
            o, h, lo, c, split = (np.insert(x, at, ones) for x in (o, h, lo, c, split))
            vol = np.insert(vol, at, 0.0)
        if flat is not None:
            ts = np.ascontiguousarray(closes[rows])
        batch = BarBatch(ts=ts, asset=asset, open=o, high=h, low=lo, close=c, volume=vol,
                         session=ts // DAY_NS)
        return BarData(assets=names, source="<DataFrame>", calendar=None,
                       extra={"split": split}, n_rows=len(batch), batch_rows=None, bars=batch)

    def engine_frame(self, first: int, last: int) -> pd.DataFrame:
        """Long frame of sessions ``first..last`` for the native engine.

        Each bar is stamped at its session close in UTC (so the engine needs no
        calendar of its own); stored (3-decimal) prices, truncated volumes and the
        ``split`` column; no ``dividend`` column (Zipline never pays csvdir dividends);
        no placeholder bars for sessions without any bar (see `engine_bars`).
        """
        rows, cols = np.nonzero(self.has_bar[first:last + 1])
        rows = rows + first
        ratios = np.ones(self.has_bar.shape)
        for a, lst in self.splits.items():
            for r, ratio, _ in lst:
                ratios[r, a] = ratio
        split = ratios[rows, cols]
        return pd.DataFrame(copy=False, data={
            "ts": self.session_closes[rows],
            "asset": np.asarray(self.symbols, dtype=object)[cols],
            "open": self.open[rows, cols], "high": self.high[rows, cols],
            "low": self.low[rows, cols], "close": self.close[rows, cols],
            "volume": self.volume[rows, cols], "split": split,
        })
