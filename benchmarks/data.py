"""Seeded synthetic bar data for the benchmarks.

Geometric random walks on XNYS sessions starting 2010-01-04: one row per (session, asset),
stamped at the session's close in UTC (21:00 UTC in winter, 20:00 UTC in summer, earlier on
early-close days), prices rounded to cents, integer volumes, and valid bars
(``low <= min(open, close)`` and ``max(open, close) <= high``).

The long DataFrame has columns ``ts`` (tz-aware UTC), ``asset`` (``A0000``, ``A0001``, ...),
``open, high, low, close, volume``, sorted by (ts, asset). ``bars_parquet`` writes it once to
a cache file so that every engine in a whole-process timing reads the very same bytes.

    python -m benchmarks.data 100 2520          # write the cache file and print its path
"""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

START = "2010-01-04"
CACHE = Path(os.environ.get("ML4T_BENCH_CACHE", Path(__file__).resolve().parent / ".cache"))


def sessions(n: int, start: str = START) -> pd.DatetimeIndex:
    """Closes (UTC) of the first ``n`` XNYS sessions on or after ``start``."""
    import exchange_calendars as xcals

    years = n / 240 + 2
    end = (pd.Timestamp(start) + pd.Timedelta(days=int(365.25 * years))).strftime("%Y-%m-%d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS", start=start, end=end)
        closes = cal.schedule["close"]
    if len(closes) < n:
        raise ValueError(f"calendar has {len(closes)} sessions, need {n}")
    idx = pd.DatetimeIndex(closes.iloc[:n].to_numpy())
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    return idx.tz_convert("UTC")


def asset_names(n_assets: int) -> list[str]:
    return [f"A{i:04d}" for i in range(n_assets)]


def make_panel(n_assets: int, n_bars: int, seed: int = 42, *, vol: float = 0.018,
               drift: float = 0.0002) -> dict[str, np.ndarray]:
    """Arrays of shape (n_bars, n_assets): open, high, low, close (cents), volume (int)."""
    rng = np.random.default_rng(seed)
    p0 = rng.uniform(20.0, 200.0, n_assets)
    sig = vol * rng.uniform(0.6, 1.4, n_assets)          # per-asset volatility
    r = drift + sig * rng.standard_normal((n_bars, n_assets))
    close = p0 * np.exp(np.cumsum(r, axis=0))
    # open: previous close times an overnight gap
    prev = np.vstack([p0[None, :], close[:-1]])
    open_ = prev * np.exp(0.3 * sig * rng.standard_normal((n_bars, n_assets)))
    o = np.maximum(np.round(open_, 2), 0.01)
    c = np.maximum(np.round(close, 2), 0.01)
    top = np.maximum(o, c)
    bot = np.minimum(o, c)
    h = np.round(top * (1.0 + np.abs(0.5 * sig * rng.standard_normal((n_bars, n_assets)))), 2)
    lo = np.round(bot * (1.0 - np.abs(0.5 * sig * rng.standard_normal((n_bars, n_assets)))), 2)
    h = np.maximum(h, top)
    lo = np.clip(lo, 0.01, bot)
    v = np.round(np.exp(rng.normal(12.5, 0.6, (n_bars, n_assets)))).astype(np.int64)
    return {"open": o, "high": h, "low": lo, "close": c, "volume": v}


def make_bars(n_assets: int, n_bars: int, seed: int = 42) -> pd.DataFrame:
    """The long DataFrame: ts, asset, open, high, low, close, volume; sorted by (ts, asset)."""
    panel = make_panel(n_assets, n_bars, seed)
    ts = sessions(n_bars)
    names = asset_names(n_assets)
    df = pd.DataFrame({
        "ts": np.repeat(ts, n_assets),
        "asset": np.tile(np.asarray(names, dtype=object), n_bars),
        **{k: panel[k].ravel() for k in ("open", "high", "low", "close", "volume")},
    })
    return df


def bars_parquet(n_assets: int, n_bars: int, seed: int = 42) -> Path:
    """Path of a Parquet cache of ``make_bars(n_assets, n_bars, seed)`` (written on first use)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"bars_{n_assets}x{n_bars}_s{seed}.parquet"
    if not path.exists():
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        make_bars(n_assets, n_bars, seed).to_parquet(tmp, index=False)
        os.replace(tmp, path)
    return path


def read_bars(n_assets: int, n_bars: int, seed: int = 42) -> pd.DataFrame:
    """The cached long DataFrame (via Parquet)."""
    return pd.read_parquet(bars_parquet(n_assets, n_bars, seed))


def wide(df: pd.DataFrame, field: str) -> pd.DataFrame:
    """One field as a (ts x asset) frame."""
    return df.pivot(index="ts", columns="asset", values=field)


def validate(df: pd.DataFrame) -> None:
    """Assert the invariants the generator promises."""
    assert list(df.columns) == ["ts", "asset", "open", "high", "low", "close", "volume"]
    assert str(df["ts"].dt.tz) == "UTC"
    for c in ("open", "high", "low", "close"):
        x = df[c].to_numpy()
        assert (x > 0).all() and np.allclose(x, np.round(x, 2), rtol=0, atol=1e-9), c
    assert (df["low"] <= df[["open", "close"]].min(axis=1)).all()
    assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
    assert df["volume"].dtype.kind == "i" and (df["volume"] > 0).all()
    assert not df.duplicated(["ts", "asset"]).any()


if __name__ == "__main__":
    na = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    nb = int(sys.argv[2]) if len(sys.argv) > 2 else 2520
    p = bars_parquet(na, nb)
    d = pd.read_parquet(p)
    validate(d)
    print(p, d.shape, d["ts"].iloc[0], d["ts"].iloc[-1])
