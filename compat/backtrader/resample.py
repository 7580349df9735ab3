"""``cerebro.resampledata``: compress a feed into weekly, monthly or yearly (or daily, from
intraday) bars as Backtrader's resampler does.

A compressed bar takes the first open, the highest high, the lowest low, the last close,
the summed volume and the last open interest of its source bars, and the datetime of its
last source bar (daily bars compressed from intraday data are stamped at the session
end). Backtrader only knows a period is over when the first bar of the next period
arrives, so next to a non-resampled feed the compressed bar is *delivered* on that later
bar (and the last one on an extra step after the data ends); ``deliver`` records when.
"""
from __future__ import annotations

import datetime as _dt

import numpy as np

from .utils import TimeFrame, date2num, num2date

__all__ = ["resample_columns"]


def _period_of(dt: _dt.datetime, timeframe: int):
    if timeframe == TimeFrame.Weeks:
        y, w, _ = dt.date().isocalendar()
        return y * 100 + w
    if timeframe == TimeFrame.Months:
        return dt.year * 100 + dt.month
    if timeframe == TimeFrame.Years:
        return dt.year
    if timeframe == TimeFrame.Days:
        return dt.toordinal()
    raise NotImplementedError(
        "resampledata supports timeframe=Days (from intraday), Weeks, Months and Years; "
        f"got {TimeFrame.getname(timeframe, 1)!r}")


def resample_columns(cols: dict, data, timeframe=TimeFrame.Days, compression=1,
                     bar2edge=True, adjbartime=True, rightedge=True, boundoff=0,
                     takelate=True, sessionend=True, name=None) -> dict:
    """Compress the preloaded columns of ``data``; returns the new columns plus
    ``_deliver`` (day number at which each bar is delivered; +inf for the last)."""
    src_tf = data._timeframe
    if timeframe < TimeFrame.Days or (timeframe == TimeFrame.Days and src_tf >= TimeFrame.Days):
        if not (timeframe == src_tf and compression == 1):
            raise NotImplementedError("resampledata: only daily, weekly, monthly and yearly "
                                      "targets are supported by the ml4t shim")
    dt = cols["datetime"]
    n = len(dt)
    periods = np.array([_period_of(num2date(x), timeframe) for x in dt], dtype=np.int64)
    # a bar closes when the period changes, every ``compression`` periods
    starts = [0]
    count = 0
    for i in range(1, n):
        if periods[i] > periods[i - 1]:
            count += 1
            if count % compression == 0:
                starts.append(i)
    ends = starts[1:] + [n]
    out = {k: [] for k in ("datetime", "open", "high", "low", "close", "volume",
                           "openinterest", "_deliver")}
    sessionend_time = data.p.sessionend
    for s, e in zip(starts, ends):
        if s >= e:
            continue
        hi = float("-inf")
        lo = float("inf")
        vol = 0.0
        for i in range(s, e):
            hi = max(hi, cols["high"][i])
            lo = min(lo, cols["low"][i])
            vol += cols["volume"][i]
        stamp = dt[e - 1]
        if timeframe == TimeFrame.Days and src_tf < TimeFrame.Days:
            day = num2date(stamp).date()
            stamp = date2num(_dt.datetime.combine(day, sessionend_time))
        out["datetime"].append(stamp)
        out["open"].append(cols["open"][s])
        out["high"].append(hi)
        out["low"].append(lo)
        out["close"].append(cols["close"][e - 1])
        out["volume"].append(vol)
        out["openinterest"].append(cols["openinterest"][e - 1])
        out["_deliver"].append(dt[e] if e < n else np.inf)
    data._timeframe = timeframe
    data._compression = compression
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
