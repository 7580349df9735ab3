"""Scheduling rules for ``schedule_function``: ``date_rules`` and ``time_rules``.

Date rules pick sessions of the trading calendar: ``every_day()``,
``week_start(days_offset=0)`` (the n-th trading day of each ISO week),
``week_end(days_offset=0)`` (n trading days before the week's last), and
``month_start`` / ``month_end`` likewise per calendar month. Weeks and months are
counted on the whole calendar, so a backtest starting mid-month does not call a
``month_start`` function before the next month begins. Time rules are accepted and,
as in Zipline's daily mode, ignored: scheduled functions run after ``handle_data``.
"""
from __future__ import annotations

import pandas as pd

__all__ = ["date_rules", "time_rules", "calendars", "DateRule", "TimeRule"]

MAX_WEEK_RANGE = 5
MAX_MONTH_RANGE = 23


class DateRule:
    """A set of sessions on which a scheduled function runs."""

    def sessions(self, all_sessions: pd.DatetimeIndex) -> set:
        """Session labels (tz-naive Timestamps) selected from ``all_sessions``."""
        raise NotImplementedError


class _EveryDay(DateRule):
    def sessions(self, all_sessions):
        return set(all_sessions)

    def __repr__(self):
        return "date_rules.every_day()"


class _NthInGroup(DateRule):
    def __init__(self, n, from_end: bool, limit: int, name: str):
        if int(n) != n or not 0 <= n < limit:
            raise ValueError(f"days_offset must be an integer in [0, {limit}), got {n}")
        self.n = int(n)
        self.from_end = from_end
        self.name = name

    def _keys(self, sessions):
        raise NotImplementedError

    def sessions(self, all_sessions):
        s = pd.Series(all_sessions, index=all_sessions)
        pos = -self.n - 1 if self.from_end else self.n
        return set(s.groupby(self._keys(all_sessions)).nth(pos))

    def __repr__(self):
        return f"date_rules.{self.name}(days_offset={self.n})"


class _Week(_NthInGroup):
    def __init__(self, n, from_end):
        super().__init__(n, from_end, MAX_WEEK_RANGE, "week_end" if from_end else "week_start")

    def _keys(self, sessions):
        iso = sessions.isocalendar()
        return [iso["year"].to_numpy(), iso["week"].to_numpy()]


class _Month(_NthInGroup):
    def __init__(self, n, from_end):
        super().__init__(n, from_end, MAX_MONTH_RANGE,
                         "month_end" if from_end else "month_start")

    def _keys(self, sessions):
        return [sessions.year, sessions.month]


class date_rules:
    """Factories of date rules (``date_rules.month_start(days_offset=1)``)."""

    @staticmethod
    def every_day():
        return _EveryDay()

    @staticmethod
    def month_start(days_offset=0):
        return _Month(days_offset, False)

    @staticmethod
    def month_end(days_offset=0):
        return _Month(days_offset, True)

    @staticmethod
    def week_start(days_offset=0):
        return _Week(days_offset, False)

    @staticmethod
    def week_end(days_offset=0):
        return _Week(days_offset, True)


class TimeRule:
    """A time of day; ignored in daily backtests."""

    def __init__(self, kind: str, offset=None, hours=None, minutes=None):
        if offset is not None and (hours is not None or minutes is not None):
            raise ValueError("pass either offset= or hours=/minutes=, not both")
        delta = offset if offset is not None else pd.Timedelta(hours=hours or 0,
                                                              minutes=minutes or 0)
        self.kind = kind
        self.offset = pd.Timedelta(delta)

    def __repr__(self):
        return f"time_rules.{self.kind}(offset={self.offset})"


class time_rules:
    """Factories of time rules (accepted; daily mode runs them after ``handle_data``)."""

    @staticmethod
    def market_open(offset=None, hours=None, minutes=None):
        if offset is None and hours is None and minutes is None:
            minutes = 1
        return TimeRule("market_open", offset, hours, minutes)

    @staticmethod
    def market_close(offset=None, hours=None, minutes=None):
        if offset is None and hours is None and minutes is None:
            minutes = 1
        return TimeRule("market_close", offset, hours, minutes)

    @staticmethod
    def every_minute():
        return TimeRule("every_minute")


class calendars:
    """Calendar sentinels accepted by ``schedule_function(calendar=...)``."""

    US_EQUITIES = "XNYS"
    US_FUTURES = "us_futures"
