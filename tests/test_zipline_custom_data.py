"""Custom pipeline data, windowed term inputs, the asset finder and the half-day schedule
rule of ``ml4t.compat.zipline``, checked by hand on a toy bundle (the same behaviours are
compared with real Zipline in ``test_zipline_pipeline.py`` and ``test_zipline_parity.py``).

Toy bundle (from ``test_zipline_api``): AAA has 40 sessions from 2020-01-02, close
10.0 + 0.1 k, a 0.50 dividend on session 10 and a 2:1 split on session 20; BBB starts on
session 5.
"""
from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t.compat.zipline import api, errors
from ml4t.compat.zipline.data import bundles
from ml4t.compat.zipline.pipeline import CustomFactor, Pipeline
from ml4t.compat.zipline.pipeline.data import Column, DataSet, USEquityPricing
from ml4t.compat.zipline.pipeline.domain import US_EQUITIES, EquityCalendarDomain
from ml4t.compat.zipline.pipeline.factors import (AnnualizedVolatility, AverageDollarVolume,
                                                   Returns, SimpleMovingAverage)
from ml4t.compat.zipline.pipeline.filters import StaticAssets
from ml4t.compat.zipline.pipeline.loaders.frame import DataFrameLoader
from test_zipline_api import RAW, _sessions, fixed_day, run, toy  # noqa: F401 (fixture)

SESSIONS = _sessions("2020-01-02", 40)


class Scores(DataSet):
    score = Column(dtype=float)
    flag = Column(dtype=bool)
    domain = US_EQUITIES


def _score_frame(drop=(7,)) -> pd.DataFrame:
    """100 * session number + sid, for AAA (sid 0) and BBB (sid 1)."""
    k = np.arange(40, dtype=float)[:, None]
    frame = pd.DataFrame(100 * k + np.array([0.0, 1.0]), index=SESSIONS, columns=[0, 1])
    return frame.drop(SESSIONS[list(drop)])


def _collect(bundle, columns, loader=None, start="2020-01-02", end="2020-02-27", screen=None):
    seen = {}

    def initialize(context):
        api.attach_pipeline(Pipeline(columns=columns, screen=screen), "p")

    def before_trading_start(context, data):
        seen[api.get_datetime().tz_convert(None).normalize()] = api.pipeline_output("p")

    run(bundle, initialize, start=start, end=end, before_trading_start=before_trading_start,
        custom_loader=loader)
    return seen


class Sum3(CustomFactor):
    inputs = [Scores.score]
    window_length = 3

    def compute(self, today, assets, out, score):
        out[:] = score.sum(axis=0)


def _at(seen, k):
    out = seen[SESSIONS[k]]
    return {a.symbol: row for a, row in out.iterrows()}


def test_dataframe_loader_value_is_used_on_its_labelled_session(toy):
    loader = {Scores.score: DataFrameLoader(Scores.score, _score_frame())}
    seen = _collect(toy, {"latest": Scores.score.latest, "sum3": Sum3()}, loader)
    s = _at(seen, 4)                                    # BBB listed on session 5: not yet
    assert list(s) == ["AAA"] and s["AAA"]["latest"] == 400.0
    assert s["AAA"]["sum3"] == 200.0 + 300.0 + 400.0
    s = _at(seen, 6)                                    # BBB exists from the session after
    assert s["BBB"]["latest"] == 601.0                  # its first bar
    assert np.isnan(s["BBB"]["sum3"])                   # sessions 4 and 5: it did not exist
    assert np.isnan(_at(seen, 7)["AAA"]["latest"])      # session 7 has no row
    assert np.isnan(_at(seen, 9)["AAA"]["sum3"])        # the window 7..9 holds it
    s = _at(seen, 10)
    assert (s["AAA"]["sum3"], s["BBB"]["sum3"]) == (2700.0, 2703.0)


def test_boolean_column_latest_is_a_filter_and_missing_is_false(toy):
    flags = _score_frame() > 1000.0        # BBB from session 10 (1001), AAA from 11
    loader = {Scores.flag: DataFrameLoader(Scores.flag, flags)}
    seen = _collect(toy, {"close": USEquityPricing.close.latest}, loader,
                    screen=Scores.flag.latest)
    assert [len(seen[SESSIONS[k]]) for k in (7, 9, 10, 11)] == [0, 0, 1, 2]   # 7: no row
    assert [a.symbol for a in seen[SESSIONS[10]].index] == ["BBB"]


class Capture(CustomFactor):
    window_length = 3
    rows: dict = {}

    def compute(self, today, assets, out, returns):
        if returns.shape[1]:                            # AAA exists from session 1
            Capture.rows[today.tz_convert(None)] = returns[:, 0].copy()
        out[:] = returns[-1]


def test_windowed_term_input_rows_are_the_term_on_each_session(toy):
    """Returns(2) on session s compares the closes of sessions s-2 and s-1, adjusted as of
    s; a 3-session window on session i holds that value for s = i-2, i-1, i."""
    Capture.rows = {}
    seen = _collect(toy, {"c": Capture(inputs=[Returns(window_length=2)])})
    close = 10.0 + 0.1 * np.arange(40)

    def ret(s):
        return close[s - 1] / close[s - 2] - 1.0        # split and dividend cancel out
    assert Capture.rows[SESSIONS[8]].tolist() == pytest.approx([ret(6), ret(7), ret(8)],
                                                               rel=1e-12)
    # across the 2:1 split on session 20 each row is still that session's own return
    assert Capture.rows[SESSIONS[22]].tolist() == pytest.approx([ret(20), ret(21), ret(22)],
                                                                rel=1e-12)
    # every session (the window's buffer wraps around every few sessions), except the
    # windows holding session 11's return, which spans the dividend (ex on session 10)
    later = [k for k in range(4, 40) if SESSIONS[k] in Capture.rows and not 11 <= k <= 13]
    assert len(later) >= 30
    for k in later:
        assert Capture.rows[SESSIONS[k]].tolist() == pytest.approx(
            [ret(k - 2), ret(k - 1), ret(k)], rel=1e-12), k
    row = Capture.rows[SESSIONS[3]]                     # sessions 1..3; Returns(2) on 1
    assert np.isnan(row[0]) and row[1:].tolist() == pytest.approx([ret(2), ret(3)])
    assert _at(seen, 22)["AAA"]["c"] == pytest.approx(ret(22), rel=1e-12)


def test_window_safety_is_checked_when_the_term_is_built():
    latest = USEquityPricing.close.latest
    with pytest.raises(errors.NonWindowSafeInput, match="windowed input"):
        SimpleMovingAverage(inputs=[latest], window_length=5)
    with pytest.raises(errors.NonWindowSafeInput):
        SimpleMovingAverage(
            inputs=[SimpleMovingAverage(inputs=[USEquityPricing.close], window_length=3)],
            window_length=2)
    SimpleMovingAverage(inputs=[latest], window_length=1)           # one session: fine
    ret = Returns(window_length=5)
    for safe in (ret, ret.rank(), ret.zscore(), ret > 0, (ret + 1) * 2):
        SimpleMovingAverage(inputs=[safe], window_length=4)
    with pytest.raises(errors.NonWindowSafeInput):
        SimpleMovingAverage(inputs=[ret.demean() + latest], window_length=4)

    class NoWindow(CustomFactor):
        inputs = [USEquityPricing.close]

    with pytest.raises(errors.WindowLengthNotSpecified, match="NoWindow"):
        NoWindow()


def test_top_one_reads_the_float_bits_as_an_integer_like_zipline():
    f, day = fixed_day([-0.1, -0.5, np.nan, -0.3])
    assert np.flatnonzero(day.value(f.top(1))).tolist() == [1]       # the most negative
    assert np.flatnonzero(day.value(f.bottom(1))).tolist() == [1]    # bottom is numeric
    assert np.flatnonzero(day.value(f.top(2))).tolist() == [0, 3]    # top(N > 1) too
    f, day = fixed_day([0.2, -1.0, 0.3, 0.3])
    assert np.flatnonzero(day.value(f.top(1))).tolist() == [2]       # first of a tie
    f, day = fixed_day([np.nan, np.nan])
    assert not day.value(f.top(1)).any()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x != 0.0),
                min_size=1, max_size=20))
def test_top_one_is_the_largest_positive_else_the_smallest(values):
    f, day = fixed_day(values)
    picked = np.flatnonzero(day.value(f.top(1))).tolist()
    x = np.asarray(values)
    want = int(np.argmax(x)) if (x > 0).any() else int(np.argmin(x))
    assert picked == [want]


def test_static_assets_and_asset_finder(toy):
    data = bundles.load(toy)
    finder = data.asset_finder
    aaa, bbb = finder.lookup_symbols(["aaa", "BBB"], as_of_date=None)
    assert (aaa.sid, bbb.sid, finder.sids) == (0, 1, [0, 1])
    assert finder.lookup_symbol("B.B-B", None, fuzzy=True) is bbb
    with pytest.raises(errors.SymbolNotFound, match="did you mean 'AAA'"):
        finder.lookup_symbol("AAB", None)
    assert finder.retrieve_asset(1) is bbb and finder.retrieve_all([1, 0]) == [bbb, aaa]
    assert finder.retrieve_asset(9, default_none=True) is None
    with pytest.raises(errors.SidsNotFound):
        finder.retrieve_asset(9)
    life = finder.lifetimes(SESSIONS[4:7])
    assert life[1].tolist() == [False, False, True] and life[0].all()
    assert finder.lifetimes(SESSIONS[4:7], include_start_date=True)[1].tolist() == \
        [False, True, True]
    from ml4t.compat.zipline.pipeline.filters import SingleAsset
    seen = _collect(toy, {"close": USEquityPricing.close.latest,
                          "is_aaa": SingleAsset(aaa)}, screen=StaticAssets([bbb]))
    assert all([a.symbol for a in out.index] in ([], ["BBB"]) for out in seen.values())
    assert [a.symbol for a in seen[SESSIONS[12]].index] == ["BBB"]
    both = _collect(toy, {"is_aaa": SingleAsset(aaa)},
                    screen=StaticAssets([bbb]) | SingleAsset(aaa))[SESSIONS[12]]
    assert [(a.symbol, v) for a, v in both["is_aaa"].items()] == [("AAA", True),
                                                                 ("BBB", False)]


def test_bad_loaders_and_columns_are_refused_by_name(toy):
    frame = _score_frame()
    with pytest.raises(ValueError, match=r"tz_localize\(None\)"):
        DataFrameLoader(Scores.score, frame.tz_localize("UTC"))
    with pytest.raises(ValueError, match="'AAA' is not a sid"):
        DataFrameLoader(Scores.score, frame.set_axis(["AAA", "BBB"], axis=1))
    with pytest.raises(ValueError, match="repeats 2020-01-02"):
        DataFrameLoader(Scores.score, pd.concat([frame.iloc[:1], frame.iloc[:1]]))
    with pytest.raises(ValueError, match="time of day"):
        DataFrameLoader(Scores.score, frame.set_axis(frame.index + pd.Timedelta(hours=16)))
    with pytest.raises(errors.UnsupportedFeature, match="adjustments"):
        DataFrameLoader(Scores.score, frame, adjustments=pd.DataFrame({"sid": [0]}))
    with pytest.raises(errors.NoDefaultMissingValue, match="Bad.count"):
        type("Bad", (DataSet,), {"count": Column(dtype=int)})
    assert type("Ok", (DataSet,), {"count": Column(dtype=int, missing_value=-1)}).count \
        .missing_value == -1
    with pytest.raises(TypeError, match="not a dataset column"):
        _collect(toy, {}, {"score": DataFrameLoader(Scores.score, frame)})
    with pytest.raises(errors.UnsupportedFeature, match="DataFrameLoader"):
        _collect(toy, {}, {Scores.score: object()})
    with pytest.raises(ValueError, match="No PipelineLoader registered for column "
                                         "Scores.score"):
        _collect(toy, {"s": Scores.score.latest})

    def initialize(context):
        api.attach_pipeline(Pipeline(domain=EquityCalendarDomain("CA", "XTSE")), "p")

    with pytest.raises(errors.UnsupportedFeature, match="domain"):
        run(toy, initialize)


def test_scheduled_functions_skip_an_early_close_within_a_day_of_the_last_close():
    """Zipline's daily mode fires a scheduled function at most once per 24 hours from the
    close that opened its "day": 2012-07-03 (13:00 close, the day after a full session)
    and 2013-12-24 are skipped, 2012-11-23 (after the Thanksgiving holiday) is not;
    handle_data runs every session."""
    calls, bars = [], []

    def initialize(context):
        api.schedule_function(lambda c, d: calls.append(api.get_datetime().date()),
                              api.date_rules.every_day(), api.time_rules.market_open())

    def handle_data(context, data):
        bars.append(api.get_datetime().date())

    for start, end in (("2012-07-02", "2012-07-06"), ("2012-11-21", "2012-11-26"),
                       ("2013-12-23", "2013-12-27")):
        run(str(RAW), initialize, handle_data, start=start, end=end)
    skipped = sorted(set(bars) - set(calls))
    assert [d.isoformat() for d in skipped] == ["2012-07-03", "2013-12-24"]
    assert pd.Timestamp("2012-11-23").date() in calls and len(bars) == 11


def test_ml_signals_example_through_run_algorithm_and_the_cli(tmp_path):
    """examples/zl_ml_signals.py: the CLI finds the file's custom_loader(bundle_data)
    and gives the same numbers as run_algorithm with the loader passed by hand."""
    import runpy

    import ml4t.compat.zipline as zl
    from ml4t.compat.zipline.__main__ import main
    from test_zipline_api import ROOT

    path = ROOT / "examples" / "zl_ml_signals.py"
    ns = runpy.run_path(str(path))
    perf = zl.run_algorithm(start=pd.Timestamp("2012-03-01"), end=pd.Timestamp("2012-12-31"),
                            initialize=ns["initialize"],
                            before_trading_start=ns["before_trading_start"],
                            capital_base=100_000.0, bundle=str(RAW),
                            custom_loader=ns["custom_loader"](bundles.load(str(RAW))))
    out = tmp_path / "perf.pickle"
    assert main(["run", "-f", str(path), "--start", "2012-03-01", "--end", "2012-12-31",
                 "-b", str(RAW), "--capital-base", "100000", "-o", str(out)]) == 0
    cli = pd.read_pickle(out)
    assert sum(len(t) for t in perf["transactions"]) > 50
    assert cli["portfolio_value"].tolist() == perf["portfolio_value"].tolist()
    assert perf["best_signal"].notna().sum() > 200


def test_builtin_factors_by_hand_on_a_straight_line(toy):
    """AAA closes 10.0 + 0.1 k (high = close + 0.5, low = close - 0.5); on session 8 a
    3-session window holds the closes of sessions 5, 6, 7: 10.5, 10.6, 10.7."""
    from ml4t.compat.zipline.pipeline import factors as F
    close = USEquityPricing.close
    bb = F.BollingerBands(window_length=3, k=2.0)
    aroon = F.Aroon(window_length=3)

    class Scaled(CustomFactor):
        params = {"scale": 2.0}
        inputs = [close]
        window_length = 3

        def compute(self, today, assets, out, closes, scale):
            out[:] = closes[-1] * scale

    cols = {"rsi": F.RSI(window_length=3), "mdd": F.MaxDrawdown(inputs=[close],
                                                                 window_length=3),
            "ewma": F.EWMA(inputs=[close], window_length=3, decay_rate=0.5),
            "ewma_span": F.EWMA.from_span(inputs=[close], window_length=3, span=3),
            "lwma": F.LinearWeightedMovingAverage(inputs=[close], window_length=3),
            "tr": F.TrueRange(), "fso": F.FastStochasticOscillator(window_length=3),
            "bb_upper": bb.upper, "bb_lower": bb.lower, "aroon_up": aroon.up,
            "aroon_down": aroon.down, "roc": F.RateOfChangePercentage(inputs=[close],
                                                                      window_length=3),
            "scaled": Scaled(scale=3.0), "vwap": F.VWAP(window_length=3)}
    row = _at(_collect(toy, cols), 8)["AAA"]
    c0, c1, c2 = 10.5, 10.6, 10.7
    assert row["rsi"] == 100.0                         # no losses: gains / 0
    assert row["mdd"] == 0.0
    assert row["ewma"] == pytest.approx((c0 / 8 + c1 / 4 + c2 / 2) / 0.875, rel=1e-12)
    assert row["ewma_span"] == pytest.approx(row["ewma"], rel=1e-12)   # span 3: decay 0.5
    assert row["lwma"] == pytest.approx((c0 + 2 * c1 + 3 * c2) / 6, rel=1e-12)
    assert row["tr"] == pytest.approx(1.0, rel=1e-12)  # high - low beats |high - prev|
    assert row["fso"] == pytest.approx((c2 - (c0 - 0.5)) / ((c2 + 0.5) - (c0 - 0.5)) * 100)
    band = 2.0 * np.sqrt(0.02 / 3)
    assert (row["bb_upper"], row["bb_lower"]) == (pytest.approx(c1 + band, rel=1e-12),
                                                  pytest.approx(c1 - band, rel=1e-12))
    assert (row["aroon_up"], row["aroon_down"]) == (100.0, 0.0)
    assert row["roc"] == pytest.approx((c2 - c0) / c0 * 100, rel=1e-12)
    assert row["scaled"] == pytest.approx(3.0 * c2, rel=1e-12)   # params as keywords
    assert row["vwap"] == pytest.approx(c1, rel=1e-12)            # equal volumes
    with pytest.raises(TypeError, match="several outputs"):
        Pipeline(columns={"bb": bb})
    lower, middle, upper = bb
    assert upper is bb.upper and middle is bb.middle
    with pytest.raises(ValueError, match="slow_period"):
        F.MACDSignal(fast_period=10, slow_period=5)
    assert F.MACDSignal(fast_period=3, slow_period=5, signal_period=2).window_length == 6
    with pytest.raises(ValueError, match="decay_rate"):
        F.EWMA(inputs=[close], window_length=3, decay_rate=1.5)


def test_eod_cancel_cancels_only_the_oldest_when_an_asset_has_several(toy):
    """BBB trades 1,000 shares a session, so the default 10% cap fills 100 a day: an order
    for 1,000 on session 6 fills 100 on session 7; a second order placed on 7 leaves two
    open, and the policy cancels the first at the end of 7 (with a warning: partly filled);
    the second fills 10 on session 8. A lone open order is never canceled."""
    def initialize(context):
        api.set_cancel_policy(api.EODCancel())

    def handle_data(context, data):
        day = api.get_datetime().tz_convert(None).normalize()
        if day == SESSIONS[6]:
            api.order(api.symbol("BBB"), 1000)
            api.order(api.symbol("AAA"), 5)
        elif day == SESSIONS[7]:
            api.order(api.symbol("BBB"), 10)

    with pytest.warns(UserWarning, match="1000 shares of BBB has been partially filled. 100"):
        perf = run(toy, initialize, handle_data, end="2020-01-15")
    rows = {d.tz_convert(None).normalize(): v for d, v in perf["orders"].items()}
    seven = [(o["sid"].symbol, o["amount"], o["filled"], int(o["status"])) for o in
             rows[SESSIONS[7]]]
    assert seven == [("BBB", 1000, 100, 2), ("AAA", 5, 5, 1), ("BBB", 10, 0, 0)]
    eight = [(o["amount"], o["filled"], int(o["status"])) for o in rows[SESSIONS[8]]]
    assert eight == [(10, 10, 1), (1000, 100, 2)]      # the cancel is relayed again
    txns = [(t["sid"].symbol, t["amount"]) for day in perf["transactions"] for t in day]
    assert txns == [("BBB", 100), ("AAA", 5), ("BBB", 10)]

    with pytest.raises(errors.UnsupportedCancelPolicy):
        run(toy, lambda c: api.set_cancel_policy("eod"))

    def late(context, data):
        api.set_cancel_policy(api.NeverCancel())

    with pytest.raises(errors.SetCancelPolicyPostInit):
        run(toy, lambda c: None, late)


def _labels(values):
    from ml4t.compat.zipline.pipeline.classifiers import Classifier

    class Fixed(Classifier):
        def _compute(self, day):
            return np.asarray(values, dtype=np.int64)
    return Fixed()


def test_classifiers_by_hand():
    f, day = fixed_day([3.0, 1.0, 2.0, 5.0])
    g = _labels([0, 0, 1, 1])
    assert day.value(f.rank(groupby=g)).tolist() == [2.0, 1.0, 1.0, 2.0]
    assert day.value(f.rank(ascending=False, groupby=g)).tolist() == [1.0, 2.0, 2.0, 1.0]
    assert day.value(f.zscore(groupby=g)).tolist() == [1.0, -1.0, -1.0, 1.0]
    assert day.value(f.demean(groupby=g)).tolist() == [1.0, -1.0, -1.5, 1.5]
    assert day.value(f.top(1, groupby=g)).tolist() == [True, False, False, True]
    assert day.value(f.bottom(1, groupby=g)).tolist() == [False, True, True, False]
    missing = _labels([0, -1, 1, 1])                  # sid 1 has no label: left out
    assert np.isnan(day.value(f.rank(groupby=missing))).tolist() == [False, True, False,
                                                                    False]
    f, day = fixed_day([np.nan, 1.0, 2.0, 5.0])       # a NaN makes its whole group NaN
    assert np.isnan(day.value(f.rank(groupby=g))).tolist() == [True, True, False, False]
    f, day = fixed_day([4.0, 1.0, 3.0, 2.0, np.nan])
    assert day.value(f.quantiles(2)).tolist() == [1, 0, 1, 0, -1]   # median 2.5
    q = f.quartiles()
    assert day.value(q).tolist() == [3, 0, 2, 1, -1]
    assert day.value(q.eq(2)).tolist() == [False, False, True, False, False]
    assert day.value(q != 0).tolist() == [True, False, True, True, False]   # not missing
    assert day.value(q.isnull()).tolist() == [False, False, False, False, True]
    assert day.value(q.element_of([0, 3])).tolist() == [True, True, False, False, False]
    with pytest.raises(ValueError, match="isnull"):
        q.eq(-1)
    with pytest.raises(ValueError, match="missing value"):
        q.element_of([-1, 2])
    with pytest.raises(TypeError, match="cannot compare"):
        q < 2
    with pytest.raises(TypeError, match="groupby must be a Classifier"):
        f.rank(groupby=f)
    f, day = fixed_day([np.nan, np.nan])
    day.engine.session_utc = lambda i: pd.Timestamp("2020-01-02", tz="UTC")  # (message)
    with pytest.raises(ValueError, match="Quantiles\\(4\\) on 2020-01-02: Bin edges"):
        day.value(f.quartiles())


def test_custom_classifier_and_integer_column_on_the_toy_bundle(toy):
    from ml4t.compat.zipline.pipeline import CustomClassifier

    class Meta(DataSet):
        sector = Column(dtype=np.int64, missing_value=-1)

    class Cheap(CustomClassifier):
        inputs = [USEquityPricing.close]
        window_length = 1

        def compute(self, today, assets, out, close):
            out[:] = (close[-1] < 20).astype(np.int64)

    frame = pd.DataFrame({0: 7, 1: 8}, index=SESSIONS).drop(SESSIONS[3])
    seen = _collect(toy, {"cheap": Cheap(), "sector": Meta.sector.latest,
                          "rank": USEquityPricing.close.latest.rank(groupby=Cheap())},
                    {Meta.sector: DataFrameLoader(Meta.sector, frame)})
    row = _at(seen, 8)
    assert (row["AAA"]["cheap"], row["BBB"]["cheap"]) == (1, 0)   # 10.7 and 50.0
    assert (row["AAA"]["sector"], row["BBB"]["sector"]) == (7, 8)
    assert (row["AAA"]["rank"], row["BBB"]["rank"]) == (1.0, 1.0)  # alone in each group
    assert _at(seen, 3)["AAA"]["sector"] == -1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-1, 3)),
                min_size=1, max_size=25))
def test_grouped_rank_numbers_each_group_from_one(pairs):
    values, labels = [p[0] for p in pairs], [p[1] for p in pairs]
    f, day = fixed_day(values)
    ranks = day.value(f.rank(groupby=_labels(labels)))
    labels = np.asarray(labels)
    assert np.isnan(ranks[labels == -1]).all()
    for g in set(labels.tolist()) - {-1}:
        idx = np.flatnonzero(labels == g)
        assert sorted(ranks[idx].tolist()) == list(range(1, len(idx) + 1))
        ordered = np.asarray(values)[idx][np.argsort(ranks[idx])]
        assert (np.diff(ordered) >= 0).all()


def test_statistical_factors_by_hand(toy):
    """Against AAA itself: beta 1, correlations 1, a perfect regression (alpha 0, r 1,
    p 0, stderr 0). BBB's price never moves: beta 0, correlations NaN (0 / 0), and its
    regression on AAA is flat (slope 0, r 0, p 1, stderr 0)."""
    from ml4t.compat.zipline.pipeline import factors as F

    aaa = bundles.load(toy).asset_finder.lookup_symbol("AAA", None)
    reg = F.RollingLinearRegressionOfReturns(target=aaa, returns_length=2,
                                              regression_length=5)
    cols = {"beta": F.SimpleBeta(target=aaa, regression_length=5),
            "pearson": F.RollingPearsonOfReturns(target=aaa, returns_length=2,
                                                 correlation_length=5),
            "spearman": F.RollingSpearmanOfReturns(target=aaa, returns_length=2,
                                                   correlation_length=5),
            "alpha": reg.alpha, "slope": reg.beta, "r": reg.r_value, "p": reg.p_value,
            "stderr": reg.stderr}
    row = _at(_collect(toy, cols), 12)
    a, b = row["AAA"], row["BBB"]
    assert a["beta"] == pytest.approx(1.0, rel=1e-12) and b["beta"] == 0.0
    assert a["pearson"] == pytest.approx(1.0, rel=1e-12) and np.isnan(b["pearson"])
    assert a["spearman"] == pytest.approx(1.0, rel=1e-12) and np.isnan(b["spearman"])
    assert (a["slope"], a["r"]) == (pytest.approx(1.0, rel=1e-12), pytest.approx(1.0))
    assert abs(a["alpha"]) < 1e-15 and a["p"] < 1e-12 and a["stderr"] == 0.0
    assert (b["alpha"], b["slope"], b["r"], b["p"], b["stderr"]) == (0.0, 0.0, 0.0, 1.0,
                                                                     0.0)
    with pytest.raises(ValueError, match="regression_length"):
        F.SimpleBeta(target=aaa, regression_length=2)
    with pytest.raises(TypeError, match="takes an Asset"):
        F.Returns(window_length=2)["AAA"]
    with pytest.raises(TypeError, match="only be an input"):
        Pipeline(columns={"x": F.Returns(window_length=2)[aaa]})


def test_zipline_module_layout_imports():
    """Scripts import factors from Zipline's submodules too."""
    from ml4t.compat.zipline.pipeline import factors
    from ml4t.compat.zipline.pipeline.factors.basic import Returns
    from ml4t.compat.zipline.pipeline.factors.statistical import RollingLinearRegression
    from ml4t.compat.zipline.pipeline.factors.technical import RSI
    from ml4t.compat.zipline.pipeline.loaders import DataFrameLoader as Loader
    from ml4t.compat.zipline.utils.run_algo import load_extensions, run_algorithm
    assert (Returns, RSI, RollingLinearRegression) == (factors.Returns, factors.RSI,
                                                        factors.RollingLinearRegression)
    assert Loader is DataFrameLoader and run_algorithm.__name__ == "run_algorithm"
    assert load_extensions(True, [], True, {}) is None
    with pytest.raises(FileNotFoundError, match="nope.py"):
        load_extensions(True, ["nope.py"], True, {})
    with pytest.raises(errors.UnsupportedFeature, match="EquityPricingLoader"):
        from ml4t.compat.zipline.pipeline.loaders import USEquityPricingLoader
        USEquityPricingLoader(None, None)                  # not a shim bundle's readers


def test_simple_pipeline_engine_on_the_toy_bundle(toy):
    from ml4t.compat.zipline.assets import AssetFinder
    from ml4t.compat.zipline.pipeline.engine import SimplePipelineEngine
    from ml4t.compat.zipline.pipeline.loaders import USEquityPricingLoader

    data = bundles.load(toy)
    pricing = USEquityPricingLoader.without_fx(data.equity_daily_bar_reader,
                                               data.adjustment_reader)
    engine = SimplePipelineEngine(get_loader=lambda column: pricing,
                                  asset_finder=data.asset_finder)
    out = engine.run_pipeline(Pipeline(columns={"close": USEquityPricing.close.latest}),
                              SESSIONS[5], SESSIONS[6])
    rows = [(d, a.symbol, c) for (d, a), c in out["close"].items()]
    assert rows == [(SESSIONS[5], "AAA", pytest.approx(10.4)),     # BBB listed on 5
                    (SESSIONS[6], "AAA", pytest.approx(10.5)),
                    (SESSIONS[6], "BBB", 50.0)]
    assert engine.run_chunked_pipeline(Pipeline(columns={"close": USEquityPricing.close
                                                         .latest}),
                                       SESSIONS[5], SESSIONS[6], 1).equals(out)
    raw = data.equity_daily_bar_reader.load_raw_arrays(["close", "volume"], SESSIONS[0],
                                                       SESSIONS[2], [0])
    assert raw[0][:, 0].tolist() == pytest.approx([10.0, 10.1, 10.2])
    with pytest.raises(ValueError, match="not a trading session"):
        engine.run_pipeline(Pipeline(), pd.Timestamp("2020-01-04"), SESSIONS[6])
    with pytest.raises(ValueError, match="before or equal"):
        engine.run_pipeline(Pipeline(), SESSIONS[6], SESSIONS[5])
    with pytest.raises(TypeError, match="asset_finder"):
        SimplePipelineEngine(get_loader=None, asset_finder=AssetFinder([]))
    with pytest.raises(errors.UnsupportedFeature, match="one bundle"):
        USEquityPricingLoader.without_fx(data.equity_daily_bar_reader, object())
    with pytest.raises(ValueError, match="not a session of the bundle"):
        data.equity_daily_bar_reader.load_raw_arrays(["close"], "2019-12-31", SESSIONS[2], [0])


def test_windows_of_a_bundle_without_adjustments(tmp_path):
    """No split or dividend anywhere: windows are the stored closes as they are."""
    from ml4t.compat.zipline.pipeline.factors import SimpleMovingAverage
    from test_zipline_api import _write

    _write(tmp_path, "CCC", SESSIONS[:10], 20.0 + np.arange(10.0))
    seen = _collect(str(tmp_path), {"sma3": SimpleMovingAverage(
        inputs=[USEquityPricing.close], window_length=3)}, end="2020-01-15")
    assert _at(seen, 8)["CCC"]["sma3"] == pytest.approx(26.0, rel=1e-12)   # 25, 26, 27


def test_restrictions_and_min_leverage_by_hand(toy):
    """A HistoricalRestrictions freeze of AAA on session 3 (ALLOWED again on 6), BBB on the
    do-not-order list: can_trade follows them; union of restrictions; min leverage 0.5
    checked after a 3-day grace period fails at the first session end past it."""
    from ml4t.compat.zipline.finance.asset_restrictions import (
        RESTRICTION_STATES, HistoricalRestrictions, NoRestrictions, Restriction,
        StaticRestrictions)

    seen = {}

    def initialize(context):
        aaa, bbb = api.symbol("AAA"), api.symbol("BBB")
        context.assets = [aaa, bbb]
        api.set_asset_restrictions(HistoricalRestrictions([
            Restriction(aaa, SESSIONS[3], RESTRICTION_STATES.FROZEN),
            Restriction(aaa, SESSIONS[6], RESTRICTION_STATES.ALLOWED)]))
        api.set_do_not_order_list([bbb])

    def handle_data(context, data):
        seen[api.get_datetime().tz_convert(None).normalize()] = \
            data.can_trade(context.assets).tolist()

    run(toy, initialize, handle_data, end="2020-01-15")
    assert [seen[SESSIONS[k]] for k in (2, 3, 5, 6, 7)] == [[True, False], [False, False],
                                                             [False, False], [True, False],
                                                             [True, False]]
    aaa, bbb = bundles.load(toy).asset_finder.lookup_symbols(["AAA", "BBB"], None)
    union = NoRestrictions() | StaticRestrictions([aaa]) | StaticRestrictions([bbb])
    assert union.is_restricted([aaa, bbb], SESSIONS[0]).tolist() == [True, True]
    with pytest.raises(ValueError, match="RESTRICTION_STATES"):
        HistoricalRestrictions([Restriction(aaa, SESSIONS[0], "frozen")])
    with pytest.raises(TypeError, match="Restrictions object"):
        run(toy, lambda c: api.set_asset_restrictions([aaa]))

    ends = []

    def track(context, data):
        ends.append(api.get_datetime().tz_convert(None).normalize())

    with pytest.raises(errors.AccountControlViolation, match="MinLeverage"):
        run(toy, lambda c: api.set_min_leverage(0.5, pd.Timedelta(days=3)), track)
    assert ends[-1] == SESSIONS[2]     # 2020-01-06 is past 2020-01-02 + 3 days: it fails


def test_windows_before_the_first_session_are_nan_and_inputs_are_fresh_arrays(toy):
    """A 3-session close window on session 1 holds two NaN rows (before the bundle) and
    session 0's close; a factor writing into its input window leaves the other factors'
    windows (same column, same length) untouched."""
    from ml4t.compat.zipline.pipeline.engine import SimplePipelineEngine
    from ml4t.compat.zipline.pipeline.loaders import USEquityPricingLoader

    seen = []

    class Vandal(CustomFactor):
        inputs = [USEquityPricing.close]
        window_length = 3

        def compute(self, today, assets, out, close):
            seen.append(close.copy())
            close[:] = -1.0
            out[:] = 0.0

    class Newest(CustomFactor):
        inputs = [USEquityPricing.close]
        window_length = 3

        def compute(self, today, assets, out, close):
            out[:] = close[-1]

    data = bundles.load(toy)
    pricing = USEquityPricingLoader.without_fx(data.equity_daily_bar_reader,
                                               data.adjustment_reader)
    engine = SimplePipelineEngine(get_loader=lambda column: pricing,
                                  asset_finder=data.asset_finder)
    out = engine.run_pipeline(Pipeline(columns={"a": Vandal(), "b": Newest()}),
                              SESSIONS[1], SESSIONS[1])
    assert [a.symbol for _, a in out.index] == ["AAA"]        # BBB starts on session 5
    assert np.isnan(seen[0][:2, 0]).all() and seen[0][2, 0] == pytest.approx(10.0)
    assert out["a"].tolist() == [0.0]
    assert out["b"].tolist() == [pytest.approx(10.0)]          # not the vandal's -1


class _GenericReturns(Returns):
    """Returns through the generic window path (an overriding ``compute``)."""

    def compute(self, today, assets, out, close):
        out[:] = (close[-1] - close[0]) / close[0]


def test_returns_from_two_rows_equal_the_whole_window_bit_for_bit(toy):
    """``Returns`` reads only the first and last rows of its window; across the toy's
    dividend (session 10) and split (session 20), with a mask and on other fields, its
    values are the generic path's exactly. Hand check: AAA's 2-session return on session
    3 is (10.2 - 10.1) / 10.1."""
    from ml4t.compat.zipline.pipeline.engine import SimplePipelineEngine
    from ml4t.compat.zipline.pipeline.loaders import USEquityPricingLoader

    data = bundles.load(toy)
    pricing = USEquityPricingLoader.without_fx(data.equity_daily_bar_reader,
                                               data.adjustment_reader)
    engine = SimplePipelineEngine(get_loader=lambda column: pricing,
                                  asset_finder=data.asset_finder)
    cheap = USEquityPricing.close.latest > 12.0
    columns = {}
    for n in (2, 5, 15, 25):
        columns[f"fast{n}"] = Returns(window_length=n)
        columns[f"slow{n}"] = _GenericReturns(window_length=n)
        columns[f"fastm{n}"] = Returns(window_length=n, mask=cheap)
        columns[f"slowm{n}"] = _GenericReturns(window_length=n, mask=cheap)
        columns[f"fastv{n}"] = Returns(window_length=n, inputs=[USEquityPricing.volume])
        columns[f"slowv{n}"] = _GenericReturns(window_length=n,
                                               inputs=[USEquityPricing.volume])
    out = engine.run_pipeline(Pipeline(columns=columns), SESSIONS[1], SESSIONS[39])
    assert len(out) > 60
    for n in (2, 5, 15, 25):
        for kind in ("", "m", "v"):
            fast = out[f"fast{kind}{n}"].to_numpy()
            slow = out[f"slow{kind}{n}"].to_numpy()
            assert np.array_equal(fast, slow, equal_nan=True), (kind, n)
    assert out[f"fastm{25}"].isna().any() and out[f"fast{25}"].notna().any()
    aaa = out.xs(SESSIONS[3], level=0)
    assert aaa["fast2"].iloc[0] == pytest.approx((10.2 - 10.1) / 10.1, rel=1e-12)


# ------------------------------------------------ NaN-free windows take shorter paths
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 30), cols=st.integers(1, 12), data=st.data())
def test_nan_free_reductions_equal_numpy_bit_for_bit(rows, cols, data):
    """Without a NaN, the shortened ``_nanmean``/``_nanstd``/``_nansum`` and ``_zscore``
    give exactly numpy's ``nanmean``/``nanstd``/``nansum`` and ``(x - mean) / std``; with
    one NaN they still match numpy's nan-aware results."""
    from ml4t.compat.zipline.pipeline import _zscore
    from ml4t.compat.zipline.pipeline.factors import _nanmean, _nansum, _nanstd

    x = np.array(data.draw(st.lists(finite, min_size=rows * cols, max_size=rows * cols)),
                 dtype=np.float64).reshape(rows, cols)
    holed = np.where(np.arange(x.size).reshape(x.shape) == 0, np.nan, x)
    # C- and Fortran-ordered windows (a mask's column selection gives the latter), and a
    # strided view that is neither
    for arr in (x, holed, np.asfortranarray(x), np.asfortranarray(holed),
                np.repeat(x, 2, axis=1)[:, ::2]):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # an all-NaN column
            assert np.array_equal(_nanmean(arr), np.nanmean(arr, axis=0), equal_nan=True)
            assert np.array_equal(_nanstd(arr), np.nanstd(arr, axis=0), equal_nan=True)
            assert np.array_equal(_nansum(arr), np.nansum(arr, axis=0), equal_nan=True)
    v = x.ravel()
    with np.errstate(all="ignore"):
        assert np.array_equal(_zscore(v), (v - v.mean()) / v.std(), equal_nan=True)


def test_nan_free_window_hand_values():
    """Columns (1, 2, 3, 6) and (2, 2, 2, 2): means 3 and 2, population stds sqrt(3.5)
    and 0, sums 12 and 8; zscore of (1, 2, 3, 6) is (-2, -1, 0, 3) / sqrt(3.5)."""
    from ml4t.compat.zipline.pipeline import _zscore
    from ml4t.compat.zipline.pipeline.factors import _nanmean, _nansum, _nanstd

    w = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 2.0], [6.0, 2.0]])
    assert _nanmean(w).tolist() == [3.0, 2.0]
    assert _nanstd(w) == pytest.approx([3.5 ** 0.5, 0.0], abs=0, rel=1e-15)
    assert _nansum(w).tolist() == [12.0, 8.0]
    assert _zscore(w[:, 0]) == pytest.approx(np.array([-2.0, -1.0, 0.0, 3.0]) / 3.5 ** 0.5,
                                             rel=1e-15)


# ------------------------------------------- terms computed for blocks of sessions
@pytest.fixture(scope="module")
def wide(tmp_path_factory) -> str:
    """12 random walks over 40 sessions from 2020-01-02 (seeded, closes ~8-20): W03 splits
    2:1 on session 20, W05 pays 0.40 on session 10, W07 starts on session 5, W09 stops
    after session 30."""
    from test_zipline_api import _write

    folder = tmp_path_factory.mktemp("wide")
    days = _sessions("2020-01-02", 40)
    rng = np.random.default_rng(7)
    for a in range(12):
        close = 8.0 + a + np.cumsum(rng.normal(0.0, 0.4, 40))
        div, split = np.zeros(40), np.ones(40)
        if a == 3:
            close[20:] /= 2.0
            split[20] = 2.0
        if a == 5:
            div[10] = 0.4
        rows = slice(5, 40) if a == 7 else slice(0, 31) if a == 9 else slice(0, 40)
        _write(folder, f"W{a:02d}", days[rows], close[rows], dividend=div[rows],
               split=split[rows], volume=1000 * (a + 1))
    return str(folder)


class _Spread(CustomFactor):
    """A per-session ``compute`` (never in blocks) feeding block terms."""

    inputs = [USEquityPricing.close]
    window_length = 3

    def compute(self, today, assets, out, close):
        out[:] = close[-1] - close.mean(axis=0)


def _block_pipeline():
    close = USEquityPricing.close.latest
    cheap = close > 12.0
    ret2, ret5 = Returns(window_length=2), Returns(window_length=5, mask=cheap)
    score = ret5.zscore(mask=cheap) - _Spread(mask=cheap).zscore() + 2.5
    smooth = SimpleMovingAverage(inputs=[ret2.zscore()], window_length=4)
    return Pipeline(columns={
        "ret2": ret2, "ret5": ret5, "score": score, "demeaned": ret2.demean(mask=cheap),
        "rank_up": ret2.rank(), "rank_down": score.rank(ascending=False, mask=cheap),
        "best": score.top(2, mask=cheap), "worst": ret2.bottom(1) | ~cheap,
        "both": (ret2 > 0) & (1.0 / (ret5 + 1) <= 1.0), "smooth": smooth,
        "power": (ret2 * 10) ** 2, "adv3": AverageDollarVolume(window_length=3),
        "adv20": AverageDollarVolume(window_length=20, mask=cheap),
        "liquid": AverageDollarVolume(window_length=5).top(6) & cheap,
        "vol4": AnnualizedVolatility(window_length=4, mask=cheap),
        "vol_z": AnnualizedVolatility(inputs=[ret5.zscore(mask=cheap)], window_length=6)})


@pytest.mark.parametrize("block", [1, 3, 64])
def test_blocks_of_sessions_give_each_session_its_own_values_bit_for_bit(wide, monkeypatch,
                                                                          block):
    """Arithmetic, comparisons, ranks, z-scores, demeaning, ``Returns`` and
    ``AverageDollarVolume`` (from the stored prices where no split or dividend falls in
    the windows, session by session where one does) and ``AnnualizedVolatility`` (over
    NaN-free and holed windows) computed for
    ``block`` sessions at once (blocks that overlap the windows' earlier sessions for 3)
    give each session exactly what computing it alone gives, across a dividend and a
    split, assets starting and stopping, masks whose size changes from session to
    session, NaNs (windows before the bundle's start) and a per-session ``CustomFactor``
    in between."""
    import ml4t.compat.zipline.pipeline as P
    from ml4t.compat.zipline.pipeline.engine import SimplePipelineEngine
    from ml4t.compat.zipline.pipeline.loaders import USEquityPricingLoader

    data = bundles.load(wide)
    pricing = USEquityPricingLoader.without_fx(data.equity_daily_bar_reader,
                                               data.adjustment_reader)

    def output():
        engine = SimplePipelineEngine(get_loader=lambda column: pricing,
                                      asset_finder=data.asset_finder)
        return engine.run_pipeline(_block_pipeline(), SESSIONS[1], SESSIONS[39])

    monkeypatch.setattr(P, "BLOCK", block)
    blocks = output()
    calls = []
    with monkeypatch.context() as m:             # every term alone, session by session,
        m.setattr(P._Engine, "block_row", lambda self, term, i: calls.append(i))
        # every window price multiplied by its adjustment ratio (no shortcut for the
        # windows without a split or dividend)
        m.setattr(P._Engine, "adjusted_between", lambda self, lo, hi: True)
        alone = output()
    assert calls and len(blocks) > 400
    assert blocks["ret5"].isna().any() and blocks["score"].notna().sum() > 100
    assert blocks["best"].sum() > 60 and blocks["rank_down"].notna().any()
    assert blocks["adv20"].notna().sum() > 100 and blocks["liquid"].sum() > 60
    assert blocks["vol4"].notna().sum() > 100 and blocks["vol_z"].notna().sum() > 100
    pd.testing.assert_frame_equal(blocks, alone, check_exact=True)
    # hand check: session 3's 2-session return of W00 (closes of sessions 1 and 2, as the
    # bundle keeps them: to 3 decimals)
    closes = pd.read_csv(pathlib.Path(wide) / "daily" / "W00.csv")["close"].round(3)
    c1, c2, c3 = closes[1:4]
    assert blocks.xs(SESSIONS[3], level=0)["ret2"].iloc[0] == pytest.approx(
        (c2 - c1) / c1, rel=1e-12)
    # and its 3-session dollar volume on session 4 (volume 1,000 a session)
    assert blocks.xs(SESSIONS[4], level=0)["adv3"].iloc[0] == pytest.approx(
        (c1 + c2 + c3) * 1000 / 3, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 6), k=st.integers(1, 300), data=st.data())
def test_rowwise_zscore_and_demean_equal_each_row_alone_bit_for_bit(rows, k, data):
    """The z-score (demeaning) of each row of a block is the one-row ``_zscore``
    (``_demean``) exactly: the same pairwise sums per row."""
    from ml4t.compat.zipline.pipeline import _demean, _demean_rows, _zscore, _zscore_rows

    seed = data.draw(st.integers(0, 2 ** 32 - 1))
    scale = data.draw(st.sampled_from([1e-6, 1.0, 1e6]))
    x = np.random.default_rng(seed).standard_normal((rows, k)) * scale + scale
    with np.errstate(all="ignore"):
        z, d = _zscore_rows(x), _demean_rows(x)
        for r in range(rows):
            assert np.array_equal(z[r], _zscore(x[r].copy()), equal_nan=True)
            assert np.array_equal(d[r], _demean(x[r].copy()))


def test_rowwise_zscore_hand_values():
    """Rows (1, 2, 3, 6) and (4, 4, 4, 4): z-scores (-2, -1, 0, 3) / sqrt(3.5) and, with
    a zero deviation, NaN; demeaned (-2, -1, 0, 3) and zeros."""
    from ml4t.compat.zipline.pipeline import _demean_rows, _zscore_rows

    x = np.array([[1.0, 2.0, 3.0, 6.0], [4.0, 4.0, 4.0, 4.0]])
    with np.errstate(all="ignore"):
        z = _zscore_rows(x)
    assert z[0] == pytest.approx(np.array([-2.0, -1.0, 0.0, 3.0]) / 3.5 ** 0.5, rel=1e-15)
    assert np.isnan(z[1]).all()
    assert _demean_rows(x).tolist() == [[-2.0, -1.0, 0.0, 3.0], [0.0] * 4]


@settings(max_examples=80, deadline=None)
@given(rows=st.integers(1, 5), n=st.integers(1, 40), data=st.data())
def test_block_ranks_equal_each_session_ranked_alone(rows, n, data):
    """Ranks of a block of sessions (a fast unstable sort where no ties matter) equal the
    stable per-session ranks, with ties, infinities and NaNs among the values, masks,
    ascending and descending."""
    import ml4t.compat.zipline.pipeline as P
    from test_zipline_api import fixed_day

    pool = st.sampled_from([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, 3.25])
    values = np.array(data.draw(st.lists(st.one_of(pool, finite), min_size=rows * n,
                                         max_size=rows * n))).reshape(rows, n)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=rows * n,
                                       max_size=rows * n))).reshape(rows, n)

    class Rows(P.Factor):
        def _compute(self, day):
            return values[day.i]

    class Keep(P.Filter):
        def _compute(self, day):
            return keep[day.i]

    _, day = fixed_day(np.zeros(n))
    engine = day.engine
    engine.end = rows
    engine.last = np.full(n, rows)
    for ascending in (True, False):
        for mask in (None, Keep()):
            term = Rows().rank(ascending=ascending, mask=mask)
            block = term._block(engine, 0, rows)
            for r in range(rows):
                alone = term._compute(engine.day(r))
                assert np.array_equal(block[r], alone, equal_nan=True), (r, ascending)


def test_block_ranks_by_hand():
    """(3, 1, 3, NaN, 1) ascending: the two 1s rank 1 and 2 in asset order, the 3s 3 and
    4, NaN stays NaN; descending: the 3s rank 1 and 2, the 1s 3 and 4."""
    import ml4t.compat.zipline.pipeline as P

    keys = np.array([[3.0, 1.0, 3.0, np.inf, 1.0], [-3.0, -1.0, -3.0, np.inf, -1.0]])
    left_out = np.isinf(keys)
    order = P._stable_argsort_rows(keys, left_out)
    assert order.tolist() == [[1, 4, 0, 2, 3], [0, 2, 1, 4, 3]]


def test_pipeline_outputs_do_not_share_their_column_index(toy):
    """Naming one session's column axis leaves the other sessions' outputs alone."""
    seen = _collect(toy, {"r": Returns(window_length=2), "up": Returns(window_length=2) > 0})
    first, second = [seen[d] for d in sorted(seen)[-2:]]
    first.columns.name = "renamed"
    assert second.columns.name is None and list(second.columns) == ["r", "up"]
