"""Indicator parity of the Backtrader shim with real Backtrader on ORCL 1995-2014.

Every value of every line must match, warm-up included: NaN on the same bars, numbers
equal to 1e-12 relative (they are bit-identical today), the same minimum period, and the
strategy's first ``next()`` on the same bar.
"""
from __future__ import annotations

import importlib
import pathlib

import numpy as np
import pytest

pytest.importorskip("backtrader")

ORCL = str(pathlib.Path(__file__).resolve().parents[1] / "data" / "backtrader"
           / "orcl-1995-2014.txt")


def specs(bt):
    ind = bt.indicators
    return {
        "SMA": lambda d: ind.SMA(d, period=30),
        "EMA": lambda d: ind.EMA(d, period=20),
        "WMA": lambda d: ind.WMA(d, period=15),
        "SMMA": lambda d: ind.SMMA(d, period=14),
        "RSI": lambda d: ind.RSI(d, period=14),
        "RSI_SMA": lambda d: ind.RSI_SMA(d),
        "RSI_EMA": lambda d: ind.RSI_EMA(d),
        "MACD": lambda d: ind.MACD(d),
        "MACDHisto": lambda d: ind.MACDHisto(d),
        "BollingerBands": lambda d: ind.BollingerBands(d, period=20, devfactor=2.5),
        "BollingerBandsPct": lambda d: ind.BollingerBandsPct(d),
        "ATR": lambda d: ind.ATR(d, period=14),
        "TrueRange": lambda d: ind.TrueRange(d),
        "Stochastic": lambda d: ind.Stochastic(d),
        "StochasticFast": lambda d: ind.StochasticFast(d),
        "StochasticFull": lambda d: ind.StochasticFull(d),
        "CrossOver": lambda d: ind.CrossOver(ind.SMA(d, period=10), ind.SMA(d, period=30)),
        "CrossOverPrice": lambda d: ind.CrossOver(d.close, ind.SMA(d, period=50)),
        "CrossUp": lambda d: ind.CrossUp(ind.EMA(d, period=5), ind.EMA(d, period=15)),
        "CrossDown": lambda d: ind.CrossDown(ind.EMA(d, period=5), ind.EMA(d, period=15)),
        "Highest": lambda d: ind.Highest(d.high, period=20),
        "Lowest": lambda d: ind.Lowest(d.low, period=20),
        "Momentum": lambda d: ind.Momentum(d, period=12),
        "ROC": lambda d: ind.ROC(d, period=10),
        "ROC100": lambda d: ind.ROC100(d),
        "PercentChange": lambda d: ind.PercentChange(d, period=30),
        "StdDev": lambda d: ind.StdDev(d, period=20),
        "MeanDeviation": lambda d: ind.MeanDeviation(d),
        "DEMA": lambda d: ind.DEMA(d, period=20),
        "TEMA": lambda d: ind.TEMA(d, period=20),
        "WilliamsR": lambda d: ind.WilliamsR(d),
        "CCI": lambda d: ind.CCI(d),
        "SumN": lambda d: ind.SumN(d, period=5),
        "Accum": lambda d: ind.Accum(d),
        "If": lambda d: bt.If(d.close > d.open, d.high, d.low),
        "And": lambda d: bt.And(d.close > d.open, d.volume > 1e7),
        "Or": lambda d: bt.Or(d.close > d.open, d.high > d.close * 1.01),
        "Max": lambda d: bt.Max(d.open, d.close, ind.SMA(d, period=3)),
        "Min": lambda d: bt.Min(d.open, d.close),
        "LineArithmetic": lambda d: ((d.close - ind.SMA(d, period=10)) / d.close * 100
                                     + abs(d.open - d.close(-1))),
        "LineComparison": lambda d: d.close(-2) >= d.close,
        "SMA_of_RSI": lambda d: ind.SMA(ind.RSI(d), period=5),
        "EMA_of_range": lambda d: ind.EMA(d.high - d.low, period=10),
    }


def more_specs(bt):
    """Backtrader's catalogue beyond the issue's list (directional movement, Hull, KAMA,
    Aroon, envelopes...): a separate run, so the first run's warm-up stays TEMA's."""
    ind = bt.indicators
    return {
        "DI": lambda d: ind.DI(d), "PlusDI": lambda d: ind.PlusDI(d),
        "MinusDI": lambda d: ind.MinusDI(d), "ADX": lambda d: ind.ADX(d),
        "ADXR": lambda d: ind.ADXR(d), "DMI": lambda d: ind.DMI(d), "DM": lambda d: ind.DM(d),
        "DMI_ema": lambda d: ind.DMI(d, period=10, movav=ind.EMA),
        "UpMove": lambda d: ind.UpMove(d.high), "DownMove": lambda d: ind.DownMove(d.low),
        "HMA": lambda d: ind.HMA(d), "HMA20": lambda d: ind.HullMovingAverage(d, period=20),
        "ZLEMA": lambda d: ind.ZLEMA(d, period=20), "KAMA": lambda d: ind.KAMA(d),
        "KAMA10": lambda d: ind.KAMA(d, period=10, fast=3, slow=20),
        "TRIX": lambda d: ind.TRIX(d), "TrixSignal": lambda d: ind.TrixSignal(d),
        "DPO": lambda d: ind.DPO(d), "DPO21": lambda d: ind.DPO(d, period=21),
        "AO": lambda d: ind.AO(d), "PercentRank": lambda d: ind.PercentRank(d, period=30),
        "UltimateOscillator": lambda d: ind.UltimateOscillator(d),
        "AroonUp": lambda d: ind.AroonUp(d), "AroonDown": lambda d: ind.AroonDown(d),
        "AroonUpDown": lambda d: ind.AroonUpDown(d),
        "AroonOscillator": lambda d: ind.AroonOscillator(d),
        "AroonUpDownOscillator": lambda d: ind.AroonUpDownOscillator(d),
        "FindFirstIndexHighest": lambda d: ind.FindFirstIndexHighest(d.high, period=10),
        "FindLastIndexLowest": lambda d: ind.FindLastIndexLowest(d.low, period=10),
        "Ichimoku": lambda d: ind.Ichimoku(d),
        "Ichimoku22": lambda d: ind.Ichimoku(d, tenkan=7, kijun=22, senkou=44,
                                             senkou_lead=22, chikou=22),
        "ParabolicSAR": lambda d: ind.ParabolicSAR(d),
        "PSAR03": lambda d: ind.PSAR(d, af=0.03, afmax=0.3),
        # forward shifts: the last bar wraps around to the source's value ago - 1
        "CloseAhead": lambda d: d.close(3),
        "SMAAhead": lambda d: ind.SMA(d, period=5)(6),
        "PriceOscillator": lambda d: ind.PriceOscillator(d), "PPO": lambda d: ind.PPO(d),
        "PPOShort": lambda d: ind.PPOShort(d, period1=10, period2=20),
        "Vortex": lambda d: ind.Vortex(d), "TSI": lambda d: ind.TSI(d),
        "KST": lambda d: ind.KST(d), "RMI": lambda d: ind.RMI(d), "PGO": lambda d: ind.PGO(d),
        "AccDeOsc": lambda d: ind.AccDeOsc(d), "DV2": lambda d: ind.DV2(d),
        "DV2_50": lambda d: ind.DV2(d, period=50, maperiod=3),
        "Oscillator": lambda d: ind.Oscillator(d.close, ind.SMA(d, period=10)),
        "OscillatorOfSMA": lambda d: ind.Oscillator(ind.SMA(d, period=10)),
        "SMAOscillator": lambda d: ind.SMAOscillator(d, period=15),
        "EMAOsc": lambda d: ind.EMAOsc(d.high, period=12),
        "KAMAOscillator": lambda d: ind.KAMAOscillator(d),
        "LaguerreRSI": lambda d: ind.LRSI(d),
        "LaguerreRSI_g7": lambda d: ind.LaguerreRSI(d, gamma=0.7, period=3),
        "LaguerreFilter": lambda d: ind.LAGF(d), "ZeroLagIndicator": lambda d: ind.ZLInd(d),
        "ZLInd12": lambda d: ind.ZeroLagIndicator(d, period=12, gainlimit=30),
        "DicksonMovingAverage": lambda d: ind.DMA(d), "HurstExponent": lambda d: ind.Hurst(d),
        "Hurst60": lambda d: ind.Hurst(d, period=60, lag_start=3, lag_end=20),
        "PivotPoint": lambda d: ind.PivotPoint(d),
        "PivotPointClose": lambda d: ind.PivotPoint(d, close=True),
        "PivotPointOpen": lambda d: ind.PivotPoint(d, open=True),
        "FibonacciPivotPoint": lambda d: ind.FibonacciPivotPoint(d),
        "DemarkPivotPoint": lambda d: ind.DemarkPivotPoint(d),
        "Envelope": lambda d: ind.Envelope(d, perc=3.0),
        "SMAEnvelope": lambda d: ind.SMAEnvelope(d, period=20),
        "EMAEnvelope": lambda d: ind.EMAEnvelope(d.high, period=12, perc=1.5),
        "KAMAEnvelope": lambda d: ind.KAMAEnvelope(d),
        "HullMovingAverageEnvelope": lambda d: ind.HullMovingAverageEnvelope(d),
    }


def compute(modname, spec_fn=specs):
    bt = importlib.import_module(modname)
    made = spec_fn(bt)

    class AllIndicators(bt.Strategy):
        def __init__(self):
            self.inds = {name: f(self.data) for name, f in made.items()}
            self.first_next = None

        def nextstart(self):
            self.first_next = len(self)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(dataname=ORCL))
    cerebro.addstrategy(AllIndicators)
    strat = cerebro.run()[0]
    out = {}
    for name, obj in strat.inds.items():
        lines = list(obj.lines) if hasattr(obj, "lines") else [obj]
        out[name] = ([np.array(list(line.array), dtype=float) for line in lines],
                     obj._minperiod)
    return out, strat.first_next


@pytest.fixture(scope="module")
def both():
    return compute("backtrader"), compute("ml4t.compat.backtrader")


def test_strategy_waits_for_every_indicator(both):
    (_, first_ref), (_, first_got) = both
    assert first_ref == first_got == 58        # TEMA(20): 3 x 19 + 1


def same_lines(both, name) -> int:
    """Asserts the indicator ``name`` has Backtrader's minimum period, NaN warm-up and
    values (1e-12 relative) on every line; returns how many values were compared."""
    (ref, _), (got, _) = both
    ref_lines, ref_mp = ref[name]
    got_lines, got_mp = got[name]
    assert got_mp == ref_mp, "minimum period"
    assert len(got_lines) == len(ref_lines)
    compared = 0
    for i, (a, b) in enumerate(zip(ref_lines, got_lines)):
        assert len(a) == len(b) == 5036
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        assert (nan_a == nan_b).all(), (
            f"line {i}: warm-up differs at bars {np.flatnonzero(nan_a != nan_b)[:5]}")
        ok = ~nan_a
        np.testing.assert_allclose(b[ok], a[ok], rtol=1e-12, atol=0,
                                   err_msg=f"{name} line {i}")
        compared += int(ok.sum())
    return compared


@pytest.mark.parametrize("name", list(specs(importlib.import_module(
    "ml4t.compat.backtrader"))))
def test_indicator_values_and_warmup(both, name):
    assert same_lines(both, name) > 0


@pytest.fixture(scope="module")
def both_more():
    return compute("backtrader", more_specs), compute("ml4t.compat.backtrader", more_specs)


@pytest.mark.parametrize("name", list(more_specs(importlib.import_module(
    "ml4t.compat.backtrader"))))
def test_more_indicators_values_and_warmup(both_more, name):
    assert same_lines(both_more, name) > 0


def test_more_indicators_line_names():
    import ml4t.compat.backtrader as shim
    bt = importlib.import_module("backtrader")
    for name in more_specs(shim):
        if name.endswith("Ahead"):
            continue
        cls_name = {"HMA20": "HMA", "KAMA10": "KAMA", "DPO21": "DPO", "DMI_ema": "DMI",
                    "Ichimoku22": "Ichimoku", "PSAR03": "PSAR", "DV2_50": "DV2",
                    "OscillatorOfSMA": "Oscillator", "LaguerreRSI_g7": "LaguerreRSI",
                    "ZLInd12": "ZeroLagIndicator", "Hurst60": "HurstExponent",
                    "PivotPointClose": "PivotPoint",
                    "PivotPointOpen": "PivotPoint"}.get(name, name)
        ref, got = getattr(bt.indicators, cls_name), getattr(shim.indicators, cls_name)
        assert ref.lines.getlinealiases() == got._line_names, name


def heikin_ashi_specs(bt):
    """Alone: Backtrader runs a strategy holding a HeikinAshi in next mode (its
    ``_nextforce``), which changes the last bar of forward-shifted lines elsewhere."""
    return {"HeikinAshi": lambda d: bt.indicators.HeikinAshi(d),
            "HeikinAshiOpenAlias": lambda d: bt.indicators.HeikinAshi(d).open * 1.0,
            "haDelta": lambda d: bt.indicators.haDelta(d),
            "haDeltaPlain": lambda d: bt.indicators.haD(d, autoheikin=False, period=5)}


def test_heikin_ashi_values_warmup_and_line_aliases():
    both_ha = compute("backtrader", heikin_ashi_specs), \
        compute("ml4t.compat.backtrader", heikin_ashi_specs)
    for name in heikin_ashi_specs(importlib.import_module("ml4t.compat.backtrader")):
        assert same_lines(both_ha, name) > 5000, name


def test_pivot_points_of_a_monthly_feed_read_from_daily_next():
    """The usual pivot set-up: the pivots of a monthly resampling of the daily feed, read
    in the daily ``next()``: the same values on every daily bar as Backtrader's."""
    import datetime as dt

    def run(modname):
        bt = importlib.import_module(modname)

        class Pivots(bt.Strategy):
            def __init__(self):
                self.pp = bt.ind.PivotPoint(self.data1)
                self.fib = bt.ind.FibonacciPivotPoint(self.data1)
                self.seen = []

            def next(self):
                self.seen.append((len(self), len(self.data1), self.pp.lines.p[0],
                                  self.pp.s1[0], self.pp.r2[0], self.fib.r3[0]))

        cerebro = bt.Cerebro(stdstats=False)
        feed = bt.feeds.YahooFinanceCSVData(dataname=ORCL, fromdate=dt.datetime(2005, 1, 1),
                                            todate=dt.datetime(2007, 12, 31))
        cerebro.adddata(feed)
        cerebro.resampledata(feed, timeframe=bt.TimeFrame.Months)
        cerebro.addstrategy(Pivots)
        return cerebro.run()[0].seen

    ref, got = run("backtrader"), run("ml4t.compat.backtrader")
    assert len(got) == len(ref) == 734
    assert got == ref


# ------------------------------------------------------------- regressions on two datas
NVDA = ORCL.replace("orcl-1995-2014", "nvda-1999-2014")


def compute_pair(modname):
    """OLS and cointegration indicators of ORCL on NVDA, 2007-2008 (both feeds)."""
    import datetime as dt
    bt = importlib.import_module(modname)
    ind = bt.indicators
    made = {
        "OLS_Slope_InterceptN": lambda a, b: ind.OLS_Slope_InterceptN(a, b, period=30),
        "OLS_TransformationN": lambda a, b: ind.OLS_TransformationN(a, b, period=20),
        "CointN": lambda a, b: ind.CointN(a, b, period=40),
        "CointN_ct": lambda a, b: ind.CointN(a.close, b.close, period=60, trend="ct"),
    }

    class Pair(bt.Strategy):
        def __init__(self):
            self.inds = {name: f(self.data0, self.data1) for name, f in made.items()}

    cerebro = bt.Cerebro(stdstats=False)
    for path in (ORCL, NVDA):
        cerebro.adddata(bt.feeds.YahooFinanceCSVData(
            dataname=path, fromdate=dt.datetime(2007, 1, 1), todate=dt.datetime(2008, 12, 31)))
    cerebro.addstrategy(Pair)
    strat = cerebro.run()[0]
    return {name: ([np.array(list(line.array), dtype=float) for line in obj.lines],
                   obj._minperiod) for name, obj in strat.inds.items()}


@pytest.fixture(scope="module")
def both_pair():
    pytest.importorskip("statsmodels")        # Backtrader's own needs it
    return compute_pair("backtrader"), compute_pair("ml4t.compat.backtrader")


@pytest.mark.parametrize("name", ["OLS_Slope_InterceptN", "OLS_TransformationN", "CointN",
                                  "CointN_ct"])
def test_regression_indicators(both_pair, name):
    """Rolling OLS (the shim's own pseudo-inverse; Backtrader's calls statsmodels) and
    the cointegration test (statsmodels in both): same warm-up, values to 1e-9."""
    ref, got = both_pair
    (ref_lines, ref_mp), (got_lines, got_mp) = ref[name], got[name]
    assert got_mp == ref_mp and len(got_lines) == len(ref_lines)
    for i, (a, b) in enumerate(zip(ref_lines, got_lines)):
        assert len(a) == len(b) > 400
        assert (np.isnan(a) == np.isnan(b)).all(), f"line {i}: warm-up differs"
        ok = ~np.isnan(a)
        assert ok.sum() > 300
        np.testing.assert_allclose(b[ok], a[ok], rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name} line {i}")
