"""Pluggable cost models. Built-ins run at C speed inside the core; subclass the
ABCs in plain Python to write your own (override ``commission`` or ``fill_price``).

Commission: ``PerShareCommission(rate, minimum=0, maximum=None)``,
``PercentCommission(rate)``, ``FixedCommission(amount)``, ``NoCommission()``, and
``PerAssetCommission({asset: model, ...}, default=None)`` to charge each asset its own.
Slippage: ``FixedBpsSlippage(bps)``, ``FixedSpreadSlippage(spread)``, ``NoSlippage()``,
``VolumeShareSlippage(volume_limit=0.025, price_impact=0.1)`` and the square-root market
impact model ``SquareRootImpact(coefficient=1.0, window=20)``.
"""
from ml4t._core.costs import (
    CommissionModel,
    FixedBpsSlippage,
    FixedCommission,
    FixedSpreadSlippage,
    NoCommission,
    NoSlippage,
    PerAssetCommission,
    PercentCommission,
    PerShareCommission,
    SlippageModel,
    SquareRootImpact,
    VolumeShareSlippage,
)

__all__ = [
    "CommissionModel", "NoCommission", "PerShareCommission", "PercentCommission",
    "FixedCommission", "PerAssetCommission", "SlippageModel", "NoSlippage", "FixedBpsSlippage", "FixedSpreadSlippage",
    "VolumeShareSlippage", "SquareRootImpact",
]
