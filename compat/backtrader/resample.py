"""``cerebro.resampledata``: compress a feed into weekly, monthly or yearly bars, intraday
bars into daily ones, and ticks, seconds or minutes into larger second or minute bars, as
Backtrader's resampler does.

A compressed bar takes the first open, the highest high, the lowest low, the last close,
the summed volume and the last open interest of its source bars, and the datetime of its
last source bar (daily bars compressed from intraday data are stamped at the session
end). Backtrader only knows a period is over when the first bar of the next period
arrives, so next to a non-resampled feed the compressed bar is *delivered* on that later
bar (and the last one on an extra step after the data ends); ``deliver`` records when.

Intraday targets (``TimeFrame.Seconds``/``Minutes`` with a ``compression``) follow
Backtrader's boundary rules, bar by bar (``_IntradayResampler``): with ``bar2edge`` (the
default) the bars are aligned on the clock (``compression=15`` closes at :00, :15, :30,
:45; ``boundoff`` shifts the boundaries). A source bar stamped exactly on a boundary closes
its bar at once and is delivered on that bar; otherwise a bar closes when a source bar of a
later period arrives (delivered with it) or when the session ends (delivered with the next
session's first bar). With ``adjbartime`` (the default) a bar closed late is stamped at its
boundary (``rightedge``: the end of its period, else the start), or at the session end
when the session ended; a bar closed on its boundary keeps that source bar's time.
"""
from __future__ import annotations

import datetime as _dt
import numbers

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
    if TimeFrame.Ticks < timeframe < TimeFrame.Days:
        if src_tf > timeframe:
            raise ValueError(
                f"resampledata: cannot resample {TimeFrame.getname(src_tf, 1)} bars of "
                f"{data._name or 'the feed'!r} into smaller {TimeFrame.getname(timeframe, 1)} "
                "bars")
        if (not isinstance(compression, numbers.Integral) or isinstance(compression, bool)
                or compression < 1):
            raise ValueError(f"resampledata: compression must be a positive integer, got "
                             f"{compression!r}")
        out = _IntradayResampler(data, timeframe, compression, bar2edge, adjbartime,
                                 rightedge, boundoff, takelate).run(cols)
        data._timeframe = timeframe
        data._compression = compression
        return out
    if timeframe == TimeFrame.Ticks:
        raise NotImplementedError("resampledata: TimeFrame.Ticks targets (grouping ticks "
                                  "into ticks) are not supported by the ml4t shim")
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


class _IntradayResampler:
    """Backtrader's resampler state machine for second and minute targets, run over the
    preloaded source bars once."""

    _COLS = ("datetime", "open", "high", "low", "close", "volume", "openinterest")

    def __init__(self, data, timeframe, compression, bar2edge, adjbartime, rightedge,
                 boundoff, takelate):
        self.tf = timeframe
        self.comp = compression
        self.bar2edge = bar2edge
        self.adjust = bool(bar2edge and adjbartime)
        self.rightedge = int(bool(rightedge))
        self.boundoff = boundoff
        self.takelate = takelate
        self.sessionend = data.p.sessionend
        self.compcount = 0
        self.nexteos = None            # the session end ahead (a day number), or None
        self.lasteos = None            # the last session end crossed
        self.bar = None                # [datetime, open, high, low, close, volume, oi]

    # ---------------------------------------------------------------- points in time
    def point(self, num):
        """Position of a time of day in target units and the rest below a unit."""
        t = num2date(num).time()
        point = t.hour * 60 + t.minute
        rest = 0
        if self.tf < TimeFrame.Minutes:
            point = point * 60 + t.second
            if self.tf < TimeFrame.Seconds:
                point = point * 1e6 + t.microsecond
            else:
                rest = t.microsecond
        else:
            rest = t.second + t.microsecond
        return point + self.boundoff, rest

    def eoscheck(self, num, exact):
        if self.nexteos is None:            # the session end after this source bar
            now = num2date(num)
            eos = _dt.datetime.combine(now.date(), self.sessionend)
            while now > eos:
                eos += _dt.timedelta(days=1)
            self.nexteos = date2num(eos)
        if exact:
            ret = num == self.nexteos
        elif num > self.nexteos:
            ret = self.bar is not None and self.bar[0] <= self.nexteos
        else:
            ret = num == self.nexteos
        if ret:
            self.lasteos, self.nexteos = self.nexteos, None
        return ret

    def onedge(self, num):
        if self.eoscheck(num, exact=True):
            return True
        point, rest = self.point(num)
        if rest:
            return False
        bound, brest = divmod(point, self.comp)
        return brest == 0 and point == bound * self.comp

    def barover(self, num):
        if self.eoscheck(num, exact=False):
            return True
        if num < self.bar[0]:
            return False
        point, _ = self.point(self.bar[0])
        barpoint, _ = self.point(num)
        if barpoint <= point:
            return False
        if not self.bar2edge or self.comp == 1:
            return True
        return barpoint // self.comp > point // self.comp

    def checkbarover(self, num):
        if not self.barover(num):
            return False
        if self.bar2edge:
            return True
        self.compcount += 1
        return self.compcount % self.comp == 0

    def adjusted(self):
        """The boundary time of the open bar (a day number)."""
        if self.nexteos is None:
            return self.lasteos
        stamp = num2date(self.bar[0])
        point, _ = self.point(self.bar[0])
        point = (point // self.comp + self.rightedge) * self.comp
        ps = pus = 0
        if self.tf == TimeFrame.Minutes:
            ph, pm = divmod(point, 60)
        elif self.tf == TimeFrame.Seconds:
            ph, pm = divmod(point, 60 * 60)
            pm, ps = divmod(pm, 60)
        else:
            ph, pm = divmod(point, 60 * 60 * 1e6)
            pm, psec = divmod(pm, 60 * 1e6)
            ps, pus = divmod(psec, 1e6)
        extradays = 0
        if ph > 23:
            extradays, ph = divmod(ph, 24)
        stamp = stamp.replace(hour=int(ph), minute=int(pm), second=int(ps),
                              microsecond=int(pus))
        if extradays:
            stamp += _dt.timedelta(days=extradays)
        return date2num(stamp)

    # ------------------------------------------------------------------- the bars
    def update(self, row):
        bar = self.bar
        if bar is None:
            self.bar = list(row)
            self.bar[2] = max(float("-inf"), row[2])
            self.bar[3] = min(float("inf"), row[3])
            self.bar[5] = 0.0 + row[5]
            return
        bar[0] = row[0]
        bar[2] = max(bar[2], row[2])
        bar[3] = min(bar[3], row[3])
        bar[4] = row[4]
        bar[5] += row[5]
        bar[6] = row[6]

    def run(self, cols):
        src = [np.asarray(cols[k], dtype=np.float64).tolist() for k in self._COLS]
        rows = list(zip(*src))
        out, deliver = [], []
        for row in rows:
            num = row[0]
            if out and num <= out[-1][0]:       # late data (stamped before the last bar)
                if self.takelate:
                    self.update(row)
                    self.bar[0] = out[-1][0] + 0.000001
                continue
            edge = self.onedge(num)
            if edge:
                self.update(row)
            close = self.bar is not None and (edge or self.checkbarover(num))
            if close:
                if not edge and self.adjust:
                    stamp = self.adjusted()
                    if stamp > self.bar[0]:
                        self.bar[0] = stamp
                out.append(self.bar)
                deliver.append(num)
                self.bar = None
            if not edge:
                self.update(row)
        if self.bar is not None:
            if self.adjust:
                self.bar[0] = self.adjusted()
            out.append(self.bar)
            deliver.append(np.inf)
        res = {k: np.array([b[j] for b in out], dtype=np.float64)
               for j, k in enumerate(self._COLS)}
        back = np.flatnonzero(np.diff(res["datetime"]) < 0)
        if len(back):
            i = int(back[0]) + 1
            raise NotImplementedError(
                f"resampledata(timeframe={TimeFrame.getname(self.tf, self.comp)}, "
                f"compression={self.comp}, boundoff={self.boundoff}, rightedge="
                f"{bool(self.rightedge)}): compressed bar {i} is stamped "
                f"{num2date(res['datetime'][i])}, before bar {i - 1} "
                f"({num2date(res['datetime'][i - 1])}); Backtrader runs such bars, the "
                "ml4t engine needs times that do not go backwards (use another boundoff "
                "or rightedge=True)")
        res["_deliver"] = np.asarray(deliver, dtype=np.float64)
        return res
