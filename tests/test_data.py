"""Tests for ml4t.errors, ml4t.data (load_bars) and ml4t.datasets.

Hand-checked reference values:
- 2012-01-03 is an XNYS session closing at 16:00 New York = 21:00 UTC = 1_325_624_400 s.
- 2012-11-23 (day after Thanksgiving) closes early at 13:00 New York = 18:00 UTC.
- 2012-01-07 is a Saturday.
- 2012-01-03 is day 15_342 since 1970-01-01.
"""
from __future__ import annotations

import pathlib
import pickle
import tempfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml4t.data import BarBatch, BarData, bars_from_arrays, load_bars
from ml4t.datasets import data_dir, load_daily
from ml4t.errors import (
    ConfigError,
    DataError,
    Ml4tError,
    OrderError,
    check_choice,
    suggest,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SEC = 1_000_000_000
CLOSE_2012_01_03 = 1_325_624_400 * SEC  # 2012-01-03 21:00 UTC
DAY = 86_400 * SEC
SESSION_2012_01_03 = 15_342


def bars_frame(**columns) -> pd.DataFrame:
    """Two assets x three sessions, long format, in (ts, asset) order; overrides by column."""
    base = {
        "ts": pd.to_datetime(["2012-01-03", "2012-01-03", "2012-01-04", "2012-01-04",
                              "2012-01-05", "2012-01-05"]),
        "asset": ["AAA", "BBB", "AAA", "BBB", "AAA", "BBB"],
        "open": [10.0, 20.0, 11.0, 21.0, 12.0, 22.0],
        "high": [10.5, 20.5, 11.5, 21.5, 12.5, 22.5],
        "low": [9.5, 19.5, 10.5, 20.5, 11.5, 21.5],
        "close": [10.2, 20.2, 11.2, 21.2, 12.2, 22.2],
        "volume": [100.0, 200.0, 110.0, 210.0, 120.0, 220.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


CSV_TEXT = """date,asset,open,high,low,close,volume
2012-01-03,AAA,10.0,10.5,9.5,10.2,100
2012-01-03,BBB,20.0,20.5,19.5,20.2,200
2012-01-04,AAA,11.0,11.5,10.5,11.2,110
2012-01-04,BBB,21.0,21.5,20.5,21.2,210
"""


def write(tmp_path: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def only_batch(data: BarData) -> BarBatch:
    batches = list(data.batches())
    assert len(batches) == 1
    return batches[0]


def concat(batches: list[BarBatch], field: str) -> np.ndarray:
    return np.concatenate([getattr(b, field) for b in batches])


FIELDS = ("ts", "asset", "open", "high", "low", "close", "volume", "session")


# ------------------------------------------------------------------------------------ errors


def test_data_error_reads_like_the_documented_example():
    # Arrange
    error = DataError("high 10.0 < low 11.0", path="data/AAPL.csv", row=12, line=14,
                      column="high", rule="high_below_low")

    # Act
    text = str(error)

    # Assert
    assert text == ("data/AAPL.csv, line 14 (row 12), column 'high': "
                    "high_below_low: high 10.0 < low 11.0")
    assert (error.path, error.row, error.line, error.column, error.rule) == (
        "data/AAPL.csv", 12, 14, "high", "high_below_low")
    assert isinstance(error, ValueError) and isinstance(error, Ml4tError)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "bad"),
        ({"rule": "nan_price"}, "nan_price: bad"),
        ({"path": "<DataFrame>", "row": 3}, "<DataFrame>, row 3: bad"),
        ({"row": 3, "column": "open", "rule": "r"}, "row 3, column 'open': r: bad"),
        ({"path": "f.csv", "line": 5}, "f.csv, line 5: bad"),
    ],
)
def test_data_error_omits_parts_that_are_none(kwargs, expected):
    assert str(DataError("bad", **kwargs)) == expected


def test_data_error_survives_pickling():
    error = DataError("m", path="p", row=1, column="c", rule="r", line=3)

    clone = pickle.loads(pickle.dumps(error))

    assert str(clone) == str(error)
    assert (clone.row, clone.line, clone.rule) == (1, 3, "r")


def test_config_error_message_names_param_value_expected_and_hint():
    error = ConfigError("fill", "next_opn", ("next_open", "next_close", "same_close"),
                        hint="did you mean 'next_open'?")

    assert str(error) == (
        "invalid value for 'fill': 'next_opn' (expected one of 'next_open', 'next_close', "
        "'same_close'); did you mean 'next_open'?"
    )
    assert isinstance(error, ValueError)
    assert str(ConfigError("batch_rows", 0, "a positive int")) == (
        "invalid value for 'batch_rows': 0 (expected a positive int)")


def test_check_choice_returns_valid_value_and_suggests_for_typo():
    choices = ("next_open", "next_close", "same_close")

    assert check_choice("fill", "same_close", choices) == "same_close"
    with pytest.raises(ConfigError) as info:
        check_choice("fill", "next_opn", choices)

    assert info.value.hint == "did you mean 'next_open'?"
    assert str(info.value).endswith("did you mean 'next_open'?")


def test_suggest_ignores_case_and_returns_none_when_nothing_is_close():
    assert suggest("aapl", ["AAPL", "IBM"]) == "AAPL"
    assert suggest("MSFY", ["AAPL", "MSFT"]) == "MSFT"
    assert suggest("zzzz", ["AAPL", "IBM"]) is None


def test_order_error_is_a_value_error():
    assert issubclass(OrderError, ValueError) and issubclass(OrderError, Ml4tError)


# ------------------------------------------------------------------------------ input forms


def test_long_dataframe_is_stamped_sorted_and_copied():
    # Arrange: rows given in (asset, ts) order
    frame = bars_frame().iloc[[0, 2, 4, 1, 3, 5]].reset_index(drop=True)

    # Act
    data = load_bars(frame)
    batch = only_batch(data)

    # Assert
    assert data.assets == ("AAA", "BBB")
    assert data.source == "<DataFrame>" and data.calendar == "XNYS" and data.n_rows == 6
    assert batch.ts.tolist() == [CLOSE_2012_01_03] * 2 + [CLOSE_2012_01_03 + DAY] * 2 + [
        CLOSE_2012_01_03 + 2 * DAY] * 2
    assert batch.asset.tolist() == [0, 1, 0, 1, 0, 1]
    assert batch.close.tolist() == [10.2, 20.2, 11.2, 21.2, 12.2, 22.2]
    assert batch.session.tolist() == [SESSION_2012_01_03] * 2 + [SESSION_2012_01_03 + 1] * 2 + [
        SESSION_2012_01_03 + 2] * 2
    assert batch.ts.dtype == np.int64 and batch.asset.dtype == np.int32
    assert batch.session.dtype == np.int64 and batch.volume.dtype == np.float64
    assert all(getattr(batch, f).flags.c_contiguous for f in FIELDS)
    assert not np.shares_memory(batch.close, frame["close"].to_numpy())


def test_multiindex_and_aliases_are_recognised():
    frame = bars_frame().rename(columns={"ts": "Date", "asset": "Ticker", "close": "Close"})
    frame = frame.set_index(["Date", "Ticker"])

    batch = only_batch(load_bars(frame))

    assert batch.close.tolist() == [10.2, 20.2, 11.2, 21.2, 12.2, 22.2]
    assert batch.ts[0] == CLOSE_2012_01_03


def test_dict_of_frames_indexed_by_time():
    # Arrange
    index = pd.DatetimeIndex(["2012-01-03", "2012-01-04"], name="Date")
    data = {
        "MSFT": pd.DataFrame({"Open": [1.0, 2.0], "High": [1.5, 2.5], "Low": [0.5, 1.5],
                              "Close": [1.2, 2.2]}, index=index),
        "AAPL": pd.DataFrame({"open": [5.0, 6.0], "high": [5.5, 6.5], "low": [4.5, 5.5],
                              "close": [5.2, 6.2], "volume": [7.0, 8.0]}, index=index),
    }

    # Act
    bars = load_bars(data)
    batch = only_batch(bars)

    # Assert: ids follow sorted names, MSFT has no volume -> NaN
    assert bars.assets == ("AAPL", "MSFT") and bars.source == "<dict>"
    assert batch.asset.tolist() == [0, 1, 0, 1]
    assert batch.close.tolist() == [5.2, 1.2, 6.2, 2.2]
    np.testing.assert_array_equal(batch.volume, [7.0, np.nan, 8.0, np.nan])


def test_dict_error_names_the_key():
    frame = bars_frame().query("asset == 'AAA'").drop(columns="asset").set_index("ts")
    frame.iloc[1, frame.columns.get_loc("low")] = 99.0

    with pytest.raises(DataError) as info:
        load_bars({"AAA": frame})

    assert info.value.path == "<dict>['AAA']"
    assert (info.value.row, info.value.column, info.value.rule) == (1, "high", "high_below_low")


def test_long_csv_path(tmp_path):
    path = write(tmp_path, "bars.csv", CSV_TEXT)

    bars = load_bars(path)
    batch = only_batch(bars)

    assert bars.source == str(path) and bars.assets == ("AAA", "BBB")
    assert batch.ts.tolist() == [CLOSE_2012_01_03] * 2 + [CLOSE_2012_01_03 + DAY] * 2
    assert batch.open.tolist() == [10.0, 20.0, 11.0, 21.0]
    assert batch.volume.tolist() == [100.0, 200.0, 110.0, 210.0]


def test_parquet_path_read_whole(tmp_path):
    path = tmp_path / "bars.parquet"
    bars_frame().to_parquet(path)

    batch = only_batch(load_bars(str(path)))

    assert batch.close.tolist() == [10.2, 20.2, 11.2, 21.2, 12.2, 22.2]
    assert batch.ts[0] == CLOSE_2012_01_03


def test_directory_of_symbol_csvs(tmp_path):
    write(tmp_path, "IBM.csv", "date,open,high,low,close,volume\n2012-01-03,1,2,1,2,10\n")
    write(tmp_path, "AAPL.csv", "date,open,high,low,close,volume\n2012-01-03,3,4,3,4,30\n"
                                "2012-01-04,4,5,4,5,40\n")
    write(tmp_path, "notes.md", "not data")

    bars = load_bars(tmp_path)
    batch = only_batch(bars)

    assert bars.assets == ("AAPL", "IBM")
    assert batch.asset.tolist() == [0, 1, 0]
    assert batch.close.tolist() == [4.0, 2.0, 5.0]


def test_directory_error_names_the_file_and_line(tmp_path):
    write(tmp_path, "AAPL.csv", "date,open,high,low,close\n2012-01-03,3,4,3,4\n"
                                "2012-01-04,4,5,4,-5\n")

    with pytest.raises(DataError) as info:
        load_bars(tmp_path)

    error = info.value
    assert error.path == str(tmp_path / "AAPL.csv")
    assert (error.row, error.line, error.column, error.rule) == (1, 3, "close", "negative_price")


def test_csvdir_root_with_corporate_actions():
    bars = load_bars(data_dir())
    batch = only_batch(bars)
    frame = bars.to_frame()

    assert bars.assets == ("AAPL", "IBM", "KO", "MSFT")
    assert bars.n_rows == 3016 and len(batch) == 3016
    assert batch.ts[0] == CLOSE_2012_01_03 and batch.close[0] == 411.230001
    splits = frame.loc[frame["split"] != 1.0, ["ts", "asset", "split"]]
    assert splits["asset"].tolist() == ["KO", "AAPL"]
    assert splits["split"].tolist() == [2.0, 7.0]
    assert splits["ts"].dt.strftime("%Y-%m-%d").tolist() == ["2012-08-13", "2014-06-09"]


def test_yahoo_file_is_one_asset_named_after_the_file():
    bars = load_bars(DATA / "backtrader" / "orcl-1995-2014.txt")
    frame = bars.to_frame()

    assert bars.assets == ("orcl-1995-2014",)
    assert bars.n_rows == 5036
    assert str(frame["ts"].iloc[0]) == "1995-01-03 21:00:00+00:00"
    assert frame[["open", "high", "low", "close", "volume"]].iloc[0].tolist() == [
        2.179012, 2.191358, 2.117284, 2.117284, 36301200.0]
    assert list(frame.columns) == ["ts", "asset", "open", "high", "low", "close", "volume"]


def test_date_and_time_columns_are_joined():
    frame = load_bars(DATA / "backtrader" / "2006-min-005.txt", calendar=None).to_frame()

    assert str(frame["ts"].iloc[0]) == "2006-01-02 09:05:00+00:00"
    assert frame["close"].iloc[0] == 3582.99


@pytest.mark.parametrize("folder", ["data/daily", "data/raw", "ml4t/datasets/data"])
def test_sample_csvdir_data_pass_every_rule(folder):
    bars = load_bars(ROOT / folder)

    assert bars.n_rows == 3016


@pytest.mark.parametrize("name", ["orcl-1995-2014.txt", "nvda-1999-2014.txt",
                                  "yhoo-1996-2014.txt"])
def test_sample_yahoo_files_pass_every_rule(name):
    assert load_bars(DATA / "backtrader" / name).n_rows > 4000


def test_european_index_sample_needs_its_own_calendar():
    path = DATA / "backtrader" / "2006-day-001.txt"

    with pytest.raises(DataError) as info:
        load_bars(path)  # 2006-01-02 is not an NYSE session

    assert info.value.rule == "not_a_session" and info.value.line == 2
    assert load_bars(path, calendar="XETR").n_rows == 255


def test_unsupported_input_type_raises_type_error_naming_it():
    with pytest.raises(TypeError, match="list"):
        load_bars([1, 2, 3])


def test_missing_path_and_unknown_suffix(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_bars(tmp_path / "nope.csv")
    with pytest.raises(ConfigError):
        load_bars(write(tmp_path, "bars.xlsx", "x"))


def test_bad_options_raise_config_error():
    with pytest.raises(ConfigError) as info:
        load_bars(bars_frame(), calendar="XNYZ")
    assert info.value.param == "calendar"
    with pytest.raises(ConfigError, match="did you mean 'XNYS'"):
        load_bars(bars_frame(), calendar="xnys")
    with pytest.raises(ConfigError):
        load_bars(bars_frame(), batch_rows=0)
    with pytest.raises(ConfigError):
        load_bars(bars_frame(), start="2013-01-01", end="2012-01-01")
    with pytest.raises(TypeError):
        load_bars(bars_frame(), calender="XNYS")  # unknown keyword


def test_asset_id_and_suggestion():
    bars = load_bars(bars_frame())

    assert bars.asset_id("BBB") == 1
    with pytest.raises(KeyError, match="did you mean 'BBB'"):
        bars.asset_id("bbb")


# ---------------------------------------------------------------------------- time stamping


def test_early_close_is_stamped_at_the_early_close():
    frame = bars_frame(ts=pd.to_datetime(["2012-11-23"] * 2 + ["2012-11-26"] * 2
                                         + ["2012-11-27"] * 2))

    batch = only_batch(load_bars(frame))

    assert str(pd.Timestamp(batch.ts[0], tz="UTC")) == "2012-11-23 18:00:00+00:00"
    assert str(pd.Timestamp(batch.ts[2], tz="UTC")) == "2012-11-26 21:00:00+00:00"


def test_saturday_is_not_a_session():
    frame = bars_frame(ts=pd.to_datetime(["2012-01-03"] * 2 + ["2012-01-06"] * 2
                                         + ["2012-01-07"] * 2))

    with pytest.raises(DataError) as info:
        load_bars(frame)

    error = info.value
    assert (error.rule, error.row, error.column, error.path) == (
        "not_a_session", 4, "ts", "<DataFrame>")
    assert "2012-01-07" in str(error)


def test_saturday_in_csv_reports_line(tmp_path):
    path = write(tmp_path, "bars.csv", CSV_TEXT + "2012-01-07,AAA,1,1,1,1,1\n")

    with pytest.raises(DataError) as info:
        load_bars(path)

    assert (info.value.rule, info.value.row, info.value.line, info.value.column) == (
        "not_a_session", 4, 6, "date")


def test_no_calendar_keeps_dates_at_midnight_utc():
    batch = only_batch(load_bars(bars_frame(), calendar=None))

    assert batch.ts[0] == CLOSE_2012_01_03 - 21 * 3600 * SEC
    assert batch.session[0] == SESSION_2012_01_03


def test_tz_aware_times_are_converted_to_utc_and_sessions_are_local_dates():
    # 10:00 New York = 15:00 UTC and 16:00 New York = 21:00 UTC, both inside the XNYS
    # session of Jan 3; a 21:00 New York bar (02:00 UTC on Jan 4) is outside any session,
    # so it is loaded without a calendar, where the session is the UTC date
    ts = pd.to_datetime(["2012-01-03 10:00", "2012-01-03 16:00"]).tz_localize("America/New_York")
    frame = pd.DataFrame({"ts": ts, "asset": "X", "open": 1.0, "high": 1.0, "low": 1.0,
                          "close": 1.0})

    batch = only_batch(load_bars(frame))

    assert batch.ts.tolist() == [CLOSE_2012_01_03 - 6 * 3600 * SEC, CLOSE_2012_01_03]
    assert batch.session.tolist() == [SESSION_2012_01_03, SESSION_2012_01_03]
    late = frame.assign(ts=pd.to_datetime(["2012-01-03 16:00", "2012-01-03 21:00"])
                        .tz_localize("America/New_York"))
    assert only_batch(load_bars(late, calendar=None)).session.tolist() == [
        SESSION_2012_01_03, SESSION_2012_01_03 + 1]


def test_naive_intraday_times_are_read_as_utc():
    frame = bars_frame(ts=pd.to_datetime(["2012-01-03 14:30"] * 2 + ["2012-01-03 14:31"] * 2
                                         + ["2012-01-03 14:32"] * 2))

    batch = only_batch(load_bars(frame))

    assert batch.ts[0] == CLOSE_2012_01_03 - int(6.5 * 3600) * SEC
    assert batch.session[0] == SESSION_2012_01_03


def test_start_and_end_are_inclusive_after_stamping():
    data = load_bars(bars_frame(), start="2012-01-04 21:00", end=pd.Timestamp(
        "2012-01-05 16:00", tz="America/New_York"))

    batch = only_batch(data)

    assert batch.ts.tolist() == [CLOSE_2012_01_03 + DAY] * 2 + [CLOSE_2012_01_03 + 2 * DAY] * 2
    assert data.n_rows == 4


def test_window_without_rows_raises():
    with pytest.raises(DataError) as info:
        load_bars(bars_frame(), start="2013-01-01")

    assert info.value.rule == "no_rows"


# ------------------------------------------------------------------------- validation rules


def set_cell(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = frame[column].astype(object) if isinstance(value, str) else frame[column]
    frame.loc[row, column] = value
    return frame


@pytest.mark.parametrize(
    ("column", "value", "rule", "bad_column"),
    [
        ("open", np.nan, "nan_price", "open"),
        ("close", np.inf, "nan_price", "close"),
        ("low", -1.0, "negative_price", "low"),
        ("volume", np.nan, "bad_volume", "volume"),
        ("volume", -5.0, "negative_volume", "volume"),
        ("high", 9.0, "high_below_low", "high"),
        ("open", 12.0, "open_outside_range", "open"),
        ("open", 9.0, "open_outside_range", "open"),
        ("close", 12.0, "close_outside_range", "close"),
        ("close", "abc", "not_numeric", "close"),
    ],
)
def test_value_rules_name_rule_row_and_column(column, value, rule, bad_column):
    # Arrange: row 2 is AAA on 2012-01-04: open 11.0, high 11.5, low 10.5
    frame = set_cell(bars_frame(), 2, column, value)

    # Act
    with pytest.raises(DataError) as info:
        load_bars(frame)

    # Assert
    error = info.value
    assert (error.rule, error.row, error.column, error.path, error.line) == (
        rule, 2, bad_column, "<DataFrame>", None)


def test_value_rule_messages_carry_the_values():
    with pytest.raises(DataError, match=r"high 9\.0 < low 10\.5"):
        load_bars(set_cell(bars_frame(), 2, "high", 9.0))
    with pytest.raises(DataError, match=r"open 12\.0 outside \[low 10\.5, high 11\.5\]"):
        load_bars(set_cell(bars_frame(), 2, "open", 12.0))


def test_first_offending_row_is_reported():
    frame = set_cell(set_cell(bars_frame(), 4, "open", np.nan), 1, "close", np.nan)

    with pytest.raises(DataError) as info:
        load_bars(frame)

    assert (info.value.row, info.value.column) == (1, "close")


def test_exact_range_check_has_no_tolerance():
    frame = set_cell(bars_frame(), 0, "close", 10.5 + 1e-12)

    with pytest.raises(DataError) as info:
        load_bars(frame)

    assert info.value.rule == "close_outside_range"
    assert load_bars(set_cell(bars_frame(), 0, "close", 10.5)).n_rows == 6


def test_csv_error_reports_line_and_row_in_the_documented_format(tmp_path):
    text = CSV_TEXT.replace("2012-01-03,BBB,20.0,20.5,19.5", "2012-01-03,BBB,20.0,10.0,11.0")
    path = write(tmp_path, "AAPL.csv", text)

    with pytest.raises(DataError) as info:
        load_bars(path)

    assert str(info.value) == (f"{path}, line 3 (row 1), column 'high': "
                               "high_below_low: high 10.0 < low 11.0")


def test_missing_column_lists_columns_found(tmp_path):
    path = write(tmp_path, "bars.csv", "date,asset,open,high,low\n2012-01-03,A,1,1,1\n")

    with pytest.raises(DataError) as info:
        load_bars(path)

    assert (info.value.rule, info.value.column, info.value.row) == (
        "missing_column", "close", None)
    assert "'date', 'asset', 'open', 'high', 'low'" in str(info.value)


@pytest.mark.parametrize("drop", ["ts", "asset"])
def test_missing_time_or_asset_column(drop):
    with pytest.raises(DataError) as info:
        load_bars(bars_frame().drop(columns=drop))

    assert info.value.rule == "missing_column"


def test_missing_volume_is_nan():
    batch = only_batch(load_bars(bars_frame().drop(columns="volume")))

    assert np.isnan(batch.volume).all() and len(batch.volume) == 6


def test_duplicate_key_names_asset_and_both_rows():
    frame = bars_frame().iloc[[0, 1, 2, 3, 2]].reset_index(drop=True)

    with pytest.raises(DataError) as info:
        load_bars(frame)

    error = info.value
    assert (error.rule, error.row, error.column) == ("duplicate_key", 4, "ts")
    assert "'AAA'" in str(error) and "row 2" in str(error)


def test_time_not_increasing_uses_input_order():
    # AAA: Jan 3 (row 0), Jan 5 (row 2), Jan 4 (row 4)
    frame = bars_frame().iloc[[0, 1, 4, 3, 2, 5]].reset_index(drop=True)

    with pytest.raises(DataError) as info:
        load_bars(frame)

    error = info.value
    assert (error.rule, error.row, error.column) == ("time_not_increasing", 4, "ts")
    assert "2012-01-04 21:00:00+00:00 is not after 2012-01-05 21:00:00+00:00 at row 2" in str(
        error)


def test_unparseable_timestamp_in_csv(tmp_path):
    path = write(tmp_path, "bars.csv", CSV_TEXT.replace("2012-01-04,BBB", "2012-13-45,BBB"))

    with pytest.raises(DataError) as info:
        load_bars(path)

    assert (info.value.rule, info.value.row, info.value.line, info.value.column) == (
        "bad_timestamp", 3, 5, "date")


def test_missing_timestamp_and_missing_asset():
    frame = bars_frame()
    frame.loc[3, "ts"] = pd.NaT
    with pytest.raises(DataError) as info:
        load_bars(frame)
    assert (info.value.rule, info.value.row) == ("bad_timestamp", 3)

    frame = bars_frame(asset=["AAA", "BBB", "AAA", None, "AAA", "BBB"])
    with pytest.raises(DataError) as info:
        load_bars(frame)
    assert (info.value.rule, info.value.row, info.value.column) == ("missing_asset", 3, "asset")


@pytest.mark.parametrize(("column", "value", "rule"), [
    ("dividend", -0.1, "bad_dividend"), ("dividend", np.nan, "bad_dividend"),
    ("split", 0.0, "bad_split"), ("split", np.nan, "bad_split"),
])
def test_corporate_action_columns_are_checked(column, value, rule):
    frame = bars_frame(dividend=0.0, split=1.0)
    frame.loc[5, column] = value

    with pytest.raises(DataError) as info:
        load_bars(frame)

    assert (info.value.rule, info.value.row, info.value.column) == (rule, 5, column)


def test_extra_columns_follow_the_sorted_rows():
    frame = bars_frame(dividend=[0.0, 0.0, 0.0, 0.5, 0.0, 0.0], split=1.0)
    frame = frame.iloc[[0, 2, 4, 1, 3, 5]].reset_index(drop=True)  # grouped by asset

    data = load_bars(frame)

    assert data.extra["dividend"].tolist() == [0.0, 0.0, 0.0, 0.5, 0.0, 0.0]
    assert data.extra["split"].tolist() == [1.0] * 6


def test_columns_differing_only_by_case_are_ambiguous():
    frame = bars_frame()
    frame["Close"] = frame["close"]

    with pytest.raises(DataError) as info:
        load_bars(frame)

    assert info.value.rule == "ambiguous_column"


def test_csv_with_more_fields_than_header_is_rejected():
    with pytest.raises(DataError) as info:
        load_bars(DATA / "backtrader" / "2006-01-02-volume-min-001.txt")

    assert info.value.rule == "bad_csv" and info.value.line == 2


def test_empty_directory_and_empty_input(tmp_path):
    with pytest.raises(DataError) as info:
        load_bars(tmp_path)
    assert info.value.rule == "no_files"

    with pytest.raises(DataError) as info:
        load_bars(bars_frame().iloc[:0])
    assert info.value.rule == "no_rows"


def test_dates_the_calendar_cannot_cover():
    frame = bars_frame(ts=pd.to_datetime(["1990-01-02"] * 2 + ["1990-01-03"] * 2
                                         + ["1990-01-04"] * 2))

    with pytest.raises(DataError) as info:
        load_bars(frame, calendar="XBOM")  # holidays recorded from 1997 only

    assert (info.value.rule, info.value.column) == ("outside_calendar", "ts")


def test_asset_names_that_collide_as_text():
    frame = bars_frame(asset=[1, "1", 1, "1", 1, "1"])

    with pytest.raises(DataError) as info:
        load_bars(frame)

    assert (info.value.rule, info.value.column) == ("bad_asset", "asset")


def test_mixed_utc_offsets_in_csv_are_converted(tmp_path):
    path = write(tmp_path, "bars.csv", "ts,asset,open,high,low,close\n"
                 "2012-01-03T21:00:00+00:00,A,1,1,1,1\n2012-01-04T16:00:00-05:00,A,1,1,1,1\n")

    batch = only_batch(load_bars(path))

    assert batch.ts.tolist() == [CLOSE_2012_01_03, CLOSE_2012_01_03 + DAY]


# ------------------------------------------------------------------------ streamed Parquet


def long_bars(n_assets: int, n_days: int, seed: int = 0) -> pd.DataFrame:
    """A valid long frame in (ts, asset) order on XNYS sessions starting 2012-01-03."""
    days = pd.bdate_range("2012-01-03", periods=n_days * 2)
    days = days[~days.isin(pd.to_datetime(["2012-01-16", "2012-02-20"]))][:n_days]
    rng = np.random.default_rng(seed)
    n = n_assets * n_days
    close = np.round(10 + 90 * rng.random(n), 2)
    return pd.DataFrame({
        "ts": np.repeat(days.values, n_assets),
        "asset": np.tile([f"S{i:02d}" for i in range(n_assets)], n_days),
        "open": close, "high": close + 1.0, "low": close - 1.0, "close": close,
        "volume": rng.integers(0, 1000, n).astype(float),
    })


def write_parquet(frame: pd.DataFrame, path: pathlib.Path) -> pathlib.Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def test_streamed_parquet_matches_in_memory_and_never_splits_a_timestamp(tmp_path):
    # Arrange
    frame = long_bars(n_assets=3, n_days=7)
    path = write_parquet(frame, tmp_path / "bars.parquet")

    # Act
    streamed = load_bars(path, batch_rows=4)
    batches = list(streamed.batches())
    again = list(streamed.batches())
    in_memory = load_bars(frame)
    split_in_memory = list(load_bars(frame, batch_rows=4).batches())

    # Assert
    assert streamed.assets == ("S00", "S01", "S02") and streamed.n_rows == 21
    assert streamed.extra == {}
    whole = only_batch(in_memory)
    for field in FIELDS:
        np.testing.assert_array_equal(concat(batches, field), getattr(whole, field))
        np.testing.assert_array_equal(concat(again, field), getattr(whole, field))
    # chunks of 4 rows; each batch ends before its chunk's last timestamp
    assert [len(b) for b in batches] == [3, 3, 3, 6, 3, 3]
    assert [len(b) for b in split_in_memory] == [len(b) for b in batches]
    for before, after in zip(batches, batches[1:]):
        assert before.ts[-1] < after.ts[0]


def test_streamed_parquet_single_timestamp_larger_than_a_batch(tmp_path):
    path = write_parquet(long_bars(n_assets=5, n_days=2), tmp_path / "bars.parquet")

    batches = list(load_bars(path, batch_rows=2).batches())

    assert [len(b) for b in batches] == [5, 5]


def test_streamed_parquet_unsorted_reports_row_across_batches(tmp_path):
    frame = long_bars(n_assets=2, n_days=5)
    frame = frame.iloc[[0, 1, 2, 3, 4, 5, 6, 8, 7, 9]].reset_index(drop=True)
    path = write_parquet(frame, tmp_path / "bars.parquet")
    data = load_bars(path, batch_rows=3)

    with pytest.raises(DataError) as info:
        list(data.batches())

    error = info.value
    assert (error.rule, error.row, error.path, error.column) == ("unsorted", 8, str(path), "ts")
    # the in-memory loader sorts the same rows itself
    assert load_bars(path).n_rows == 10


def test_streamed_parquet_duplicates_and_bad_values(tmp_path):
    frame = long_bars(n_assets=2, n_days=3)
    dup = frame.iloc[[0, 1, 2, 3, 3, 4, 5]].reset_index(drop=True)
    with pytest.raises(DataError) as info:
        list(load_bars(write_parquet(dup, tmp_path / "d.parquet"), batch_rows=4).batches())
    assert (info.value.rule, info.value.row) == ("duplicate_key", 4)

    bad = frame.copy()
    bad.loc[5, "low"] = -1.0
    with pytest.raises(DataError) as info:
        list(load_bars(write_parquet(bad, tmp_path / "b.parquet"), batch_rows=2).batches())
    assert (info.value.rule, info.value.row, info.value.column) == ("negative_price", 5, "low")


def test_streamed_parquet_window_and_not_a_session(tmp_path):
    frame = long_bars(n_assets=2, n_days=5)
    path = write_parquet(frame, tmp_path / "bars.parquet")

    data = load_bars(path, batch_rows=3, start="2012-01-04", end="2012-01-05 23:00")
    batches = list(data.batches())

    assert data.n_rows is None
    assert concat(batches, "ts").tolist() == [CLOSE_2012_01_03 + DAY] * 2 + [
        CLOSE_2012_01_03 + 2 * DAY] * 2

    saturday = frame.copy()
    saturday.loc[8:, "ts"] = pd.Timestamp("2012-01-07")
    path = write_parquet(saturday, tmp_path / "sat.parquet")
    with pytest.raises(DataError) as info:
        list(load_bars(path, batch_rows=3).batches())
    assert (info.value.rule, info.value.row) == ("not_a_session", 8)


def test_streamed_parquet_checks_columns_and_names_a_single_asset_after_the_file(tmp_path):
    ts = pd.date_range("2012-01-03 14:30", periods=5, freq="min", tz="America/New_York")
    frame = pd.DataFrame({"ts": ts, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5})
    path = write_parquet(frame, tmp_path / "ONE.parquet")
    broken = write_parquet(frame.drop(columns="close"), tmp_path / "broken.parquet")

    data = load_bars(path, batch_rows=2)
    batches = list(data.batches())

    assert data.assets == ("ONE",)
    assert concat(batches, "ts")[0] == CLOSE_2012_01_03 - int(1.5 * 3600) * SEC
    assert np.isnan(concat(batches, "volume")).all()
    with pytest.raises(DataError) as info:
        load_bars(broken, batch_rows=2)
    assert (info.value.rule, info.value.column) == ("missing_column", "close")


# ---------------------------------------------------------------------------------- datasets


def test_load_daily_has_the_unadjusted_sample():
    frame = load_daily()

    assert len(frame) == 3016 == 4 * 754
    assert list(frame.columns) == ["ts", "asset", "open", "high", "low", "close", "volume",
                                   "dividend", "split"]
    assert str(frame["ts"].iloc[0]) == "2012-01-03 21:00:00+00:00"
    assert frame["asset"].iloc[0] == "AAPL" and frame["close"].iloc[0] == 411.230001
    aapl = frame[frame["asset"] == "AAPL"].set_index("ts")["close"]
    assert aapl["2014-06-06 20:00"] == pytest.approx(645.57, abs=0.01)
    assert aapl["2014-06-09 20:00"] == pytest.approx(93.70, abs=0.01)
    assert frame.sort_values(["ts", "asset"]).index.tolist() == list(range(3016))


def test_load_daily_selects_symbols_and_suggests_spelling():
    assert load_daily(["KO", "IBM"])["asset"].unique().tolist() == ["IBM", "KO"]
    assert len(load_daily("MSFT")) == 754
    with pytest.raises(KeyError, match="did you mean 'AAPL'"):
        load_daily("APPL")


def test_data_dir_is_a_csvdir_root():
    assert (data_dir() / "daily" / "AAPL.csv").is_file()


# ------------------------------------------------------------------------------ properties


@st.composite
def random_bars(draw):
    n_assets = draw(st.integers(1, 4))
    n_days = draw(st.integers(1, 6))
    present = draw(st.lists(st.booleans(), min_size=n_assets * n_days,
                            max_size=n_assets * n_days))
    if not any(present):
        present[0] = True
    prices = st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False)
    rows = []
    for i, keep in enumerate(present):
        if keep:
            lo, hi = sorted((draw(prices), draw(prices)))
            rows.append((i // n_assets, f"A{i % n_assets}", lo, hi))
    days = pd.bdate_range("2012-01-03", periods=n_days)
    order = draw(st.permutations(range(len(rows))))
    frame = pd.DataFrame({
        "ts": [days[rows[k][0]] for k in order],
        "asset": [rows[k][1] for k in order],
        "open": [rows[k][3] for k in order],
        "high": [rows[k][3] for k in order],
        "low": [rows[k][2] for k in order],
        "close": [rows[k][2] for k in order],
        "volume": [float(k) for k in order],
    })
    # per asset, keep input order increasing in time
    return frame.sort_values(["asset", "ts"], kind="stable").reset_index(drop=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_bars(), batch_rows=st.integers(1, 30))
def test_batches_concatenate_to_the_whole_and_never_split_a_timestamp(frame, batch_rows):
    whole = only_batch(load_bars(frame, calendar=None))

    batches = list(load_bars(frame, calendar=None, batch_rows=batch_rows).batches())

    for field in FIELDS:
        np.testing.assert_array_equal(concat(batches, field), getattr(whole, field))
    for before, after in zip(batches, batches[1:]):
        assert before.ts[-1] < after.ts[0]
    assert all(len(b) > 0 for b in batches)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_bars())
def test_to_frame_round_trip_preserves_values(frame):
    first = load_bars(frame, calendar=None)

    second = load_bars(first.to_frame(), calendar=None)

    assert second.assets == first.assets
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(only_batch(second), field),
                                      getattr(only_batch(first), field))
    expected = frame.sort_values(["ts", "asset"], kind="stable")
    np.testing.assert_array_equal(first.to_frame()["close"], expected["close"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_bars(), batch_rows=st.integers(1, 12))
def test_streamed_parquet_and_in_memory_split_identically(frame, batch_rows):
    frame = frame.sort_values(["ts", "asset"], kind="stable").reset_index(drop=True)
    with tempfile.TemporaryDirectory() as folder:
        path = write_parquet(frame, pathlib.Path(folder) / "bars.parquet")

        streamed = list(load_bars(path, calendar=None, batch_rows=batch_rows).batches())
        in_memory = list(load_bars(frame, calendar=None, batch_rows=batch_rows).batches())

    assert [len(b) for b in streamed] == [len(b) for b in in_memory]
    for field in FIELDS:
        np.testing.assert_array_equal(concat(streamed, field), concat(in_memory, field))


def test_bare_date_bounds_cover_whole_sessions():
    # daily bars are stamped at the 21:00 UTC close; a bare end date keeps that day's bar
    # and a bare start date keeps the first day's bar (whole days in New York time)
    data = load_bars(bars_frame(), start="2012-01-04", end="2012-01-05")
    ts = only_batch(data).ts
    assert ts.min() == CLOSE_2012_01_03 + 86_400 * SEC
    assert ts.max() == CLOSE_2012_01_03 + 2 * 86_400 * SEC


# ------------------------------------------------------------- bars from NumPy columns
def test_bars_from_arrays_sorts_by_time_then_name_and_fills_missing_volume():
    # 2012-01-03 and -04 at midnight (no calendar: they stay at midnight UTC)
    d0, d1 = 15_342 * DAY, 15_343 * DAY
    bars = bars_from_arrays({
        "MSFT": {"ts": [d0, d1], "open": [1.0, 2.0], "high": [1.5, 2.5],
                 "low": [0.5, 1.5], "close": [1.2, 2.2]},
        "AAPL": {"ts": [d1], "open": [6.0], "high": [6.5], "low": [5.5], "close": [6.2],
                 "volume": [8.0]},
    })
    batch = only_batch(bars)
    assert bars.assets == ("AAPL", "MSFT") and bars.source == "<arrays>"
    assert batch.ts.tolist() == [d0, d1, d1]
    assert batch.asset.tolist() == [1, 0, 1]
    assert batch.close.tolist() == [1.2, 6.2, 2.2]
    np.testing.assert_array_equal(batch.volume, [np.nan, 8.0, np.nan])
    assert batch.session.tolist() == [15_342, 15_343, 15_343]


@pytest.mark.parametrize("cols, column, rule, row", [
    ({"ts": [0, DAY], "open": [1.0, 1.0], "high": [1.0, 0.5], "low": [1.0, 0.8],
      "close": [1.0, 0.9]}, "high", "high_below_low", 1),
    ({"ts": [0, np.iinfo(np.int64).min], "open": [1.0, 1.0], "high": [1.0, 1.0],
      "low": [1.0, 1.0], "close": [1.0, 1.0]}, "ts", "bad_timestamp", 1),
    ({"ts": [0, DAY], "open": [1.0, 1.0], "high": [1.0, 1.0], "low": [1.0, 1.0]},
     "close", "missing_column", None),
    ({"ts": [0, DAY], "open": [1.0], "high": [1.0, 1.0], "low": [1.0, 1.0],
      "close": [1.0, 1.0]}, "open", "bad_shape", None),
])
def test_bars_from_arrays_errors_name_asset_row_column_and_rule(cols, column, rule, row):
    with pytest.raises(DataError) as info:
        bars_from_arrays({"X": cols}, source="<feeds>")
    e = info.value
    assert (e.path, e.column, e.rule, e.row) == ("<feeds>['X']", column, rule, row)


def test_bars_from_arrays_without_any_row_or_asset_is_refused():
    empty = {"ts": np.zeros(0, dtype=np.int64), "open": [], "high": [], "low": [],
             "close": []}
    with pytest.raises(DataError) as info:
        bars_from_arrays({"A": empty, "B": dict(empty)}, source="<feeds>")
    assert (info.value.rule, info.value.path) == ("no_rows", "<feeds>")
    with pytest.raises(DataError) as info:
        bars_from_arrays({})
    assert info.value.rule == "no_rows"
    # an asset without rows next to one with rows is kept (it may get bars later)
    one = {"ts": [0], "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0]}
    assert bars_from_arrays({"A": empty, "B": one}).assets == ("A", "B")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_bars())
def test_bars_from_arrays_equals_load_bars_of_the_same_frames(frame):
    frames = {name: g.drop(columns="asset").set_index("ts")
              for name, g in frame.groupby("asset")}
    arrays = {name: {"ts": f.index.as_unit("ns").asi8,
                     **{c: f[c].to_numpy() for c in ("open", "high", "low", "close",
                                                     "volume")}}
              for name, f in frames.items()}
    want = load_bars(frames, calendar=None)
    got = bars_from_arrays(arrays, calendar=None)
    assert got.assets == want.assets
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(only_batch(got), field),
                                      getattr(only_batch(want), field))
