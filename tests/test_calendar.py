"""Exchange calendars: stamping, session membership of intraday bars, DAY orders at early closes.

Hand-checked reference values (XNYS, exchange_calendars):
- 2012-11-22 is Thanksgiving (no session); 2012-11-23 closes early at 13:00 New York
  = 18:00 UTC (EST, UTC-5), opening 09:30 = 14:30 UTC.
- 2012-12-24 closes early at 13:00 (18:00 UTC); 2012-12-25 is a holiday.
- 2012-11-23 is day 15_667 since 1970-01-01 (2012-01-03 is 15_342; +325 days).
- In summer (EDT, UTC-4) the close 16:00 is 20:00 UTC; in winter 21:00 UTC.
- XETR in 2006: 09:00-17:30 Berlin (CET, UTC+1) = 08:00-16:30 UTC.
"""
from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ml4t
from ml4t import Strategy
from ml4t.data import load_bars
from ml4t.errors import DataError

ROOT = pathlib.Path(__file__).resolve().parents[1]
BT = ROOT / "data" / "backtrader"
DAY_2012_11_23 = 15_667


def intraday(times, asset="X", price=10.0) -> pd.DataFrame:
    """Flat bars at the given timestamps (strings read as UTC unless they carry an offset)."""
    ts = pd.DatetimeIndex([pd.Timestamp(t) for t in times])
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return pd.DataFrame({"ts": ts, "asset": asset, "open": price, "high": price + 0.5,
                         "low": price - 0.5, "close": price, "volume": 1000.0})


def half_hours(day: str, first: str, last: str) -> list[pd.Timestamp]:
    return list(pd.date_range(f"{day} {first}", f"{day} {last}", freq="30min", tz="UTC"))


# the early-close session 2012-11-23 (14:30..18:00 UTC), then a full one on 2012-11-26
EARLY = half_hours("2012-11-23", "14:30", "18:00") + half_hours("2012-11-26", "14:30", "21:00")


def the_batch(data):
    (batch,) = list(data.batches())
    return batch


# ---------------------------------------------------------------- session membership


def test_intraday_bars_of_an_early_close_session_pass_and_carry_its_label():
    batch = the_batch(load_bars(intraday(EARLY)))

    # 8 bars on 11-23 (14:30..18:00 every 30 min) and 14 on 11-26 (14:30..21:00)
    assert batch.session.tolist() == [DAY_2012_11_23] * 8 + [DAY_2012_11_23 + 3] * 14


def test_bar_after_an_early_close_is_outside_the_session():
    # 18:30 UTC = 13:30 New York, half an hour after the 13:00 early close
    frame = intraday(EARLY[:8] + [pd.Timestamp("2012-11-23 18:30", tz="UTC")])

    with pytest.raises(DataError) as info:
        load_bars(frame)

    e = info.value
    assert (e.rule, e.row, e.column, e.path) == ("outside_session", 8, "ts", "<DataFrame>")
    assert "2012-11-23 13:30:00 America/New_York" in str(e)          # the timestamp ...
    assert "09:30 to 13:00 America/New_York (14:30 to 18:00 UTC)" in str(e)   # ... the hours


@pytest.mark.parametrize(("stamp", "ok"), [
    ("2012-11-23 14:30", True),    # the open itself (inclusive)
    ("2012-11-23 18:00", True),    # the early close itself (inclusive)
    ("2012-11-23 14:29", False),   # one minute before the open
    ("2012-11-23 18:01", False),   # one minute after the early close
])
def test_session_bounds_are_inclusive(stamp, ok):
    frame = intraday([stamp])
    if ok:
        assert the_batch(load_bars(frame)).session.tolist() == [DAY_2012_11_23]
    else:
        with pytest.raises(DataError, match="outside_session"):
            load_bars(frame)


def test_intraday_bar_on_a_holiday_is_not_a_session():
    # 15:00 UTC on Thanksgiving 2012-11-22, placed second in the input
    frame = intraday(["2012-11-21 15:00", "2012-11-22 15:00", "2012-11-23 15:00"])

    with pytest.raises(DataError) as info:
        load_bars(frame)

    assert (info.value.rule, info.value.row) == ("not_a_session", 1)
    assert "2012-11-22 is not a session of calendar XNYS" in str(info.value)


def test_the_close_moves_with_daylight_saving_time():
    # 20:30 UTC: 15:30 EST in January (inside), 16:30 EDT in July (after the close)
    assert len(the_batch(load_bars(intraday(["2012-01-03 20:30"])))) == 1
    with pytest.raises(DataError) as info:
        load_bars(intraday(["2012-07-03 16:00", "2012-07-05 20:30"]))
    # 2012-07-03 is itself an early close (13:00 EDT = 17:00 UTC): 16:00 UTC passes
    assert (info.value.rule, info.value.row) == ("outside_session", 1)
    assert "16:00 America/New_York (13:30 to 20:00 UTC)" in str(info.value)


def test_local_times_are_checked_after_conversion_to_utc():
    ny = pd.date_range("2012-11-23 09:30", "2012-11-23 13:00", freq="h",
                       tz="America/New_York")                   # 09:30, 10:30, 11:30, 12:30
    frame = intraday(ny)
    assert len(the_batch(load_bars(frame))) == 4
    # the same wall-clock times without a zone are read as UTC: 09:30 UTC = 04:30 New York
    naive = frame.assign(ts=ny.tz_localize(None))
    with pytest.raises(DataError) as info:
        load_bars(naive)
    assert (info.value.rule, info.value.row) == ("outside_session", 0)


def test_dates_with_a_time_zone_are_refused_with_a_hint():
    # daily bars labelled at local midnight (tz-aware) are not stamped: 00:00 is before the
    # 09:30 open, and the message says how to pass dates
    ny = pd.DatetimeIndex(["2012-11-21", "2012-11-23"]).tz_localize("America/New_York")

    with pytest.raises(DataError) as info:
        load_bars(intraday(ny))

    assert (info.value.rule, info.value.row) == ("outside_session", 0)
    assert "pass them without a time zone" in str(info.value)


def test_no_calendar_skips_the_session_check():
    batch = the_batch(load_bars(intraday(["2012-11-22 15:00", "2012-11-23 23:00"]),
                                calendar=None))
    # sessions are then UTC dates
    assert batch.session.tolist() == [DAY_2012_11_23 - 1, DAY_2012_11_23]


def test_streamed_parquet_checks_sessions_chunk_by_chunk(tmp_path):
    good = intraday(EARLY)
    path = tmp_path / "good.parquet"
    pq.write_table(pa.Table.from_pandas(good, preserve_index=False), path)
    streamed = load_bars(path, batch_rows=3)
    np.testing.assert_array_equal(
        np.concatenate([b.session for b in streamed.batches()]),
        the_batch(load_bars(good)).session)

    bad = intraday(EARLY[:8] + [pd.Timestamp("2012-11-23 19:00", tz="UTC")])
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), path)
    with pytest.raises(DataError) as info:
        list(load_bars(path, batch_rows=3).batches())
    assert (info.value.rule, info.value.row) == ("outside_session", 8)   # row across chunks


# ---------------------------------------------------------------- daily stamping


def daily(dates, asset="X") -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(dates), "asset": asset, "open": 10.0,
                         "high": 10.5, "low": 9.5, "close": 10.0, "volume": 1000.0})


def test_daily_bar_of_an_early_close_is_stamped_at_18_utc():
    batch = the_batch(load_bars(daily(["2012-11-21", "2012-11-23", "2012-11-26"])))

    stamps = [str(pd.Timestamp(t, tz="UTC")) for t in batch.ts]
    assert stamps == ["2012-11-21 21:00:00+00:00", "2012-11-23 18:00:00+00:00",
                      "2012-11-26 21:00:00+00:00"]


def test_daily_bar_dated_on_christmas_is_refused():
    with pytest.raises(DataError) as info:
        load_bars(daily(["2012-12-21", "2012-12-24", "2012-12-25", "2012-12-26"]))

    assert (info.value.rule, info.value.row) == ("not_a_session", 2)
    assert "2012-12-25" in str(info.value)


# ---------------------------------------------------------------- DAY orders and the calendar


class DayOrders(Strategy):
    """Places ``plan[ts]`` orders (asset, qty, kwargs) at the bar stamped ``ts`` (UTC)."""

    plan: dict = {}

    def on_start(self):
        self.ids = []

    def on_bar(self, bars):
        for asset, qty, kw in self.plan.get(str(bars.ts), []):
            self.ids.append(self.broker.order(asset, qty, **kw).id)


def last_event(result, order_id):
    rows = result.orders[result.orders["order_id"] == order_id]
    return rows.iloc[-1]


def test_intraday_day_order_expires_at_the_early_close():
    class Plan(DayOrders):
        # a buy limit at 1.0 never fills (lows are 9.5)
        plan = {"2012-11-23 15:00:00+00:00": [
            ("X", 10, {"limit_price": 1.0, "time_in_force": "DAY"}),
            ("X", 10, {"limit_price": 1.0, "time_in_force": "GTC"})]}

    r = ml4t.run_backtest(Plan, intraday(EARLY))

    day, gtc = r.strategy.ids
    # the DAY order expires with its session, at the 18:00 UTC (13:00 New York) bar
    expired = last_event(r, day)
    assert (expired["status"], expired["reason"]) == ("expired", "day_expired")
    assert str(expired["ts"]) == "2012-11-23 18:00:00+00:00"
    # the GTC order lives on until the data end (2012-11-26 21:00 UTC)
    gtc_end = last_event(r, gtc)
    assert (gtc_end["status"], gtc_end["reason"]) == ("canceled", "end_of_data")
    assert str(gtc_end["ts"]) == "2012-11-26 21:00:00+00:00"


def test_day_order_placed_at_the_early_close_is_good_for_the_next_session():
    class Plan(DayOrders):
        plan = {"2012-11-23 18:00:00+00:00": [
            ("X", 10, {"limit_price": 1.0, "time_in_force": "DAY"})]}

    r = ml4t.run_backtest(Plan, intraday(EARLY))

    # placed at the closing bar: nothing of 11-23 is left to trade on, so the order works
    # through 11-26 and expires at that session's end, 21:00 UTC
    (day,) = r.strategy.ids
    expired = last_event(r, day)
    assert (expired["status"], str(expired["ts"])) == ("expired", "2012-11-26 21:00:00+00:00")


def test_daily_market_order_on_christmas_eve_fills_after_the_holiday():
    class Plan(DayOrders):
        # 2012-12-24 closes early: its daily bar is stamped 18:00 UTC
        plan = {"2012-12-24 18:00:00+00:00": [("X", 10, {"time_in_force": "DAY"})]}

    frame = daily(["2012-12-21", "2012-12-24", "2012-12-26", "2012-12-27"])
    frame.loc[2, ["open", "high"]] = [10.2, 10.6]     # the 12-26 bar opens at 10.2

    r = ml4t.run_backtest(Plan, frame)

    # no bar on the 25th: the next session (12-26, closing 21:00 UTC) fills it at its open
    assert r.fills[["price", "qty"]].values.tolist() == [[10.2, 10.0]]
    assert str(r.fills["ts"].iloc[0]) == "2012-12-26 21:00:00+00:00"


# ---------------------------------------------------------------- the Backtrader sample files


def test_five_minute_sample_is_a_xetra_session_in_berlin_time():
    path = BT / "2006-min-005.txt"
    # read as UTC (naive), XNYS: 2006-01-02 is an NYSE holiday (New Year observed)
    with pytest.raises(DataError) as info:
        load_bars(path)
    assert (info.value.rule, info.value.line) == ("not_a_session", 2)
    # XETR trades 09:00-17:30 Berlin = 08:00-16:30 UTC; read as UTC, the file's 16:35 bar
    # (the 91st, line 92) is after the close: its times are Berlin wall-clock times
    with pytest.raises(DataError) as info:
        load_bars(path, calendar="XETR")
    assert (info.value.rule, info.value.row, info.value.line) == ("outside_session", 90, 92)
    # localised to Europe/Berlin every bar falls inside a XETR session: 2142 bars, 21 sessions
    raw = pd.read_csv(path)
    frame = pd.DataFrame({
        "ts": pd.to_datetime(raw["Date"] + " " + raw["Time"]).dt.tz_localize("Europe/Berlin"),
        **{c.lower(): raw[c] for c in ("Open", "High", "Low", "Close", "Volume")}})
    batch = the_batch(load_bars({"ESTX50": frame}, calendar="XETR"))
    assert len(batch) == 2142 and len(np.unique(batch.session)) == 21


def test_one_minute_sample_is_malformed_and_trades_eurex_hours():
    path = BT / "2006-01-02-volume-min-001.txt"
    # the header names 7 columns (no Time), the rows have 8 fields
    with pytest.raises(DataError) as info:
        load_bars(path)
    assert (info.value.rule, info.value.line) == ("bad_csv", 2)
    # read with explicit names in Berlin time: the bars run 09:01-22:00, Eurex hours
    # (08:00-22:00 Berlin), not Xetra's (after 17:30 Berlin on 2006-01-02: row 475)
    raw = pd.read_csv(path, header=None, skiprows=1,
                      names=["date", "time", "open", "high", "low", "close", "volume", "oi"])
    frame = raw.assign(ts=pd.to_datetime(raw["date"] + " " + raw["time"])
                       .dt.tz_localize("Europe/Berlin")).drop(columns=["date", "time", "oi"])
    with pytest.raises(DataError) as info:
        load_bars({"F": frame}, calendar="XETR")
    assert (info.value.rule, info.value.row) == ("outside_session", 475)
    assert load_bars({"F": frame}, calendar="XEUR").n_rows == 30_889
