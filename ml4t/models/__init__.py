"""Pluggable cost models. Built-ins run at C speed inside the core; subclass the
ABCs in plain Python to write your own (override ``commission`` or ``fill_price``).

Commission: ``PerShareCommission(rate, minimum=0, maximum=None)``,
``PercentCommission(rate)``, ``FixedCommission(amount)``, ``NoCommission()``.
Slippage: ``FixedBpsSlippage(bps)``, ``FixedSpreadSlippage(spread)``, ``NoSlippage()``.
"""
from ml4t._core.costs import (
    CommissionModel,
    FixedBpsSlippage,
    FixedCommission,
    FixedSpreadSlippage,
    NoCommission,
    NoSlippage,
    PercentCommission,
    PerShareCommission,
    SlippageModel,
)

__all__ = [
    "CommissionModel", "NoCommission", "PerShareCommission", "PercentCommission",
    "FixedCommission", "SlippageModel", "NoSlippage", "FixedBpsSlippage", "FixedSpreadSlippage",
]
