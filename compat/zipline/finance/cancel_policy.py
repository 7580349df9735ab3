"""Cancel policies: ``NeverCancel`` (Zipline's default: orders stay open until filled or
canceled) and ``EODCancel``. In a daily run Zipline applies a policy at the end of each
session in its own way: for each asset with more than one open order it cancels only the
oldest one (``TradingAlgorithm.set_cancel_policy``)."""
from __future__ import annotations

__all__ = ["CancelPolicy", "NeverCancel", "EODCancel", "SESSION_END"]

BAR, SESSION_START, SESSION_END, MINUTE_END, BEFORE_TRADING_START_BAR = range(5)


class CancelPolicy:
    """Base class of cancel policies: ``should_cancel(event)`` says whether open orders
    are canceled at ``event`` (``SESSION_END`` in a daily run)."""

    warn_on_cancel = False

    def should_cancel(self, event) -> bool:
        raise NotImplementedError


class NeverCancel(CancelPolicy):
    """Orders stay open until they fill or are canceled (the default)."""

    def should_cancel(self, event) -> bool:
        return False


class EODCancel(CancelPolicy):
    """Cancel at the end of each session (a warning for each partly filled order canceled
    when ``warn_on_cancel``)."""

    def __init__(self, warn_on_cancel=True):
        self.warn_on_cancel = warn_on_cancel

    def should_cancel(self, event) -> bool:
        return event == SESSION_END
