"""The shim's one-pass csvdir reader (``_store._load_fast``) against the file-by-file path.

``BundleData`` parses a plain csvdir folder with one Arrow CSV call; anything unusual falls
back to ``ml4t.data.load_bars(folder)``, whose errors name the file and line. Both paths
must give the very same stored arrays.
"""
from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t.compat.zipline import _store
from ml4t.errors import DataError

RAW = pathlib.Path(__file__).resolve().parents[1] / "data" / "raw"
HEADER = "date,open,high,low,close,volume,dividend,split\n"
ROWS = ("2012-01-03,10.25,10.5,10.0,10.125,1000,0.0,1.0\n"
        "2012-01-04,10.125,10.75,10.0,10.5,2000,0.0,1.0\n")


def _both(folder):
    fast = _store.BundleData(folder)
    orig = _store._load_fast
    _store._load_fast = lambda *a: None
    try:
        slow = _store.BundleData(folder)
    finally:
        _store._load_fast = orig
    return fast, slow


def test_fast_reader_is_used_and_identical_on_the_sample_data():
    assert _store._load_fast(str(RAW / "daily"), {"calendar": None}) is not None
    fast, slow = _both(RAW)
    for f in ("open", "high", "low", "close", "volume", "has_bar"):
        assert np.array_equal(getattr(fast, f), getattr(slow, f), equal_nan=True), f
    assert fast.symbols == slow.symbols == ["AAPL", "IBM", "KO", "MSFT"]
    assert fast.splits == slow.splits and fast.dividends == slow.dividends
    assert fast.adjustments == slow.adjustments and list(fast.sessions) == list(slow.sessions)
    # AAPL 7:1 on 2014-06-09, stored at 3 decimals (hand check of one value)
    aapl = fast.symbols.index("AAPL")
    assert [(fast.sessions[r].date().isoformat(), s) for r, s, _ in fast.splits[aapl]] == \
        [("2014-06-09", 7.0)]


@pytest.mark.parametrize("text", [
    HEADER + ROWS.replace("10.125,1000", "10.125,", 1),            # empty field
    HEADER + ROWS.replace("\n2012", "\n\n2012"),                     # blank line
    HEADER.replace("\n", "\r\n") + ROWS.replace("\n", "\r\n"),       # CRLF
    HEADER + ROWS.replace("10.125,1000", "10.1250000000000001,1000", 1),  # 18 digits
    HEADER + ROWS.replace("2012-01-04", "01/04/2012"),              # other date format
    HEADER.replace("date", "Date") + ROWS,                           # other header
])
def test_unusual_files_take_the_file_by_file_path(tmp_path, text):
    (tmp_path / "AAA.csv").write_text(text)
    (tmp_path / "BBB.csv").write_text(HEADER + ROWS)
    assert _store._load_fast(str(tmp_path), {"calendar": None}) is None


def test_bad_row_error_names_the_file_and_line(tmp_path):
    (tmp_path / "AAA.csv").write_text(HEADER + ROWS)
    (tmp_path / "BBB.csv").write_text(HEADER + ROWS.replace("10.75,10.0", "9.0,10.0"))
    with pytest.raises(DataError) as info:
        _store.BundleData(tmp_path)
    message = str(info.value)
    assert "BBB.csv" in message and "line 3" in message, message


def _batch_equal(a, b):
    assert a.assets == b.assets and a.calendar == b.calendar and a.n_rows == b.n_rows
    x, y = next(iter(a.batches())), next(iter(b.batches()))
    for f in ("ts", "asset", "open", "high", "low", "close", "volume", "session"):
        u, v = getattr(x, f), getattr(y, f)
        assert u.dtype == v.dtype, f
        assert np.array_equal(u, v, equal_nan=True), f
    assert a.extra.keys() == b.extra.keys()
    for k in a.extra:
        assert np.array_equal(a.extra[k], b.extra[k], equal_nan=True), k
    assert all(np.array_equal(a.splits_after_end[k], b.splits_after_end[k])
               for k in a.splits_after_end)


@pytest.mark.parametrize("first,last", [(0, None), (600, 700), (5, 5)])
def test_engine_bars_equal_a_validated_load_of_the_engine_frame(first, last):
    from ml4t.data import load_bars

    store = _store.BundleData(RAW)
    last = len(store.sessions) - 1 if last is None else last
    direct = store.engine_bars(first, last)
    loaded = load_bars(store.engine_frame(first, last), calendar=None)
    _batch_equal(direct, loaded)
    if first == 0:                       # the whole span holds the sample's splits
        assert (direct.extra["split"] != 1.0).sum() >= 2


def test_engine_bars_leave_out_assets_without_a_bar_in_the_window(tmp_path):
    (tmp_path / "AAA.csv").write_text(HEADER + ROWS)
    (tmp_path / "BBB.csv").write_text(HEADER + "2012-01-05,5.0,5.0,5.0,5.0,100,0.0,1.0\n")
    store = _store.BundleData(tmp_path)
    assert store.symbols == ["AAA", "BBB"]
    bars = store.engine_bars(2, 2)                 # 2012-01-05: only BBB traded
    assert bars.assets == ("BBB",)
    assert next(iter(bars.batches())).asset.tolist() == [0]
    from ml4t.data import load_bars

    _batch_equal(bars, load_bars(store.engine_frame(2, 2), calendar=None))


def test_widest_field_by_hand():
    assert _store._widest_field(b"2012-01-03,10.25,1\n") == 10
    assert _store._widest_field(b"1,12345678901234567\n") == 17
    assert _store._widest_field(b"1234\n1,2") == 4        # no trailing newline
    assert _store._widest_field(b"") == 0
    assert _store._widest_field(b"abc") == 3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text("0123456789.-e", max_size=25), min_size=1, max_size=6),
                max_size=8), st.booleans())
def test_widest_field_is_the_longest_split_field(rows, trailing):
    text = "\n".join(",".join(r) for r in rows) + ("\n" if trailing and rows else "")
    buf = text.encode()
    expect = max((len(f) for f in re.split(rb"[,\n]", buf)), default=0)
    assert _store._widest_field(buf) == expect
    assert _store._widest_field(buf, step=3) == expect      # fields across block borders


def test_engine_bars_of_a_full_grid_are_its_rows_with_the_splits_in_place(tmp_path):
    """Every asset with a bar on every session: the bars are the grids' rows as they are,
    asset ids 0, 1, 0, 1, ..., and a split's ratio sits on its own (session, asset) bar
    (BBB's 2:1 on 2012-01-05, the third session: bar 2 * 2 + 1 = 5)."""
    from ml4t.data import load_bars

    days = ("2012-01-03", "2012-01-04", "2012-01-05", "2012-01-06")
    for name, closes in (("AAA", (10.0, 11.0, 12.0, 13.0)), ("BBB", (20.0, 21.0, 11.0, 11.5))):
        (tmp_path / f"{name}.csv").write_text(HEADER + "".join(
            f"{d},{c},{c},{c},{c},100,0.0,{2.0 if (name, k) == ('BBB', 2) else 1.0}\n"
            for k, (d, c) in enumerate(zip(days, closes))))
    store = _store.BundleData(tmp_path)
    assert store.has_bar.all()
    n = len(store.sessions)
    bars = store.engine_bars(0, n - 1)
    batch = next(iter(bars.batches()))
    assert batch.asset.tolist() == [0, 1] * n
    assert bars.extra["split"].tolist() == [1.0] * 5 + [2.0] + [1.0] * (2 * n - 6)
    assert batch.close.tolist() == store.close[:n].ravel().tolist()
    _batch_equal(bars, load_bars(store.engine_frame(0, n - 1), calendar=None))
    _batch_equal(store.engine_bars(1, 2), load_bars(store.engine_frame(1, 2), calendar=None))
