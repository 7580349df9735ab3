"""Pipeline datasets: ``USEquityPricing`` (alias ``EquityPricing``) with the columns
``open``, ``high``, ``low``, ``close``, ``volume``."""
from __future__ import annotations

import numpy as np

from ml4t.compat.zipline.pipeline import Factor

__all__ = ["USEquityPricing", "EquityPricing", "BoundColumn"]


class Latest(Factor):
    """A column's value at the session before today (adjusted as of today)."""

    window_safe = True

    def __init__(self, column):
        self.column = column

    def _compute(self, day):
        return day.window(self.column.name, 1)[0].astype(np.float64)


class BoundColumn:
    """A column of a dataset: an input of factors; ``.latest`` is its last value."""

    def __init__(self, dataset: str, name: str):
        self.dataset, self.name = dataset, name
        self.dtype = np.float64

    @property
    def latest(self) -> Latest:
        return Latest(self)

    def __repr__(self):
        return f"{self.dataset}.{self.name}::float64"


class USEquityPricing:
    """Daily OHLCV of the bundle's equities."""

    open = BoundColumn("EquityPricing", "open")
    high = BoundColumn("EquityPricing", "high")
    low = BoundColumn("EquityPricing", "low")
    close = BoundColumn("EquityPricing", "close")
    volume = BoundColumn("EquityPricing", "volume")


EquityPricing = USEquityPricing
