"""Commission models with Zipline's names and defaults.

The built-ins map onto the native engine's compiled models:

==============================  =========================================
Zipline                         native ml4t
==============================  =========================================
``PerShare(cost, min_trade_cost)``  ``PerShareCommission(cost, minimum=min_trade_cost)``
``PerTrade(cost)``                  ``FixedCommission(cost)``
``PerDollar(cost)``                 ``PercentCommission(cost)``
``NoCommission()``                  ``NoCommission()``
==============================  =========================================

A subclass that overrides ``calculate(order, transaction)`` runs through a Python
adapter: the engine calls it once per fill with an order view (``amount``,
``filled`` and ``commission`` before this fill) and a transaction view
(``amount``, ``price``, ``dt``, ``asset``).
"""
from __future__ import annotations

__all__ = ["CommissionModel", "EquityCommissionModel", "NoCommission", "PerShare", "PerTrade",
           "PerDollar", "DEFAULT_PER_SHARE_COST", "DEFAULT_PER_DOLLAR_COST",
           "DEFAULT_MINIMUM_COST_PER_EQUITY_TRADE"]

DEFAULT_PER_SHARE_COST = 0.001
DEFAULT_PER_DOLLAR_COST = 0.0015
DEFAULT_MINIMUM_COST_PER_EQUITY_TRADE = 0.0


class CommissionModel:
    """Base class: override ``calculate(order, transaction)`` -> commission of this fill."""

    from ml4t.compat.zipline.assets import Equity as _Equity
    allowed_asset_types = (_Equity,)
    del _Equity

    def calculate(self, order, transaction) -> float:
        raise NotImplementedError("calculate")

    def _native(self):
        """The equivalent compiled ml4t model, or None if ``calculate`` is user code."""
        return None


class EquityCommissionModel(CommissionModel):
    """Base class of equity-only commission models."""


class NoCommission(CommissionModel):
    """No commission."""

    def calculate(self, order, transaction):
        return 0.0

    def _native(self):
        if type(self).calculate is not NoCommission.calculate:
            return None
        from ml4t.models import NoCommission as Native
        return Native()

    def __repr__(self):
        return "NoCommission()"


class PerShare(EquityCommissionModel):
    """``cost`` per share, at least ``min_trade_cost`` per order (Zipline's default: $0.001).

    The first fill of an order pays ``max(min_trade_cost, shares * cost)``; later
    fills pay what the per-share total adds beyond what was already charged.
    """

    def __init__(self, cost=DEFAULT_PER_SHARE_COST,
                 min_trade_cost=DEFAULT_MINIMUM_COST_PER_EQUITY_TRADE):
        self.cost_per_share = float(cost)
        self.min_trade_cost = min_trade_cost or 0

    def calculate(self, order, transaction):
        extra = abs(transaction.amount * self.cost_per_share)
        if order.commission == 0:
            return max(self.min_trade_cost, extra)
        total = abs(order.filled * self.cost_per_share) + extra
        return 0 if total < self.min_trade_cost else total - order.commission

    def _native(self):
        if type(self).calculate is not PerShare.calculate:
            return None
        from ml4t.models import PerShareCommission
        return PerShareCommission(self.cost_per_share, minimum=float(self.min_trade_cost))

    def __repr__(self):
        return (f"PerShare(cost_per_share={self.cost_per_share}, "
                f"min_trade_cost={self.min_trade_cost})")


class PerTrade(CommissionModel):
    """A flat ``cost`` per order, charged on its first fill."""

    def __init__(self, cost=DEFAULT_MINIMUM_COST_PER_EQUITY_TRADE):
        self.cost = float(cost)

    def calculate(self, order, transaction):
        return self.cost if order.commission == 0 else 0.0

    def _native(self):
        if type(self).calculate is not PerTrade.calculate:
            return None
        from ml4t.models import FixedCommission
        return FixedCommission(self.cost)

    def __repr__(self):
        return f"PerTrade(cost_per_trade={self.cost})"


class PerDollar(EquityCommissionModel):
    """``cost`` per dollar traded (default $0.0015)."""

    def __init__(self, cost=DEFAULT_PER_DOLLAR_COST):
        self.cost_per_dollar = float(cost)

    def calculate(self, order, transaction):
        return abs(transaction.amount) * (transaction.price * self.cost_per_dollar)

    def _native(self):
        if type(self).calculate is not PerDollar.calculate:
            return None
        from ml4t.models import PercentCommission
        return PercentCommission(self.cost_per_dollar)

    def __repr__(self):
        return f"PerDollar(cost_per_dollar={self.cost_per_dollar})"
