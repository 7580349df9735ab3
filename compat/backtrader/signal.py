"""Backtrader's signal types and ``Signal`` indicator (``cerebro.add_signal``)."""
from __future__ import annotations

from .indicators import Indicator

__all__ = ["SIGNAL_NONE", "SIGNAL_LONGSHORT", "SIGNAL_LONG", "SIGNAL_LONG_INV",
           "SIGNAL_LONG_ANY", "SIGNAL_SHORT", "SIGNAL_SHORT_INV", "SIGNAL_SHORT_ANY",
           "SIGNAL_LONGEXIT", "SIGNAL_LONGEXIT_INV", "SIGNAL_LONGEXIT_ANY", "SIGNAL_SHORTEXIT",
           "SIGNAL_SHORTEXIT_INV", "SIGNAL_SHORTEXIT_ANY", "SignalTypes", "Signal"]

(SIGNAL_NONE, SIGNAL_LONGSHORT,
 SIGNAL_LONG, SIGNAL_LONG_INV, SIGNAL_LONG_ANY,
 SIGNAL_SHORT, SIGNAL_SHORT_INV, SIGNAL_SHORT_ANY,
 SIGNAL_LONGEXIT, SIGNAL_LONGEXIT_INV, SIGNAL_LONGEXIT_ANY,
 SIGNAL_SHORTEXIT, SIGNAL_SHORTEXIT_INV, SIGNAL_SHORTEXIT_ANY) = range(14)

SignalTypes = list(range(14))


class Signal(Indicator):
    """A signal line: the first line of its data."""

    SignalTypes = SignalTypes
    lines = ("signal",)

    def __init__(self):
        self.lines.signal = self.data0.lines[0]
