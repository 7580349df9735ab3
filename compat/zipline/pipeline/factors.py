"""Built-in factors: ``Returns``, ``DailyReturns``, ``SimpleMovingAverage``,
``AverageDollarVolume`` (and ``CustomFactor``)."""
from __future__ import annotations

import numpy as np

from ml4t.compat.zipline.pipeline import CustomFactor, Factor
from ml4t.compat.zipline.pipeline.data import Latest, USEquityPricing

__all__ = ["CustomFactor", "Factor", "Latest", "Returns", "DailyReturns",
           "SimpleMovingAverage", "AverageDollarVolume"]


class Returns(CustomFactor):
    """(last close - first close) / first close over ``window_length`` sessions."""

    inputs = [USEquityPricing.close]
    window_safe = True

    def compute(self, today, assets, out, close):
        out[:] = (close[-1] - close[0]) / close[0]


class DailyReturns(Returns):
    """The return from the close two sessions ago to yesterday's."""

    window_length = 2


class SimpleMovingAverage(CustomFactor):
    """Mean of the input over ``window_length`` sessions (NaNs left out)."""

    window_safe = True

    def compute(self, today, assets, out, data):
        out[:] = np.nanmean(data, axis=0)


class AverageDollarVolume(CustomFactor):
    """Sum of close x volume over the window (NaNs as 0) / ``window_length``."""

    inputs = [USEquityPricing.close, USEquityPricing.volume]

    def compute(self, today, assets, out, close, volume):
        out[:] = np.nansum(close * volume, axis=0) / len(close)
