"""The optional on-disk bundle cache of ``ml4t.compat.zipline`` (``cache_dir`` /
``ML4T_BUNDLE_CACHE``): same stored form as reading the CSV files, written only where the
user says, never served stale."""
from __future__ import annotations

import os
import pathlib
import shutil

import numpy as np
import pandas as pd
import pytest

import ml4t.compat.zipline as zl
from ml4t.compat.zipline import _store, api
from ml4t.compat.zipline.data import bundles
from ml4t.compat.zipline.data.bundles.csvdir import csvdir_equities

ROOT = pathlib.Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"


def _no_csv_reading(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the CSV files were read although the cache is valid")
    monkeypatch.setattr(_store, "_load_fast", refuse)
    monkeypatch.setattr("ml4t.data.load_bars", refuse)
    monkeypatch.setattr(_store, "get_exchange_calendar", refuse)


def _assert_same(a, b):
    for k in ("open", "high", "low", "close", "volume", "has_bar"):
        x, y = getattr(a, k), getattr(b, k)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), k
    for k in ("sessions", "session_closes", "session_first_minutes", "calendar_sessions",
              "early_closes"):
        assert getattr(a, k).equals(getattr(b, k)), k
    assert a.symbols == b.symbols and a.tz == b.tz == "America/New_York"
    assert a.splits == b.splits and a.adjustments == b.adjustments
    assert a.dividends.keys() == b.dividends.keys()
    for k in a.dividends:                      # NaN ratios compare by position
        assert np.array_equal(np.array(a.dividends[k], float).reshape(-1, 3),
                              np.array(b.dividends[k], float).reshape(-1, 3), equal_nan=True)
    assert a.assets == b.assets and a.first_trading_day == b.first_trading_day
    assert [(x.start_date, x.end_date) for x in a.assets] == \
        [(x.start_date, x.end_date) for x in b.assets]


def _copy(tmp_path) -> pathlib.Path:
    dst = tmp_path / "bundle"
    shutil.copytree(RAW, dst)
    return dst


def test_cached_bundle_equals_the_csv_read_and_skips_it(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    fresh = _store.BundleData(RAW)
    first = _store.BundleData(RAW, cache_dir=cache)          # reads the CSVs, writes the cache
    [written] = os.listdir(cache)
    assert written.startswith("raw-") and written.endswith(".npz")
    _no_csv_reading(monkeypatch)
    again = _store.BundleData(RAW, cache_dir=cache)
    _assert_same(first, fresh)
    _assert_same(again, fresh)
    # AAPL's 7:1 split on 2014-06-09 survives the round trip with Zipline's ratio 1/7
    aapl = again.symbols.index("AAPL")
    [(row, ratio, zl_ratio)] = again.splits[aapl]
    assert (again.sessions[row].date().isoformat(), ratio, zl_ratio) == ("2014-06-09", 7.0, 1 / 7)
    monkeypatch.undo()
    assert again.exchange_calendar.name == "XNYS"            # built on demand


def test_an_edited_file_is_read_again(tmp_path):
    folder = _copy(tmp_path)
    cache = tmp_path / "cache"
    before = _store.BundleData(folder, cache_dir=cache)
    path = folder / "daily" / "KO.csv"
    lines = path.read_text().splitlines(keepends=True)
    date, o, h, lo, c, *rest = lines[1].split(",")
    lines[1] = ",".join([date, o, h, lo, "%.6f" % (float(c) + 0.01), *rest])
    path.write_text("".join(lines))
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    after = _store.BundleData(folder, cache_dir=cache)
    ko = after.symbols.index("KO")
    assert after.close[0, ko] == pytest.approx(before.close[0, ko] + 0.01, abs=1e-9)
    assert len(os.listdir(cache)) == 2                  # one entry per state of the files


def test_options_are_part_of_the_key(tmp_path):
    cache = tmp_path / "cache"
    _store.BundleData(RAW, cache_dir=cache)
    short = _store.BundleData(RAW, cache_dir=cache, start_session="2013-01-02",
                              end_session="2013-12-31")
    assert short.sessions[0] == pd.Timestamp("2013-01-02") and len(short.sessions) == 252
    assert len(os.listdir(cache)) == 2


def test_the_calendar_library_version_is_read_beside_the_module(tmp_path, monkeypatch):
    import importlib.metadata
    import sys

    # the installed library: the same answer as importlib.metadata
    assert _store._installed_version("exchange_calendars", "exchange-calendars") == \
        importlib.metadata.version("exchange-calendars")
    # a package with its dist-info folder beside it (the folder's version is taken)
    site = tmp_path / "site"
    (site / "fake_cal_pkg").mkdir(parents=True)
    (site / "fake_cal_pkg" / "__init__.py").write_text("")
    (site / "fake_cal_pkg-1.2.3.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert _store._installed_version("fake_cal_pkg", "fake-cal-pkg") == "1.2.3"
    # two dist-info folders (a stale one left behind): no guess, importlib.metadata decides
    (site / "fake_cal_pkg-1.0.0.dist-info").mkdir()
    calls = []
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda dist: calls.append(dist) or "from-metadata")
    assert _store._installed_version("fake_cal_pkg", "fake-cal-pkg") == "from-metadata"
    assert calls == ["fake-cal-pkg"]
    sys.modules.pop("fake_cal_pkg", None)


def test_a_broken_cache_file_is_ignored_and_rewritten(tmp_path):
    cache = tmp_path / "cache"
    good = _store.BundleData(RAW, cache_dir=cache)
    [name] = os.listdir(cache)
    (cache / name).write_bytes(b"not an npz")
    again = _store.BundleData(RAW, cache_dir=cache)
    _assert_same(again, good)
    assert np.load(cache / name)["close"].shape == good.close.shape     # rewritten


def test_nothing_is_written_without_a_cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ML4T_BUNDLE_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    folder = _copy(tmp_path)
    listing = sorted(p for p in tmp_path.rglob("*"))
    bundles.register("nocache-test", csvdir_equities(["daily"], str(folder)))
    try:
        bundles.ingest("nocache-test")
        bundles.load("nocache-test")
    finally:
        bundles.unregister("nocache-test")
    assert sorted(p for p in tmp_path.rglob("*")) == listing


def _buy_and_hold(bundle):
    def initialize(context):
        context.assets = api.symbols("AAPL", "KO")

    def handle_data(context, data):
        for a in context.assets:
            api.order_target_percent(a, 0.45)

    return zl.run_algorithm(start=pd.Timestamp("2014-05-01"), end=pd.Timestamp("2014-07-31"),
                            initialize=initialize, handle_data=handle_data,
                            capital_base=100_000.0, bundle=bundle)


def test_a_run_through_the_environment_variable_gives_the_same_perf(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    plain = _buy_and_hold(str(RAW))
    monkeypatch.setenv("ML4T_BUNDLE_CACHE", str(cache))
    bundles.register("cache-test", csvdir_equities(["daily"], str(RAW)))
    try:
        bundles.ingest("cache-test")                  # writes the cache
        assert len(os.listdir(cache)) == 1
        bundles.clean("cache-test")                   # forget the in-process copy
        cached = _buy_and_hold("cache-test")
    finally:
        bundles.unregister("cache-test")
    cols = ["portfolio_value", "ending_cash", "returns", "pnl", "long_value"]
    assert cached[cols].equals(plain[cols])
    assert [len(t) for t in cached.transactions] == [len(t) for t in plain.transactions]
    assert sum(len(t) for t in plain.transactions) >= 2         # the split was traded across
