"""Sizers: how many units ``buy()``/``sell()`` trade when no size is given."""
from __future__ import annotations

from ._params import ParamsHolder

__all__ = ["Sizer", "SizerBase", "FixedSize", "SizerFix", "FixedReverser", "FixedSizeTarget",
           "PercentSizer", "AllInSizer", "PercentSizerInt", "AllInSizerInt"]


class Sizer(ParamsHolder):
    """Base class: override ``_getsizing(comminfo, cash, data, isbuy)``.

    ``self.strategy`` and ``self.broker`` are set when the sizer is attached.
    """

    strategy = None
    broker = None

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        rest = self._bt_make_params(kwargs)
        self._bt_pending = (args, rest)
        return self

    def getsizing(self, data, isbuy):
        comminfo = self.broker.getcommissioninfo(data)
        return self._getsizing(comminfo, self.broker.getcash(), data, isbuy)

    def _getsizing(self, comminfo, cash, data, isbuy):
        raise NotImplementedError(f"{type(self).__name__} must override _getsizing()")

    def set(self, strategy, broker):
        self.strategy = strategy
        self.broker = broker


SizerBase = Sizer


class FixedSize(Sizer):
    """A fixed ``stake`` (split in ``tranches``)."""

    params = (("stake", 1), ("tranches", 1))

    def _getsizing(self, comminfo, cash, data, isbuy):
        if self.p.tranches > 1:
            return abs(int(self.p.stake / self.p.tranches))
        return self.p.stake

    def setsizing(self, stake):
        if self.p.tranches > 1:
            self.p.stake = abs(int(self.p.stake / self.p.tranches))
        else:
            self.p.stake = stake


SizerFix = FixedSize


class FixedReverser(Sizer):
    """``stake`` to open, twice ``stake`` to reverse an open position."""

    params = (("stake", 1),)

    def _getsizing(self, comminfo, cash, data, isbuy):
        position = self.strategy.getposition(data)
        return self.p.stake * (1 + (position.size != 0))


class FixedSizeTarget(Sizer):
    params = (("stake", 1), ("tranches", 1))

    def _getsizing(self, comminfo, cash, data, isbuy):
        if self.p.tranches > 1:
            size = abs(int(self.p.stake / self.p.tranches))
            return min(self.strategy.position.size + size, self.p.stake)
        return self.p.stake

    def setsizing(self, stake):
        if self.p.tranches > 1:
            size = abs(int(self.p.stake / self.p.tranches))
            self.p.stake = min(self.strategy.position.size + size, self.p.stake)
        else:
            self.p.stake = stake


class PercentSizer(Sizer):
    """``percents`` of the cash at the current close (fractional unless ``retint``); an
    open position is sized to close it."""

    params = (("percents", 20), ("retint", False))

    def _getsizing(self, comminfo, cash, data, isbuy):
        position = self.broker.getposition(data)
        if not position:
            size = cash / data.close[0] * (self.params.percents / 100)
        else:
            size = position.size
        if self.p.retint:
            size = int(size)
        return size


class AllInSizer(PercentSizer):
    params = (("percents", 100),)


class PercentSizerInt(PercentSizer):
    params = (("retint", True),)


class AllInSizerInt(PercentSizerInt):
    params = (("percents", 100),)
