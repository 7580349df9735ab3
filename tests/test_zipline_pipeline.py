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

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("zipline")

from test_zipline_parity import _namespace, assert_parity, raw_bundles  # noqa: E402

RAW = pathlib.Path(__file__).resolve().parents[1] / "data" / "raw"
BUNDLE = "ml4t-pipeline-raw"


def _us_csvdir(path):
    """Zipline's csvdir ingest with the exchange given a country (US)."""
    from zipline.data.bundles.csvdir import csvdir_equities

    from zipline_support import us_exchange
    return us_exchange(csvdir_equities(["daily"], path))


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


# ------------------------------------------------------------------ custom data
SIGNALS = '''
import numpy as np
import pandas as pd
from zipline.api import (attach_pipeline, pipeline_output, get_datetime, order_target_percent,
                         schedule_function, date_rules, time_rules, get_open_orders,
                         cancel_order, record)
from zipline.data import bundles
from zipline.pipeline import Pipeline, CustomFactor
from zipline.pipeline.data import Column, DataSet
from zipline.pipeline.domain import US_EQUITIES
from zipline.pipeline.filters import StaticAssets
from zipline.pipeline.loaders.frame import DataFrameLoader

SEEN = []


class SignalData(DataSet):
    predictions = Column(dtype=float)
    flag = Column(dtype=bool)
    domain = US_EQUITIES


class MLSignal(CustomFactor):
    inputs = [SignalData.predictions]
    window_length = 1

    def compute(self, today, assets, out, predictions):
        out[:] = predictions


class Smooth(CustomFactor):
    inputs = [SignalData.predictions]
    window_length = 3

    def compute(self, today, assets, out, predictions):
        out[:] = np.nanmean(predictions, axis=0)


def make_loader(bundle_name):
    """Seeded predictions for AAPL, KO and MSFT (IBM has none), labelled with business
    days (holidays included, every 7th day left out, a few values NaN)."""
    bundle_data = bundles.load(bundle_name)
    global ASSETS
    ASSETS = bundle_data.asset_finder.lookup_symbols(["AAPL", "IBM", "MSFT"], as_of_date=None)
    labelled = bundle_data.asset_finder.lookup_symbols(["AAPL", "KO", "MSFT"], as_of_date=None)
    days = pd.bdate_range("2011-12-01", "2014-12-31")
    rng = np.random.default_rng(7)
    values = rng.normal(size=(len(days), 3))
    values[rng.random(values.shape) < 0.05] = np.nan
    frame = pd.DataFrame(values, index=days, columns=pd.Index([a.sid for a in labelled]))
    frame = frame.iloc[[i for i in range(len(frame)) if i % 7 != 3]]
    flags = frame.fillna(0.0) > -0.5
    return {SignalData.predictions: DataFrameLoader(SignalData.predictions, frame),
            SignalData.flag: DataFrameLoader(SignalData.flag, flags)}


def initialize(context):
    signals = MLSignal()
    pipe = Pipeline(columns={
        "signal": signals, "smooth": Smooth(), "latest": SignalData.predictions.latest,
        "flag": SignalData.flag.latest,
        "longs": signals.top(1, mask=signals > 0),
        "shorts": signals.bottom(1, mask=signals < 0)},
        screen=StaticAssets(ASSETS), domain=US_EQUITIES)
    attach_pipeline(pipe, "signals")
    schedule_function(rebalance, date_rules.every_day(), time_rules.market_open(hours=1))


def before_trading_start(context, data):
    out = pipeline_output("signals")
    SEEN.append((get_datetime(), out.copy()))
    context.longs = list(out.index[out["longs"]])
    context.shorts = list(out.index[out["shorts"]])


def rebalance(context, data):
    for asset, orders in get_open_orders().items():
        for o in orders:
            cancel_order(o)
    for asset in context.portfolio.positions:
        if asset not in context.longs and asset not in context.shorts:
            order_target_percent(asset, 0)
    for asset in context.longs:
        order_target_percent(asset, 0.4)
    for asset in context.shorts:
        order_target_percent(asset, -0.2)
    record(n_longs=len(context.longs))
'''

MEAN_REVERSION = '''
import pandas as pd
from zipline.api import attach_pipeline, pipeline_output, get_datetime
from zipline.pipeline import Pipeline, CustomFactor
from zipline.pipeline.factors import Returns, AverageDollarVolume

SEEN = []


class MeanReversion(CustomFactor):
    inputs = [Returns(window_length=21)]
    window_length = 252

    def compute(self, today, assets, out, monthly_returns):
        df = pd.DataFrame(monthly_returns)
        out[:] = df.iloc[-1].sub(df.mean()).div(df.std())


class RankTrend(CustomFactor):
    window_length = 5

    def compute(self, today, assets, out, ranks, z, up):
        out[:] = ranks.mean(axis=0) + z[-1] + up.sum(axis=0)


def initialize(context):
    mr = MeanReversion()
    ret = Returns(window_length=10)
    trend = RankTrend(inputs=[ret.rank(), ret.zscore(), ret > 0])
    attach_pipeline(Pipeline(columns={
        "mr": mr, "longs": mr.bottom(1), "shorts": mr.top(1), "ranking": mr.rank(ascending=False),
        "trend": trend}, screen=AverageDollarVolume(window_length=30).top(3)), "f")


def before_trading_start(context, data):
    SEEN.append((get_datetime(), pipeline_output("f").copy()))
'''


def _run_loader(source: str, shim: bool, start: str, end: str):
    import zipline as real

    import ml4t.compat.zipline as ours

    ns = _namespace(source, shim)
    loader = ns["make_loader"](BUNDLE) if "make_loader" in ns else None
    perf = (ours if shim else real).run_algorithm(
        start=pd.Timestamp(start), end=pd.Timestamp(end), initialize=ns["initialize"],
        handle_data=ns.get("handle_data"), before_trading_start=ns.get("before_trading_start"),
        capital_base=100_000.0, bundle=BUNDLE, data_frequency="daily", custom_loader=loader)
    return perf, ns


def _same_every_session(z, s) -> None:
    assert len(z) == len(s) > 100
    for (zday, a), (sday, b) in zip(z, s):
        assert zday == sday
        _same_frame(zday.date(), a, b)


def test_custom_loader_signals_every_session_and_trades(bundle):
    """The book's ML-signal shape: a DataSet column served by DataFrameLoader (missing
    dates, a sid without data, NaNs, a boolean column), window_length 1 and 3, .latest,
    top/bottom with masks, StaticAssets; the same output every session and the same
    trades, orders and values."""
    (zperf, zns), (sperf, sns) = (_run_loader(SIGNALS, False, "2012-01-04", "2014-12-31"),
                                  _run_loader(SIGNALS, True, "2012-01-04", "2014-12-31"))
    _same_every_session(zns["SEEN"], sns["SEEN"])
    frames = [b for _, b in sns["SEEN"]]
    assert all(sorted(a.symbol for a in b.index) == ["AAPL", "IBM", "MSFT"] for b in frames)
    assert all(b.loc[[a for a in b.index if a.symbol == "IBM"], "signal"].isna().all()
               for b in frames)
    assert sum(b["longs"].sum() for b in frames) > 300
    assert sum(b["signal"].isna().sum() for b in frames) > len(frames)   # IBM + gaps
    assert sum(len(t) for t in zperf["transactions"]) > 300
    assert_parity(zperf, sperf)


def test_windowed_factor_inputs_every_session(bundle):
    """A CustomFactor over 252 sessions of Returns(21) (the book's mean-reversion
    factor) and one over 5 sessions of a rank, a z-score and a filter: each input row is
    the term as computed on that session, through KO's and AAPL's splits."""
    (_, zns), (_, sns) = (_run_loader(MEAN_REVERSION, False, "2013-02-04", "2014-12-31"),
                          _run_loader(MEAN_REVERSION, True, "2013-02-04", "2014-12-31"))
    _same_every_session(zns["SEEN"], sns["SEEN"])
    assert all(b["mr"].notna().all() for _, b in sns["SEEN"])


def test_ml_signals_example_runs_the_same_on_both(bundle):
    """examples/zl_ml_signals.py (predictions served by DataFrameLoader) with its imports
    switched back to zipline: the same pipeline, transactions and values."""
    import zipline as real
    from zipline.data import bundles as zbundles

    import ml4t.compat.zipline as ours
    from ml4t.compat.zipline.data import bundles as sbundles

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "zl_ml_signals.py"
    text = path.read_text()
    perfs = []
    for module, loader_bundles, shim in ((real, zbundles, False), (ours, sbundles, True)):
        source = text if shim else text.replace("ml4t.compat.zipline", "zipline")
        ns = {"__file__": str(path), "__name__": "zl_ml_signals"}
        exec(compile(source, str(path), "exec"), ns)
        perfs.append(module.run_algorithm(
            start=pd.Timestamp("2012-03-01"), end=pd.Timestamp("2014-12-31"),
            initialize=ns["initialize"], before_trading_start=ns["before_trading_start"],
            capital_base=100_000.0, bundle=BUNDLE, data_frequency="daily",
            custom_loader=ns["custom_loader"](loader_bundles.load(BUNDLE))))
    z, s = perfs
    assert sum(len(t) for t in z["transactions"]) > 100
    assert_parity(z, s)


BUILTINS = '''
from zipline.api import attach_pipeline, pipeline_output, get_datetime
from zipline.pipeline import Pipeline, CustomFactor
from zipline.pipeline.data import USEquityPricing
from zipline.pipeline.factors import (
    RSI, VWAP, EWMA, EWMSTD, AnnualizedVolatility, MaxDrawdown, PercentChange,
    LinearWeightedMovingAverage, RateOfChangePercentage, TrueRange,
    FastStochasticOscillator, MACDSignal, BollingerBands, Aroon, IchimokuKinkoHyo,
    WeightedAverageValue, ExponentialWeightedMovingAverage, Returns, SimpleMovingAverage)

SEEN = []


class Scaled(CustomFactor):
    params = {"scale": 2.0}
    inputs = [USEquityPricing.close]
    window_length = 3

    def compute(self, today, assets, out, close, scale):
        out[:] = close.mean(axis=0) * scale


def initialize(context):
    close = USEquityPricing.close
    bb = BollingerBands(window_length=20, k=2)
    lower, middle, upper = BollingerBands(window_length=10, k=1.5)
    aroon = Aroon(window_length=25)
    ich = IchimokuKinkoHyo()
    cols = {
        "rsi": RSI(), "rsi5": RSI(window_length=5), "vwap": VWAP(window_length=10),
        "ewma": EWMA(inputs=[close], window_length=30, decay_rate=0.9),
        "ewma_span": EWMA.from_span(inputs=[close], window_length=20, span=15),
        "ewma_half": ExponentialWeightedMovingAverage.from_halflife(
            inputs=[USEquityPricing.volume], window_length=20, halflife=5),
        "ewma_com": EWMA.from_center_of_mass(inputs=[close], window_length=12,
                                             center_of_mass=4),
        "ewmstd": EWMSTD(inputs=[close], window_length=30, decay_rate=0.95),
        "vol": AnnualizedVolatility(), "vol63": AnnualizedVolatility(
            window_length=63, annualization_factor=12.0),
        "mdd": MaxDrawdown(inputs=[close], window_length=60),
        "pct": PercentChange(inputs=[close], window_length=5),
        "lwma": LinearWeightedMovingAverage(inputs=[close], window_length=10),
        "roc": RateOfChangePercentage(inputs=[close], window_length=12),
        "tr": TrueRange(), "fso": FastStochasticOscillator(),
        "macd": MACDSignal(), "macd_fast": MACDSignal(fast_period=5, slow_period=10,
                                                      signal_period=3),
        "bb_lower": bb.lower, "bb_middle": bb.middle, "bb_upper": bb.upper,
        "bb2_lower": lower, "bb2_upper": upper, "bb2_mid": middle,
        "aroon_up": aroon.up, "aroon_down": aroon.down,
        "tenkan": ich.tenkan_sen, "kijun": ich.kijun_sen, "span_a": ich.senkou_span_a,
        "span_b": ich.senkou_span_b, "chikou": ich.chikou_span,
        "wav": WeightedAverageValue(inputs=[close, USEquityPricing.volume],
                                    window_length=7),
        "scaled": Scaled(), "scaled3": Scaled(scale=3.0),
        "rsi_sma": SimpleMovingAverage(inputs=[RSI()], window_length=5),
        "vol_rank": AnnualizedVolatility().rank(),
    }
    attach_pipeline(Pipeline(columns=cols), "b")


def before_trading_start(context, data):
    SEEN.append((get_datetime(), pipeline_output("b").copy()))
'''


def test_builtin_factors_every_session(bundle):
    """Every built-in single- and multiple-output factor (and params passed to compute as
    keywords) against real Zipline, every session of 2013-2014, through AAPL's split."""
    (_, zns), (_, sns) = (_run_loader(BUILTINS, False, "2013-02-04", "2014-12-31"),
                          _run_loader(BUILTINS, True, "2013-02-04", "2014-12-31"))
    _same_every_session(zns["SEEN"], sns["SEEN"])
    last = sns["SEEN"][-1][1]
    assert last.notna().all().all() and len(last) == 4


CLASSIFIERS = '''
import numpy as np
import pandas as pd
from zipline.api import attach_pipeline, pipeline_output, get_datetime
from zipline.data import bundles
from zipline.pipeline import Pipeline, CustomClassifier, CustomFactor
from zipline.pipeline.classifiers import Everything
from zipline.pipeline.data import Column, DataSet
from zipline.pipeline.domain import US_EQUITIES
from zipline.pipeline.factors import Returns, AverageDollarVolume
from zipline.pipeline.loaders.frame import DataFrameLoader

SEEN = []


class Meta(DataSet):
    sector = Column(dtype=np.int64, missing_value=-1)
    domain = US_EQUITIES     # real Zipline finds no loader for the column without it


class Parity(CustomClassifier):
    inputs = [Returns(window_length=2)]
    window_length = 1
    dtype = np.int64
    missing_value = -1

    def compute(self, today, assets, out, returns):
        out[:] = np.where(returns[-1] > 0, assets % 2, 7)


class Holey(CustomFactor):
    inputs = [Returns(window_length=5)]
    window_length = 1

    def compute(self, today, assets, out, returns):
        out[:] = returns[-1]
        out[assets == 3] = np.nan if today.day % 2 else 0.5


def make_loader(bundle_name):
    finder = bundles.load(bundle_name).asset_finder
    sids = [a.sid for a in finder.lookup_symbols(["AAPL", "IBM", "KO", "MSFT"], None)]
    days = pd.bdate_range("2011-12-01", "2014-12-31")
    frame = pd.DataFrame(np.tile([1, 1, 2, 1], (len(days), 1)), index=days, columns=sids)
    frame.iloc[::9, 2] = -1                       # KO's sector missing now and then
    return {Meta.sector: DataFrameLoader(Meta.sector, frame)}


def initialize(context):
    ret = Returns(window_length=10)
    adv = AverageDollarVolume(window_length=20)
    sector = Meta.sector.latest
    par = Parity()
    q = ret.quartiles()
    cols = {
        "q": q, "q5": ret.quintiles(), "dec_adv": adv.deciles(mask=adv.top(3)),
        "q3": ret.quantiles(3, mask=ret > -0.5), "sector": sector, "par": par,
        "rank_sector": ret.rank(groupby=sector), "rank_desc": ret.rank(ascending=False,
                                                                       groupby=par),
        "z_sector": ret.zscore(groupby=sector), "dm_par": adv.demean(groupby=par),
        "z_masked": ret.zscore(mask=adv.top(3), groupby=sector),
        "top1": ret.top(1, groupby=sector), "top2": ret.top(2, groupby=par),
        "bottom1": ret.bottom(1, groupby=sector),
        "q_eq": q.eq(3), "q_ne": q != 0, "q_null": q.isnull(), "q_some": q.notnull(),
        "q_in": q.element_of([1, 2]), "sector1": sector.eq(1), "every": Everything(),
        "rank_q": ret.rank(groupby=q), "rank_holey": Holey().rank(groupby=sector),
        "z_holey": Holey().zscore(groupby=sector), "top_holey": Holey().top(1, groupby=sector)}
    attach_pipeline(Pipeline(columns=cols, screen=q.notnull()), "c")


def before_trading_start(context, data):
    SEEN.append((get_datetime(), pipeline_output("c").copy()))
'''


def test_classifiers_and_groupby_every_session(bundle):
    """Quantiles (qcut), a CustomClassifier, an integer custom column's .latest, rank /
    zscore / demean / top / bottom grouped by them, and the classifier filters, against
    real Zipline every session of 2012-02 .. 2014-12."""
    (_, zns), (_, sns) = (_run_loader(CLASSIFIERS, False, "2012-02-01", "2014-12-31"),
                          _run_loader(CLASSIFIERS, True, "2012-02-01", "2014-12-31"))
    _same_every_session(zns["SEEN"], sns["SEEN"])
    frames = [b for _, b in sns["SEEN"]]
    assert any((b["sector"] == -1).any() for b in frames)
    assert any(b["rank_sector"].isna().any() for b in frames)
    assert any(b["rank_holey"].isna().sum() >= 3 for b in frames)   # MSFT's NaN: its group


STATISTICAL = '''
import numpy as np
from zipline.api import attach_pipeline, pipeline_output, get_datetime, symbol
from zipline.pipeline import Pipeline, CustomFactor
from zipline.pipeline.factors import (
    Returns, SimpleBeta, RollingPearson, RollingSpearman, RollingPearsonOfReturns,
    RollingSpearmanOfReturns, RollingLinearRegressionOfReturns)
from zipline.pipeline.factors.statistical import RollingLinearRegression

SEEN = []


class Spread(CustomFactor):
    window_length = 5

    def compute(self, today, assets, out, returns, target):
        out[:] = (returns - target).sum(axis=0)


def initialize(context):
    msft, ko = symbol("MSFT"), symbol("KO")
    daily = Returns(window_length=2)
    weekly = Returns(window_length=5)
    reg = RollingLinearRegressionOfReturns(target=ko, returns_length=5, regression_length=40)
    reg2 = RollingLinearRegression(dependent=daily, independent=weekly, regression_length=20)
    attach_pipeline(Pipeline(columns={
        "beta": SimpleBeta(target=msft, regression_length=60),
        "beta_strict": SimpleBeta(target=ko, regression_length=30,
                                  allowed_missing_percentage=0.0),
        "pearson": RollingPearsonOfReturns(target=ko, returns_length=5,
                                           correlation_length=30),
        "spearman": RollingSpearmanOfReturns(target=msft, returns_length=3,
                                             correlation_length=25),
        "pearson_cols": RollingPearson(base_factor=daily, target=weekly,
                                       correlation_length=15),
        "spearman_cols": RollingSpearman(base_factor=daily, target=weekly,
                                         correlation_length=12),
        "alpha": reg.alpha, "reg_beta": reg.beta, "r": reg.r_value, "p": reg.p_value,
        "stderr": reg.stderr, "p2": reg2.p_value, "beta2": reg2.beta,
        "spread": Spread(inputs=[daily, daily[msft]])}), "s")


def before_trading_start(context, data):
    SEEN.append((get_datetime(), pipeline_output("s").copy()))
'''


def test_statistical_factors_every_session(bundle):
    """SimpleBeta, rolling Pearson/Spearman correlations and regressions (of returns on a
    target asset's, and column by column), and a factor[asset] slice as an input, against
    real Zipline every session of 2012-05 .. 2014-12 (AAPL's and KO's splits included)."""
    (_, zns), (_, sns) = (_run_loader(STATISTICAL, False, "2012-05-01", "2014-12-31"),
                          _run_loader(STATISTICAL, True, "2012-05-01", "2014-12-31"))
    _same_every_session(zns["SEEN"], sns["SEEN"])
    last = sns["SEEN"][-1][1]
    assert last.notna().all().all()
    assert abs(last.loc[[a for a in last.index if a.symbol == "KO"], "pearson"].iloc[0]
               - 1.0) < 1e-12                                # KO with itself


RESEARCH = '''
import numpy as np
import pandas as pd
from zipline.data import bundles
from zipline.pipeline import Pipeline
from zipline.pipeline.data import Column, DataSet, USEquityPricing
from zipline.pipeline.domain import US_EQUITIES
from zipline.pipeline.engine import SimplePipelineEngine
from zipline.pipeline.factors import AverageDollarVolume, Returns, SimpleBeta
from zipline.pipeline.loaders import USEquityPricingLoader
from zipline.pipeline.loaders.frame import DataFrameLoader


class Scores(DataSet):
    score = Column(dtype=float)
    domain = US_EQUITIES


def research(bundle_name, start, end):
    bundle_data = bundles.load(bundle_name)
    finder = bundle_data.asset_finder
    pricing = USEquityPricingLoader.without_fx(bundle_data.equity_daily_bar_reader,
                                               bundle_data.adjustment_reader)
    sids = [a.sid for a in finder.lookup_symbols(["AAPL", "KO", "MSFT"], None)]
    days = pd.bdate_range("2012-01-01", "2014-12-31")
    frame = pd.DataFrame(np.random.default_rng(3).normal(size=(len(days), 3)), index=days,
                         columns=sids)
    custom = {Scores.score: DataFrameLoader(Scores.score, frame)}

    def get_loader(column):
        if column in USEquityPricing.columns:
            return pricing
        return custom[column]

    engine = SimplePipelineEngine(get_loader=get_loader, asset_finder=finder,
                                  default_domain=US_EQUITIES)
    ret = Returns(window_length=20)
    adv = AverageDollarVolume(window_length=30)
    pipe = Pipeline(columns={
        "ret": ret, "q": ret.quartiles(), "score": Scores.score.latest,
        "rank": ret.rank(mask=adv.top(3)),
        "beta": SimpleBeta(target=finder.lookup_symbol("MSFT", None), regression_length=60),
        "close": USEquityPricing.close.latest}, screen=adv.top(3) | Scores.score.latest.notnan())
    return engine.run_pipeline(pipe, pd.Timestamp(start), pd.Timestamp(end))
'''


def test_simple_pipeline_engine_run_pipeline(bundle):
    """Research outside an algorithm: SimplePipelineEngine over the bundle's readers and
    a DataFrameLoader, run_pipeline over 2013-2014; the same (session, asset) rows and
    values as real Zipline."""
    out = []
    for shim in (False, True):
        ns = _namespace(RESEARCH, shim)
        out.append(ns["research"](BUNDLE, "2013-01-02", "2014-12-31"))
    z, s = out
    assert len(z) == len(s) > 1500
    assert list(z.columns) == list(s.columns)
    zd, sd = z.index.get_level_values(0), s.index.get_level_values(0)
    assert (zd == sd).all() and str(zd.dtype) == str(sd.dtype)
    assert [a.symbol for a in z.index.get_level_values(1)] == \
        [a.symbol for a in s.index.get_level_values(1)]
    for day in sorted(set(zd))[::25]:
        _same_frame(day.date(), z.loc[day], s.loc[day])
    for col in z.columns:
        a, b = z[col].to_numpy(dtype=float), s[col].to_numpy(dtype=float)
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True), col
