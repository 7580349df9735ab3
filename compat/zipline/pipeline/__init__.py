"""``ml4t.compat.zipline.pipeline``: Zipline's Pipeline API for daily cross-sections.

A ``Pipeline`` names terms (factors and filters) computed for every asset each session.
``attach_pipeline(pipe, name)`` in ``initialize`` and ``pipeline_output(name)`` in
``before_trading_start``, ``handle_data`` or a scheduled function return a DataFrame: one
row per asset alive that session (listed before it and not past its last bar) and passing
the ``screen``, one column per term, indexed by ``Equity`` in sid order.

As in Zipline, session D's values are computed from the bars up to the session before D,
adjusted for the splits and dividends effective up to D (not rounded: ``data.history``
rounds, pipelines do not). ``CustomFactor.compute(today, assets, out, *inputs)`` gets
``inputs`` as ``(window_length, n_assets)`` arrays of the assets passing its ``mask``. A
term given as the input of a windowed ``CustomFactor`` contributes its value on each of
the window's sessions, as computed on that session; only window-safe terms may be (
``Returns``, ranks, z-scores, filters, a ``CustomFactor`` declaring ``window_safe =
True``), others raise ``NonWindowSafeInput`` as in Zipline.

User datasets (``DataSet`` subclasses with ``Column`` attributes) get their values from
``run_algorithm(custom_loader={column: DataFrameLoader(column, frame)})``; a loader's row
labelled D is used on session D.

Supported: ``Pipeline`` (``columns``, ``screen``, ``add``, ``remove``, ``set_screen``,
``domain`` US_EQUITIES/GENERIC), ``CustomFactor`` (``params`` reach ``compute`` as
keywords; ``outputs`` for several), ``CustomFilter``, ``USEquityPricing``/``EquityPricing``
columns and their ``.latest``, custom datasets, the built-in factors of ``.factors``,
``StaticAssets``, ``StaticSids``, factor arithmetic and comparisons, ``rank``, ``top``,
``bottom``, ``zscore``, ``demean``, ``percentile_between``, ``isnan``/``notnan``/
``isfinite``, filters combined with ``&``, ``|``, ``~``, integer classifiers
(``.classifiers``: ``quantiles``, ``CustomClassifier``, ``groupby=``). Text classifiers
are not supported.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ml4t.compat.zipline.errors import UnsupportedFeature

__all__ = ["Pipeline", "CustomFactor", "CustomFilter", "Factor", "Filter", "Term"]

NotSpecified = None


def _unsupported(what: str):
    raise UnsupportedFeature(what=what, why="the shim's Pipeline covers factors and filters "
                                             "(see ml4t.compat.zipline.pipeline)")


def _lifetimes(store):
    """Per sid, the session rows of its start and end dates (an asset is listed on the
    sessions after its start, up to its end), computed once per bundle."""
    life = getattr(store, "_pipeline_lifetimes", None)
    if life is None:
        sessions = store.sessions
        n = len(store.assets)
        first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        for a in store.assets:
            if a.start_date is not None:
                first[a.sid] = sessions.searchsorted(
                    pd.Timestamp(a.start_date).tz_localize(None), "left")
            if a.end_date is not None:
                last[a.sid] = sessions.searchsorted(
                    pd.Timestamp(a.end_date).tz_localize(None), "right") - 1
        life = store._pipeline_lifetimes = (first, last)
    return life


BLOCK = 64      # sessions a term able to (``_block``) computes at once


class _Engine:
    """Computes pipelines over one bundle for one run: the custom loaders, and the past
    values of terms used as windowed inputs (each term computed once per session).

    Terms with a ``_block(engine, lo, hi)`` method (arithmetic, comparisons, ranks,
    z-scores, ``Returns``, ``AverageDollarVolume``, ``AnnualizedVolatility``) compute sessions ``lo .. hi - 1`` in one go, ``BLOCK`` sessions
    ahead of the one asked for (but not past ``end``), each row holding the same values
    as a session computed alone; the others (``CustomFactor.compute``) run session by
    session. Zipline also computes its pipelines over chunks of sessions."""

    def __init__(self, store, loaders=None, get_loader=None, end=None):
        self.store = store
        self.loaders = dict(loaders or {})
        self.get_loader = get_loader              # column -> loader, asked when not above
        self.first, self.last = _lifetimes(store)
        self.n = len(store.assets)
        self.end = len(store.sessions) if end is None else min(end, len(store.sessions))
        self._past: dict = {}       # id(term) -> its past values and windows (term_window)
        self._aligned: dict = {}    # id(column) -> (column, (sessions x sids) array)
        self._blocks: dict = {}     # id(term) -> (term, lo, hi, rows or None: no _block)
        self._days: dict = {}       # session row -> its _Day (the sessions of the blocks)
        self._sessions_utc = None
        self._today: dict = {}      # session row -> its UTC midnight Timestamp
        self._asset_index = None    # every asset of the bundle, an object Index

    def alive(self, i: int) -> np.ndarray:
        return (self.first < i) & (i <= self.last)

    def day(self, i: int) -> "_Day":
        """Session ``i``'s ``_Day``, kept while blocks may still ask it for values."""
        d = self._days.get(i)
        if d is None:
            d = self._days[i] = _Day(self, i)
        return d

    # ----------------------------------------------------------------- blocks
    def block_row(self, term, i: int):
        """``term`` on session ``i`` from its block (computed from ``i`` on if no block
        holds ``i``); None for a term computed session by session."""
        hit = self._blocks.get(id(term))
        if hit is not None and hit[0] is term:
            if hit[3] is None:
                return None
            if hit[1] <= i < hit[2]:
                return hit[3][i - hit[1]]
        elif getattr(term, "_block", None) is None:
            self._blocks[id(term)] = (term, 0, 0, None)
            return None
        hi = max(min(i + BLOCK, self.end), i + 1)
        rows = self._block_of(term, i, hi)
        return None if rows is None else rows[0]

    def _block_of(self, term, lo: int, hi: int):
        hit = self._blocks.get(id(term))
        if hit is not None and hit[0] is term:
            if hit[3] is None:
                return None
            if hit[1] <= lo and hi <= hit[2]:
                return hit[3][lo - hit[1]:hi - hit[1]]
        f = getattr(term, "_block", None)
        rows = f(self, lo, hi) if f is not None else None
        self._blocks[id(term)] = (term, lo, hi, rows)
        return rows

    def rows(self, term, lo: int, hi: int) -> np.ndarray:
        """``term`` on sessions ``lo .. hi - 1``, one row each (read only)."""
        out = self._block_of(term, lo, hi)
        if out is None:
            out = np.stack([self.day(s).value(term) for s in range(lo, hi)])
        return out

    def mask_rows(self, mask, lo: int, hi: int) -> np.ndarray:
        """``_mask_of`` for sessions ``lo .. hi - 1``: alive and passing ``mask``."""
        s = np.arange(lo, hi)[:, None]
        base = (self.first[None, :] < s) & (s <= self.last[None, :])
        if mask is not None:
            base &= self.rows(mask, lo, hi).astype(bool)
        return base

    def adjusted_between(self, lo: int, hi: int) -> bool:
        """Does a split or dividend take effect on a session row in ``lo .. hi``?"""
        rows = getattr(self.store, "_pipeline_adjusted_rows", None)
        if rows is None:
            rows = np.unique(np.fromiter(
                (r for adj in self.store.adjustments.values() for r, _, _ in adj),
                dtype=np.int64))
            self.store._pipeline_adjusted_rows = rows
        k = int(np.searchsorted(rows, lo))
        return k < len(rows) and rows[k] <= hi

    def price_rows(self, field: str, length: int, k: int, lo: int, hi: int) -> np.ndarray:
        """``_Day.window_row(field, length, k)`` for sessions ``lo .. hi - 1`` (the same
        arithmetic, element by element)."""
        s = self.store
        base = s.volume if field == "volume" else getattr(s, field)
        days = np.arange(lo, hi)
        r = days - length + k % length
        out = np.full((hi - lo, base.shape[1]), np.nan)
        ok = r >= 0
        if ok.any():
            cum = _cumulative_factors(s)[1 if field == "volume" else 0]
            rr = r[ok]
            if cum is None:
                out[ok] = base[rr]
            else:
                part = np.divide(cum[days[ok]], cum[rr])
                part *= base[rr]
                out[ok] = part
        return out

    def session_utc(self, i: int) -> pd.Timestamp:
        ts = self._today.get(i)
        if ts is None:
            if self._sessions_utc is None:
                sessions = pd.DatetimeIndex(self.store.sessions)
                self._sessions_utc = (sessions.tz_localize("UTC") if sessions.tz is None
                                      else sessions.tz_convert("UTC"))
            # every session's Timestamp at once (one each: indexing makes ~20 us each)
            self._today = dict(enumerate(self._sessions_utc))
            ts = self._today[i]
        return ts

    def run(self, pipe, i: int) -> pd.DataFrame:
        """The output of ``pipe`` on session row ``i``."""
        if len(self._days) > 4 * BLOCK:                  # the days behind are done
            for s in [s for s in self._days if s < i]:
                del self._days[s]
        day = self.day(i)
        keep = day.alive.copy()
        if pipe.screen is not None:
            keep &= day.value(pipe.screen).astype(bool)
        sids = np.flatnonzero(keep)
        data = {name: day.value(term)[sids] for name, term in pipe.columns.items()}
        if self._asset_index is None:
            objs = np.empty(len(self.store.assets), dtype=object)
            for k, a in enumerate(self.store.assets):
                objs[k] = a
            self._asset_index = pd.Index(objs, dtype=object)
        # the columns are fresh arrays (taken by ``sids``): the frame may own them
        return _frame(data, self._asset_index[sids])

    def term_window(self, term, day, length: int) -> np.ndarray:
        """``term``'s values on the ``length`` sessions ending today (each as computed on
        its own session), one row per session; missing rows before the bundle's start."""
        entry = self._past.get(id(term))
        if entry is None or entry[0] is not term:
            # term, {session row: values}, longest window asked,
            # {length: (row, buffer, end of the window in the buffer)}
            entry = self._past[id(term)] = [term, {}, length, {}]
        entry[2] = max(entry[2], length)
        values, last = entry[1], entry[3]
        i = day.i

        def row(s):
            v = values.get(s)
            if v is None:
                if s < 0:
                    v = _missing_row(term, self.n)
                elif s == i:
                    v = day.value(term)
                else:
                    v = _Day(self, s).value(term)
                values[s] = v
            return v

        # the window is sessions [pos - length, pos) of a buffer twice its length, held
        # asset by session (a mask's column selection then copies runs of sessions; the
        # window handed out is its (session, asset) view): each session writes one
        # column, and when the buffer is full its last length - 1 move to the front (one
        # copy every length sessions instead of a new window every session); callers copy
        # what they take from it
        prev = last.get(length)
        if prev is not None and prev[0] == i:           # asked again today
            return prev[1][:, prev[2] - length:prev[2]].T
        new = row(i) if prev is not None and prev[0] == i - 1 else None
        if new is not None and new.dtype == prev[1].dtype and new.shape == prev[1].shape[:1]:
            buf, pos = prev[1], prev[2]                 # yesterday's window, moved on a row
            if pos == buf.shape[1]:
                buf[:, :length - 1] = buf[:, pos - length + 1:pos]
                pos = length - 1
            buf[:, pos] = new
            pos += 1
        else:
            rows = np.stack([row(s) for s in range(i - length + 1, i + 1)])
            buf = np.empty(rows.shape[1:] + (2 * length,), dtype=rows.dtype)
            buf[:, :length] = rows.T
            pos = length
        last[length] = (i, buf, pos)
        if len(values) > 2 * entry[2] + 16:
            for s in [s for s in values if s <= i - entry[2]]:
                del values[s]
        return buf[:, pos - length:pos].T

    def column_window(self, column, i: int, length: int) -> np.ndarray:
        """A custom dataset column over the ``length`` sessions ending today (as its loader
        gives them: a value is used from the session it is labelled with), missing where
        the asset did not exist that session."""
        hit = self._aligned.get(id(column))
        if hit is None or hit[0] is not column:
            loader = self.loaders.get(column)
            if loader is None and self.get_loader is not None:
                loader = self.get_loader(column)
                from ml4t.compat.zipline.pipeline.loaders.frame import DataFrameLoader
                if not isinstance(loader, DataFrameLoader):
                    from ml4t.compat.zipline.errors import UnsupportedFeature
                    raise UnsupportedFeature(
                        what=f"get_loader({column!r}) = {type(loader).__name__}",
                        why="the shim reads custom columns through DataFrameLoader")
            if loader is None:
                raise ValueError(f"No PipelineLoader registered for column {column}.")
            rows = np.arange(len(self.store.sessions))[:, None]
            exists = (self.first[None, :] < rows) & (rows <= self.last[None, :])
            hit = self._aligned[id(column)] = (column, loader._aligned(column, self.store,
                                                                      exists))
        arr = hit[1]
        lo = i - length + 1
        if lo >= 0:
            return arr[lo:i + 1]
        out = np.full((length, self.n), column.missing_value, dtype=arr.dtype)
        out[-lo:] = arr[:i + 1]
        return out


_COLUMNS: dict = {}     # tuple of column names -> their pandas Index


def _frame(data: dict, index) -> pd.DataFrame:
    """``pd.DataFrame(data, index=index, copy=False)`` for a dict of fresh 1-d NumPy
    arrays of ``len(index)``: through ``DataFrame._from_arrays`` (a third of the time:
    no checks left to make) where this pandas has it, with a cached column Index."""
    names = tuple(data)
    cols = _COLUMNS.get(names)
    if cols is None:
        cols = _COLUMNS[names] = pd.Index(list(names))
    make = getattr(pd.DataFrame, "_from_arrays", None)
    if make is not None:
        try:
            # (each frame its own Index object: ``out.columns.name = ...`` on one output
            # must not rename the others)
            return make(list(data.values()), columns=cols.copy(), index=index,
                        verify_integrity=False)
        except TypeError:           # another signature in some pandas: the public way
            pass
    return pd.DataFrame(data, index=index, copy=False)


def _missing_row(term, n: int) -> np.ndarray:
    if isinstance(term, _Slice):
        n = 1
    return np.zeros(n, dtype=np.bool_) if isinstance(term, Filter) else np.full(n, np.nan)


def _cumulative_factors(store):
    """(price, volume): per session row j and sid, the product of the adjustment factors
    (dividends and splits) effective on or before j, computed once per bundle; (None,
    None) for a bundle without any."""
    cum = getattr(store, "_pipeline_cumulative", None)
    if cum is None and not any(store.adjustments.values()):
        cum = store._pipeline_cumulative = (None, None)
    if cum is None:
        n_sessions, n_assets = store.close.shape
        price = np.ones((n_sessions + 1, n_assets))
        volume = np.ones((n_sessions + 1, n_assets))
        for sid, adj in store.adjustments.items():
            for r, pf, vf in adj:
                price[r, sid] *= pf
                volume[r, sid] *= vf
        cum = store._pipeline_cumulative = (np.cumprod(price, axis=0),
                                            np.cumprod(volume, axis=0))
    return cum


class _Day:
    """What the terms see on one session: the bundle, the session, the alive assets."""

    def __init__(self, engine: _Engine, i: int):
        self.engine = engine
        self.store = engine.store
        self.i = i
        self.alive = engine.alive(i)
        self.cache: dict = {}

    @property
    def today(self) -> pd.Timestamp:
        """The session (midnight UTC), as ``CustomFactor.compute`` receives it."""
        return self.engine.session_utc(self.i)

    def window(self, field: str, length: int) -> np.ndarray:
        """``length`` sessions before today of ``field`` for every asset, adjusted for the
        splits and dividends effective up to today; NaN before the bundle's first session."""
        key = (field, length)
        out = self.cache.get(key)
        if out is not None:
            return out
        s = self.store
        i = self.i
        start = i - length
        base = s.volume if field == "volume" else getattr(s, field)
        out = np.empty((length, base.shape[1]))
        lo = max(start, 0)
        out[:lo - start] = np.nan                 # the rows before the bundle's start
        if i > lo:
            # row k seen from session i carries the factors of the adjustments effective
            # after k and up to i: the ratio of the running products at i and at k
            cum = _cumulative_factors(s)[1 if field == "volume" else 0]
            rows = out[lo - start:]
            if cum is None or not self.engine.adjusted_between(lo + 1, i):
                # no split or dividend takes effect after these rows: every ratio below
                # is exactly 1.0, and the rows are the stored values
                rows[:] = base[lo:i]
            else:
                np.divide(cum[i], cum[lo:i], out=rows)
                rows *= base[lo:i]
        self.cache[key] = out
        return out

    def window_row(self, field: str, length: int, k: int) -> np.ndarray:
        """Row ``k`` of ``window(field, length)`` (0 the oldest, -1 the newest), computed
        alone with the same arithmetic when the whole window is not at hand."""
        whole = self.cache.get((field, length))
        if whole is not None:
            return whole[k]
        s = self.store
        i = self.i
        r = i - length + k % length
        base = s.volume if field == "volume" else getattr(s, field)
        if r < 0:
            return np.full(base.shape[1], np.nan)
        cum = _cumulative_factors(s)[1 if field == "volume" else 0]
        if cum is None or not self.engine.adjusted_between(r + 1, i):
            return base[r].astype(np.float64)
        row = np.divide(cum[i], cum[r])
        row *= base[r]
        return row

    def column(self, column, length: int) -> np.ndarray:
        """The input window of a dataset column: bundle prices end the session before
        today; a custom loader's values end today."""
        from ml4t.compat.zipline.pipeline.data import EquityPricing
        if column.dataset is EquityPricing:
            return self.window(column.name, length)
        key = (id(column), length)
        out = self.cache.get(key)
        if out is None:
            out = self.cache[key] = self.engine.column_window(column, self.i, length)
        return out

    def value(self, term) -> np.ndarray:
        """``term`` for every asset today (each term computed once a day)."""
        hit = self.cache.get(id(term))
        if hit is not None and hit[0] is term:
            return hit[1]
        out = self.engine.block_row(term, self.i)
        if out is None:
            out = term._compute(self)
        self.cache[id(term)] = (term, out)
        return out


class Term:
    """Base of pipeline terms (a value per asset per session)."""

    window_length = 0
    dtype = np.float64
    window_safe = False     # may this term's past values feed a windowed term?

    def _compute(self, day: _Day) -> np.ndarray:
        raise NotImplementedError


def _as_term(x, day: _Day):
    if isinstance(x, Term):
        return day.value(x)
    return np.full(len(day.alive), float(x))


class Factor(Term):
    """A numerical term. Arithmetic with factors and numbers gives factors; comparisons
    give filters."""

    # --------------------------------------------------------------- arithmetic
    def _op(self, other, f, reverse=False):
        return _Apply((other, self) if reverse else (self, other), f, Factor)

    def __add__(self, o): return self._op(o, np.add)
    def __radd__(self, o): return self._op(o, np.add, True)
    def __sub__(self, o): return self._op(o, np.subtract)
    def __rsub__(self, o): return self._op(o, np.subtract, True)
    def __mul__(self, o): return self._op(o, np.multiply)
    def __rmul__(self, o): return self._op(o, np.multiply, True)
    def __truediv__(self, o): return self._op(o, np.divide)
    def __rtruediv__(self, o): return self._op(o, np.divide, True)
    def __pow__(self, o): return self._op(o, np.power)
    def __rpow__(self, o): return self._op(o, np.power, True)
    def __neg__(self): return _Apply((self,), np.negative, Factor)
    def __abs__(self): return _Apply((self,), np.abs, Factor)

    def _cmp(self, other, f):
        return _Apply((self, other), f, Filter)

    def __lt__(self, o): return self._cmp(o, np.less)
    def __le__(self, o): return self._cmp(o, np.less_equal)
    def __gt__(self, o): return self._cmp(o, np.greater)
    def __ge__(self, o): return self._cmp(o, np.greater_equal)
    def __eq__(self, o): return self._cmp(o, np.equal)
    def __ne__(self, o): return self._cmp(o, np.not_equal)
    __hash__ = object.__hash__

    # ------------------------------------------------------------ cross-section
    def rank(self, method="ordinal", ascending=True, mask=NotSpecified, groupby=NotSpecified):
        """Ordinal ranks (1 = smallest, or largest with ``ascending=False``) among the
        assets passing ``mask``; with ``groupby`` (a classifier) within each label, where
        a group holding a NaN is all NaN (as ``scipy.stats.rankdata`` gives it)."""
        if method != "ordinal":
            _unsupported(f"Factor.rank(method={method!r})")
        if groupby is not None:
            _check_classifier(groupby)
            return _Normalize(self, mask, _ordinal_rank if ascending else _ordinal_rank_desc,
                              True, groupby)
        return _Rank(self, ascending, mask)

    def top(self, N, mask=NotSpecified, groupby=NotSpecified):
        if N == 1:
            if groupby is not None:
                _check_classifier(groupby)
            return _Maximum(self, mask, groupby)
        return self.rank(ascending=False, mask=mask, groupby=groupby) <= N

    def bottom(self, N, mask=NotSpecified, groupby=NotSpecified):
        return self.rank(ascending=True, mask=mask, groupby=groupby) <= N

    def zscore(self, mask=NotSpecified, groupby=NotSpecified):
        return _Normalize(self, mask, _zscore, True, _check_classifier(groupby))

    def demean(self, mask=NotSpecified, groupby=NotSpecified):
        return _Normalize(self, mask, _demean, self.window_safe, _check_classifier(groupby))

    def quantiles(self, bins, mask=NotSpecified):
        """A classifier labelling each asset with its quantile (0 .. bins - 1) among the
        assets passing ``mask`` (``pandas.qcut``); -1 where the value is missing."""
        if not isinstance(bins, (int, np.integer)) or bins < 1:
            raise ValueError(f"quantiles(bins={bins!r}): bins must be a positive integer")
        from ml4t.compat.zipline.pipeline.classifiers import Quantiles
        return Quantiles(self, int(bins), mask)

    def quartiles(self, mask=NotSpecified):
        return self.quantiles(4, mask)

    def quintiles(self, mask=NotSpecified):
        return self.quantiles(5, mask)

    def deciles(self, mask=NotSpecified):
        return self.quantiles(10, mask)

    def percentile_between(self, min_percentile, max_percentile, mask=NotSpecified):
        return _Percentile(self, min_percentile, max_percentile, mask)

    def isnan(self):
        return _Apply((self,), np.isnan, Filter)

    def notnan(self):
        return ~self.isnan()

    def isfinite(self):
        return _Apply((self,), np.isfinite, Filter)

    def __getitem__(self, asset):
        """This factor's value for one asset, as an input of other terms (a column of
        one)."""
        from ml4t.compat.zipline.assets import Asset
        if not isinstance(asset, Asset):
            raise TypeError(f"{type(self).__name__}[...] takes an Asset, got {asset!r}")
        return _Slice(self, asset)


class _Slice(Factor):
    """``factor[asset]``: one asset's value each session (an input, not a column)."""

    def __init__(self, term, asset):
        self._term, self.asset = term, asset
        self.window_safe = term.window_safe

    def _compute(self, day):
        return np.array([day.value(self._term)[self.asset.sid]], dtype=np.float64)

    def __repr__(self):
        return f"{self._term!r}[{self.asset!r}]"


class Filter(Term):
    """A boolean term; combine with ``&``, ``|`` and ``~``."""

    dtype = np.bool_
    window_safe = True      # a yes/no answer means the same seen from any later day

    def __and__(self, o): return _Apply((self, o), np.logical_and, Filter)
    def __rand__(self, o): return _Apply((o, self), np.logical_and, Filter)
    def __or__(self, o): return _Apply((self, o), np.logical_or, Filter)
    def __ror__(self, o): return _Apply((o, self), np.logical_or, Filter)
    def __invert__(self): return _Apply((self,), np.logical_not, Filter)


class _Expression:
    """An elementwise function of terms and numbers."""

    def __init__(self, args, func):
        self._args, self._func = args, func

    def _compute(self, day):
        with np.errstate(all="ignore"):
            out = self._func(*[_as_term(a, day) for a in self._args])
        return out.astype(bool) if isinstance(self, Filter) else out.astype(np.float64)

    def _block(self, engine, lo, hi):
        shape = (hi - lo, engine.n)
        args = [engine.rows(a, lo, hi) if isinstance(a, Term) else np.full(shape, float(a))
                for a in self._args]
        with np.errstate(all="ignore"):
            out = self._func(*args)
        return out.astype(bool) if isinstance(self, Filter) else out.astype(np.float64)


class _FactorExpression(_Expression, Factor):
    @property
    def window_safe(self):
        return all(a.window_safe for a in self._args if isinstance(a, Term))


class _FilterExpression(_Expression, Filter):
    pass


def _Apply(args, func, kind):
    return (_FilterExpression if kind is Filter else _FactorExpression)(args, func)


def _bound_column_type():
    global _BOUND_COLUMN
    if _BOUND_COLUMN is None:            # (data imports this module: resolved on first use)
        from ml4t.compat.zipline.pipeline.data import BoundColumn
        _BOUND_COLUMN = BoundColumn
    return _BOUND_COLUMN


_BOUND_COLUMN = None


def _mask_of(mask, day):
    base = day.alive.copy()
    if mask is not None:
        base &= day.value(mask).astype(bool)
    return base


class _Rank(Factor):
    window_safe = True

    def __init__(self, factor, ascending, mask):
        self._factor, self._ascending, self._mask = factor, ascending, mask

    def _compute(self, day):
        x = day.value(self._factor).astype(np.float64)       # (a fresh array)
        m = _mask_of(self._mask, day)
        x[~m] = np.nan
        if not self._ascending:
            x = -x
        nan = np.isnan(x)
        keyed = np.where(nan, np.inf, x)
        order = np.argsort(keyed, kind="mergesort")
        ranks = np.empty(len(x))
        ranks[order] = np.arange(1, len(x) + 1, dtype=np.float64)
        ranks[nan] = np.nan
        return ranks

    def _block(self, engine, lo, hi):
        x = engine.rows(self._factor, lo, hi).astype(np.float64)
        x[~engine.mask_rows(self._mask, lo, hi)] = np.nan
        if not self._ascending:
            np.negative(x, out=x)
        nan = np.isnan(x)
        x[nan] = np.inf
        order = _stable_argsort_rows(x, nan)
        ranks = np.empty(x.shape)
        np.put_along_axis(ranks, order, np.arange(1, x.shape[1] + 1, dtype=np.float64)[None],
                          axis=1)
        ranks[nan] = np.nan
        return ranks


def _stable_argsort_rows(keys: np.ndarray, left_out: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, axis=1, kind="stable")`` where it matters for ranks: equal keys
    keep the asset order, except among the ``left_out`` assets (their ranks are NaN). A
    plain (unstable, several times faster) sort serves the rows where no two equal keys
    meet other than two left-out ones; the other rows get the stable sort."""
    order = np.argsort(keys, axis=1)
    ranked = np.take_along_axis(keys, order, axis=1)
    out = np.take_along_axis(left_out, order, axis=1)
    tied = ((ranked[:, 1:] == ranked[:, :-1]) & ~(out[:, 1:] & out[:, :-1])).any(axis=1)
    if tied.any():
        order[tied] = np.argsort(keys[tied], axis=1, kind="stable")
    return order


class _Maximum(Filter):
    """``top(1)`` as Zipline computes it: in each group (of ``groupby``, else all the
    assets passing the mask) the asset whose value, with its 64 bits read as a signed
    integer, is largest (the first such sid on ties; NaN left out). That order is the
    numeric one for positive values, but among negative values it is reversed: when every
    candidate is negative, Zipline's ``top(1)`` picks the most negative."""

    def __init__(self, factor, mask, groupby=None):
        self._factor, self._mask, self._groupby = factor, mask, groupby

    def _compute(self, day):
        x = np.ascontiguousarray(day.value(self._factor), dtype=np.float64)
        keys = x.view(np.int64)
        out = np.zeros(len(x), dtype=np.bool_)
        for idx in _groups(day, self._mask, self._groupby, ~np.isnan(x)):
            out[idx[np.argmax(keys[idx])]] = True
        return out


def _groups(day, mask, groupby, keep=None):
    """Index arrays of the assets passing ``mask`` (and ``keep``), one per label of the
    classifier ``groupby`` (missing labels left out), or one for all without it."""
    m = _mask_of(mask, day)
    if keep is not None:
        m &= keep
    if groupby is None:
        idx = np.flatnonzero(m)
        return [idx] if len(idx) else []
    labels = day.value(groupby)
    m &= labels != groupby.missing_value
    idx = np.flatnonzero(m)
    if not len(idx):
        return []
    lab = labels[idx]
    return [idx[lab == v] for v in np.unique(lab)]


def _check_classifier(groupby):
    if groupby is not None:
        from ml4t.compat.zipline.pipeline.classifiers import Classifier
        if not isinstance(groupby, Classifier):
            raise TypeError(f"groupby must be a Classifier, got {type(groupby).__name__}")
    return groupby


def _zscore(x):
    if np.isnan(x).any():
        return (x - np.nanmean(x)) / np.nanstd(x)
    # (x - x.mean()) / x.std() with the ufuncs numpy's mean and std run (the same
    # values, bit for bit, without their Python-level overhead)
    n = x.shape[0]
    dev = x - np.add.reduce(x) / n
    sq = dev * dev
    return dev / np.sqrt(np.add.reduce(sq) / n)


def _demean(x):
    return x - (np.nanmean(x) if np.isnan(x).any() else x.mean())


def _zscore_rows(x):
    """``_zscore`` of each row of a NaN-free C-ordered ``x`` (a row's sums are the same
    pairwise sums as its own, so the same bits)."""
    n = x.shape[1]
    dev = x - (np.add.reduce(x, axis=1) / n)[:, None]
    sq = dev * dev
    return dev / np.sqrt(np.add.reduce(sq, axis=1) / n)[:, None]


def _demean_rows(x):
    return x - (np.add.reduce(x, axis=1) / x.shape[1])[:, None]


_ROWWISE = {_zscore: _zscore_rows, _demean: _demean_rows}


def _ordinal_rank(x):
    """1..n in ascending order, ties in asset order; all NaN if any value is NaN."""
    out = np.empty(len(x))
    if np.isnan(x).any():
        out[:] = np.nan
    else:
        out[np.argsort(x, kind="mergesort")] = np.arange(1, len(x) + 1)
    return out


def _ordinal_rank_desc(x):
    return _ordinal_rank(-x)


class _Normalize(Factor):
    """A function applied to the values of the assets passing the mask, within each
    label of ``groupby`` (all together without it); NaN elsewhere."""

    def __init__(self, factor, mask, func, window_safe, groupby=None):
        self._factor, self._mask, self._func = factor, mask, func
        self._groupby = groupby
        self.window_safe = window_safe

    def _compute(self, day):
        x = day.value(self._factor).astype(np.float64)
        out = np.full(len(x), np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for idx in _groups(day, self._mask, self._groupby):
                out[idx] = self._func(x[idx])
        return out

    def _block(self, engine, lo, hi):
        rowwise = _ROWWISE.get(self._func)
        if rowwise is None or self._groupby is not None:
            return None
        x = engine.rows(self._factor, lo, hi).astype(np.float64)
        m = engine.mask_rows(self._mask, lo, hi)
        out = np.full(x.shape, np.nan)
        counts = m.sum(axis=1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for k in np.unique(counts):
                if k == 0:
                    continue
                # the sessions with k assets in the mask: their values side by side
                sel = np.flatnonzero(counts == k)
                ms = m[sel]
                xs = x[sel][ms].reshape(len(sel), k)
                res = np.empty_like(xs)
                bad = np.isnan(xs).any(axis=1)
                if not bad.all():
                    res[~bad] = rowwise(xs[~bad])
                for r in np.flatnonzero(bad):
                    res[r] = self._func(xs[r])
                part = np.full((len(sel), x.shape[1]), np.nan)
                part[ms] = res.ravel()
                out[sel] = part
        return out


class _Percentile(Filter):
    def __init__(self, factor, lo, hi, mask):
        if not 0.0 <= lo <= hi <= 100.0:
            raise ValueError(f"percentile_between({lo}, {hi}): need 0 <= min <= max <= 100")
        self._factor, self._lo, self._hi, self._mask = factor, lo, hi, mask

    def _compute(self, day):
        x = day.value(self._factor).astype(np.float64)
        m = _mask_of(self._mask, day) & ~np.isnan(x)
        out = np.zeros(len(x), dtype=bool)
        if m.any():
            lo, hi = np.percentile(x[m], [self._lo, self._hi])
            out[m] = (x[m] >= lo) & (x[m] <= hi)
        return out


class CustomFactor(Factor):
    """A factor computed by ``compute(self, today, assets, out, *inputs)``: ``inputs`` are
    ``(window_length, n_assets)`` arrays of the ``inputs`` columns, ``out`` the row to
    fill. Class attributes ``inputs``, ``window_length``, ``params`` and ``mask`` are the
    defaults the constructor's keywords override."""

    inputs = None
    window_length = None
    params = ()
    mask = None
    outputs = None
    window_safe = False

    def __init__(self, inputs=None, window_length=None, mask=None, **kwargs):
        from ml4t.compat.zipline.errors import NonWindowSafeInput, WindowLengthNotSpecified
        from ml4t.compat.zipline.pipeline.data import BoundColumn
        if inputs is not None:
            self.inputs = list(inputs)
        if window_length is not None:
            self.window_length = window_length
        if mask is not None:
            self.mask = mask
        if "window_safe" in kwargs and "window_safe" not in self._param_names():
            self.window_safe = bool(kwargs.pop("window_safe"))
        if self.outputs:
            if isinstance(self.outputs, str) or not all(isinstance(o, str)
                                                        for o in self.outputs):
                raise TypeError(f"{type(self).__name__}.outputs must be a sequence of names")
            self.outputs = tuple(self.outputs)
        names = self._param_names()
        defaults = self.params if isinstance(self.params, dict) else {}
        values = {}
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"{type(self).__name__} got an unexpected keyword {k!r}")
            values[k] = v
        for k in names:
            if k not in values:
                if k not in defaults:
                    raise TypeError(f"{type(self).__name__} needs the parameter {k!r}")
                values[k] = defaults[k]
        self.params = values
        for k, v in values.items():
            setattr(self, k, v)
        if not self.inputs:
            raise TypeError(f"{type(self).__name__} declares no inputs")
        if self.window_length is None:
            raise WindowLengthNotSpecified(termname=type(self).__name__)
        if not isinstance(self.window_length, (int, np.integer)) or self.window_length < 1:
            raise TypeError(f"{type(self).__name__} needs a positive window_length, got "
                            f"{self.window_length!r}")
        self.window_length = int(self.window_length)
        for inp in self.inputs:
            if isinstance(inp, BoundColumn):
                continue
            if not isinstance(inp, Term):
                raise TypeError(f"{type(self).__name__}: input {inp!r} is neither a dataset "
                                "column nor a pipeline term")
            if self.window_length > 1 and not inp.window_safe:
                raise NonWindowSafeInput(parent=_name(self), child=_name(inp))

    @classmethod
    def _param_names(cls) -> tuple:
        p = cls.params
        return tuple(p) if isinstance(p, (tuple, list, dict)) else ()

    def _compute(self, day):
        BoundColumn = _bound_column_type()
        m = _mask_of(self.mask, day)
        cols = np.flatnonzero(m)
        arrays = []
        length = self.window_length
        for inp in self.inputs:
            # compute() may write into its inputs: each is a fresh array (taking ``cols``
            # copies; a slice's single column is copied explicitly)
            if isinstance(inp, BoundColumn):
                arrays.append(day.column(inp, length)[:, cols])
            elif isinstance(inp, _Slice):
                src = day.value(inp)[None] if length == 1 else \
                    day.engine.term_window(inp, day, length)
                arrays.append(src.copy())
            elif length == 1:
                arrays.append(day.value(inp)[None, cols])
            else:
                arrays.append(day.engine.term_window(inp, day, length)[:, cols])
        params = self.params if isinstance(self.params, dict) else {}
        out = self._allocate(len(cols))
        with np.errstate(all="ignore"):
            self.compute(day.today, cols.astype(np.int64), out, *arrays, **params)
        if len(cols) == len(m):
            return out                  # every asset computed: out is the whole row
        full = self._allocate(len(m))
        full[cols] = out
        return full

    def _allocate(self, n: int) -> np.ndarray:
        """The ``out`` row ``compute`` fills: NaN floats (a record array for several
        outputs)."""
        if self.outputs:
            kind = np.dtype([(name, np.float64) for name in self.outputs])
            return np.full(n, np.nan, dtype=kind).view(np.recarray)
        return np.full(n, np.nan)

    def __getattr__(self, name):
        outputs = type(self).__dict__.get("outputs") or self.__dict__.get("outputs") \
            or getattr(type(self), "outputs", None)
        if outputs and name in outputs:
            terms = self.__dict__.setdefault("_output_terms", {})
            if name not in terms:
                terms[name] = _OutputField(self, name)
            return terms[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __iter__(self):
        if not self.outputs:
            raise TypeError(f"{type(self).__name__} has a single output; it cannot be "
                            "unpacked")
        return iter([getattr(self, name) for name in self.outputs])

    def compute(self, today, assets, out, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define compute()")


class _OutputField(Factor):
    """One output of a factor with several (``BollingerBands(...).upper``)."""

    def __init__(self, parent, name):
        self._parent, self._name = parent, name
        self.window_safe = parent.window_safe

    def _compute(self, day):
        return np.asarray(day.value(self._parent)[self._name], dtype=np.float64)

    def __repr__(self):
        return f"{type(self._parent).__name__}.{self._name}"


class CustomFilter(Filter, CustomFactor):
    """A filter computed by ``compute`` (``out`` is a boolean row)."""

    def _compute(self, day):
        return CustomFactor._compute(self, day) == 1.0


class Pipeline:
    """Named terms computed for every asset each session, with an optional ``screen``."""

    def __init__(self, columns=None, screen=None, domain=None):
        self._columns = dict(columns or {})
        for name, term in self._columns.items():
            self._check(name, term)
        self._screen = screen
        self.domain = domain

    @staticmethod
    def _check(name, term):
        if not isinstance(term, Term):
            raise TypeError(f"pipeline column {name!r} must be a Factor or a Filter, got "
                            f"{type(term).__name__}")
        if isinstance(term, _Slice):
            raise TypeError(f"pipeline column {name!r}: a slice ({term!r}) can only be an "
                            "input of another term")
        if getattr(term, "outputs", None):
            raise TypeError(f"pipeline column {name!r}: {type(term).__name__} has several "
                            f"outputs ({', '.join(term.outputs)}); add each one "
                            "(term.<output>) as a column")

    @property
    def columns(self) -> dict:
        return dict(self._columns)

    @property
    def screen(self):
        return self._screen

    def add(self, term, name, overwrite=False):
        self._check(name, term)
        if name in self._columns and not overwrite:
            raise KeyError(f"column {name!r} already exists")
        self._columns[name] = term

    def remove(self, name):
        return self._columns.pop(name)

    def set_screen(self, screen, overwrite=False):
        if self._screen is not None and not overwrite:
            raise ValueError("the pipeline has a screen already; pass overwrite=True")
        self._screen = screen

    def _run(self, store, i: int, engine: _Engine | None = None) -> pd.DataFrame:
        """The output of session ``i`` (row index in the bundle's sessions)."""
        return (engine or _Engine(store)).run(self, i)


def _name(term) -> str:
    return type(term).__name__ if isinstance(term, CustomFactor) else repr(term)


from ml4t.compat.zipline.pipeline.classifiers import (  # noqa: E402  (they build on the above)
    Classifier, CustomClassifier)

__all__ += ["Classifier", "CustomClassifier"]
