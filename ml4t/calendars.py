"""Exchange calendars built over the window a backtest needs.

``exchange_calendars`` evaluates every holiday rule of a calendar from the rule's own first
year (1885 for some NYSE rules) to 2200, whatever ``start``/``end`` the calendar is asked
for: building XNYS over three years costs ~0.35 s here, more than the backtest it serves.
`calendar` builds the same calendar class with each holiday rule's validity clipped to the
requested window padded by `PAD_DAYS` on both sides, so only the years that can matter are
evaluated (~0.05 s). Sessions, opens, closes and breaks are the library's own computation
on the library's own rules; `tests/test_calendars.py` checks them equal to a standard build
for every calendar the library ships.

The returned object is an ordinary ``ExchangeCalendar`` for its window; it is used inside
ml4t only. Code that hands a calendar to the user (``compat.zipline``'s ``get_calendar``)
builds the standard one.
"""
from __future__ import annotations

import copy
import functools
import warnings
from typing import Any

import pandas as pd

#: days added to each side of the requested window before clipping the holiday rules:
#: observance rules move a holiday by a few days at most, a year is far more than enough
PAD_DAYS = 400

_BUILT: dict[tuple[str, str | None, str | None], Any] = {}


def _clip_rule(rule: Any, lo: pd.Timestamp, hi: pd.Timestamp) -> Any:
    """The holiday rule restricted to [lo, hi]; None when it never applies there."""
    from pandas.tseries.holiday import Holiday

    if not isinstance(rule, Holiday):
        return rule
    first, last = rule.start_date, rule.end_date
    if (first is not None and first > hi) or (last is not None and last < lo):
        return None
    out = copy.copy(rule)
    out.start_date = lo if first is None or first < lo else first
    out.end_date = hi if last is None or last > hi else last
    return out


def _clip_calendar(cal: Any, lo: pd.Timestamp, hi: pd.Timestamp) -> Any:
    from pandas.tseries.holiday import AbstractHolidayCalendar

    if not isinstance(cal, AbstractHolidayCalendar):
        return cal                     # lists of dates and other forms pass through as they are
    out = copy.copy(cal)
    out.rules = [r for r in (_clip_rule(x, lo, hi) for x in cal.rules) if r is not None]
    out._cache = None
    return out


@functools.lru_cache(maxsize=None)
def _windowed(cls: type) -> type:
    """A subclass of the calendar class whose holiday rules are clipped to the instance window."""

    class Windowed(cls):  # type: ignore[misc, valid-type]
        _ml4t_window: tuple[pd.Timestamp, pd.Timestamp]

        @property
        def regular_holidays(self):
            return _clip_calendar(super().regular_holidays, *self._ml4t_window)

        @property
        def special_closes(self):
            return [(t, _clip_calendar(c, *self._ml4t_window)) for t, c in super().special_closes]

        @property
        def special_opens(self):
            return [(t, _clip_calendar(c, *self._ml4t_window)) for t, c in super().special_opens]

        def __reduce__(self):          # the class is made at run time: pickle the recipe
            return (calendar, self._ml4t_args)

    Windowed.__name__ = cls.__name__
    Windowed.__qualname__ = cls.__qualname__
    Windowed.__module__ = cls.__module__
    return Windowed


def _calendar_class(name: str) -> type:
    from exchange_calendars.calendar_utils import (
        _default_calendar_aliases,
        _default_calendar_factories,
    )

    canonical = _default_calendar_aliases.get(name, name)
    try:
        return _default_calendar_factories[canonical]
    except KeyError:
        raise LookupError(f"no exchange calendar named {name!r}") from None


def calendar(name: str, start: Any = None, end: Any = None) -> Any:
    """The exchange calendar `name` covering [start, end] (cached per window).

    Without a window, the library's standard calendar over its default range.
    """
    key = (name, None if start is None else str(start), None if end is None else str(end))
    cal = _BUILT.get(key)
    if cal is not None:
        return cal
    with warnings.catch_warnings():
        # exchange_calendars 4.x uses pandas APIs that pandas 3.x deprecates (Series.values
        # of tz-aware data, DatetimeIndex.weekday); the warnings are about the library, not
        # about the user's data
        warnings.filterwarnings("ignore", message="Series.values returning")
        warnings.filterwarnings("ignore", module=r"exchange_calendars(\.|$)")
        if start is None or end is None:
            import exchange_calendars

            cal = exchange_calendars.get_calendar(name, start=start, end=end)
        else:
            try:
                cls = _windowed(_calendar_class(name))
            except ImportError:        # the library moved its registry: build the standard way
                import exchange_calendars

                cal = exchange_calendars.get_calendar(name, start=start, end=end)
                _BUILT[key] = cal
                return cal
            lo = pd.Timestamp(start) - pd.Timedelta(days=PAD_DAYS)
            hi = pd.Timestamp(end) + pd.Timedelta(days=PAD_DAYS)
            cal = cls.__new__(cls)
            cal._ml4t_args = (name, start, end)
            cal._ml4t_window = (lo.tz_localize(None) if lo.tzinfo else lo,
                                hi.tz_localize(None) if hi.tzinfo else hi)
            cls.__init__(cal, start=start, end=end)
    _BUILT[key] = cal
    return cal


def calendar_tz(name: str) -> str:
    """The calendar's time zone name, read from its class (nothing is built)."""
    cls = _calendar_class(name)
    tz = cls.tz
    if isinstance(tz, property):      # a property on some versions: needs an instance
        tz = tz.fget(cls.__new__(cls))
    return str(tz)
