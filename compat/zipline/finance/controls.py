"""Trading controls (checked when an order is placed) and account controls (checked at
each session's end), with Zipline's rules. ``on_error="fail"`` raises
``TradingControlViolation``; ``"log"`` logs it and lets the order through."""
from __future__ import annotations

import logging

from ml4t.compat.zipline.errors import AccountControlViolation, TradingControlViolation

__all__ = ["TradingControl", "MaxOrderSize", "MaxPositionSize", "MaxOrderCount", "LongOnly",
           "RestrictedListOrder", "MaxLeverage", "MinLeverage"]

log = logging.getLogger("ml4t.compat.zipline")


class TradingControl:
    """Base class: ``__call__(algo, asset, amount)`` checks one order about to be placed."""

    def __init__(self, on_error: str, **details):
        if on_error not in ("fail", "log"):
            raise ValueError(f"on_error must be 'fail' or 'log', got {on_error!r}")
        self.on_error = on_error
        self._details = details

    def __repr__(self):
        return f"{type(self).__name__}({self._details})"

    def _violation(self, algo, asset, amount):
        if self.on_error == "fail":
            raise TradingControlViolation(asset=asset, amount=amount,
                                          datetime=algo.get_datetime(), constraint=repr(self))
        log.error("order for %s shares of %s at %s violates %r", amount, asset,
                  algo.get_datetime(), self)


def _check_limits(max_shares, max_notional):
    if max_shares is None and max_notional is None:
        raise ValueError("give max_shares, max_notional or both")
    if max_shares is not None and max_shares < 0:
        raise ValueError(f"max_shares cannot be negative, got {max_shares}")
    if max_notional is not None and max_notional < 0:
        raise ValueError(f"max_notional cannot be negative, got {max_notional}")


class MaxOrderSize(TradingControl):
    """No single order above ``max_shares`` shares or ``max_notional`` dollars."""

    def __init__(self, on_error, asset=None, max_shares=None, max_notional=None):
        _check_limits(max_shares, max_notional)
        super().__init__(on_error, asset=asset, max_shares=max_shares, max_notional=max_notional)
        self.asset, self.max_shares, self.max_notional = asset, max_shares, max_notional

    def __call__(self, algo, asset, amount):
        if self.asset is not None and self.asset != asset:
            return
        if self.max_shares is not None and abs(amount) > self.max_shares:
            self._violation(algo, asset, amount)
        value = amount * algo._data.current(asset, "price")
        if self.max_notional is not None and abs(value) > self.max_notional:
            self._violation(algo, asset, amount)


class MaxPositionSize(TradingControl):
    """No position above ``max_shares`` shares or ``max_notional`` dollars after the order."""

    def __init__(self, on_error, asset=None, max_shares=None, max_notional=None):
        _check_limits(max_shares, max_notional)
        super().__init__(on_error, asset=asset, max_shares=max_shares, max_notional=max_notional)
        self.asset, self.max_shares, self.max_notional = asset, max_shares, max_notional

    def __call__(self, algo, asset, amount):
        if self.asset is not None and self.asset != asset:
            return
        after = algo.portfolio.positions[asset].amount + amount
        if self.max_shares is not None and abs(after) > self.max_shares:
            self._violation(algo, asset, amount)
        value = after * algo._data.current(asset, "price")
        if self.max_notional is not None and abs(value) > self.max_notional:
            self._violation(algo, asset, amount)


class MaxOrderCount(TradingControl):
    """At most ``max_count`` orders per day."""

    def __init__(self, on_error, max_count):
        super().__init__(on_error, max_count=max_count)
        self.max_count = max_count
        self.placed = 0
        self.day = None

    def __call__(self, algo, asset, amount):
        day = algo.get_datetime().date()
        if self.day is not None and self.day != day:
            self.placed = 0
        self.day = day
        if self.placed >= self.max_count:
            self._violation(algo, asset, amount)
        self.placed += 1


class LongOnly(TradingControl):
    """No order that would leave a short position."""

    def __init__(self, on_error):
        super().__init__(on_error)

    def __call__(self, algo, asset, amount):
        if algo.portfolio.positions[asset].amount + amount < 0:
            self._violation(algo, asset, amount)


class RestrictedListOrder(TradingControl):
    """No orders in an asset restricted at the algorithm's time (``Restrictions``)."""

    def __init__(self, on_error, restrictions):
        super().__init__(on_error)
        self.restrictions = restrictions

    def __call__(self, algo, asset, amount):
        if self.restrictions.is_restricted(asset, algo.get_datetime()):
            self._violation(algo, asset, amount)


class MinLeverage:
    """After ``deadline``, account leverage at a session's end must be at least
    ``min_leverage``."""

    def __init__(self, min_leverage, deadline):
        if not isinstance(min_leverage, (int, float)) or min_leverage < 0:
            raise ValueError(f"min_leverage must be a number >= 0, got {min_leverage!r}")
        self.min_leverage = min_leverage
        self.deadline = deadline

    def __repr__(self):
        return (f"MinLeverage({{'min_leverage': {self.min_leverage}, "
                f"'deadline': {self.deadline!r}}})")

    def __call__(self, algo):
        now = algo.get_datetime()
        deadline = self.deadline.tz_localize(now.tzinfo) if self.deadline.tzinfo is None \
            else self.deadline
        if now > deadline and algo.account.leverage < self.min_leverage:
            raise AccountControlViolation(constraint=repr(self))


class MaxLeverage:
    """Account leverage at a session's end must not exceed ``max_leverage``."""

    def __init__(self, max_leverage):
        if max_leverage is None:
            raise ValueError("give max_leverage")
        if max_leverage < 0:
            raise ValueError(f"max_leverage must be >= 0, got {max_leverage}")
        self.max_leverage = max_leverage

    def __repr__(self):
        return f"MaxLeverage({{'max_leverage': {self.max_leverage}}})"

    def __call__(self, algo):
        if algo.account.leverage > self.max_leverage:
            raise AccountControlViolation(constraint=repr(self))
