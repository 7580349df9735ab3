"""Data filters (``data.addfilter(bt.filters.X)``) the shim applies to a feed's bars when
it loads them, as Backtrader applies them bar by bar: after ``fromdate``/``todate`` and
before a resampling.

Supported: ``HeikinAshi`` (the bars remodelled as Heikin-Ashi candles) and
``SessionFilter`` (intraday bars outside ``sessionstart``..``sessionend`` dropped). The
others Backtrader ships are refused by name when added.
"""
from __future__ import annotations

import numpy as np

__all__ = ["HeikinAshi", "SessionFilter", "Renko", "CalendarDays", "DayStepsFilter",
           "BarReplayer_Open", "DataFiller", "DataFilter", "SessionFiller", "DaySplitter_Close"]


class _ColumnFilter:
    """A filter applied to all of a feed's bars at load time (``apply``)."""

    def __init__(self, data, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__} takes no parameters, got "
                            f"{list(args) + sorted(kwargs)}")

    def apply(self, cols: dict, data) -> dict:
        raise NotImplementedError


class HeikinAshi(_ColumnFilter):
    """close = (open + high + low + close) / 4; open = (previous open + previous close) / 2
    of the remodelled bars ((open + close) / 2 on the first bar); high / low = the extreme
    of high / low, open and close (the first bar keeps its own)."""

    def apply(self, cols, data):
        o, h, lo, c = (np.asarray(cols[k], dtype=np.float64) for k in ("open", "high", "low",
                                                                       "close"))
        n = len(c)
        ha_c = (o + h + lo + c) / 4.0
        ha_o = np.empty(n)
        high, low = h.copy(), lo.copy()
        if n:
            ha_o[0] = (o[0] + c[0]) / 2.0
        opens, closes = ha_o.tolist(), ha_c.tolist()
        highs, lows = h.tolist(), lo.tolist()
        for i in range(1, n):
            opens[i] = x = (opens[i - 1] + closes[i - 1]) / 2.0
            highs[i] = max(x, closes[i], highs[i])
            lows[i] = min(x, closes[i], lows[i])
        if n:
            ha_o[1:] = opens[1:]
            high[1:] = highs[1:]
            low[1:] = lows[1:]
        out = dict(cols)
        out.update(open=ha_o, high=high, low=low, close=ha_c)
        return out


class SessionFilter(_ColumnFilter):
    """Drop the bars whose time of day is outside the feed's ``sessionstart`` ..
    ``sessionend`` (both included)."""

    def apply(self, cols, data):
        from .utils import num2date
        start, end = data.p.sessionstart, data.p.sessionend
        keep = np.array([start <= num2date(x).time() <= end for x in cols["datetime"]],
                        dtype=bool)
        if keep.all():
            return cols
        return {k: np.asarray(v)[keep] for k, v in cols.items()}


class _Unsupported:
    """A Backtrader filter the shim does not apply; adding it raises."""

    def __init__(self, data, *args, **kwargs):
        raise NotImplementedError(f"the data filter {type(self).__name__} is not supported "
                                  "by the ml4t shim (supported: HeikinAshi, SessionFilter)")


class Renko(_Unsupported):
    pass


class CalendarDays(_Unsupported):
    pass


class DayStepsFilter(_Unsupported):
    pass


class BarReplayer_Open(_Unsupported):
    pass


class DataFiller(_Unsupported):
    pass


class DataFilter(_Unsupported):
    pass


class SessionFiller(_Unsupported):
    pass


class DaySplitter_Close(_Unsupported):
    pass
