"""Date numbers, auto-vivifying result dicts and time frames as Backtrader exposes them.

Backtrader stores datetimes as float day numbers (days since 0001-01-01, plus one, with
the time of day as the fraction) and hands out naive datetimes converted back from
those floats. The round trip is lossy: a daily CSV bar stamped at the default session
end 23:59:59.999990 comes back as 23:59:59.999989. The functions here reproduce that
arithmetic so that bar timestamps, ``todate`` filtering and ``valid`` expiry agree with
Backtrader to the microsecond.
"""
from __future__ import annotations

import calendar
import datetime as _dt
import math
from collections import OrderedDict

import numpy as np

__all__ = ["date2num", "num2date", "num2dt", "num2time", "time2num", "TimeFrame",
           "AutoDict", "AutoOrderedDict", "DotDict", "TIME_MAX"]

_US_PER_DAY = 86_400_000_000.0
TIME_MAX = _dt.time(23, 59, 59, 999990)


def date2num(dt) -> float:
    """Backtrader's float day number of a naive (or tz-aware, read as UTC) datetime."""
    if getattr(dt, "tzinfo", None) is not None:
        off = dt.tzinfo.utcoffset(dt)
        if off is not None:
            dt = dt - off
    day = float(dt.toordinal())
    if isinstance(dt, _dt.datetime):
        day += (dt.hour / 24.0 + dt.minute / 1440.0 + dt.second / 86400.0
                + dt.microsecond / _US_PER_DAY)
    return day


def time2num(t: _dt.time) -> float:
    """Fraction of a day of a ``datetime.time``."""
    return (t.hour / 24.0 + t.minute / 1440.0 + t.second / 86400.0
            + t.microsecond / _US_PER_DAY)


def _split_fraction(frac):
    """Hours, minutes, seconds and microseconds of a day fraction, peeled off one unit at
    a time as Backtrader does (the float error this accumulates is part of the contract)."""
    h, r = divmod(24.0 * frac, 1)
    m, r = divmod(60.0 * r, 1)
    s, r = divmod(60.0 * r, 1)
    return int(h), int(m), int(s), int(1_000_000.0 * r)


def num2date(x: float, tz=None, naive: bool = True) -> _dt.datetime:
    """Naive datetime of a Backtrader day number (see the module docstring)."""
    day = int(x)
    h, m, s, us = _split_fraction(float(x) - day)
    if us < 10:
        us = 0
    base = _dt.date.fromordinal(day)
    out = _dt.datetime(base.year, base.month, base.day, h, m, s, us)
    if us > 999990:
        out += _dt.timedelta(microseconds=1_000_000 - us)
    if tz is not None:
        out = out.replace(tzinfo=_dt.timezone.utc).astimezone(tz)
        if naive:
            out = out.replace(tzinfo=None)
    return out


def num2dt(x: float, tz=None, naive: bool = True) -> _dt.date:
    return num2date(x, tz, naive).date()


def num2time(x: float, tz=None, naive: bool = True) -> _dt.time:
    return num2date(x, tz, naive).time()


def nums_to_datetime64(nums: np.ndarray) -> np.ndarray:
    """Vectorised :func:`num2date` into ``datetime64[us]`` (naive)."""
    nums = np.asarray(nums, dtype=np.float64)
    if nums.size == 0:
        return np.zeros(0, dtype="M8[us]")
    day = nums.astype(np.int64)
    frac = nums - day
    h, r = np.divmod(24.0 * frac, 1.0)
    m, r = np.divmod(60.0 * r, 1.0)
    s, r = np.divmod(60.0 * r, 1.0)
    us = (1_000_000.0 * r).astype(np.int64)
    us = np.where(us < 10, 0, us)
    up = us > 999990
    us = np.where(up, 1_000_000, us)
    epoch = _dt.date(1970, 1, 1).toordinal()
    total = ((day - epoch) * 86_400 + h.astype(np.int64) * 3600 + m.astype(np.int64) * 60
             + s.astype(np.int64)) * 1_000_000 + us
    return total.astype("M8[us]")


def datetime64_to_nums(values) -> np.ndarray:
    """Vectorised :func:`date2num` of naive ``datetime64`` values."""
    us = np.asarray(values).astype("M8[us]").astype(np.int64)
    epoch = _dt.date(1970, 1, 1).toordinal()
    day_us = 86_400_000_000
    days = np.floor_divide(us, day_us)
    rem = us - days * day_us
    hours = rem // 3_600_000_000
    rem = rem - hours * 3_600_000_000
    minutes = rem // 60_000_000
    rem = rem - minutes * 60_000_000
    seconds = rem // 1_000_000
    micros = rem - seconds * 1_000_000
    return ((days + epoch).astype(np.float64)
            + (hours / 24.0 + minutes / 1440.0 + seconds / 86400.0 + micros / _US_PER_DAY))


class TimeFrame:
    """Backtrader's time frame constants."""

    (Ticks, MicroSeconds, Seconds, Minutes, Days, Weeks, Months, Years,
     NoTimeFrame) = range(1, 10)
    Names = ["", "Ticks", "MicroSeconds", "Seconds", "Minutes", "Days", "Weeks", "Months",
             "Years", "NoTimeFrame"]
    names = Names

    @classmethod
    def getname(cls, tframe, compression=None):
        name = cls.Names[tframe]
        if (compression or 1) > 1 or name == cls.Names[-1]:
            return name
        return name[:-1]

    @classmethod
    def TFrame(cls, name):
        return getattr(cls, name)

    @classmethod
    def TName(cls, tframe):
        return cls.Names[tframe]


def period_key(dt: _dt.datetime, timeframe: int, compression: int = 1):
    """(comparison key, label) of the period containing ``dt``, as Backtrader's
    time-frame analyzers label them (years by Dec 31, months by their last day,
    weeks by their Sunday, days by midnight)."""
    if timeframe == TimeFrame.NoTimeFrame:
        return None, None
    if timeframe == TimeFrame.Years:
        return dt.year, _dt.date(dt.year, 12, 31)
    if timeframe == TimeFrame.Months:
        last = calendar.monthrange(dt.year, dt.month)[1]
        return dt.year * 100 + dt.month, _dt.datetime(dt.year, dt.month, last)
    if timeframe == TimeFrame.Weeks:
        iso_year, iso_week, iso_day = dt.isocalendar()
        sunday = dt + _dt.timedelta(days=7 - iso_day)
        return iso_year * 100 + iso_week, _dt.datetime(sunday.year, sunday.month, sunday.day)
    if timeframe == TimeFrame.Days:
        return (dt.year * 10000 + dt.month * 100 + dt.day,
                _dt.datetime(dt.year, dt.month, dt.day))
    # intraday: the end of the compression bucket the time falls in
    point = dt.hour * 60 + dt.minute
    if timeframe < TimeFrame.Minutes:
        point = point * 60 + dt.second
    if timeframe < TimeFrame.Seconds:
        point = point * 1_000_000 + dt.microsecond
    point = (point // compression + 1) * compression
    if timeframe == TimeFrame.Minutes:
        hh, mm = divmod(point, 60)
        ss = us = 0
        step = _dt.timedelta(minutes=1)
    elif timeframe == TimeFrame.Seconds:
        hh, rest = divmod(point, 3600)
        mm, ss = divmod(rest, 60)
        us = 0
        step = _dt.timedelta(seconds=1)
    else:
        hh, rest = divmod(point, 3_600_000_000)
        mm, rest = divmod(rest, 60_000_000)
        ss, us = divmod(rest, 1_000_000)
        step = _dt.timedelta(microseconds=1)
    extra, hh = divmod(int(hh), 24)
    base = dt + _dt.timedelta(days=extra) if extra else dt
    key = base.replace(hour=hh, minute=int(mm), second=int(ss), microsecond=int(us)) - step
    return key, key


class DotDict(dict):
    """A dict whose keys read as attributes."""

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class _AutoMixin:
    _closed = False

    def _close(self):
        object.__setattr__(self, "_closed", True)
        for value in self.values():
            if isinstance(value, _AutoMixin):
                value._close()

    def _open(self):
        object.__setattr__(self, "_closed", False)

    def __missing__(self, key):
        if self._closed:
            raise KeyError(key)
        value = self[key] = type(self)()
        return value

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __setattr__(self, key, value):
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self[key] = value

    # an empty node used as a number (``node += 1``) behaves as zero
    def __iadd__(self, other):
        return other if not isinstance(other, _AutoMixin) else self

    def __isub__(self, other):
        return -other if not isinstance(other, _AutoMixin) else self

    def __imul__(self, other):
        return 0 * other if not isinstance(other, _AutoMixin) else self

    def __itruediv__(self, other):
        return 0 / other if not isinstance(other, _AutoMixin) else self


class AutoDict(_AutoMixin, dict):
    """A dict that creates missing keys as nested ``AutoDict`` (until ``_close()``)."""


class AutoOrderedDict(_AutoMixin, OrderedDict):
    """An ordered dict that creates missing keys as nested nodes (until ``_close()``)."""

    def lvalues(self):
        return list(self.values())


def isfinite(x) -> bool:
    return x is not None and math.isfinite(x)
