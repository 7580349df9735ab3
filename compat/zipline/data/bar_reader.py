"""Zipline's bundle readers over a csvdir bundle's arrays: ``DailyBarReader``
(``bundle_data.equity_daily_bar_reader``) and ``AdjustmentReader``
(``bundle_data.adjustment_reader``), enough for research code that builds a
``SimplePipelineEngine`` or reads raw bars."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DailyBarReader", "AdjustmentReader"]


class DailyBarReader:
    """The bundle's daily bars as stored (prices to 3 decimals, as Zipline stores them)."""

    def __init__(self, store):
        self.store = store

    @property
    def sessions(self) -> pd.DatetimeIndex:
        return self.store.sessions

    @property
    def first_trading_day(self) -> pd.Timestamp:
        return self.store.first_trading_day

    @property
    def last_available_dt(self) -> pd.Timestamp:
        return self.store.sessions[-1]

    @property
    def trading_calendar(self):
        return self.store.exchange_calendar

    def load_raw_arrays(self, columns, start_date, end_date, assets) -> list:
        """One (sessions x assets) array per field of ``columns`` (``open``, ``high``,
        ``low``, ``close``, ``volume``), unadjusted, NaN (0 for volume) where an asset has
        no bar.

        Raises
        ------
        ValueError
            An unknown field, or a date outside the bundle's sessions.
        """
        s = self.store
        try:
            lo, hi = (s.session_index(_naive(d)) for d in (start_date, end_date))
        except KeyError as exc:
            raise ValueError(f"load_raw_arrays: {exc} is not a session of the bundle "
                             f"({s.sessions[0].date()} .. {s.sessions[-1].date()})") from None
        sids = [int(a) for a in assets]
        out = []
        for field in columns:
            if field not in ("open", "high", "low", "close", "volume"):
                raise ValueError(f"load_raw_arrays: unknown field {field!r}")
            out.append(np.asarray(getattr(s, field))[lo:hi + 1][:, sids].astype(np.float64))
        return out

    def get_value(self, sid, dt, field) -> float:
        s = self.store
        return float(getattr(s, field)[s.session_index(_naive(dt)), int(sid)])


def _naive(dt) -> pd.Timestamp:
    t = pd.Timestamp(dt)
    return (t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t).normalize()


class AdjustmentReader:
    """A handle on the bundle's splits and dividends (applied by the pipeline engine)."""

    def __init__(self, store):
        self.store = store
