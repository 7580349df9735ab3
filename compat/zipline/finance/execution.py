"""Execution styles: ``MarketOrder``, ``LimitOrder``, ``StopOrder``, ``StopLimitOrder``.

Limit and stop prices are rounded to the asset's tick (one cent) when an order is
placed, in the direction that favours the order, as Zipline does: buy limits and
sell stops round down unless the price is within 0.05 tick below the next cent
(``round(p - 0.0045)``), the others round up (``round(p + 0.0045)``).
"""
from __future__ import annotations

import math
import sys

from ml4t.compat.zipline.errors import BadOrderParameters

__all__ = ["ExecutionStyle", "MarketOrder", "LimitOrder", "StopOrder", "StopLimitOrder",
           "round_price_to_tick"]


def _decimals(tick: float) -> int:
    text = repr(float(tick))
    if "e-" in text:
        return int(text.split("e-")[1])
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def _half_up(x: float) -> int:
    """Round half away from zero for positives (``x % 1 >= 0.5`` goes up)."""
    lower = math.floor(x)
    return math.ceil(x) if x - lower >= 0.5 else lower


def round_price_to_tick(price: float, favour_down: bool, tick_size: float = 0.01) -> float:
    """Round ``price`` to ``tick_size`` favouring the order.

    ``favour_down`` (buy limits, sell stops) moves the price down by 0.45 tick
    before rounding half up, so anything from ``X.0095`` to just under ``X.0195``
    becomes ``X.01``; otherwise the price moves up by 0.45 tick first.
    """
    places = _decimals(tick_size)
    ticks_per_digit = int(tick_size * 10 ** places)
    band = (0.95 - 0.5) * 10 ** -places * ticks_per_digit - 10 * sys.float_info.epsilon
    shifted = price - band if favour_down else price + band
    out = tick_size * _half_up(shifted / tick_size)
    return 0.0 if abs(out) <= 1e-6 else out


def _check_price(price, label: str) -> None:
    try:
        ok = math.isfinite(price)
    except TypeError:
        raise BadOrderParameters(msg=f"a {label} price must be a number, got "
                                     f"{type(price).__name__}") from None
    if not ok:
        raise BadOrderParameters(msg=f"a {label} price must be finite, got {price}")
    if price < 0:
        raise BadOrderParameters(msg=f"a {label} price cannot be negative, got {price}")


class ExecutionStyle:
    """Base class of execution styles (``get_limit_price``/``get_stop_price``)."""

    _exchange = None
    asset = None

    def _tick(self):
        """Price increment prices round to: the asset's tick, a cent by default."""
        return 0.01 if self.asset is None else self.asset.tick_size

    def get_limit_price(self, is_buy: bool):
        raise NotImplementedError

    def get_stop_price(self, is_buy: bool):
        raise NotImplementedError

    @property
    def exchange(self):
        return self._exchange


class MarketOrder(ExecutionStyle):
    """Fill at the market (the next bar's close in daily mode)."""

    def __init__(self, exchange=None):
        self._exchange = exchange

    def get_limit_price(self, is_buy):
        return None

    def get_stop_price(self, is_buy):
        return None


class LimitOrder(ExecutionStyle):
    """Fill only at ``limit_price`` or better (triggered by the close)."""

    def __init__(self, limit_price, asset=None, exchange=None):
        _check_price(limit_price, "limit")
        self.limit_price = limit_price
        self.asset = asset
        self._exchange = exchange

    def get_limit_price(self, is_buy):
        return round_price_to_tick(self.limit_price, is_buy, self._tick())

    def get_stop_price(self, is_buy):
        return None


class StopOrder(ExecutionStyle):
    """A market order once the close crosses ``stop_price``."""

    def __init__(self, stop_price, asset=None, exchange=None):
        _check_price(stop_price, "stop")
        self.stop_price = stop_price
        self.asset = asset
        self._exchange = exchange

    def get_limit_price(self, is_buy):
        return None

    def get_stop_price(self, is_buy):
        return round_price_to_tick(self.stop_price, not is_buy, self._tick())


class StopLimitOrder(ExecutionStyle):
    """A limit order at ``limit_price`` once the close crosses ``stop_price``."""

    def __init__(self, limit_price, stop_price, asset=None, exchange=None):
        _check_price(limit_price, "limit")
        _check_price(stop_price, "stop")
        self.limit_price = limit_price
        self.stop_price = stop_price
        self.asset = asset
        self._exchange = exchange

    def get_limit_price(self, is_buy):
        return round_price_to_tick(self.limit_price, is_buy, self._tick())

    def get_stop_price(self, is_buy):
        return round_price_to_tick(self.stop_price, not is_buy, self._tick())
