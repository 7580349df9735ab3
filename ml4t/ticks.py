"""Trade ticks and bid/ask quotes.

The engine's unit of time is a slice (all rows sharing a timestamp), so tick
data enters as one-row "bars" per asset and timestamp:

* ``load_ticks``: trade ticks (``price``, ``size``). Several trades of one asset
  at the same timestamp become one row: open = first price, high/low = the
  extremes, close = last, volume = total size. Matching then uses the intrabar
  rules, so a market order fills at the next tick's price.
* ``load_quotes``: quotes (``bid``, ``ask``, optional ``bid_size``,
  ``ask_size``). Each row's open/high/low/close is the mid price (what
  ``bars.close`` shows a strategy); matching uses the quote rules: buys at the
  ask, sells at the bid, a buy limit fills when ask <= limit, and the quoted
  size caps each fill. For several quotes of one asset at one timestamp the
  last one counts.

A strategy written against bars runs unchanged on either.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml4t.data import BarBatch, BarData, load_bars
from ml4t.errors import DataError

_TS = ("ts", "timestamp", "datetime", "date", "time")
_ASSET = ("asset", "symbol", "ticker")


@dataclass(frozen=True, eq=False)
class QuoteBatch(BarBatch):
    """A ``BarBatch`` with the quote columns (float64; sizes NaN when unknown)."""

    bid: np.ndarray = None
    ask: np.ndarray = None
    bid_size: np.ndarray = None
    ask_size: np.ndarray = None


class QuoteData(BarData):
    """Validated quotes: bars built from the mid price plus the bid/ask columns."""

    def __init__(self, bars: BarData, bid, ask, bid_size, ask_size):
        super().__init__(assets=bars.assets, source=bars.source, calendar=bars.calendar,
                         extra={}, n_rows=bars.n_rows, batch_rows=None,
                         bars=next(iter(bars.batches())))
        self._quotes = (bid, ask, bid_size, ask_size)

    def batches(self):
        (batch,) = list(super().batches())
        bid, ask, bsz, asz = self._quotes
        fields = {f: getattr(batch, f) for f in
                  ("ts", "asset", "open", "high", "low", "close", "volume", "session")}
        yield QuoteBatch(**fields, bid=bid, ask=ask, bid_size=bsz, ask_size=asz)


def _read(data, what: str) -> tuple[pd.DataFrame, str, str]:
    if isinstance(data, pd.DataFrame):
        return data.copy(), "<DataFrame>", "ASSET"
    if isinstance(data, (str, pathlib.Path)):
        p = pathlib.Path(data)
        if not p.is_file():
            raise DataError(f"{what} file not found", path=str(p), rule="no_files")
        if p.suffix in (".parquet", ".pq"):
            return pd.read_parquet(p), str(p), p.stem
        return pd.read_csv(p), str(p), p.stem
    raise TypeError(f"{what} data must be a DataFrame or a CSV/Parquet path, not "
                    f"{type(data).__name__}")


def _error(message: str, src: str, row: int, column: str, rule: str) -> DataError:
    """A DataError for input row ``row`` (0-based, input order); CSV files get a line too."""
    csv = src != "<DataFrame>" and pathlib.Path(src).suffix not in (".parquet", ".pq")
    return DataError(message, path=src, row=row, column=column, rule=rule,
                     line=row + 2 if csv else None)


def _check_time_order(df: pd.DataFrame, src: str, ts_name: str) -> None:
    """Each asset's timestamps must not go backwards in input order (equal is fine)."""
    ts = df["ts"]
    before = ts.groupby(df["asset"], sort=False).cummax().groupby(df["asset"],
                                                                    sort=False).shift()
    bad = (ts < before).to_numpy()
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise _error(f"asset {df['asset'].iloc[r]!r}: {ts.iloc[r]} is before {before.iloc[r]}, "
                     "an earlier row's time", src, r, ts_name, "time_not_increasing")


def _columns(df: pd.DataFrame, src: str, wanted: dict,
             default_asset: str) -> tuple[pd.DataFrame, dict]:
    """The wanted columns under their canonical names, and each one's name in the input."""
    lower = {str(c).lower(): c for c in df.columns}
    out = {}
    names = {}
    ts_col = next((lower[c] for c in _TS if c in lower), None)
    if ts_col is None:
        raise DataError(f"no time column (one of {', '.join(_TS)}); found "
                        f"{', '.join(map(str, df.columns))}", path=src, column="ts",
                        rule="missing_column")
    out["ts"] = df[ts_col]
    names["ts"] = str(ts_col)
    asset_col = next((lower[c] for c in _ASSET if c in lower), None)
    out["asset"] = df[asset_col].astype(str) if asset_col is not None else default_asset
    for name, aliases in wanted.items():
        col = next((lower[c] for c in aliases if c in lower), None)
        if col is None:
            if name.endswith("size"):
                out[name] = np.nan
                continue
            raise DataError(f"missing column {name!r} (accepted: {', '.join(aliases)}); found "
                            f"{', '.join(map(str, df.columns))}", path=src, column=name,
                            rule="missing_column")
        out[name] = pd.to_numeric(df[col], errors="coerce")
        names[name] = str(col)
    return pd.DataFrame(out).reset_index(drop=True), names


def _stamp(ts: pd.Series, src: str) -> pd.Series:
    try:
        t = pd.to_datetime(ts)
    except (ValueError, TypeError) as exc:
        raise DataError(f"unreadable timestamps ({exc})", path=src, column="ts",
                        rule="bad_timestamp") from None
    if t.dt.tz is None:
        t = t.dt.tz_localize("UTC")
    return t.dt.tz_convert("UTC").dt.as_unit("ns")


def load_ticks(data, *, calendar: str | None = None, start=None, end=None) -> BarData:
    """Load trade ticks (``ts, [asset], price, size``) as one-row bars per timestamp.

    Parameters
    ----------
    data : DataFrame or path
        ``price`` may also be called ``last`` or ``close``; ``size`` may be ``qty``
        or ``volume``. Without an asset column the asset is named after the file.
    calendar : str, optional
        Exchange calendar for sessions (default none: sessions are UTC dates).

    Without a size column the bars have no volume (volume caps then allow no fill).

    Raises
    ------
    ml4t.errors.DataError
        Missing columns, unreadable times, an asset's time going backwards
        (``time_not_increasing``), NaN or negative prices or sizes; the error names
        the input row and column.
    """
    df, src, default = _read(data, "tick")
    df, names = _columns(df, src, {"price": ("price", "last", "close"),
                                   "size": ("size", "qty", "volume")}, default)
    df["ts"] = _stamp(df["ts"], src)
    price = df["price"].to_numpy(dtype=float)
    bad = ~np.isfinite(price)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise _error(f"price is NaN or not a number ({df['price'].iloc[r]!r})", src, r,
                     names["price"], "nan_price")
    if (price < 0).any():
        r = int(np.flatnonzero(price < 0)[0])
        raise _error(f"price {price[r]} < 0", src, r, names["price"], "negative_price")
    has_size = "size" in names
    if has_size:
        size = df["size"].to_numpy(dtype=float)
        if (~np.isfinite(size)).any():
            r = int(np.flatnonzero(~np.isfinite(size))[0])
            raise _error(f"size is {size[r]}", src, r, names["size"], "bad_volume")
        if (size < 0).any():
            r = int(np.flatnonzero(size < 0)[0])
            raise _error(f"size {size[r]} < 0", src, r, names["size"], "negative_volume")
    _check_time_order(df, src, names["ts"])
    df["order"] = np.arange(len(df))
    g = df.sort_values(["ts", "asset", "order"], kind="stable").groupby(
        ["ts", "asset"], sort=True)
    cols = {"open": g["price"].first(), "high": g["price"].max(),
            "low": g["price"].min(), "close": g["price"].last()}
    if has_size:
        cols["volume"] = g["size"].sum()
    bars = pd.DataFrame(cols).reset_index()
    out = load_bars(bars, calendar=calendar, start=start, end=end)
    out.source = src
    return out


def load_quotes(data, *, calendar: str | None = None, start=None, end=None) -> QuoteData:
    """Load quotes (``ts, [asset], bid, ask, [bid_size, ask_size]``).

    Raises
    ------
    ml4t.errors.DataError
        Missing columns, NaN or non-positive prices, a crossed quote
        (bid > ask, rule ``crossed_quote``), negative sizes, an asset's time going
        backwards (``time_not_increasing``); the error names the input row and column.
    """
    df, src, default = _read(data, "quote")
    df, names = _columns(df, src, {"bid": ("bid",), "ask": ("ask", "offer"),
                                   "bid_size": ("bid_size", "bidsize", "bid_qty"),
                                   "ask_size": ("ask_size", "asksize", "ask_qty")}, default)
    df["ts"] = _stamp(df["ts"], src)
    for col in ("bid", "ask"):
        v = df[col].to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (v <= 0)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise _error(f"{col} must be a finite price > 0, was {v[r]!r}", src, r, names[col],
                         "nan_price")
    crossed = df["bid"].to_numpy() > df["ask"].to_numpy()
    if crossed.any():
        r = int(np.flatnonzero(crossed)[0])
        raise _error(f"crossed quote: bid {df['bid'].iloc[r]} > ask {df['ask'].iloc[r]}",
                     src, r, names["bid"], "crossed_quote")
    for col in ("bid_size", "ask_size"):
        v = df[col].to_numpy(dtype=float)
        if (v < 0).any():
            r = int(np.flatnonzero(v < 0)[0])
            raise _error(f"{col} is negative ({v[r]})", src, r, names[col], "negative_volume")
    _check_time_order(df, src, names["ts"])
    df["order"] = np.arange(len(df))
    df = df.sort_values(["ts", "asset", "order"], kind="stable")
    df = df.drop_duplicates(["ts", "asset"], keep="last")
    mid = (df["bid"] + df["ask"]) / 2.0
    bars = pd.DataFrame({"ts": df["ts"], "asset": df["asset"], "open": mid, "high": mid,
                         "low": mid, "close": mid})
    loaded = load_bars(bars, calendar=calendar, start=start, end=end)
    batch = next(iter(loaded.batches()))
    # load_bars keeps the (ts, asset-name) order we sorted into; align the quote columns
    keep = df.set_index(["ts", "asset"])
    idx = pd.MultiIndex.from_arrays([pd.to_datetime(batch.ts, utc=True),
                                     np.asarray(loaded.assets, dtype=object)[batch.asset]])
    q = keep.reindex(idx)
    out = QuoteData(loaded, *(np.ascontiguousarray(q[c].to_numpy(dtype=np.float64))
                              for c in ("bid", "ask", "bid_size", "ask_size")))
    out.source = src
    return out
