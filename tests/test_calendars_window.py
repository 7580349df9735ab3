"""Calendars built for a window (ml4t.calendars) equal exchange_calendars' standard build.

Hand-checked reference values (XNYS): 2012-11-22 is Thanksgiving (no session), 2012-11-23
closes early at 13:00 New York = 18:00 UTC; 2012 had 250 NYSE sessions (Hurricane Sandy
closed 2012-10-29 and 10-30, an ad hoc closure); Juneteenth (2022-06-20, observed Monday)
is a holiday from 2022 only, so 2021-06-18 is a session.
"""
from __future__ import annotations

import warnings

import exchange_calendars as xc
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml4t.calendars import calendar, calendar_tz


def _standard(name, start, end):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xc.get_calendar(name, start=start, end=end)


def _differences(a, b) -> list:
    """Names of the session tables that differ between calendars ``a`` and ``b``."""
    out = []
    if len(a.sessions) != len(b.sessions) or not (a.sessions == b.sessions).all():
        out.append("sessions")
    for name in ("opens", "closes", "break_starts", "break_ends"):
        if not getattr(a, name).equals(getattr(b, name)):
            out.append(name)
    return out


def test_xnys_2012_by_hand():
    cal = calendar("XNYS", "2012-01-01", "2012-12-31")
    sessions = cal.sessions
    assert len(sessions) == 250
    assert pd.Timestamp("2012-11-22") not in sessions
    assert pd.Timestamp("2012-10-29") not in sessions and pd.Timestamp("2012-10-30") not in sessions
    assert cal.session_close(pd.Timestamp("2012-11-23")) == pd.Timestamp("2012-11-23 18:00", tz="UTC")
    assert cal.session_close(pd.Timestamp("2012-11-21")) == pd.Timestamp("2012-11-21 21:00", tz="UTC")


def test_a_rule_that_starts_inside_the_window():
    cal = calendar("XNYS", "2021-06-01", "2022-06-30")
    assert pd.Timestamp("2021-06-18") in cal.sessions
    assert pd.Timestamp("2022-06-20") not in cal.sessions


@pytest.mark.parametrize("name", ["XNYS", "XLON", "XTKS", "XHKG", "XETR", "CMES", "XASX", "XBOM"])
@pytest.mark.parametrize("window", [("1998-01-01", "2014-12-31"), ("2000-12-20", "2001-01-10")])
def test_window_equals_the_standard_build(name, window):
    windowed, standard = calendar(name, *window), _standard(name, *window)
    assert len(windowed.sessions) > 0
    assert _differences(windowed, standard) == []


def test_the_comparison_sees_a_different_calendar():
    window = ("2013-01-01", "2013-12-31")
    assert "sessions" in _differences(calendar("XNYS", *window), _standard("XLON", *window))
    assert "closes" in _differences(calendar("XNYS", *window), _standard("XNAS", "2013-01-01",
                                                                          "2013-06-30"))


def test_calendar_is_cached_per_window():
    a = calendar("XNYS", "2013-01-01", "2013-12-31")
    assert calendar("XNYS", "2013-01-01", "2013-12-31") is a
    assert calendar("XNYS", "2013-01-01", "2014-12-31") is not a


def test_a_windowed_calendar_pickles():
    import pickle

    cal = calendar("XNYS", "2013-01-01", "2013-12-31")
    back = pickle.loads(pickle.dumps(cal))
    assert back.name == "XNYS" and (back.sessions == cal.sessions).all()
    assert back.closes.equals(cal.closes)


def test_unknown_name_and_time_zone():
    with pytest.raises(LookupError, match="NOPE"):
        calendar("NOPE", "2013-01-01", "2013-12-31")
    assert calendar_tz("XNYS") == "America/New_York"
    assert calendar_tz("NYSE") == "America/New_York"       # an alias
    assert calendar_tz("XTKS") == "Asia/Tokyo"


_FULL: dict = {}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.dates(pd.Timestamp("1992-01-01").date(), pd.Timestamp("2024-12-01").date()),
       days=st.integers(1, 1500))
def test_any_window_matches_the_same_dates_of_a_long_standard_calendar(first, days):
    full = _FULL.get("XNYS")
    if full is None:
        full = _FULL["XNYS"] = _standard("XNYS", "1990-01-01", "2030-12-31")
    start = pd.Timestamp(first)
    end = min(start + pd.Timedelta(days=days), pd.Timestamp("2030-12-31"))
    in_range = full.sessions[(full.sessions >= start) & (full.sessions <= end)]
    if len(in_range) == 0:             # the library refuses a window without a session
        with pytest.raises(xc.errors.NoSessionsError):
            calendar("XNYS", start, end)
        return
    cal = calendar("XNYS", start, end)
    assert list(cal.sessions) == list(in_range)
    assert list(cal.closes) == list(full.closes[in_range])
    assert list(cal.opens) == list(full.opens[in_range])
