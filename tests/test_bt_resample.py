"""Intraday resampling in the Backtrader shim (``resampledata`` to seconds and minutes) and
feeds whose bars repeat a time, by hand on tiny data. The same rules are checked against
real Backtrader in ``tests/test_bt_parity.py`` (``test_intraday_resampling_*``)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t.compat.backtrader as bt

DAY = dt.date(2024, 1, 2)


def minute_bars(times, day=DAY):
    """Bars at the given ``(hour, minute)`` (or datetime) stamps; bar i has open 100 + i,
    high open + 1, low open - 1, close open + 0.5, volume 10 * (i + 1)."""
    idx = [t if isinstance(t, dt.datetime) else dt.datetime.combine(day, dt.time(*t))
           for t in times]
    o = 100.0 + np.arange(len(idx))
    return pd.DataFrame({"open": o, "high": o + 1, "low": o - 1, "close": o + 0.5,
                         "volume": 10.0 * (np.arange(len(idx)) + 1)},
                        index=pd.DatetimeIndex(idx))


def recorder(bt):
    class Seen(bt.Strategy):
        """Records, on every step, the strategy's time and each feed's length, time and
        bar."""

        def start(self):
            self.rows = []

        def prenext(self):
            self.next()

        def next(self):
            row = [self.datetime.datetime(0)]
            for d in self.datas:
                row.append((len(d), d.datetime.datetime(0), d.open[0], d.high[0], d.low[0],
                            d.close[0], d.volume[0]) if len(d) else None)
            self.rows.append(tuple(row))

    return Seen


def seen(df, plain=False, tf=bt.TimeFrame.Minutes, src_tf=bt.TimeFrame.Minutes, mod=bt,
         **kw):
    """What a recording strategy sees with ``df`` resampled (and also plain)."""
    c = mod.Cerebro(stdstats=False)
    d = mod.feeds.PandasData(dataname=df, timeframe=src_tf)
    if plain:
        c.adddata(d)
    c.resampledata(d, timeframe=tf, **kw)
    c.addstrategy(recorder(mod))
    return c.run()[0].rows


def at(h, m, s=0, us=0, day=DAY):
    return dt.datetime.combine(day, dt.time(h, m, s, us))


TIMES = [(9, m) for m in range(31, 41)] + [(9, 44), (9, 46)]


def test_five_minute_bars_close_on_the_clock():
    # 09:35 and 09:40 are boundaries: bars A (09:31-09:35) and B (09:36-09:40) close on
    # them and keep their time. C (09:44 alone) closes when 09:46 crosses the 09:45
    # boundary and is stamped there (right edge); D (09:46) is stamped 09:50 at the end.
    rows = seen(minute_bars(TIMES), compression=5)
    assert [r[1] for r in rows] == [
        (1, at(9, 35), 100.0, 105.0, 99.0, 104.5, 10.0 + 20 + 30 + 40 + 50),
        (2, at(9, 40), 105.0, 110.0, 104.0, 109.5, 60.0 + 70 + 80 + 90 + 100),
        (3, at(9, 45), 110.0, 111.0, 109.0, 110.5, 110.0),
        (4, at(9, 50), 111.0, 112.0, 110.0, 111.5, 120.0),
    ]


def test_next_to_the_source_a_bar_arrives_with_the_bar_that_closes_it():
    rows = seen(minute_bars(TIMES), plain=True, compression=5)
    lens = [(r[1][0], r[2][0] if r[2] else 0) for r in rows]
    # twelve minute bars and one extra step after the data for the last 5-minute bar
    assert lens == [(1, 0), (2, 0), (3, 0), (4, 0), (5, 1), (6, 1), (7, 1), (8, 1),
                    (9, 1), (10, 2), (11, 2), (12, 3), (12, 4)]
    # C is delivered on the 09:46 bar stamped 09:45; the strategy shows the later time
    assert rows[11][0] == at(9, 46) and rows[11][2][1] == at(9, 45)
    assert rows[12][0] == at(9, 50) and rows[12][1][1] == at(9, 46)


def test_left_edge_stamps_never_move_a_bar_back():
    # rightedge=False stamps at the period's start; a bar closed late is never moved
    # before its last source bar (C stays at 09:44); the last bar takes its start 09:45
    rows = seen(minute_bars(TIMES), compression=5, rightedge=False)
    assert [r[1][1] for r in rows] == [at(9, 35), at(9, 40), at(9, 44), at(9, 45)]


def test_boundoff_shifts_the_boundaries():
    # boundoff=1 counts 09:34 as minute 575, a boundary: bars close on 09:34, 09:39 and
    # 09:44; the last one (09:46, point 587) is stamped at point (587 // 5 + 1) * 5 = 590,
    # read back as 09:50 (Backtrader keeps the offset in the stamp)
    rows = seen(minute_bars(TIMES), compression=5, boundoff=1)
    assert [(r[1][1], r[1][6]) for r in rows] == [
        (at(9, 34), 10.0 + 20 + 30 + 40),
        (at(9, 39), 50.0 + 60 + 70 + 80 + 90),
        (at(9, 44), 100.0 + 110),
        (at(9, 50), 120.0),
    ]


def test_a_session_end_closes_the_bar_and_stamps_it_there():
    # the 09:46 bar is still open when the next day starts: it closes on the next day's
    # first bar and is stamped at the session end (the feed's default 23:59:59.999990);
    # so is the next day's bar at the end, as in Backtrader (the last session end seen).
    # 23:59:59.999990 as a day number reads back a microsecond earlier (so in Backtrader)
    times = TIMES + [dt.datetime(2024, 1, 3, 9, 33)]
    rows = seen(minute_bars(times), compression=5)
    eos = at(23, 59, 59, 999989)
    assert [r[1][1] for r in rows] == [at(9, 35), at(9, 40), at(9, 45), eos, eos]
    assert [r[1][2] for r in rows][-2:] == [111.0, 112.0]


def test_without_bar2edge_bars_count_source_periods():
    # bar2edge=False: a bar also closes after every 5th change of minute, counted over
    # the whole run (Backtrader never resets the count); a source bar on a boundary
    # still closes its bar. Stamps stay those of the last source bar.
    # 09:32-09:34 count 1-3, 09:35 is a boundary (A); 09:37 counts 4, 09:38 counts 5 and
    # closes 09:36-09:37 (B); 09:40 is a boundary (C = 09:38-09:40); D at the end.
    rows = seen(minute_bars(TIMES), compression=5, bar2edge=False)
    assert [(r[1][1], r[1][2], r[1][6]) for r in rows] == [
        (at(9, 35), 100.0, 10.0 + 20 + 30 + 40 + 50),
        (at(9, 37), 105.0, 60.0 + 70),
        (at(9, 40), 107.0, 80.0 + 90 + 100),
        (at(9, 46), 110.0, 110.0 + 120),
    ]


def test_ticks_into_seconds_and_ticks_sharing_a_time():
    # three ticks in one microsecond and two more: every tick is its own step of the
    # plain feed, as in Backtrader; 1-second bars close when a later second starts
    t0 = at(10, 0, 0, 250_000)
    times = [t0, t0, t0, at(10, 0, 0, 900_000), at(10, 0, 2, 100_000)]
    df = minute_bars(times)
    rows = seen(df, plain=True, tf=bt.TimeFrame.Seconds, src_tf=bt.TimeFrame.Ticks,
                compression=1)
    assert [r[1][0] for r in rows] == [1, 2, 3, 4, 5, 5]
    assert [r[1][5] for r in rows][:5] == [100.5, 101.5, 102.5, 103.5, 104.5]
    seconds = [r[2] for r in rows if r[2] is not None]
    assert seconds[-1][:7] == (2, at(10, 0, 3), 104.0, 105.0, 103.0, 104.5, 50.0)
    assert seconds[0][:7] == (1, at(10, 0, 1), 100.0, 104.0, 99.0, 103.5, 100.0)


def test_bars_that_would_go_back_in_time_are_refused_by_name():
    # boundoff=-3 with left edges stamps a late bar before the bar delivered on the
    # boundary before it; Backtrader runs such bars, the engine cannot
    # points (minute - 3): 568, 570 (boundary: 09:31-09:33 close, stamped 09:33), 575
    # (boundary: 09:38 alone, 09:38), 576: the last bar is stamped at 575 -> 09:35
    times = [(9, 31), (9, 33), (9, 38), (9, 39)]
    with pytest.raises(NotImplementedError, match=r"boundoff=-3.*compressed bar 2 is "
                                                  r"stamped 2024-01-02 09:35:00, before "
                                                  r"bar 1 \(2024-01-02 09:38:00\)"):
        seen(minute_bars(times), compression=5, boundoff=-3, rightedge=False)


@pytest.mark.parametrize("kw, message", [
    (dict(timeframe=bt.TimeFrame.Seconds, compression=5), "cannot resample Minute bars"),
    (dict(timeframe=bt.TimeFrame.Minutes, compression=0), "compression must be a positive"),
    (dict(timeframe=bt.TimeFrame.Minutes, compression=2.5), "compression must be a positive"),
    (dict(timeframe=bt.TimeFrame.Ticks), "Ticks targets"),
])
def test_bad_resampling_requests_are_named(kw, message):
    c = bt.Cerebro()
    c.resampledata(bt.feeds.PandasData(dataname=minute_bars(TIMES),
                                       timeframe=bt.TimeFrame.Minutes), **kw)
    c.addstrategy(recorder(bt))
    with pytest.raises((ValueError, NotImplementedError), match=message):
        c.run()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=1, max_size=60), st.integers(1, 20),
       st.integers(-4, 4), st.booleans(), st.booleans())
def test_resampled_bars_partition_the_source(gaps, compression, boundoff, rightedge,
                                             bar2edge):
    """Whatever the parameters, every source bar lands in exactly one compressed bar, in
    order: opens, closes, highs, lows and volumes add up, and lengths only grow."""
    minutes = 9 * 60 + np.cumsum(gaps)                  # at most 16:00
    times = [at(int(m // 60), int(m % 60)) for m in minutes]
    df = minute_bars(times)
    try:
        rows = seen(df, compression=compression, boundoff=boundoff, rightedge=rightedge,
                    bar2edge=bar2edge)
    except NotImplementedError as e:            # bars going back in time, refused
        assert "before bar" in str(e)
        return
    bars = [r[1] for r in rows]
    assert [b[0] for b in bars] == list(range(1, len(bars) + 1))
    assert sum(b[6] for b in bars) == df["volume"].sum()
    opens = [b[2] for b in bars]
    assert opens == sorted(opens) and opens[0] == df["open"].iloc[0]
    assert bars[-1][5] == df["close"].iloc[-1]
    # opens rise bar by bar: a bar's low is its first open - 1, its high its last open + 1
    assert all(b[4] == b[2] - 1 for b in bars)
    assert all(b[3] == b[5] + 0.5 for b in bars)
    assert len(bars) <= len(df)
    assert all(x[1] <= y[1] for x, y in zip(bars, bars[1:]))


# --------------------------------------------------------- the same cases on Backtrader
CASES = {
    "five_minutes": (TIMES, dict(compression=5)),
    "five_minutes_plain": (TIMES, dict(compression=5, plain=True)),
    "left_edge": (TIMES, dict(compression=5, rightedge=False)),
    "boundoff": (TIMES, dict(compression=5, boundoff=1)),
    "session_end": (TIMES + [dt.datetime(2024, 1, 3, 9, 33)], dict(compression=5)),
    "no_bar2edge": (TIMES, dict(compression=5, bar2edge=False)),
    "ticks": ([at(10, 0, 0, 250_000)] * 3 + [at(10, 0, 0, 900_000), at(10, 0, 2, 100_000)],
              dict(plain=True, tf=bt.TimeFrame.Seconds, src_tf=bt.TimeFrame.Ticks)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hand_cases_as_backtrader_sees_them(case):
    real = pytest.importorskip("backtrader")
    times, kw = CASES[case]
    ours = seen(minute_bars(times), **kw)
    theirs = seen(minute_bars(times), mod=real, **kw)
    assert ours == theirs
    assert len(ours) >= 4
