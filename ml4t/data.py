"""Load and validate bar data into the columnar arrays the engine consumes.

``load_bars`` turns a long DataFrame, a dict of per-asset frames, a CSV or Parquet file, or a
folder of ``<SYMBOL>.csv`` files (Zipline's csvdir layout included) into a `BarData`: sorted,
validated numpy arrays handed out as `BarBatch` objects. Every rule a bar must obey is checked
with vectorised numpy on all rows; the first offending row is reported in a `DataError` that names
the file, the row (and CSV line), the column and the rule. Nothing is dropped or repaired silently.

Rules (the ``rule`` attribute of the `DataError`)
-------------------------------------------------
Structure
    ``missing_column``, ``ambiguous_column`` (two columns differ only by case), ``bad_csv``
    (unreadable CSV, or data rows with more fields than the header), ``no_files`` (a directory
    without ``*.csv``), ``no_rows`` (no data, or no data between `start` and `end`).
Timestamps and assets
    ``bad_timestamp`` (unparseable or missing), ``missing_asset`` (empty asset name),
    ``bad_asset`` (two asset names that read the same once converted to text),
    ``not_a_session`` (a row on a day the calendar does not trade), ``outside_session`` (an
    intraday row on a trading day but before the session's open or after its close, early
    closes included), ``outside_calendar`` (the calendar cannot be built over the data's dates).
Values
    ``not_numeric``, ``nan_price``, ``negative_price``, ``bad_volume`` (NaN or infinite),
    ``negative_volume``, ``high_below_low``, ``open_outside_range``, ``close_outside_range``
    (exact comparisons, no tolerance), ``bad_dividend`` (not finite or negative), ``bad_split``
    (not finite or not positive).
Order
    ``duplicate_key`` (same timestamp twice for one asset), ``time_not_increasing`` (an asset's
    timestamps go backwards in input order), ``unsorted`` (streamed Parquet not sorted by
    (ts, asset)).
"""
from __future__ import annotations

import os
import pathlib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml4t.errors import ConfigError, DataError, suggest

__all__ = ["BarBatch", "BarData", "load_bars"]

DAY_NS = 86_400 * 1_000_000_000
_NAT = np.iinfo(np.int64).min

TIME_ALIASES = ("ts", "timestamp", "datetime", "date")
ASSET_ALIASES = ("asset", "symbol", "ticker")
PRICE_COLUMNS = ("open", "high", "low", "close")
EXTRA_COLUMNS = ("dividend", "split", "open_interest")
_EXTRA_DEFAULT = {"dividend": 0.0, "split": 1.0, "open_interest": np.nan}
_CSV_SUFFIXES = (".csv.gz", ".txt.gz", ".csv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_DIR_SUFFIXES = (".csv.gz", ".csv")


# --------------------------------------------------------------------------------------------
# public containers


@dataclass(frozen=True, eq=False)
class BarBatch:
    """A block of bars sorted by (ts, asset), as the clock consumes them.

    All arrays have the same length and are C-contiguous. A batch never ends in the middle of a
    timestamp: every row sharing a timestamp is in the same batch. The arrays may be shared with
    the `BarData` that produced them; treat them as read-only.

    Attributes
    ----------
    ts : numpy.ndarray of int64
        Nanoseconds since the epoch, UTC, non-decreasing.
    asset : numpy.ndarray of int32
        Asset ids, positions in `BarData.assets`; strictly increasing within one timestamp.
    open, high, low, close, volume : numpy.ndarray of float64
        Bar values; `volume` is NaN where the input had no volume column.
    session : numpy.ndarray of int64
        Trading session of each row: the local calendar date of `ts` in the exchange's time
        zone (UTC when no calendar is used), as days since 1970-01-01.
    """

    ts: np.ndarray
    asset: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    session: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])


_BATCH_FIELDS = ("ts", "asset", "open", "high", "low", "close", "volume", "session")


def _slice_batch(batch: BarBatch, lo: int, hi: int) -> BarBatch:
    return BarBatch(**{f: getattr(batch, f)[lo:hi] for f in _BATCH_FIELDS})


def _concat_batches(a: BarBatch, b: BarBatch) -> BarBatch:
    return BarBatch(**{f: np.concatenate((getattr(a, f), getattr(b, f))) for f in _BATCH_FIELDS})


class BarData:
    """Validated bars, sorted by (ts, asset), handed out in batches.

    Build one with `load_bars`; the constructor is internal.

    Attributes
    ----------
    assets : tuple of str
        Asset names sorted ascending; an asset id is a position in this tuple.
    source : str
        Where the data came from: the path as given, ``"<DataFrame>"`` or ``"<dict>"``.
    calendar : str or None
        Exchange calendar name used for stamping and sessions, e.g. ``"XNYS"``.
    extra : dict of str to numpy.ndarray
        Optional float64 columns (``"dividend"``, ``"split"``, ``"open_interest"``) aligned
        with the in-memory rows; empty when Parquet is streamed.
    n_rows : int or None
        Number of rows, or None when a streamed Parquet file is filtered by `start`/`end`.
    splits_after_end : dict of str to numpy.ndarray
        Splits recorded in the input after `end` (cut off by the window, yet they still
        scale every kept price of a split-adjusted input): arrays ``asset`` (ids), ``ts``,
        ``ratio``, ``close_before`` (the asset's last close before the split, NaN if none)
        and ``open`` (the split row's open). Empty without `end` or a ``split`` column.
    """

    def __init__(
        self,
        *,
        assets: tuple[str, ...],
        source: str,
        calendar: str | None,
        extra: dict[str, np.ndarray],
        n_rows: int | None,
        batch_rows: int | None,
        bars: BarBatch | None = None,
        stream: _ParquetStream | None = None,
        splits_after_end: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.assets = assets
        self.source = source
        self.calendar = calendar
        self.extra = extra
        self.n_rows = n_rows
        self._batch_rows = batch_rows
        self._bars = bars
        self._stream = stream
        self._ids: dict[str, int] | None = None
        self.splits_after_end = (_no_splits() if splits_after_end is None
                                 else splits_after_end)

    def __repr__(self) -> str:
        shown = ", ".join(self.assets[:5]) + (", ..." if len(self.assets) > 5 else "")
        mode = "streamed" if self._stream is not None else "in memory"
        return (
            f"BarData(source={self.source!r}, assets=[{shown}] ({len(self.assets)}), "
            f"n_rows={self.n_rows}, calendar={self.calendar!r}, {mode})"
        )

    def batches(self) -> Iterator[BarBatch]:
        """Iterate over the bars in (ts, asset) order.

        In memory without `batch_rows`: exactly one batch holding every row. With `batch_rows`
        (and always for streamed Parquet) the rows come in chunks of about `batch_rows`; the
        rows of a chunk's last timestamp move to the next batch, so no timestamp is ever split
        across two batches (a batch may therefore be larger or smaller than `batch_rows`). Each
        call starts again from the beginning; a streamed file is re-read.

        Yields
        ------
        BarBatch

        Raises
        ------
        DataError
            Streamed Parquet only: a chunk breaks a rule (checked as it is read).
        """
        if self._stream is not None:
            yield from self._stream.batches()
            return
        bars = self._bars
        n = len(bars)
        if n == 0:
            return
        if self._batch_rows is None:
            yield bars
            return
        # same cut points as the streaming regrouping: every chunk of batch_rows rows (the last
        # one included) gives up its last timestamp to the next batch
        ends = np.append(np.arange(self._batch_rows, n, self._batch_rows), n)
        cuts = np.searchsorted(bars.ts, bars.ts[ends - 1], side="left")
        bounds = np.unique(np.concatenate(([0], cuts, [n])))
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            yield _slice_batch(bars, lo, hi)

    def to_frame(self) -> pd.DataFrame:
        """Return the bars as a long DataFrame (streamed Parquet is read in full).

        Returns
        -------
        pandas.DataFrame
            Columns ``ts`` (datetime64[ns, UTC]), ``asset`` (names), ``open``, ``high``,
            ``low``, ``close``, ``volume`` and any `extra` columns, sorted by (ts, asset),
            with a default RangeIndex.
        """
        parts = list(self.batches())
        if parts:
            cols = {f: np.concatenate([getattr(b, f) for b in parts]) for f in _BATCH_FIELDS}
        else:
            cols = {f: np.empty(0, np.int64 if f in ("ts", "session") else np.float64)
                    for f in _BATCH_FIELDS}
            cols["asset"] = np.empty(0, np.int32)
        names = np.asarray(self.assets, dtype=object)
        frame = pd.DataFrame(
            {
                "ts": pd.DatetimeIndex(cols["ts"].view("M8[ns]")).tz_localize("UTC"),
                "asset": pd.array(names[cols["asset"]], dtype="str"),
                **{c: cols[c] for c in ("open", "high", "low", "close", "volume")},
            }
        )
        for name, values in self.extra.items():
            frame[name] = values
        return frame

    def asset_id(self, name: str) -> int:
        """Return the id of asset `name` (its position in `assets`).

        Raises
        ------
        KeyError
            If `name` is not an asset of this data; the message suggests a close spelling.
        """
        if self._ids is None:
            self._ids = {a: i for i, a in enumerate(self.assets)}
        try:
            return self._ids[name]
        except (KeyError, TypeError):
            pass
        guess = suggest(name, self.assets)
        hint = f"; did you mean {guess!r}?" if guess is not None else ""
        raise KeyError(f"unknown asset {name!r} in {self.source}{hint}") from None


# --------------------------------------------------------------------------------------------
# one input part (a frame, a file, a Parquet record batch) read into raw arrays, in input order


@dataclass
class _Part:
    path: str
    csv: bool
    row0: int                  # row number (in the source) of this part's first row
    names: dict[str, str]      # role -> column name as spelled in the input
    ts: np.ndarray             # int64 ns; naive values are wall-clock ns
    aware: bool
    asset_values: Any          # Series/Index of names, or None when asset_name is set
    asset_name: str | None
    values: dict[str, np.ndarray | None]   # open/high/low/close/volume (volume may be None)
    extra: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.ts.shape[0])


class _Where:
    """Maps a row of the concatenated arrays back to its source, for error messages."""

    def __init__(self, parts: list[_Part]) -> None:
        self.parts = parts
        self.starts = np.cumsum([0] + [len(p) for p in parts[:-1]])

    def part(self, i: int) -> tuple[_Part, int]:
        k = int(np.searchsorted(self.starts, i, side="right")) - 1
        part = self.parts[k]
        return part, part.row0 + (i - int(self.starts[k]))

    def error(self, i: int, role: str | None, rule: str, message: str) -> DataError:
        part, row = self.part(i)
        column = part.names.get(role, role) if role is not None else None
        return DataError(
            message, path=part.path, row=row, column=column, rule=rule,
            line=row + 2 if part.csv else None,
        )


def _first_true(mask: np.ndarray) -> int | None:
    if mask.size == 0:
        return None
    i = int(np.argmax(mask))
    return i if mask[i] else None


def _column_map(names: list[Any], path: str) -> dict[str, Any]:
    """Lower-cased name -> original column key; two columns equal up to case are ambiguous."""
    found: dict[str, Any] = {}
    for key in names:
        low = str(key).strip().lower()
        if low in found:
            raise DataError(
                f"columns {str(found[low])!r} and {str(key)!r} differ only by case",
                path=path, column=str(key), rule="ambiguous_column",
            )
        found[low] = key
    return found


def _describe(names) -> str:
    return ", ".join(repr(str(n)) for n in names) or "none"


def _read_part(
    frame: pd.DataFrame,
    *,
    path: str,
    csv: bool = False,
    row0: int = 0,
    asset_name: str | None = None,
) -> _Part:
    """Find the columns of `frame` by role and convert them to raw arrays (no validation)."""
    # candidates: columns first, then named index levels, then unnamed datetime/other levels
    sources: dict[str, tuple[str, Any, str]] = {
        low: ("col", key, str(key)) for low, key in _column_map(list(frame.columns), path).items()
    }
    index = frame.index
    unnamed_time = unnamed_other = None
    if not isinstance(index, pd.RangeIndex):
        for level, name in enumerate(index.names):
            values = index.get_level_values(level)
            if name is not None:
                sources.setdefault(str(name).strip().lower(), ("level", level, str(name)))
            elif isinstance(values, pd.DatetimeIndex):
                unnamed_time = unnamed_time if unnamed_time is not None else level
            elif isinstance(index, pd.MultiIndex):
                unnamed_other = unnamed_other if unnamed_other is not None else level

    def get(src):
        kind, key, _ = src
        return frame[key] if kind == "col" else index.get_level_values(key)

    names: dict[str, str] = {}
    time_src = next((sources[a] for a in TIME_ALIASES if a in sources), None)
    if time_src is None and unnamed_time is not None:
        time_src = ("level", unnamed_time, "<index>")
    if time_src is None:
        raise DataError(
            "no time column: expected one of " + ", ".join(map(repr, TIME_ALIASES))
            + f" or a DatetimeIndex; found columns: {_describe(frame.columns)}",
            path=path, column="ts", rule="missing_column",
        )
    names["ts"] = time_src[2]
    time_values = get(time_src)
    if time_src[2].strip().lower() == "date" and "time" in sources:
        time_values = _join_date_time(time_values, get(sources["time"]))
    ts, aware = _to_ns(time_values, path=path, csv=csv, row0=row0, column=names["ts"])

    asset_values = None
    if asset_name is None:
        asset_src = next((sources[a] for a in ASSET_ALIASES if a in sources), None)
        if asset_src is None and unnamed_other is not None:
            asset_src = ("level", unnamed_other, "<index>")
        if asset_src is None:
            raise DataError(
                "no asset column: expected one of " + ", ".join(map(repr, ASSET_ALIASES))
                + f"; found columns: {_describe(frame.columns)}",
                path=path, column="asset", rule="missing_column",
            )
        names["asset"] = asset_src[2]
        asset_values = get(asset_src)

    values: dict[str, np.ndarray | None] = {}
    for role in PRICE_COLUMNS + ("volume",):
        src = sources.get(role)
        if src is None:
            if role == "volume":
                values[role] = None
                continue
            raise DataError(
                f"missing column {role!r}; found columns: {_describe(frame.columns)}",
                path=path, column=role, rule="missing_column",
            )
        names[role] = src[2]
        values[role] = _to_float(get(src), path=path, csv=csv, row0=row0, column=src[2])
    extra = {}
    for name in EXTRA_COLUMNS:
        src = sources.get(name)
        if src is not None:
            names[name] = src[2]
            extra[name] = _to_float(get(src), path=path, csv=csv, row0=row0, column=src[2])
    return _Part(path=path, csv=csv, row0=row0, names=names, ts=ts, aware=aware,
                 asset_values=asset_values, asset_name=asset_name, values=values, extra=extra)


def _cell_error(i, *, path, csv, row0, column, rule, message) -> DataError:
    row = row0 + int(i)
    return DataError(message, path=path, row=row, column=column, rule=rule,
                     line=row + 2 if csv else None)


def _to_ns(values, *, path, csv, row0, column) -> tuple[np.ndarray, bool]:
    """Timestamps -> (int64 ns since epoch, tz-aware?). Naive values keep their wall clock."""
    dtype = values.dtype
    try:
        if isinstance(dtype, pd.DatetimeTZDtype) or (
            isinstance(dtype, np.dtype) and dtype.kind == "M"
        ):
            index = pd.DatetimeIndex(values)
        else:
            try:
                index = pd.DatetimeIndex(pd.to_datetime(values))
            except (ValueError, TypeError, OverflowError):
                index = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
        aware = index.tz is not None
        if aware and len(index) and not index.hasnans:
            # daily data stamped at local midnight (yfinance style) is date-only data:
            # keep the local dates so the calendar stamps them at the session close
            wall = index.tz_localize(None)
            if not np.any(np.asarray(wall.as_unit("ns").asi8) % DAY_NS):
                index = wall
                aware = False
        ns = np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
    except (ValueError, TypeError, OverflowError) as exc:
        raw = pd.Series(np.asarray(values, dtype=object))
        with np.errstate(all="ignore"):
            parsed = pd.to_datetime(raw, errors="coerce", format="mixed", utc=True)
        bad = _first_true((parsed.isna() & raw.notna()).to_numpy())
        if bad is None:
            raise DataError(f"cannot read timestamps: {exc}", path=path, column=column,
                            rule="bad_timestamp") from None
        raise _cell_error(bad, path=path, csv=csv, row0=row0, column=column,
                          rule="bad_timestamp",
                          message=f"cannot read {raw.iloc[bad]!r} as a timestamp") from None
    bad = _first_true(ns == _NAT)
    if bad is not None:
        raise _cell_error(bad, path=path, csv=csv, row0=row0, column=column,
                          rule="bad_timestamp", message="missing timestamp")
    return ns, aware


def _to_float(values, *, path, csv, row0, column) -> np.ndarray:
    try:
        return np.ascontiguousarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
    except (ValueError, TypeError):
        raw = pd.Series(np.asarray(values, dtype=object))
        numeric = pd.to_numeric(raw, errors="coerce")
        bad = _first_true((numeric.isna() & raw.notna()).to_numpy())
        if bad is None:  # pragma: no cover - to_numpy failed for another reason
            raise
        raise _cell_error(bad, path=path, csv=csv, row0=row0, column=column,
                          rule="not_numeric",
                          message=f"cannot read {raw.iloc[bad]!r} as a number") from None


# --------------------------------------------------------------------------------------------
# calendar stamping


def _day_str(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def _ts_str(ns: int) -> str:
    return str(pd.Timestamp(int(ns), tz="UTC"))


def _check_calendar(calendar: Any) -> None:
    if calendar is None:
        return
    if not isinstance(calendar, str):
        raise ConfigError("calendar", calendar,
                          "an exchange calendar name such as 'XNYS', or None")
    import exchange_calendars

    names = exchange_calendars.get_calendar_names(include_aliases=True)
    if calendar not in names:
        guess = suggest(calendar, names)
        raise ConfigError(
            "calendar", calendar,
            "an exchange_calendars name such as 'XNYS' (see "
            "exchange_calendars.get_calendar_names()), or None",
            hint=f"did you mean {guess!r}?" if guess is not None else None,
        )


def _get_calendar(name: str, first_day: int | None = None, last_day: int | None = None):
    """Return the exchange calendar `name` covering [first_day, last_day] (cached)."""
    start = None if first_day is None else _day_str(first_day)
    end = None if last_day is None else _day_str(last_day + 1)  # needs end > start
    from ml4t.calendars import calendar

    return calendar(name, start, end)


class _Stamper:
    """Maps date-only days to the calendar's session close (UTC ns), via a lookup table."""

    def __init__(self, calendar: str, first_day: int, last_day: int, path: str, column: str):
        try:
            cal = _get_calendar(calendar, first_day, last_day)
        except (ValueError, LookupError) as exc:
            raise DataError(
                f"calendar {calendar!r} cannot cover {_day_str(first_day)} to "
                f"{_day_str(last_day)}: {exc}",
                path=path, column=column, rule="outside_calendar",
            ) from None
        self.calendar = calendar
        self.first_day = first_day
        sessions = pd.DatetimeIndex(cal.sessions).as_unit("ns").asi8 // DAY_NS
        closes = pd.DatetimeIndex(cal.closes).as_unit("ns").asi8
        keep = (sessions >= first_day) & (sessions <= last_day)
        self.table = np.full(last_day - first_day + 1, _NAT, dtype=np.int64)
        self.table[sessions[keep] - first_day] = closes[keep]
        self.tz = cal.tz

    def stamp(self, days: np.ndarray) -> tuple[np.ndarray, int | None]:
        """Return (closes, index of the first day that is not a session or None)."""
        closes = self.table[days - self.first_day]
        return closes, _first_true(closes == _NAT)


def _naive_mask(parts: list[_Part], n: int) -> np.ndarray | None:
    """Boolean mask of rows from naive parts, or None when every part is naive."""
    if all(not p.aware for p in parts):
        return None
    mask = np.zeros(n, dtype=bool)
    pos = 0
    for p in parts:
        if not p.aware:
            mask[pos:pos + len(p)] = True
        pos += len(p)
    return mask


def _stamp(ts: np.ndarray, naive: np.ndarray | None, stamper: _Stamper | None,
           where: _Where) -> np.ndarray:
    """Replace date-only naive timestamps by their session close (in place on a copy)."""
    if stamper is None:
        return ts
    idx = np.arange(ts.shape[0]) if naive is not None else None
    days = (ts if naive is None else ts[naive]) // DAY_NS
    closes, bad = stamper.stamp(days)
    if bad is not None:
        i = bad if idx is None else int(idx[naive][bad])
        raise where.error(
            i, "ts", "not_a_session",
            f"{_day_str(days[bad])} is not a session of calendar {stamper.calendar}",
        )
    if naive is None:
        return closes
    out = ts.copy()
    out[naive] = closes
    return out


def _sessions(ts: np.ndarray, tz) -> np.ndarray:
    """Local date (days since epoch) of each sorted timestamp in `tz` (UTC when None)."""
    if tz is None or ts.shape[0] == 0:
        return ts // DAY_NS
    starts = np.flatnonzero(np.concatenate(([True], ts[1:] != ts[:-1])))
    counts = np.diff(np.concatenate((starts, [ts.shape[0]])))
    local = (pd.DatetimeIndex(ts[starts].view("M8[ns]")).tz_localize("UTC")
             .tz_convert(tz).tz_localize(None).as_unit("ns").asi8)
    return np.repeat(local // DAY_NS, counts)


class _SessionTable:
    """Opens and closes (UTC ns) of a calendar's sessions over a span, for vectorised lookups.

    Intraday rows must fall inside a session: ``open <= ts <= close`` (both inclusive, so a bar
    labelled with its start at the open and one labelled with its end at the close both pass;
    an early close ends the session early). Lunch breaks are not checked.
    """

    def __init__(self, calendar: str, first_ns: int, last_ns: int, path: str, column: str):
        first_day, last_day = int(first_ns // DAY_NS), int(last_ns // DAY_NS)
        try:
            try:
                # one day of margin each side: a session's label can differ from the UTC date
                # of its bars (New York evenings are the next day in UTC; Sydney mornings the
                # previous day)
                cal = _get_calendar(calendar, first_day - 1, last_day + 1)
            except (ValueError, LookupError):
                cal = _get_calendar(calendar, first_day, last_day)
        except (ValueError, LookupError) as exc:
            raise DataError(
                f"calendar {calendar!r} cannot cover {_day_str(first_day)} to "
                f"{_day_str(last_day)}: {exc}",
                path=path, column=column, rule="outside_calendar",
            ) from None
        self.calendar = calendar
        self.tz = cal.tz
        self.labels = pd.DatetimeIndex(cal.sessions).as_unit("ns").asi8 // DAY_NS
        self.opens = pd.DatetimeIndex(cal.opens).as_unit("ns").asi8
        self.closes = pd.DatetimeIndex(cal.closes).as_unit("ns").asi8

    def sessions_of(self, ts: np.ndarray, where: _Where) -> np.ndarray:
        """Session label (days since epoch) of each row; raise on the first row outside one.

        Raises
        ------
        DataError
            ``not_a_session`` when the row's local date is not a trading day,
            ``outside_session`` when it is but the row falls before the open or after the close.
        """
        k = np.searchsorted(self.opens, ts, side="right") - 1
        kc = np.clip(k, 0, None)
        inside = (k >= 0) & (ts <= self.closes[kc])
        bad = _first_true(~inside)
        if bad is None:
            return self.labels[kc]
        t = int(ts[bad])
        local = pd.Timestamp(t, tz="UTC").tz_convert(self.tz)
        day = int(local.tz_localize(None).value // DAY_NS)
        j = int(np.searchsorted(self.labels, day))
        if j >= len(self.labels) or self.labels[j] != day:
            raise where.error(
                bad, "ts", "not_a_session",
                f"{_day_str(day)} is not a session of calendar {self.calendar} (bar at "
                f"{local:%Y-%m-%d %H:%M:%S} {self.tz}, {_ts_str(t)})",
            )
        o = pd.Timestamp(int(self.opens[j]), tz="UTC")
        c = pd.Timestamp(int(self.closes[j]), tz="UTC")
        ol, cl = o.tz_convert(self.tz), c.tz_convert(self.tz)
        hint = ""
        if local == local.normalize():
            hint = ("; if these are dates, pass them without a time zone (naive, at midnight) "
                    "so they are stamped at the session close")
        raise where.error(
            bad, "ts", "outside_session",
            f"bar at {local:%Y-%m-%d %H:%M:%S} {self.tz} ({_ts_str(t)}) is outside the "
            f"{self.calendar} session of {_day_str(day)}, {ol:%H:%M} to {cl:%H:%M} {self.tz} "
            f"({o:%H:%M} to {c:%H:%M} UTC){hint}",
        )


# --------------------------------------------------------------------------------------------
# validation


def _num(x) -> str:
    return repr(float(x))


def _check_values(cols: dict[str, np.ndarray], where: _Where) -> None:
    """Price, volume, OHLC-consistency and corporate-action rules, first offending row first."""

    def first(checks, rule):
        best = None
        for role, mask, message in checks:
            i = _first_true(mask)
            if i is not None and (best is None or i < best[0]):
                best = (i, role, message)
        if best is not None:
            i, role, message = best
            raise where.error(i, role, rule, message(i))

    o, h, lo, c = (cols[k] for k in PRICE_COLUMNS)
    prices = {"open": o, "high": h, "low": lo, "close": c}
    first([(k, ~np.isfinite(x), lambda i, k=k, x=x: f"{k} is {_num(x[i])}")
           for k, x in prices.items()], "nan_price")
    first([(k, x < 0, lambda i, k=k, x=x: f"{k} {_num(x[i])} < 0")
           for k, x in prices.items()], "negative_price")
    v = cols["volume"]
    if v is not None:
        vmask = cols.get("_has_volume")
        bad = ~np.isfinite(v) if vmask is None else (~np.isfinite(v) & vmask)
        first([("volume", bad, lambda i: f"volume is {_num(v[i])}")], "bad_volume")
        first([("volume", v < 0, lambda i: f"volume {_num(v[i])} < 0")], "negative_volume")
    first([("high", h < lo, lambda i: f"high {_num(h[i])} < low {_num(lo[i])}")],
          "high_below_low")
    first([("open", (o < lo) | (o > h),
            lambda i: f"open {_num(o[i])} outside [low {_num(lo[i])}, high {_num(h[i])}]")],
          "open_outside_range")
    first([("close", (c < lo) | (c > h),
            lambda i: f"close {_num(c[i])} outside [low {_num(lo[i])}, high {_num(h[i])}]")],
          "close_outside_range")
    d = cols.get("dividend")
    if d is not None:
        first([("dividend", ~np.isfinite(d) | (d < 0), lambda i: f"dividend is {_num(d[i])}")],
              "bad_dividend")
    s = cols.get("split")
    if s is not None:
        first([("split", ~np.isfinite(s) | (s <= 0), lambda i: f"split ratio is {_num(s[i])}")],
              "bad_split")
    oi = cols.get("open_interest")
    if oi is not None:
        first([("open_interest", oi < 0, lambda i: f"open interest is {_num(oi[i])}")],
              "bad_open_interest")


def _check_order(ts: np.ndarray, asset: np.ndarray, assets: tuple[str, ...],
                 where: _Where) -> np.ndarray:
    """Check per-asset time order (input order); return the rows' (ts, asset) sort order."""
    by_asset = np.argsort(asset, kind="stable")
    ts_a = ts[by_asset]
    a_a = asset[by_asset]
    bad = (a_a[1:] == a_a[:-1]) & (ts_a[1:] <= ts_a[:-1])
    if bad.any():
        k = np.flatnonzero(bad)
        later = by_asset[k + 1]
        j = int(np.argmin(later))
        i, prev = int(later[j]), int(by_asset[k[j]])
        name = assets[int(asset[i])]
        _, prev_row = where.part(prev)
        if ts[i] == ts[prev]:
            raise where.error(i, "ts", "duplicate_key",
                              f"asset {name!r} has {_ts_str(ts[i])} twice "
                              f"(also at row {prev_row})")
        raise where.error(i, "ts", "time_not_increasing",
                          f"asset {name!r}: {_ts_str(ts[i])} is not after "
                          f"{_ts_str(ts[prev])} at row {prev_row}")
    return by_asset[np.argsort(ts_a, kind="stable")]


def _is_sorted(ts: np.ndarray, asset: np.ndarray) -> bool:
    return bool(np.all((ts[1:] > ts[:-1]) | ((ts[1:] == ts[:-1]) & (asset[1:] > asset[:-1]))))


# --------------------------------------------------------------------------------------------
# assembling parts into one sorted table


def _asset_names(uniques) -> list[str]:
    return [str(u) for u in uniques]


def _assemble(parts: list[_Part], *, source: str, calendar: str | None, start_ns, end_ns,
              batch_rows: int | None) -> BarData:
    where = _Where(parts)
    n = sum(len(p) for p in parts)

    # asset ids: names sorted ascending
    codes_per_part: list[np.ndarray | None] = []
    uniques_per_part: list[list[str]] = []
    for k, p in enumerate(parts):
        if p.asset_name is not None:
            codes_per_part.append(None)
            uniques_per_part.append([p.asset_name])
            continue
        codes, uniques = pd.factorize(p.asset_values)
        codes = np.asarray(codes)
        missing = _first_true(codes < 0)
        if missing is not None:
            raise where.error(int(where.starts[k]) + missing, "asset", "missing_asset",
                              "missing asset name")
        names = _asset_names(uniques)
        if len(set(names)) != len(names):
            dup = next(x for x in names if names.count(x) > 1)
            raise DataError(f"several asset values read as {dup!r}", path=p.path,
                            column=p.names.get("asset"), rule="bad_asset")
        codes_per_part.append(codes)
        uniques_per_part.append(names)
    assets = tuple(sorted(set().union(*uniques_per_part)))
    # (a dict, not a pandas Index: a str Index costs ~10 ms on its first use under pandas 3)
    lookup = {name: i for i, name in enumerate(assets)}
    asset = np.empty(n, dtype=np.int32)
    pos = 0
    for p, codes, names in zip(parts, codes_per_part, uniques_per_part):
        ids = np.fromiter((lookup[x] for x in names), dtype=np.int32, count=len(names))
        asset[pos:pos + len(p)] = ids[0] if codes is None else ids[codes]
        pos += len(p)

    # columns, concatenated in input order
    def gather(get, default):
        arrays = [get(p) if get(p) is not None else np.full(len(p), default) for p in parts]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    cols: dict[str, Any] = {k: gather(lambda p, k=k: p.values[k], np.nan)
                            for k in PRICE_COLUMNS}
    has_volume = [p.values["volume"] is not None for p in parts]
    cols["volume"] = gather(lambda p: p.values["volume"], np.nan)
    if not all(has_volume):
        cols["_has_volume"] = gather(
            lambda p: np.full(len(p), p.values["volume"] is not None), False)
    for name in EXTRA_COLUMNS:
        if any(name in p.extra for p in parts):
            cols[name] = gather(lambda p, name=name: p.extra.get(name), _EXTRA_DEFAULT[name])
    ts = gather(lambda p: p.ts, 0)

    # calendar stamping of date-only naive timestamps
    naive = _naive_mask(parts, n)
    naive_ts = ts if naive is None else ts[naive]
    tz = None
    session = None
    if calendar is not None:
        all_stamped = False
        if naive_ts.size and not np.any(naive_ts % DAY_NS):
            days = naive_ts // DAY_NS
            stamper = _Stamper(calendar, int(days.min()), int(days.max()), source, "ts")
            ts = _stamp(ts, naive, stamper, where)
            tz = stamper.tz
            all_stamped = naive is None
        if not all_stamped:
            # intraday (or tz-aware) rows: each must fall inside one of the calendar's sessions
            table = _SessionTable(calendar, int(ts.min()), int(ts.max()), source, "ts")
            session = table.sessions_of(ts, where)
            tz = table.tz

    _check_values(cols, where)
    cols.pop("_has_volume", None)
    order = None if _is_sorted(ts, asset) else _check_order(ts, asset, assets, where)

    # sort by (ts, asset), then keep [start, end]; every output array is a fresh copy
    sorted_ts = ts if order is None else ts[order]
    lo = 0 if start_ns is None else int(np.searchsorted(sorted_ts, start_ns, side="left"))
    hi = n if end_ns is None else int(np.searchsorted(sorted_ts, end_ns, side="right"))
    if hi <= lo:
        raise DataError(
            f"no rows between start and end (data span {_ts_str(sorted_ts[0])} to "
            f"{_ts_str(sorted_ts[-1])})",
            path=source, rule="no_rows",
        )
    if order is None:
        def take(x):
            return np.array(x[lo:hi], order="C", copy=True)
    else:
        rows = order[lo:hi]

        def take(x):
            return np.ascontiguousarray(x[rows])
    ts = np.array(sorted_ts[lo:hi], order="C", copy=True)
    bars = BarBatch(
        ts=ts,
        asset=take(asset),
        open=take(cols["open"]), high=take(cols["high"]), low=take(cols["low"]),
        close=take(cols["close"]), volume=take(cols["volume"]),
        session=_sessions(ts, tz) if session is None else take(session),
    )
    extra = {name: take(cols[name]) for name in EXTRA_COLUMNS if name in cols}
    later = None
    if "split" in cols and hi < n:
        def whole(x):
            return x if order is None else x[order]
        later = _splits_after(hi, sorted_ts, whole(asset), whole(cols["close"]),
                              whole(cols["open"]), whole(cols["split"]))
    return BarData(assets=assets, source=source, calendar=calendar, extra=extra,
                   n_rows=len(bars), batch_rows=batch_rows, bars=bars,
                   splits_after_end=later)


def _no_splits() -> dict[str, np.ndarray]:
    return {"asset": np.zeros(0, np.int32), "ts": np.zeros(0, np.int64),
            "ratio": np.zeros(0), "close_before": np.zeros(0), "open": np.zeros(0)}


def _splits_after(hi: int, ts, asset, close, open_, split) -> dict[str, np.ndarray]:
    """The split rows at sorted positions >= `hi` (after `end`), with the close before each."""
    rows = np.flatnonzero(split[hi:] != 1.0) + hi
    out = _no_splits()
    if rows.size == 0:
        return out
    before = []
    for r in rows.tolist():     # splits are rare: one scan per split
        prev = np.flatnonzero(asset[:r] == asset[r])
        before.append(close[prev[-1]] if prev.size else np.nan)
    out.update(asset=asset[rows].astype(np.int32), ts=ts[rows].astype(np.int64),
               ratio=split[rows].astype(np.float64), close_before=np.array(before),
               open=open_[rows].astype(np.float64))
    return out


# --------------------------------------------------------------------------------------------
# streamed Parquet


class _ParquetStream:
    """Reads, validates and regroups a Parquet file chunk by chunk (never all of it at once)."""

    def __init__(self, path: str, *, calendar: str | None, start_ns, end_ns,
                 batch_rows: int) -> None:
        import pyarrow.parquet as pq

        self.path = path
        self.calendar = calendar
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.batch_rows = batch_rows
        with pq.ParquetFile(path) as pf:
            self.n_rows = pf.metadata.num_rows
            schema_names = list(pf.schema_arrow.names)
            cmap = _column_map(schema_names, path)
            self.asset_name = None if any(a in cmap for a in ASSET_ALIASES) else _stem(path)
            # raises missing_column exactly as an in-memory load would
            _read_part(pd.DataFrame({name: [] for name in schema_names}), path=path,
                       asset_name=self.asset_name)
            wanted = TIME_ALIASES + ASSET_ALIASES + PRICE_COLUMNS + ("volume", "time")
            self.columns = [cmap[k] for k in wanted if k in cmap]
            time_key = next(cmap[a] for a in TIME_ALIASES if a in cmap)
            clock_key = cmap.get("time") if str(time_key).strip().lower() == "date" else None
            asset_key = (None if self.asset_name is not None
                         else next(cmap[a] for a in ASSET_ALIASES if a in cmap))
            first_cols = [k for k in (time_key, clock_key, asset_key) if k is not None]

            # first pass, time and asset columns only: the asset names, and whether the naive
            # timestamps are date-only (decided over the whole file, as in memory)
            names: set[str] = set()
            row0 = 0
            any_naive, all_midnight = False, True
            first_day = last_day = None
            first_ns = last_ns = None
            for rb in pf.iter_batches(batch_size=max(batch_rows, 65_536), columns=first_cols):
                frame = rb.to_pandas(date_as_object=False)
                time_values = frame[time_key]
                if clock_key is not None:
                    time_values = _join_date_time(time_values, frame[clock_key])
                ts, aware = _to_ns(time_values, path=path, csv=False, row0=row0,
                                   column=str(time_key))
                if ts.size:
                    first_ns = int(ts.min()) if first_ns is None else min(first_ns, int(ts.min()))
                    last_ns = int(ts.max()) if last_ns is None else max(last_ns, int(ts.max()))
                if not aware and ts.size:
                    any_naive = True
                    all_midnight = all_midnight and not np.any(ts % DAY_NS)
                    days = ts // DAY_NS
                    lo_d, hi_d = int(days.min()), int(days.max())
                    first_day = lo_d if first_day is None else min(first_day, lo_d)
                    last_day = hi_d if last_day is None else max(last_day, hi_d)
                if asset_key is not None:
                    values = frame[asset_key]
                    missing = _first_true(values.isna().to_numpy())
                    if missing is not None:
                        raise _cell_error(missing, path=path, csv=False, row0=row0,
                                          column=str(asset_key), rule="missing_asset",
                                          message="missing asset name")
                    names.update(_asset_names(pd.unique(values)))
                row0 += len(frame)
        if self.n_rows == 0:
            raise DataError("no data rows", path=path, rule="no_rows")
        self.assets = tuple(sorted(names)) if self.asset_name is None else (self.asset_name,)
        self._lookup = pd.Index(self.assets)
        self.stamper = None
        self.table = None
        self.tz = None
        if calendar is not None:
            if any_naive and all_midnight:
                self.stamper = _Stamper(calendar, first_day, last_day, path, str(time_key))
                self.tz = self.stamper.tz
            else:
                # a Parquet column is naive or tz-aware throughout: these rows are intraday
                self.table = _SessionTable(calendar, first_ns, last_ns, path, str(time_key))
                self.tz = self.table.tz

    def _asset_ids(self, part: _Part, where: _Where) -> np.ndarray:
        if part.asset_name is not None:
            return np.zeros(len(part), dtype=np.int32)
        values = part.asset_values
        if not isinstance(values.dtype, pd.StringDtype):
            values = values.astype(str)
        ids = self._lookup.get_indexer(values).astype(np.int32)
        missing = _first_true(ids < 0)
        if missing is not None:
            raise where.error(missing, "asset", "missing_asset",
                              f"asset {part.asset_values.iloc[missing]!r} was not in the file "
                              "when it was first read")
        return ids

    def _chunks(self) -> Iterator[BarBatch]:
        """Validated chunks as read (sorted, restricted to [start, end]); may split a ts."""
        import pyarrow.parquet as pq

        row0 = 0
        prev_ts = prev_asset = None
        with pq.ParquetFile(self.path) as pf:
            for rb in pf.iter_batches(batch_size=self.batch_rows, columns=self.columns):
                part = _read_part(rb.to_pandas(date_as_object=False), path=self.path,
                                  row0=row0, asset_name=self.asset_name)
                n = len(part)
                if n == 0:
                    continue
                where = _Where([part])
                asset = self._asset_ids(part, where)
                ts = part.ts
                if self.stamper is not None and not part.aware:
                    ts = _stamp(ts, None, self.stamper, where)
                session = None if self.table is None else self.table.sessions_of(ts, where)
                cols = dict(part.values)
                if cols["volume"] is None:
                    cols["volume"] = np.full(n, np.nan)
                    cols["_has_volume"] = np.zeros(n, dtype=bool)
                _check_values(cols, where)

                # (ts, asset) must increase strictly across the whole file
                if prev_ts is None:
                    pts, pas, shift = ts, asset, 1
                else:
                    pts = np.concatenate(([prev_ts], ts))
                    pas = np.concatenate(([prev_asset], asset))
                    shift = 0
                same_ts = pts[1:] == pts[:-1]
                dup = same_ts & (pas[1:] == pas[:-1])
                back = (pts[1:] < pts[:-1]) | (same_ts & (pas[1:] < pas[:-1]))
                k = _first_true(dup | back)
                if k is not None:
                    i = k + shift  # index in this chunk of the later row of the bad pair
                    name = self.assets[int(asset[i])]
                    if dup[k]:
                        raise where.error(i, "ts", "duplicate_key",
                                          f"asset {name!r} has {_ts_str(ts[i])} twice")
                    raise where.error(
                        i, "ts", "unsorted",
                        f"({_ts_str(pts[k])}, {self.assets[int(pas[k])]!r}) is followed by "
                        f"({_ts_str(ts[i])}, {name!r}); streamed Parquet must be sorted by "
                        "(ts, asset): sort the file, or load it without batch_rows",
                    )
                prev_ts, prev_asset = int(ts[-1]), int(asset[-1])
                row0 += n

                lo = 0 if self.start_ns is None else int(np.searchsorted(ts, self.start_ns))
                hi = n if self.end_ns is None else int(
                    np.searchsorted(ts, self.end_ns, side="right"))
                if hi > lo:
                    out_ts = np.ascontiguousarray(ts[lo:hi])
                    yield BarBatch(
                        ts=out_ts, asset=np.ascontiguousarray(asset[lo:hi]),
                        **{k: np.ascontiguousarray(cols[k][lo:hi])
                           for k in PRICE_COLUMNS + ("volume",)},
                        session=(_sessions(out_ts, self.tz) if session is None
                                 else np.ascontiguousarray(session[lo:hi])),
                    )
                if self.end_ns is not None and ts[-1] > self.end_ns:
                    return  # sorted: nothing later can fall inside [start, end]

    def batches(self) -> Iterator[BarBatch]:
        """Regroup the chunks so that no timestamp straddles two batches."""
        carry: BarBatch | None = None
        for chunk in self._chunks():
            if carry is not None:
                chunk = _concat_batches(carry, chunk)
            cut = int(np.searchsorted(chunk.ts, chunk.ts[-1], side="left"))
            if cut > 0:
                yield _slice_batch(chunk, 0, cut)
            carry = _slice_batch(chunk, cut, len(chunk))
        if carry is not None and len(carry):
            yield carry


def bars_from_arrays(assets: Mapping[str, Mapping[str, Any]], *,
                     calendar: str | None = None, source: str = "<arrays>") -> BarData:
    """Bars from per-asset NumPy columns, validated exactly as `load_bars` validates a dict
    of per-asset frames, without building pandas objects (the compatibility shims hand
    their feeds to the engine this way).

    Parameters
    ----------
    assets : mapping of str to mapping
        ``{asset_name: {"ts": int64 ns since the epoch, "open": ..., "high": ...,
        "low": ..., "close": ..., "volume": ... (optional)}}``; every column of one asset
        has the same length. ``ts`` is read as `load_bars` reads naive timestamps.
    calendar : str or None, default None
        As in `load_bars`.
    source : str
        Named in error messages: a row of asset ``X`` is reported at ``source['X']``.

    Raises
    ------
    DataError
        A missing or misshapen column, a missing timestamp, or any rule of `load_bars`.
    """
    _check_calendar(calendar)
    if not assets:
        raise DataError("no assets given", path=source, rule="no_rows")
    parts = []
    for name in sorted(assets, key=str):
        if not isinstance(name, str):
            raise TypeError(f"bars_from_arrays() asset names must be str, got "
                            f"{type(name).__name__} {name!r}")
        cols = assets[name]
        path = f"{source}[{name!r}]"
        if "ts" not in cols:
            raise DataError("missing column 'ts'", path=path, column="ts",
                            rule="missing_column")
        ts = np.ascontiguousarray(cols["ts"], dtype=np.int64)
        if ts.ndim != 1:
            raise DataError(f"column 'ts' must be one-dimensional, got shape {ts.shape}",
                            path=path, column="ts", rule="bad_shape")
        bad = _first_true(ts == _NAT)
        if bad is not None:
            raise _cell_error(bad, path=path, csv=False, row0=0, column="ts",
                              rule="bad_timestamp", message="missing timestamp")
        values: dict[str, np.ndarray | None] = {}
        for role in PRICE_COLUMNS + ("volume",):
            v = cols.get(role)
            if v is None:
                if role == "volume":
                    values[role] = None
                    continue
                raise DataError(f"missing column {role!r}", path=path, column=role,
                                rule="missing_column")
            v = np.ascontiguousarray(v, dtype=np.float64)
            if v.shape != ts.shape:
                raise DataError(f"column {role!r} has shape {v.shape}, 'ts' has {ts.shape}",
                                path=path, column=role, rule="bad_shape")
            values[role] = v
        names = {role: role for role in ("ts",) + tuple(values)}
        parts.append(_Part(path=path, csv=False, row0=0, names=names, ts=ts, aware=False,
                           asset_values=None, asset_name=name, values=values, extra={}))
    if sum(len(p) for p in parts) == 0:
        raise DataError("no data rows", path=source, rule="no_rows")
    return _assemble(parts, source=source, calendar=calendar, start_ns=None, end_ns=None,
                     batch_rows=None)


def _join_date_time(date_values, time_values) -> pd.Series:
    """Backtrader-style files split the timestamp into Date and Time columns."""
    return (pd.Series(np.asarray(date_values)).astype(str) + " "
            + pd.Series(np.asarray(time_values)).astype(str))


# --------------------------------------------------------------------------------------------
# readers


def _stem(path: str | os.PathLike) -> str:
    name = pathlib.Path(path).name
    for suffix in _CSV_SUFFIXES + _PARQUET_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return pathlib.Path(name).stem


def _read_csv(path: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", path=path, rule="no_rows") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"cannot parse the CSV: {exc}", path=path, rule="bad_csv") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not a text file: {exc}", path=path, rule="bad_csv") from None
    if not isinstance(frame.index, pd.RangeIndex):
        raise DataError(
            f"data rows have more fields than the header ({frame.shape[1]} names: "
            f"{_describe(frame.columns)})",
            path=path, row=0, line=2, rule="bad_csv",
        )
    return frame


def _has_asset_column(frame: pd.DataFrame) -> bool:
    names = {str(c).strip().lower() for c in frame.columns}
    names |= {str(n).strip().lower() for n in frame.index.names if n is not None}
    return any(a in names for a in ASSET_ALIASES) or isinstance(frame.index, pd.MultiIndex)


def _file_part(path: str, frame: pd.DataFrame, csv: bool) -> _Part:
    # a file without an asset column holds one asset, named after the file
    asset_name = None if _has_asset_column(frame) else _stem(path)
    return _read_part(frame, path=path, csv=csv, asset_name=asset_name)


def _directory_parts(root: str) -> list[_Part]:
    folder = pathlib.Path(root)
    if (folder / "daily").is_dir():
        folder = folder / "daily"
    files = sorted(
        (p for p in folder.iterdir()
         if p.is_file() and p.name.lower().endswith(_DIR_SUFFIXES)),
        key=lambda p: p.name,
    )
    if not files:
        raise DataError("no <SYMBOL>.csv files in this directory", path=str(folder),
                        rule="no_files")
    parts = []
    for file in files:
        path = str(file)
        parts.append(_read_part(_read_csv(path), path=path, csv=True, asset_name=_stem(path)))
    return parts


def _timestamp_ns(value: Any, param: str, calendar: str | None = None) -> int | None:
    """A ``start``/``end`` bound as ns UTC. A bare date (naive midnight) means that whole
    day in the calendar's time zone: ``start`` its beginning, ``end`` its last instant,
    so ``end="2014-06-30"`` keeps that day's bar."""
    if value is None:
        return None
    expected = "a timestamp (str, datetime or pandas.Timestamp) between 1677 and 2262"
    try:
        stamp = pd.Timestamp(value)
        if stamp is pd.NaT:
            raise ConfigError(param, value, expected)
        if stamp.tz is None and stamp == stamp.normalize():
            tz = "UTC"
            if calendar is not None:
                from ml4t.metrics import _calendar_tz
                tz = _calendar_tz(calendar) or "UTC"
            day = stamp.tz_localize(tz)
            if param == "end":
                day = (stamp + pd.Timedelta(days=1)).tz_localize(tz) - pd.Timedelta(1, "ns")
            return int(day.tz_convert("UTC").as_unit("ns").value)
        stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
        return int(stamp.as_unit("ns").value)
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(param, value, expected, hint=str(exc)) from None


def load_bars(
    data: Any,
    *,
    calendar: str | None = "XNYS",
    start: Any = None,
    end: Any = None,
    batch_rows: int | None = None,
) -> BarData:
    """Load bars from a DataFrame, a dict of frames, a CSV/Parquet file or a csvdir folder.

    Parameters
    ----------
    data : DataFrame, dict, str or pathlib.Path
        One of:

        * a long DataFrame with a time column (``ts``, or ``timestamp``, ``datetime``,
          ``date``; or a DatetimeIndex, or a MultiIndex with time and asset levels), an asset
          column (``asset``, ``symbol`` or ``ticker``), ``open``, ``high``, ``low``, ``close``,
          optionally ``volume`` and the corporate-action columns ``dividend`` and ``split``;
        * a dict ``{asset_name: DataFrame}`` of per-asset frames indexed by time (or with a
          time column); any asset column inside a frame is ignored;
        * a path to a long CSV (``.csv``, ``.csv.gz``, ``.txt``) or Parquet (``.parquet``,
          ``.pq``) file; a file without an asset column holds one asset named after the file
          (``data/ORCL.csv`` -> ``"ORCL"``);
        * a path to a directory of ``<SYMBOL>.csv`` files, or to a Zipline csvdir root that
          holds ``daily/<SYMBOL>.csv`` (``date,open,high,low,close,volume,dividend,split``).

        Column names match case-insensitively (Yahoo's ``Date, Open, ...`` work). Other columns
        are ignored. A ``Date`` column next to a ``Time`` column is read as one timestamp.
    calendar : str or None, default "XNYS"
        Exchange calendar (an ``exchange_calendars`` name). Used to stamp date-only data at the
        session close and to compute each row's session date.
    start, end : optional
        Keep only rows with ``start <= ts <= end`` (after stamping). Anything
        ``pandas.Timestamp`` accepts. A bare date means that whole day in the calendar's
        time zone (UTC without a calendar): ``end="2014-12-31"`` keeps that day's 21:00 UTC
        close. Other naive values are read as UTC.
    batch_rows : int, optional
        Stream a Parquet file in chunks of this many rows instead of reading it whole; for
        other inputs, split `BarData.batches` the same way. A batch never splits a timestamp.

    Returns
    -------
    BarData
        Rows sorted by (ts, asset).

    Raises
    ------
    TypeError
        `data` is not one of the accepted types.
    FileNotFoundError
        The path does not exist.
    ConfigError
        Unknown calendar, bad `batch_rows`, unreadable `start`/`end`, or `start` after `end`.
    DataError
        A row breaks a rule (see the module docstring for the rule names); names the file, the
        row (0-based, in input order), the CSV line (1-based, header = line 1; computed as
        row + 2, i.e. assuming one line per record and no blank lines), the column (spelled
        as in the input) and the rule.

    Notes
    -----
    Time stamping:

    * tz-aware timestamps are converted to UTC;
    * naive timestamps that are all exactly midnight are dates: with a calendar, each becomes
      that session's close in UTC (an early close gives the early close time), and a date that
      is not a session raises ``not_a_session``; with ``calendar=None`` they stay at midnight
      UTC;
    * naive timestamps with a time of day are read as UTC (localize them first if they are
      exchange-local wall-clock times);
    * with a calendar, every timestamp that is not a stamped date must fall inside a session,
      ``open <= ts <= close`` (early closes included): a row on a day that is not a session
      raises ``not_a_session``, one before the open or after the close ``outside_session``.
      Each row's session is the calendar session that contains it. Use ``calendar=None`` for
      round-the-clock or extended-hours data the calendar does not describe.

    A missing ``volume`` column is filled with NaN, so volume-based models see NaN. When a
    dict or directory mixes files with and without ``dividend``/``split``, the files without
    get 0.0 dividends and 1.0 splits. Streamed Parquet does not carry ``dividend``/``split``
    (`BarData.extra` is empty), checks order across the whole file instead of sorting (rows
    must already be sorted by (ts, asset), else ``unsorted``), reports errors only when the
    offending chunk is read by `BarData.batches`, and stops reading past `end`.

    Examples
    --------
    >>> from ml4t.datasets import data_dir
    >>> bars = load_bars(data_dir())
    >>> bars.assets
    ('AAPL', 'IBM', 'KO', 'MSFT')
    """
    _check_calendar(calendar)
    if batch_rows is not None and (
        isinstance(batch_rows, bool) or not isinstance(batch_rows, (int, np.integer))
        or batch_rows < 1
    ):
        raise ConfigError("batch_rows", batch_rows, "a positive int, or None")
    batch_rows = None if batch_rows is None else int(batch_rows)
    start_ns = _timestamp_ns(start, "start", calendar)
    end_ns = _timestamp_ns(end, "end", calendar)
    if start_ns is not None and end_ns is not None and start_ns > end_ns:
        raise ConfigError("end", end, f"a timestamp not before start ({start!r})")

    if isinstance(data, pd.DataFrame):
        source = "<DataFrame>"
        parts = [_read_part(data, path=source)]
    elif isinstance(data, Mapping):
        source = "<dict>"
        if not data:
            raise DataError("the dict holds no assets", path=source, rule="no_rows")
        parts = []
        for name in sorted(data, key=str):
            frame = data[name]
            if not isinstance(name, str):
                raise TypeError(f"load_bars() dict keys must be asset names (str), "
                                f"got {type(name).__name__} {name!r}")
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"load_bars() dict value for {name!r} must be a DataFrame, "
                                f"got {type(frame).__name__}")
            parts.append(_read_part(frame, path=f"{source}[{name!r}]", asset_name=name))
    elif isinstance(data, (str, os.PathLike)):
        source = os.fspath(data)
        if not os.path.exists(source):
            raise FileNotFoundError(f"load_bars(): no such file or directory: {source!r}")
        lower = source.lower()
        if os.path.isdir(source):
            parts = _directory_parts(source)
        elif lower.endswith(_PARQUET_SUFFIXES):
            if batch_rows is not None:
                stream = _ParquetStream(source, calendar=calendar, start_ns=start_ns,
                                        end_ns=end_ns, batch_rows=batch_rows)
                return BarData(
                    assets=stream.assets, source=source, calendar=calendar, extra={},
                    n_rows=stream.n_rows if start_ns is None and end_ns is None else None,
                    batch_rows=batch_rows, stream=stream,
                )
            import pyarrow.parquet as pq

            frame = pq.read_table(source).to_pandas(date_as_object=False)
            parts = [_file_part(source, frame, csv=False)]
        elif lower.endswith(_CSV_SUFFIXES):
            parts = [_file_part(source, _read_csv(source), csv=True)]
        else:
            raise ConfigError("data", source, "a path ending in .csv, .csv.gz, .txt, "
                              ".parquet or .pq, or a directory")
    else:
        raise TypeError(
            f"load_bars() cannot read data of type {type(data).__name__}; expected a pandas "
            "DataFrame, a dict of DataFrames, or a path to a CSV/Parquet file or directory"
        )
    if sum(len(p) for p in parts) == 0:
        raise DataError("no data rows", path=source, rule="no_rows")
    return _assemble(parts, source=source, calendar=calendar, start_ns=start_ns,
                     end_ns=end_ns, batch_rows=batch_rows)
