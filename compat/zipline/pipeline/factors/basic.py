"""``zipline.pipeline.factors.basic``: the basic built-in factors (see ``..factors``)."""
from ml4t.compat.zipline.pipeline.factors import (  # noqa: F401
    AnnualizedVolatility, AverageDollarVolume, DailyReturns, EWMA, EWMSTD,
    ExponentialWeightedMovingAverage, ExponentialWeightedMovingStdDev,
    LinearWeightedMovingAverage, MaxDrawdown, PercentChange, Returns, SimpleMovingAverage,
    VWAP, WeightedAverageValue)
