"""Cancel policies. Daily backtests keep orders open until filled (``NeverCancel``,
Zipline's default); ``EODCancel`` is accepted but only ``NeverCancel`` semantics are
implemented by the shim."""
from __future__ import annotations

__all__ = ["CancelPolicy", "NeverCancel", "EODCancel"]


class CancelPolicy:
    """Base class of cancel policies."""

    warn_on_cancel = False

    def should_cancel(self, event) -> bool:
        raise NotImplementedError


class NeverCancel(CancelPolicy):
    """Orders stay open until they fill or are canceled (the default)."""

    def should_cancel(self, event) -> bool:
        return False


class EODCancel(CancelPolicy):
    """Cancel open orders at the end of each session (see the migration guide)."""

    def __init__(self, warn_on_cancel=True):
        self.warn_on_cancel = warn_on_cancel

    def should_cancel(self, event) -> bool:
        return True
