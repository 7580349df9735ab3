"""Statistical factors: rolling beta, correlations and regressions of each asset's column
against a target (another factor, or one asset's column ``factor[asset]``), computed as
Zipline defines them. Exported from ``ml4t.compat.zipline.pipeline.factors``.
"""
from __future__ import annotations

import math

import numpy as np

from ml4t.compat.zipline.pipeline import CustomFactor, Factor

__all__ = ["SimpleBeta", "RollingPearson", "RollingSpearman", "RollingLinearRegression",
           "RollingPearsonOfReturns", "RollingSpearmanOfReturns",
           "RollingLinearRegressionOfReturns"]


def _returns(window_length: int):
    from ml4t.compat.zipline.pipeline.factors import Returns
    return Returns(window_length=window_length)


def _check_target(target, what: str):
    from ml4t.compat.zipline.assets import Asset
    if not isinstance(target, Asset):
        raise TypeError(f"{what}: target must be an Asset, got {target!r}")


def _check_terms(base, target, length: int, what: str, least: int = 2):
    if not isinstance(base, Factor) or not isinstance(target, Factor):
        raise TypeError(f"{what}: both inputs must be factors (or factor[asset])")
    if not isinstance(length, (int, np.integer)) or length < least:
        raise ValueError(f"{what}: the window must be an integer >= {least}, got {length!r}")


class SimpleBeta(CustomFactor):
    """Each asset's beta to ``target`` over ``regression_length`` daily returns:
    cov(asset, target) / var(target), with the target's returns set missing wherever the
    asset's are; NaN when more than ``int(allowed_missing_percentage x length)`` of them
    are missing."""

    window_safe = True
    params = ("allowed_missing_count",)

    def __init__(self, target, regression_length, allowed_missing_percentage=0.25):
        _check_target(target, "SimpleBeta")
        if not isinstance(regression_length, (int, np.integer)) or regression_length < 3:
            raise ValueError(f"SimpleBeta: regression_length must be an integer >= 3, got "
                             f"{regression_length!r}")
        if not 0.0 <= allowed_missing_percentage <= 1.0:
            raise ValueError(f"SimpleBeta: allowed_missing_percentage must be in [0, 1], "
                             f"got {allowed_missing_percentage!r}")
        daily = _returns(2)
        self.target = target
        super().__init__(inputs=[daily, daily[target]], window_length=int(regression_length),
                         allowed_missing_count=int(allowed_missing_percentage
                                                   * regression_length))

    def compute(self, today, assets, out, all_returns, target_returns, allowed_missing_count):
        target = np.where(np.isnan(all_returns), np.nan, target_returns)
        with np.errstate(all="ignore"):
            residual = target - _nanmean(target)
            out[:] = _nanmean(residual * all_returns) / _nanmean(residual ** 2)
        out[np.isnan(target).sum(axis=0) > allowed_missing_count] = np.nan

    def __repr__(self):
        return (f"SimpleBeta({self.target!r}, length={self.window_length}, "
                f"allowed_missing={self.params['allowed_missing_count']})")


def _nanmean(x):
    seen = ~np.isnan(x)
    with np.errstate(all="ignore"):
        return np.where(seen, x, 0.0).sum(axis=0) / seen.sum(axis=0)


class _RollingCorrelation(CustomFactor):
    def __init__(self, base_factor, target, correlation_length, mask=None):
        _check_terms(base_factor, target, correlation_length, type(self).__name__)
        super().__init__(inputs=[base_factor, target], window_length=int(correlation_length),
                         mask=mask)


class RollingPearson(_RollingCorrelation):
    """Pearson's r of each asset's column of ``base_factor`` with ``target``'s (its own
    column, or one asset's: ``factor[asset]``) over ``correlation_length`` sessions; NaN
    if either holds a NaN."""

    def compute(self, today, assets, out, base_data, target_data):
        target = np.broadcast_to(target_data, base_data.shape)
        with np.errstate(all="ignore"):
            x = target - target.mean(axis=0)
            y = base_data - base_data.mean(axis=0)
            r = (x * y).mean(axis=0) / np.sqrt((x ** 2).mean(axis=0) * (y ** 2).mean(axis=0))
        r[np.isnan(target).any(axis=0)] = np.nan
        out[:] = r


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their mean rank."""
    order = np.argsort(x, kind="mergesort")
    ranked = np.empty(len(x))
    xs = x[order]
    start = 0
    for end in range(1, len(x) + 1):
        if end == len(x) or xs[end] != xs[start]:
            ranked[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranked


class RollingSpearman(_RollingCorrelation):
    """Spearman's rank correlation (Pearson's r of the ranks, ties averaged) of each
    asset's column with ``target``'s over ``correlation_length`` sessions; NaN if either
    holds a NaN."""

    def compute(self, today, assets, out, base_data, target_data):
        target = np.broadcast_to(target_data, base_data.shape)
        for i in range(len(out)):
            x, y = base_data[:, i], target[:, i]
            if np.isnan(x).any() or np.isnan(y).any():
                out[i] = np.nan
                continue
            rx, ry = _average_ranks(x), _average_ranks(y)
            rx -= rx.mean()
            ry -= ry.mean()
            with np.errstate(all="ignore"):
                out[i] = (rx * ry).sum() / math.sqrt((rx ** 2).sum() * (ry ** 2).sum())


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) (continued fraction, modified
    Lentz's method)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _betainc(b, a, 1.0 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x)) / a
    tiny = 1e-300
    f, c, d = 1.0, 1.0, 0.0
    for i in range(400):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (tiny if abs(d) < tiny else d)
        c = 1.0 + num / c
        c = tiny if abs(c) < tiny else c
        step = c * d
        f *= step
        if abs(1.0 - step) < 1e-16:
            break
    return front * (f - 1.0)


def _linregress(x: np.ndarray, y: np.ndarray):
    """(slope, intercept, r, two-sided p of slope = 0, slope's standard error) of the
    least-squares line of y on x; all NaN if either holds a NaN."""
    if np.isnan(x).any() or np.isnan(y).any():
        return (np.nan,) * 5
    n = len(x)
    xm, ym = x.mean(), y.mean()
    dx, dy = x - xm, y - ym
    sxx, syy, sxy = (dx * dx).mean(), (dy * dy).mean(), (dx * dy).mean()
    if sxx == 0.0 or syy == 0.0:
        r = 0.0
    else:
        r = min(1.0, max(-1.0, sxy / math.sqrt(sxx * syy)))
    with np.errstate(all="ignore"):
        slope = sxy / sxx if sxx else np.nan
    intercept = ym - slope * xm
    df = n - 2
    if df <= 0:                               # two points: a perfect fit
        return slope, intercept, r, 1.0 if y[0] == y[1] else 0.0, 0.0
    t = r * math.sqrt(df / ((1.0 - r + 1e-20) * (1.0 + r + 1e-20)))
    p = _betainc(df / 2.0, 0.5, df / (df + t * t))
    stderr = math.sqrt((1 - r * r) * syy / sxx / df) if sxx else np.nan
    return slope, intercept, r, p, stderr


class RollingLinearRegression(CustomFactor):
    """Least-squares regression of each asset's column of ``dependent`` on
    ``independent``'s over ``regression_length`` sessions; outputs ``alpha``
    (intercept), ``beta`` (slope), ``r_value``, ``p_value`` (two-sided, slope = 0) and
    ``stderr`` (the slope's)."""

    outputs = ("alpha", "beta", "r_value", "p_value", "stderr")

    def __init__(self, dependent, independent, regression_length, mask=None):
        _check_terms(dependent, independent, regression_length,
                     "RollingLinearRegression")
        super().__init__(inputs=[dependent, independent], window_length=int(regression_length),
                         mask=mask)

    def compute(self, today, assets, out, dependent, independent):
        x_all = np.broadcast_to(independent, dependent.shape)
        for i in range(len(out)):
            slope, intercept, r, p, se = _linregress(x_all[:, i], dependent[:, i])
            out.alpha[i], out.beta[i], out.r_value[i] = intercept, slope, r
            out.p_value[i], out.stderr[i] = p, se


class RollingPearsonOfReturns(RollingPearson):
    """Pearson's r of each asset's ``returns_length`` returns with ``target``'s, over
    ``correlation_length`` sessions."""

    def __init__(self, target, returns_length, correlation_length, mask=None):
        _check_target(target, type(self).__name__)
        returns = _returns(returns_length)
        super().__init__(returns, returns[target], correlation_length, mask)


class RollingSpearmanOfReturns(RollingSpearman):
    """Spearman's rank correlation of each asset's returns with ``target``'s."""

    def __init__(self, target, returns_length, correlation_length, mask=None):
        _check_target(target, type(self).__name__)
        returns = _returns(returns_length)
        super().__init__(returns, returns[target], correlation_length, mask)


class RollingLinearRegressionOfReturns(RollingLinearRegression):
    """Regression of each asset's returns on ``target``'s."""

    def __init__(self, target, returns_length, regression_length, mask=None):
        _check_target(target, type(self).__name__)
        returns = _returns(returns_length)
        super().__init__(returns, returns[target], regression_length, mask)
