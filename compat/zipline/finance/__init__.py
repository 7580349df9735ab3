"""``ml4t.compat.zipline.finance``: commission, slippage, execution styles, orders."""
from ml4t.compat.zipline.finance import commission, execution, slippage  # noqa: F401
from ml4t.compat.zipline.finance import cancel_policy  # noqa: F401

__all__ = ["commission", "execution", "slippage", "cancel_policy"]
