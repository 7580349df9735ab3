"""Pipeline parity of ``ml4t.compat.zipline`` with real zipline-reloaded on ``data/raw``.

Real Zipline's Pipeline only finds assets whose exchange has a country, which a csvdir
bundle does not record, so the bundle here is ingested with its exchange marked US (the
usual fix for csvdir bundles); the shim reads the same folder. Each session's
``pipeline_output`` must agree (same assets in the same order, values to 1e-9 relative),
through KO's 2:1 split (2012-08-13), AAPL's 7:1 split (2014-06-09) and their dividends,
and the example algorithm trading on a pipeline (``examples/zl_pipeline_momentum.py``)
must give the same transactions and values.
Needs zipline (pandas < 3): ``/work/zlvenv/bin/python -m pytest tests/test_zipline_pipeline.py``.
"""
from __future__ import annotations

import math
import pathlib

import pandas as pd
import pytest

pytest.importorskip("zipline")

from test_zipline_parity import _namespace, assert_parity, raw_bundles  # noqa: E402

RAW = pathlib.Path(__file__).resolve().parents[1] / "data" / "raw"
BUNDLE = "ml4t-pipeline-raw"


def _us_csvdir(path):
    """Zipline's csvdir ingest with the exchange given a country (US)."""
    from zipline.data.bundles.csvdir import csvdir_equities

    inner = csvdir_equities(["daily"], path)

    def ingest(environ, asset_db_writer, *args, **kwargs):
        class Writer:
            def write(self, equities=None, exchanges=None, **kw):
                exchanges = pd.DataFrame({"exchange": ["CSVDIR"], "canonical_name": ["CSVDIR"],
                                          "country_code": ["US"]})
                return asset_db_writer.write(equities=equities, exchanges=exchanges, **kw)

        return inner(environ, Writer(), *args, **kwargs)

    return ingest


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    yield from raw_bundles(tmp_path_factory.mktemp("zipline_root"), BUNDLE,
                           _us_csvdir(str(RAW)))


def _run(source: str, shim: bool, start: str, end: str):
    import zipline as real

    import ml4t.compat.zipline as ours

    ns = _namespace(source, shim)
    perf = (ours if shim else real).run_algorithm(
        start=pd.Timestamp(start), end=pd.Timestamp(end), initialize=ns["initialize"],
        handle_data=ns.get("handle_data"), before_trading_start=ns.get("before_trading_start"),
        capital_base=100_000.0, bundle=BUNDLE, data_frequency="daily")
    return perf, ns


OUTPUTS = '''
import numpy as np
from zipline.api import attach_pipeline, pipeline_output, get_datetime
from zipline.pipeline import Pipeline, CustomFactor
from zipline.pipeline.data import USEquityPricing
from zipline.pipeline.factors import (AverageDollarVolume, Returns, SimpleMovingAverage,
                                      DailyReturns)

class MeanRange(CustomFactor):
    inputs = [USEquityPricing.high, USEquityPricing.low, USEquityPricing.open]
    window_length = 15

    def compute(self, today, assets, out, high, low, open_):
        out[:] = np.mean((high - low) / open_, axis=0)

SEEN = []

def initialize(context):
    close = USEquityPricing.close.latest
    adv = AverageDollarVolume(window_length=20)
    ret = Returns(window_length=10)
    pipe = Pipeline(columns={
        "close": close, "volume": USEquityPricing.volume.latest, "adv": adv, "ret": ret,
        "sma": SimpleMovingAverage(inputs=[USEquityPricing.close], window_length=12),
        "daily": DailyReturns(), "range": MeanRange(), "rank": ret.rank(),
        "top2": ret.top(2), "bottom1": adv.bottom(1), "z": ret.zscore(), "dm": adv.demean(),
        "mid": close.percentile_between(25, 75), "ratio": (close - 40) / adv * 1e6,
        "both": (ret > 0) & ~(close < 50)})
    pipe.set_screen(adv.top(3))
    attach_pipeline(pipe, "p")

def before_trading_start(context, data):
    SEEN.append((get_datetime(), pipeline_output("p").copy()))
'''


def _same_frame(day, a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert [x.symbol for x in a.index] == [x.symbol for x in b.index], f"{day}: assets"
    assert list(a.columns) == list(b.columns), f"{day}: columns"
    for col in a.columns:
        for sym, x, y in zip(a.index, a[col], b[col]):
            if isinstance(x, (bool,)) or a[col].dtype == bool:
                assert bool(x) == bool(y), f"{day} {sym.symbol} {col}: {x} vs {y}"
            else:
                ok = (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9,
                                                                        abs_tol=1e-12)
                assert ok, f"{day} {sym.symbol} {col}: zipline {x!r}, shim {y!r}"


def test_pipeline_output_every_session(bundle):
    """Every session of 2012-02-01 .. 2014-12-31: the same screened assets, in the same
    order, and the same values of every column (splits and dividends included)."""
    (zperf, zns), (sperf, sns) = (_run(OUTPUTS, False, "2012-02-01", "2014-12-31"),
                                  _run(OUTPUTS, True, "2012-02-01", "2014-12-31"))
    z, s = zns["SEEN"], sns["SEEN"]
    assert len(z) == len(s) > 700
    for (zday, a), (sday, b) in zip(z, s):
        assert zday == sday
        _same_frame(zday.date(), a, b)
    around = [b for day, b in s if day.date().isoformat() in ("2012-08-13", "2014-06-09")]
    assert len(around) == 2 and all(len(b) == 3 for b in around)


def test_pipeline_example_runs_the_same_on_both(bundle):
    """examples/zl_pipeline_momentum.py with its imports switched back to zipline."""
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "zl_pipeline_momentum.py"
    source = path.read_text().replace("ml4t.compat.zipline", "zipline")
    (z, _), (s, _) = (_run(source, False, "2012-03-01", "2014-12-31"),
                      _run(source, True, "2012-03-01", "2014-12-31"))
    assert sum(len(t) for t in z["transactions"]) > 50
    assert_parity(z, s)
