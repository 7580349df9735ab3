"""The shim's one-pass csvdir reader (``_store._load_fast``) against the file-by-file path.

``BundleData`` parses a plain csvdir folder with one Arrow CSV call; anything unusual falls
back to ``ml4t.data.load_bars(folder)``, whose errors name the file and line. Both paths
must give the very same stored arrays.
"""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

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
