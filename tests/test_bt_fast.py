"""The compiled indicator loops of the Backtrader shim (``ml4t._core.btfast``) against the
Python loops they replace: the same bits, including the hard cases of exactly rounded sums
(cancellation, values far apart in magnitude, ties), and the Python fallback for values
the compiled loops refuse (NaN, infinities, overflow)."""
from __future__ import annotations

import math
import operator

import numpy as np
import pytest

btfast = pytest.importorskip("ml4t._core.btfast")


def bits(a):
    return np.asarray(a, dtype=np.float64).view(np.int64)


def py_rolling(src, p, divisor):
    lst = src.tolist()
    return [math.fsum(lst[i - p + 1:i + 1]) / divisor for i in range(p - 1, len(lst))]


def sources(seed):
    rng = np.random.default_rng(seed)
    n = 300
    yield rng.normal(size=n)
    yield np.round(rng.uniform(1, 100, n), 2)                     # prices
    yield rng.normal(size=n) * 10.0 ** rng.integers(-200, 200, n)  # wild magnitudes
    yield (np.tile([1e16, 1.0, -1e16, 3.0, 1e-16], n // 5)
           * rng.choice([-1.0, 1.0], n))                           # cancellation
    yield rng.integers(-5, 5, n) * 0.1                              # many exact ties
    yield rng.normal(size=n) * 1e250


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("period", [1, 2, 3, 10, 30, 101])
def test_rolling_fsum_is_bit_identical_to_math_fsum(seed, period):
    for src in sources(seed):
        out = np.full(len(src), np.nan)
        assert btfast.rolling_fsum(src, period, period - 1, out, float(period))
        np.testing.assert_array_equal(bits(out[period - 1:]),
                                      bits(py_rolling(src, period, float(period))))
        assert np.isnan(out[:period - 1]).all()


def test_rolling_fsum_known_values():
    # fsum is exact where a naive running sum is not: [1e16, 1, -1e16] sums to 1
    src = np.array([1e16, 1.0, -1e16, 1.0, 1e16])
    out = np.full(5, np.nan)
    assert btfast.rolling_fsum(src, 3, 2, out, 1.0)
    # windows [1e16, 1, -1e16], [1, -1e16, 1], [-1e16, 1, 1e16]; a left-to-right float sum
    # gives 0.0, -1e16 and 1.0
    assert out[2:].tolist() == [1.0, -9999999999999998.0, 1.0]
    out = np.full(4, np.nan)
    assert btfast.rolling_fsum(np.array([0.1, 0.2, 0.3, 0.4]), 2, 1, out, 2.0)
    assert out[1:].tolist() == [0.15000000000000002, 0.25, 0.35]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e305])
def test_rolling_fsum_refuses_values_it_cannot_sum_exactly(bad):
    src = np.array([1.0, 2.0, bad, 4.0])
    assert btfast.rolling_fsum(src, 2, 1, np.full(4, np.nan), 2.0) is False


def test_weighted_fsum_matches_python():
    rng = np.random.default_rng(7)
    src = rng.normal(size=200) * 10.0 ** rng.integers(-8, 8, 200)
    for p in (1, 2, 15, 40):
        w = tuple(float(x) for x in range(1, p + 1))
        coef = 2.0 / (p * (p + 1.0))
        out = np.full(200, np.nan)
        assert btfast.weighted_fsum(src, np.array(w), p - 1, out, coef)
        lst = src.tolist()
        ref = [coef * math.fsum(map(operator.mul, lst[i - p + 1:i + 1], w))
               for i in range(p - 1, 200)]
        np.testing.assert_array_equal(bits(out[p - 1:]), bits(ref))


def test_window_max_min_follow_python_max_min_with_nan():
    src = np.array([1.0, np.nan, 3.0, 2.0, np.nan, np.nan, 0.5, 4.0])
    lst = src.tolist()
    for p in (1, 2, 3, 4):
        for fast, py in ((btfast.window_max, max), (btfast.window_min, min)):
            out = np.full(len(src), -1.0)
            fast(src, p, p - 1, out)
            ref = [py(lst[i - p + 1:i + 1]) for i in range(p - 1, len(lst))]
            np.testing.assert_array_equal(out[p - 1:], np.array(ref))
    # Python's max keeps a leading NaN (nothing compares greater than it)
    out = np.zeros(3)
    btfast.window_max(np.array([np.nan, 5.0, 1.0]), 2, 1, out)
    assert math.isnan(out[1]) and out[2] == 5.0


def test_recurrences_match_python():
    rng = np.random.default_rng(3)
    src = rng.normal(size=100)
    a = 2.0 / 21.0
    a1 = 1.0 - a
    out = np.full(100, np.nan)
    btfast.exp_smooth(src, 9, 0.25, a, a1, out)
    prev, ref = 0.25, []
    for x in src.tolist()[10:]:
        prev = prev * a1 + x * a
        ref.append(prev)
    np.testing.assert_array_equal(bits(out[10:]), bits(ref))
    out = np.full(100, np.nan)
    btfast.accum(src, 3, 1.5, out)
    np.testing.assert_array_equal(bits(out[3:]), bits(np.cumsum(np.r_[1.5, src[3:]])[1:]))
    b = np.where(rng.random(100) < 0.3, src, rng.normal(size=100))
    b[50] = np.nan
    out = np.full(100, np.nan)
    btfast.nonzero_diff(src, b, 5, out)
    prev, ref = None, []
    for i in range(5, 100):
        d = src[i] - b[i]
        prev = d if (prev is None or d) else prev
        ref.append(prev)
    np.testing.assert_array_equal(out[5:], np.array(ref))


def test_shim_falls_back_to_python_on_nan_input():
    """An SMA over a line with a NaN in it: NaN for the windows that hold it (math.fsum's
    answer), exact values elsewhere."""
    import ml4t.compat.backtrader as bt
    from ml4t.compat.backtrader import indicators as ind_mod

    saved = ind_mod._fast
    results = []
    try:
        for fast in (saved, None):
            ind_mod._fast = fast

            class S(bt.Strategy):
                def __init__(self):
                    self.sma = bt.ind.SMA(self.data.volume, period=3)

            import pandas as pd
            idx = pd.date_range("2020-01-01", periods=8, freq="D")
            vol = [1.0, 2.0, 3.0, float("nan"), 5.0, 6.0, 7.0, 8.0]
            frame = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0,
                                  "volume": vol}, index=idx)
            c = bt.Cerebro(stdstats=False)
            c.adddata(bt.feeds.PandasData(dataname=frame))
            c.addstrategy(S)
            results.append(np.array(c.run()[0].sma.lines[0].array))
    finally:
        ind_mod._fast = saved
    exp = [np.nan, np.nan, 2.0, np.nan, np.nan, np.nan, 6.0, 7.0]
    np.testing.assert_array_equal(results[0], np.array(exp))
    np.testing.assert_array_equal(results[1], np.array(exp))


def test_bad_arguments_are_refused_with_the_function_named():
    src = np.arange(5.0)
    with pytest.raises(ValueError, match=r"btfast.rolling_fsum: out has 4 values, the input 5"):
        btfast.rolling_fsum(src, 2, 1, np.zeros(4), 2.0)
    with pytest.raises(ValueError, match=r"btfast.accum: start must be >= 0, was -1"):
        btfast.accum(src, -1, 0.0, np.zeros(5))
    with pytest.raises(ValueError, match=r"btfast.nonzero_diff: b has 4 values, a 5"):
        btfast.nonzero_diff(src, np.zeros(4), 0, np.zeros(5))
