"""Slippage models with Zipline's names, defaults and volume limits.

==========================================  ======================================================
Zipline                                     native ml4t
==========================================  ======================================================
``FixedBasisPointsSlippage(5, 0.1)``        ``FixedBpsSlippage(5)`` with ``volume_limit = 0.1``
(the default)                               (``int(0.1 x volume)`` shares per asset per bar,
                                            shared by that asset's orders in placement order)
``VolumeShareSlippage(0.025, 0.1)``         a Python ``ml4t.models.SlippageModel`` whose impact uses
                                            the shares already filled in the bar (Zipline's rule)
``FixedSlippage(spread)``                   ``FixedSpreadSlippage(spread)``, no volume cap
``NoSlippage()``                            ``NoSlippage()``, no volume cap
==========================================  ======================================================

None of Zipline's models re-checks a limit price after slippage, so the native models
set ``respect_limit = False`` (a slipped limit fill may cross the limit), except that
``VolumeShareSlippage`` skips a fill whose impacted price is worse than the limit: its
native model returns NaN, which declines the bar and keeps the order open.

A subclass that overrides ``process_order(data, order)`` runs through a Python
adapter; it may change the price but must fill the whole open amount it is given
(the native engine decides fill sizes; see the migration guide).
"""
from __future__ import annotations

import math

__all__ = ["SlippageModel", "EquitySlippageModel", "NoSlippage", "FixedSlippage",
           "VolumeShareSlippage", "FixedBasisPointsSlippage", "LiquidityExceeded",
           "DEFAULT_EQUITY_VOLUME_SLIPPAGE_BAR_LIMIT"]

DEFAULT_EQUITY_VOLUME_SLIPPAGE_BAR_LIMIT = 0.025


class LiquidityExceeded(Exception):
    """Raised by ``process_order`` when no more shares may fill in this bar."""


def _worse_than_limit(price, order) -> bool:
    if order.limit:
        return (order.direction > 0 and price > order.limit) or \
               (order.direction < 0 and price < order.limit)
    return False


class SlippageModel:
    """Base class: override ``process_order(data, order)`` -> ``(price, signed shares)``.

    ``volume_for_bar`` holds the shares already filled for the order's asset in the
    current bar.
    """

    from ml4t.compat.zipline.assets import Equity as _Equity
    allowed_asset_types = (_Equity,)
    del _Equity

    def __init__(self):
        self._volume_for_bar = 0

    @property
    def volume_for_bar(self):
        return getattr(self, "_volume_for_bar", 0)

    def process_order(self, data, order):
        raise NotImplementedError("process_order")

    def asdict(self):
        return dict(self.__dict__)

    def _native(self, probe):
        """The native model that reproduces this one, or None for user code."""
        return None


class EquitySlippageModel(SlippageModel):
    """Base class of equity-only slippage models."""


class NoSlippage(SlippageModel):
    """Fill the whole order at the close."""

    def process_order(self, data, order):
        return data.current(order.asset, "close"), order.amount

    def _native(self, probe):
        if type(self).process_order is not NoSlippage.process_order:
            return None
        from ml4t.models import NoSlippage as Native
        model = Native()
        model.respect_limit = False       # Zipline fills at the close, no limit re-check
        return model

    def __repr__(self):
        return "NoSlippage()"


class FixedSlippage(SlippageModel):
    """Fill at the close plus (buys) or minus (sells) half of ``spread``; no volume cap."""

    def __init__(self, spread=0.0):
        super().__init__()
        self.spread = spread

    def process_order(self, data, order):
        price = data.current(order.asset, "close")
        return price + (self.spread / 2.0 * order.direction), order.amount

    def _native(self, probe):
        if type(self).process_order is not FixedSlippage.process_order:
            return None
        from ml4t.models import FixedSpreadSlippage
        model = FixedSpreadSlippage(float(self.spread))
        model.respect_limit = False       # Zipline does not re-check the limit
        return model

    def __repr__(self):
        return f"FixedSlippage(spread={self.spread})"


class VolumeShareSlippage(SlippageModel):
    """Price impact growing with the square of the bar's volume share.

    Up to ``volume_limit`` x volume shares fill per asset and bar; a buy pays
    ``close * (1 + price_impact * share**2)`` where ``share`` counts every share
    filled in the bar so far, capped at ``volume_limit``.
    """

    def __init__(self, volume_limit=DEFAULT_EQUITY_VOLUME_SLIPPAGE_BAR_LIMIT, price_impact=0.1):
        super().__init__()
        self.volume_limit = volume_limit
        self.price_impact = price_impact

    def process_order(self, data, order):
        volume = data.current(order.asset, "volume")
        room = self.volume_limit * volume - self.volume_for_bar
        if room < 1:
            raise LiquidityExceeded()
        shares = int(min(room, abs(order.open_amount)))
        if shares < 1:
            return None, None
        share = min((self.volume_for_bar + shares) / volume, self.volume_limit)
        price = data.current(order.asset, "close")
        filled_at = price + share ** 2 * math.copysign(self.price_impact, order.direction) * price
        if _worse_than_limit(filled_at, order):
            return None, None
        return filled_at, math.copysign(shares, order.direction)

    def _native(self, probe):
        if type(self).process_order is not VolumeShareSlippage.process_order:
            return None
        from ml4t.compat.zipline._models import CumulativeVolumeShare
        return CumulativeVolumeShare(probe, float(self.volume_limit), float(self.price_impact))

    def __repr__(self):
        return (f"VolumeShareSlippage(volume_limit={self.volume_limit}, "
                f"price_impact={self.price_impact})")


class FixedBasisPointsSlippage(SlippageModel):
    """Zipline's default: ``close * (1 +- basis_points / 10_000)``, at most
    ``int(volume_limit * volume)`` shares per asset and bar."""

    def __init__(self, basis_points=5.0, volume_limit=0.1):
        super().__init__()
        if basis_points < 0:
            raise ValueError(f"basis_points must be >= 0, got {basis_points}")
        if not volume_limit > 0:
            raise ValueError(f"volume_limit must be > 0, got {volume_limit}")
        self.basis_points = basis_points
        self.percentage = basis_points / 10000.0
        self.volume_limit = volume_limit

    def process_order(self, data, order):
        volume = data.current(order.asset, "volume")
        cap = int(self.volume_limit * volume)
        price = data.current(order.asset, "close")
        shares = min(abs(order.open_amount), cap - self.volume_for_bar)
        if shares == 0:
            raise LiquidityExceeded()
        return price + price * (self.percentage * order.direction), shares * order.direction

    def _native(self, probe):
        if type(self).process_order is not FixedBasisPointsSlippage.process_order:
            return None
        from ml4t.models import FixedBpsSlippage
        model = FixedBpsSlippage(float(self.basis_points))
        model.volume_limit = float(self.volume_limit)
        model.respect_limit = False       # Zipline's slipped price may cross the limit
        return model

    def __repr__(self):
        return (f"FixedBasisPointsSlippage(basis_points={self.basis_points}, "
                f"volume_limit={self.volume_limit})")
