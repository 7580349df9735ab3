"""Built-in factors, computed as Zipline defines them (each checked against real Zipline in
``tests/test_zipline_pipeline.py``).

Windows are ``(window_length, n_assets)`` arrays of prices up to the session before today,
adjusted as of today. ``window_safe`` marks the factors Zipline lets other windowed terms
take as inputs (``Returns``, ``DailyReturns``, ``PercentChange``, ``RSI``,
``FastStochasticOscillator``).
"""
from __future__ import annotations

import numpy as np

from ml4t.compat.zipline.pipeline import CustomFactor, Factor, _mask_of
from ml4t.compat.zipline.pipeline.data import Latest, USEquityPricing

__all__ = ["CustomFactor", "Factor", "Latest", "Returns", "DailyReturns", "PercentChange",
           "SimpleMovingAverage", "AverageDollarVolume", "WeightedAverageValue", "VWAP",
           "ExponentialWeightedMovingAverage", "EWMA", "ExponentialWeightedMovingStdDev",
           "EWMSTD", "LinearWeightedMovingAverage", "AnnualizedVolatility", "MaxDrawdown",
           "RSI", "BollingerBands", "Aroon", "FastStochasticOscillator",
           "RateOfChangePercentage", "TrueRange", "MovingAverageConvergenceDivergenceSignal",
           "MACDSignal", "IchimokuKinkoHyo"]


def _single_input(term) -> None:
    if len(term.inputs) != 1:
        raise ValueError(f"{type(term).__name__} takes exactly one input, got "
                         f"{len(term.inputs)}")


class Returns(CustomFactor):
    """(last close - first close) / first close over ``window_length`` sessions."""

    inputs = [USEquityPricing.close]
    window_safe = True

    def compute(self, today, assets, out, close):
        out[:] = (close[-1] - close[0]) / close[0]

    def _compute(self, day):
        # the same numbers from the window's first and last rows alone, when the input is
        # a bundle price and ``compute`` is this one
        inp = self.inputs[0] if len(self.inputs) == 1 else None
        if type(self).compute is not Returns.compute or \
                getattr(inp, "dataset", None) is not USEquityPricing:
            return CustomFactor._compute(self, day)
        first = day.window_row(inp.name, self.window_length, 0)
        last = day.window_row(inp.name, self.window_length, -1)
        with np.errstate(all="ignore"):
            out = (last - first) / first
        out[~_mask_of(self.mask, day)] = np.nan
        return out

    def _block(self, engine, lo, hi):
        inp = self.inputs[0] if len(self.inputs) == 1 else None
        if type(self).compute is not Returns.compute or \
                getattr(inp, "dataset", None) is not USEquityPricing:
            return None
        first = engine.price_rows(inp.name, self.window_length, 0, lo, hi)
        last = engine.price_rows(inp.name, self.window_length, -1, lo, hi)
        with np.errstate(all="ignore"):
            out = (last - first) / first
        out[~engine.mask_rows(self.mask, lo, hi)] = np.nan
        return out


class DailyReturns(Returns):
    """The return from the close two sessions ago to yesterday's."""

    window_length = 2


class PercentChange(CustomFactor):
    """(last - first) / |first| of one input over ``window_length`` (at least 2) sessions."""

    window_safe = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _single_input(self)
        if self.window_length < 2:
            raise ValueError(f"PercentChange needs a window_length of at least 2, got "
                             f"{self.window_length}")

    def compute(self, today, assets, out, values):
        out[:] = (values[-1] - values[0]) / np.abs(values[0])


class SimpleMovingAverage(CustomFactor):
    """Mean of the input over ``window_length`` sessions (NaNs left out)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _single_input(self)

    def compute(self, today, assets, out, data):
        out[:] = _nanmean(data)


class AverageDollarVolume(CustomFactor):
    """Sum of close x volume over the window (NaNs as 0) / ``window_length``."""

    inputs = [USEquityPricing.close, USEquityPricing.volume]

    def compute(self, today, assets, out, close, volume):
        out[:] = _nansum(close * volume) / len(close)

    def _block(self, engine, lo, hi):
        # this compute on two bundle prices, for sessions lo .. hi - 1 at once: with no
        # split or dividend inside their windows every adjustment ratio is exactly 1.0, so
        # a window holds the stored values, and each session's sums are the same pairwise
        # sums over the same products as computing it alone gives (NaNs as 0)
        if type(self).compute is not AverageDollarVolume.compute or len(self.inputs) != 2 \
                or any(getattr(c, "dataset", None) is not USEquityPricing
                       for c in self.inputs):
            return None
        length = self.window_length
        if engine.adjusted_between(lo - length + 1, hi - 1):
            return np.stack([CustomFactor._compute(self, engine.day(s))
                             for s in range(lo, hi)])
        store = engine.store
        a, b = (store.volume if c.name == "volume" else getattr(store, c.name)
                for c in self.inputs)
        first = lo - length                      # the oldest row any window holds
        top = max(first, 0)
        prod = np.full((engine.n, hi - 1 - first), np.nan)   # asset x row, rows first..hi-2
        if hi - 1 > top:
            prod[:, top - first:] = (a[top:hi - 1].astype(np.float64)
                                     * b[top:hi - 1].astype(np.float64)).T
        prod[np.isnan(prod)] = 0.0
        windows = np.lib.stride_tricks.sliding_window_view(prod, length, axis=1)
        out = np.add.reduce(windows, axis=2).T / length      # (sessions, assets)
        out[~engine.mask_rows(self.mask, lo, hi)] = np.nan
        return out


class WeightedAverageValue(CustomFactor):
    """Sum of base x weight over the sum of weight (NaNs left out of both)."""

    def compute(self, today, assets, out, base, weight):
        out[:] = np.nansum(base * weight, axis=0) / np.nansum(weight, axis=0)


class VWAP(WeightedAverageValue):
    """Volume-weighted average close."""

    inputs = [USEquityPricing.close, USEquityPricing.volume]


def _nanmean(data: np.ndarray, axis: int = 0) -> np.ndarray:
    """``np.nanmean`` without the all-NaN warning (NaN where nothing is left)."""
    seen = ~np.isnan(data)
    if _whole(data) and seen.all():
        # nothing to leave out: the same sum of the same values, in the same memory order
        return data.sum(axis=axis) / data.shape[axis]
    count = seen.sum(axis=axis)
    total = np.where(seen, data, 0.0).sum(axis=axis)
    with np.errstate(all="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _whole(data: np.ndarray) -> bool:
    """Is ``data`` one C- or Fortran-ordered block? Then the arrays the nan-aware paths
    build from it (``np.where``, ``nansum``'s copy) keep its memory order, and a plain
    reduction of ``data`` adds the same values in the same order (the mask's column
    selection ``window[:, cols]`` gives Fortran-ordered windows)."""
    flags = data.flags
    return flags.c_contiguous or flags.f_contiguous


def _nansum(data: np.ndarray) -> np.ndarray:
    """``np.nansum(data, axis=0)``; without a NaN in a window of one block the plain sum
    (``nansum`` copies the window to zero its NaNs, then sums the same way)."""
    if _whole(data) and not np.isnan(data).any():
        return data.sum(axis=0)
    return np.nansum(data, axis=0)


def _nanstd(data: np.ndarray) -> np.ndarray:
    """Population standard deviation per column, NaNs left out (NaN if nothing is left)."""
    seen = ~np.isnan(data)
    mean = _nanmean(data)
    if _whole(data) and seen.all():
        return np.sqrt(((data - mean) ** 2).sum(axis=0) / data.shape[0])
    with np.errstate(all="ignore"):
        var = np.where(seen, (data - mean) ** 2, 0.0).sum(axis=0) / seen.sum(axis=0)
    return np.sqrt(var)


def _nanreduce(data: np.ndarray, f) -> np.ndarray:
    """``f(data, axis=0)`` (a ``np.nan*`` reduction) per column, NaN for all-NaN columns."""
    out = np.full(data.shape[1], np.nan)
    ok = ~np.isnan(data).all(axis=0)
    if ok.any():
        out[ok] = f(data[:, ok], axis=0)
    return out


def _decay_weights(length: int, decay_rate: float) -> np.ndarray:
    """Weights of a window's rows, oldest first: decay ** length ... decay ** 1."""
    return float(decay_rate) ** np.arange(length, 0, -1, dtype=np.float64)


class _ExponentialWeighted(CustomFactor):
    params = ("decay_rate",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _single_input(self)
        if not 0.0 < self.params["decay_rate"] <= 1.0:
            raise ValueError(f"{type(self).__name__}: decay_rate must be in (0, 1], got "
                             f"{self.params['decay_rate']}")

    @classmethod
    def from_span(cls, inputs, window_length, span, **kwargs):
        """decay_rate = 1 - 2 / (1 + span)."""
        return cls(inputs=inputs, window_length=window_length,
                   decay_rate=1.0 - 2.0 / (1.0 + span), **kwargs)

    @classmethod
    def from_halflife(cls, inputs, window_length, halflife, **kwargs):
        """decay_rate = 0.5 ** (1 / halflife)."""
        if halflife <= 0:
            raise ValueError(f"halflife must be positive, got {halflife}")
        return cls(inputs=inputs, window_length=window_length,
                   decay_rate=float(np.exp(np.log(0.5) / halflife)), **kwargs)

    @classmethod
    def from_center_of_mass(cls, inputs, window_length, center_of_mass, **kwargs):
        """decay_rate = 1 - 1 / (1 + center_of_mass)."""
        return cls(inputs=inputs, window_length=window_length,
                   decay_rate=1.0 - 1.0 / (1.0 + center_of_mass), **kwargs)


class ExponentialWeightedMovingAverage(_ExponentialWeighted):
    """Weighted mean of the window, row k from the end weighted decay_rate ** k (a NaN in
    the window gives NaN)."""

    def compute(self, today, assets, out, data, decay_rate):
        w = _decay_weights(len(data), decay_rate)
        out[:] = (w[:, None] * data).sum(axis=0) / w.sum()


class ExponentialWeightedMovingStdDev(_ExponentialWeighted):
    """Exponentially weighted standard deviation with the unbiased weights correction
    (sum w)^2 / ((sum w)^2 - sum w^2)."""

    def compute(self, today, assets, out, data, decay_rate):
        w = _decay_weights(len(data), decay_rate)
        total = w.sum()
        mean = (w[:, None] * data).sum(axis=0) / total
        variance = (w[:, None] * (data - mean) ** 2).sum(axis=0) / total
        correction = total ** 2 / (total ** 2 - (w ** 2).sum())
        out[:] = np.sqrt(variance * correction)


EWMA = ExponentialWeightedMovingAverage
EWMSTD = ExponentialWeightedMovingStdDev


class LinearWeightedMovingAverage(CustomFactor):
    """Rows weighted 1 (oldest) .. n (newest), NaNs counted as 0, over n (n + 1) / 2."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _single_input(self)

    def compute(self, today, assets, out, data):
        n = len(data)
        w = np.arange(1, n + 1, dtype=np.float64)[:, None]
        out[:] = np.nansum(data * w, axis=0) / (n * (n + 1) / 2)


class AnnualizedVolatility(CustomFactor):
    """Population standard deviation of daily returns (NaNs left out) x sqrt(factor)."""

    inputs = [Returns(window_length=2)]
    params = {"annualization_factor": 252.0}
    window_length = 252

    def compute(self, today, assets, out, returns, annualization_factor):
        out[:] = _nanstd(returns) * annualization_factor ** 0.5

    def _block(self, engine, lo, hi):
        # this compute over a factor's past values, for sessions lo .. hi - 1 at once:
        # each session's masked columns side by side as rows, reduced with the same sums
        # as ``_nanstd`` makes down each column of one session's window (a column's result
        # does not depend on the other columns)
        inp = self.inputs[0] if len(self.inputs) == 1 else None
        if type(self).compute is not AnnualizedVolatility.compute or \
                not isinstance(inp, Factor):
            return None
        length = self.window_length
        first = lo - length + 1                  # the oldest session any window holds
        hist = np.full((engine.n, hi - first), np.nan)        # asset x session
        top = max(first, 0)
        hist[:, top - first:] = engine.rows(inp, top, hi).T
        windows = np.lib.stride_tricks.sliding_window_view(hist, length, axis=1)
        m = engine.mask_rows(self.mask, lo, hi)
        out = np.full(m.shape, np.nan)
        factor = self.params["annualization_factor"] ** 0.5
        step = max(1, 262144 // (length * max(int(m.sum(axis=1).max()), 1)))
        with np.errstate(all="ignore"):
            for b0 in range(0, hi - lo, step):           # (a few MB at a time)
                rows, assets = np.nonzero(m[b0:b0 + step])
                d = windows[assets, rows + b0]               # (columns, length), C order
                nan = np.isnan(d)
                if not nan.any():                            # _nanstd's NaN-free path
                    dev = d - (d.sum(axis=1) / length)[:, None]
                    var = (dev * dev).sum(axis=1) / length
                else:
                    seen = ~nan
                    count = seen.sum(axis=1)
                    mean = np.where(count > 0, np.where(seen, d, 0.0).sum(axis=1) / count,
                                    np.nan)
                    var = np.where(seen, (d - mean[:, None]) ** 2, 0.0).sum(axis=1) / count
                out[rows + b0, assets] = np.sqrt(var) * factor
        return out


class MaxDrawdown(CustomFactor):
    """The largest fall from a running peak over the window, as a fraction of the trough:
    (peak - trough) / trough."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _single_input(self)

    def compute(self, today, assets, out, data):
        peaks = np.fmax.accumulate(data, axis=0)
        falls = peaks - data
        falls[np.isnan(falls)] = -np.inf
        ends = falls.argmax(axis=0)
        for i, end in enumerate(ends):
            column = data[: end + 1, i]
            peak = np.nan if np.isnan(column).all() else np.nanmax(column)
            out[i] = (peak - data[end, i]) / data[end, i]


class RSI(CustomFactor):
    """Relative strength index: 100 - 100 / (1 + mean gain / mean loss) over the close
    changes of the window (default 15 closes, 14 changes)."""

    inputs = [USEquityPricing.close]
    window_length = 15
    window_safe = True

    def compute(self, today, assets, out, closes):
        moves = np.diff(closes, axis=0)
        ups = _nanmean(np.clip(moves, 0.0, np.inf))
        downs = np.abs(_nanmean(np.clip(moves, -np.inf, 0.0)))
        out[:] = 100.0 - 100.0 / (1.0 + ups / downs)


class BollingerBands(CustomFactor):
    """``lower``, ``middle``, ``upper``: mean of the closes -/+ k population standard
    deviations (NaNs left out)."""

    params = ("k",)
    inputs = [USEquityPricing.close]
    outputs = ("lower", "middle", "upper")

    def compute(self, today, assets, out, close, k):
        middle = _nanmean(close)
        band = k * _nanstd(close)
        out.middle = middle
        out.upper = middle + band
        out.lower = middle - band


class Aroon(CustomFactor):
    """``up`` / ``down``: 100 x the row of the window's highest high / lowest low over
    (window_length - 1)."""

    inputs = [USEquityPricing.low, USEquityPricing.high]
    outputs = ("down", "up")

    def compute(self, today, assets, out, lows, highs):
        span = self.window_length - 1
        out.up = 100.0 * _nanreduce(highs, np.nanargmax) / span
        out.down = 100.0 * _nanreduce(lows, np.nanargmin) / span


class FastStochasticOscillator(CustomFactor):
    """%K: (last close - lowest low) / (highest high - lowest low) x 100 over the window."""

    inputs = [USEquityPricing.close, USEquityPricing.low, USEquityPricing.high]
    window_safe = True
    window_length = 14

    def compute(self, today, assets, out, closes, lows, highs):
        hh = _nanreduce(highs, np.nanmax)
        ll = _nanreduce(lows, np.nanmin)
        out[:] = (closes[-1] - ll) / (hh - ll) * 100.0


class RateOfChangePercentage(CustomFactor):
    """(last - first) / first x 100 of the input over the window."""

    def compute(self, today, assets, out, close):
        out[:] = (close[-1] - close[0]) / close[0] * 100.0


class TrueRange(CustomFactor):
    """max(high - low, |high - previous close|, |low - previous close|) of the last
    session (window of 2), NaNs left out."""

    inputs = [USEquityPricing.high, USEquityPricing.low, USEquityPricing.close]
    window_length = 2

    def compute(self, today, assets, out, highs, lows, closes):
        ranges = np.stack([highs[1:] - lows[1:], np.abs(highs[1:] - closes[:-1]),
                           np.abs(lows[1:] - closes[:-1])], axis=2)
        out[:] = _nanreduce(ranges[-1].T, np.nanmax)


class MovingAverageConvergenceDivergenceSignal(CustomFactor):
    """The signal line of MACD: an exponentially weighted average (span
    ``signal_period``) of fast EWMA - slow EWMA of the closes (spans ``fast_period``,
    ``slow_period``), each over exactly its span of sessions; the window is
    slow_period + signal_period - 1 sessions."""

    inputs = [USEquityPricing.close]
    params = ("fast_period", "slow_period", "signal_period")

    def __init__(self, fast_period=12, slow_period=26, signal_period=9, **kwargs):
        for name, v in (("fast_period", fast_period), ("slow_period", slow_period),
                        ("signal_period", signal_period)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"MACDSignal: {name} must be an integer >= 1, got {v!r}")
        if slow_period <= fast_period:
            raise ValueError(f"'slow_period' must be greater than 'fast_period', but got "
                             f"slow_period={slow_period}, fast_period={fast_period}")
        super().__init__(window_length=slow_period + signal_period - 1,
                         fast_period=fast_period, slow_period=slow_period,
                         signal_period=signal_period, **kwargs)

    @staticmethod
    def _ewma_rows(windows: np.ndarray, span: int) -> np.ndarray:
        """EWMA of each rolling window (windows x assets x the window's sessions)."""
        w = _decay_weights(span, 1.0 - 2.0 / (1.0 + span))
        return np.tensordot(windows, w, axes=([2], [0])) / w.sum()

    def compute(self, today, assets, out, close, fast_period, slow_period, signal_period):
        from numpy.lib.stride_tricks import sliding_window_view
        slow = self._ewma_rows(sliding_window_view(close, slow_period, axis=0), slow_period)
        fast = self._ewma_rows(
            sliding_window_view(close, fast_period, axis=0)[-signal_period:], fast_period)
        macd = fast - slow                                    # (signal_period, n_assets)
        w = _decay_weights(signal_period, 1.0 - 2.0 / (1.0 + signal_period))
        out[:] = (w[:, None] * macd).sum(axis=0) / w.sum()


MACDSignal = MovingAverageConvergenceDivergenceSignal


class IchimokuKinkoHyo(CustomFactor):
    """``tenkan_sen``, ``kijun_sen`` (midpoints of the highest high and lowest low of the
    last 9 and 26 sessions), ``senkou_span_a`` (their mean), ``senkou_span_b`` (midpoint
    over the whole window) and ``chikou_span`` (the close ``chikou_span_length`` rows into
    the window)."""

    params = {"tenkan_sen_length": 9, "kijun_sen_length": 26, "chikou_span_length": 26}
    inputs = [USEquityPricing.high, USEquityPricing.low, USEquityPricing.close]
    outputs = ("tenkan_sen", "kijun_sen", "senkou_span_a", "senkou_span_b", "chikou_span")
    window_length = 52

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, v in self.params.items():
            if v > self.window_length:
                raise ValueError(f"{name} must be <= the window_length: {v} > "
                                 f"{self.window_length}")

    def compute(self, today, assets, out, high, low, close, tenkan_sen_length,
                kijun_sen_length, chikou_span_length):
        def mid(n):
            return (high[-n:].max(axis=0) + low[-n:].min(axis=0)) / 2
        out.tenkan_sen = tenkan = mid(tenkan_sen_length)
        out.kijun_sen = kijun = mid(kijun_sen_length)
        out.senkou_span_a = (tenkan + kijun) / 2
        out.senkou_span_b = (high.max(axis=0) + low.min(axis=0)) / 2
        out.chikou_span = close[chikou_span_length]


from ml4t.compat.zipline.pipeline.factors.statistical import (  # noqa: E402  (they use Returns)
    RollingLinearRegression, RollingLinearRegressionOfReturns, RollingPearson,
    RollingPearsonOfReturns, RollingSpearman, RollingSpearmanOfReturns, SimpleBeta)

__all__ += ["SimpleBeta", "RollingPearson", "RollingSpearman", "RollingLinearRegression",
            "RollingPearsonOfReturns", "RollingSpearmanOfReturns",
            "RollingLinearRegressionOfReturns"]
