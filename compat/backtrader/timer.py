"""Backtrader's timers (``Strategy.add_timer`` / ``Cerebro.add_timer``), once a day.

A timer fires at most once per calendar day, on the first bar whose time reaches ``when``
(a ``datetime.time``, or the feed's session start / end) plus ``offset``, on the days that
pass its filters: ``monthdays`` / ``weekdays`` (ISO, Monday = 1), where with
``monthcarry`` / ``weekcarry`` a listed day that had no bar moves to the next day that has
one, and ``allow(date)``. The day filters are evaluated on the first bar of each day, even
when the time is not reached that day (so with daily bars stamped at midnight, as
``PandasData`` stamps them, a ``SESSION_END`` timer never fires: Backtrader's behaviour).
It fires after the broker has handled the bar and before the strategies' notifications
and ``next()``, calling ``owner.notify_timer(timer, when, *args, **kwargs)`` (and every
strategy's with ``strats=True``); orders placed there behave like orders from ``next()``.

Not supported (``NotImplementedError``): ``repeat`` (several firings a day), ``cheat``
(before the broker), ``tzdata`` other than a data feed.
"""
from __future__ import annotations

import bisect
import datetime as _dt

from .utils import date2num, num2date

__all__ = ["SESSION_TIME", "SESSION_START", "SESSION_END", "Timer"]

SESSION_TIME, SESSION_START, SESSION_END = range(3)


class _TimerParams:
    """``timer.p`` / ``timer.params``: the timer's settings by name."""

    def __init__(self, **values):
        self.__dict__.update(values)


class Timer:
    """One timer (returned by ``add_timer``; compared by identity in ``notify_timer``)."""

    SESSION_TIME, SESSION_START, SESSION_END = SESSION_TIME, SESSION_START, SESSION_END

    def __init__(self, tid, owner, strats=False, when=None, offset=_dt.timedelta(),
                 repeat=_dt.timedelta(), weekdays=(), weekcarry=False, monthdays=(),
                 monthcarry=True, allow=None, tzdata=None, cheat=False, args=(),
                 kwargs=None):
        if repeat:
            raise NotImplementedError("timers with repeat (several times a day) are not "
                                      "supported by the ml4t shim")
        if cheat:
            raise NotImplementedError("cheat timers (called before the broker) are not "
                                      "supported by the ml4t shim")
        if tzdata is not None and not hasattr(tzdata, "_clock"):
            raise NotImplementedError("a timer's tzdata must be a data feed in the ml4t shim")
        if not isinstance(when, (_dt.time, int)) or isinstance(when, bool):
            raise TypeError(f"add_timer(when=...) takes a datetime.time or "
                            f"bt.timer.SESSION_START / SESSION_END, got {when!r}")
        self.p = self.params = _TimerParams(
            tid=tid, owner=owner, strats=strats, when=when, offset=offset, repeat=repeat,
            weekdays=sorted(weekdays), weekcarry=weekcarry, monthdays=sorted(monthdays),
            monthcarry=monthcarry, allow=allow, tzdata=tzdata, cheat=cheat)
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.lastwhen = None

    # ------------------------------------------------------------------ running
    def _start(self, data):
        """Resolve the session times against ``data`` (or ``tzdata``) and reset the state."""
        p = self.p
        feed = p.tzdata if p.tzdata is not None else data
        if isinstance(p.when, _dt.time):
            self._time = p.when
        elif p.when == SESSION_START:
            self._time = feed.p.sessionstart
        elif p.when == SESSION_END:
            self._time = feed.p.sessionend
        else:
            raise ValueError(f"add_timer(when={p.when!r}): not a session reference")
        self._day = _dt.date.min            # last day whose filters were evaluated
        self._done = _dt.date.min           # last day fired on or ruled out
        self._due = None                    # day number the timer waits for today
        self._due_dt = None
        self._month, self._month_left = -1, []
        self._week, self._week_left = -1, []

    @staticmethod
    def _consume(left, today, carry, fresh_carry):
        """Days of a month / week mask: whether ``today`` is served, and the mask minus
        the days used up.

        As Backtrader decides it: served when a day was carried from the previous
        month/week, when (with carry) a listed day before today went unserved, or when
        the next listed day is not before today -- which Backtrader's test also accepts
        for a day that is not listed whenever an earlier listed day has passed (so with
        ``monthdays=[1, 15]`` and no carry, a first bar on the 2nd fires and uses up the
        15th as well)."""
        before = bisect.bisect_left(left, today)
        if before < len(left):
            hit = bisect.bisect_right(left, today, before) > 0
            used = before + hit
        else:
            hit, used = False, before
        del left[:used]
        return fresh_carry or (carry and before > 0) or hit

    def _day_passes(self, day: _dt.date) -> bool:
        p = self.p
        if p.monthdays:
            carried = False
            if day.month != self._month:
                carried = p.monthcarry and bool(self._month_left)
                self._month, self._month_left = day.month, list(p.monthdays)
            if not self._consume(self._month_left, day.day, p.monthcarry, carried):
                return False
        if p.weekdays:
            _, week, weekday = day.isocalendar()
            carried = False
            if week != self._week:
                carried = p.weekcarry and bool(self._week_left)
                self._week, self._week_left = week, list(p.weekdays)
            if not self._consume(self._week_left, weekday, p.weekcarry, carried):
                return False
        return p.allow is None or bool(p.allow(day))

    def _check(self, dtnum: float) -> bool:
        """Whether the timer fires on the bar at ``dtnum`` (a Backtrader day number)."""
        moment = num2date(dtnum)
        day = moment.date()
        if day == self._done:
            return False
        if day > self._day:
            self._day = day
            if not self._day_passes(day):
                self._done = day
                return False
            self._due_dt = _dt.datetime.combine(day, self._time) + self.p.offset
            self._due = date2num(self._due_dt)
        if self._due is None or dtnum < self._due:
            return False
        self.lastwhen = self._due_dt
        self._done = day
        self._due = None
        return True
