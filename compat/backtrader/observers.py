"""Observers. ``cerebro.addobserver(...)`` is accepted and has no effect on results; the
values Backtrader's standard observers record (cash, value, buys and sells, trades) are
kept by the shim for ``cerebro.plot()`` and ``AnnualReturn``."""
from __future__ import annotations

from ._params import ParamsHolder

__all__ = ["Observer", "Broker", "Cash", "Value", "BuySell", "Trades", "DataTrades",
           "DrawDown", "TimeReturn", "Benchmark", "LogReturns", "LogReturns2", "FundValue",
           "FundShares", "DrawDown_Old", "DrawDownLength", "CashValue"]


class Observer(ParamsHolder):
    """Base class of observers (accepted, not run)."""

    lines = ()

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        rest = self._bt_make_params(kwargs)
        self._bt_pending = ((), {})
        return self


def _make(name):
    return type(name, (Observer,), {})


Broker = CashValue = _make("Broker")
Cash = _make("Cash")
Value = _make("Value")
BuySell = _make("BuySell")
Trades = _make("Trades")
DataTrades = _make("DataTrades")
DrawDown = _make("DrawDown")
DrawDown_Old = _make("DrawDown_Old")
DrawDownLength = _make("DrawDownLength")
TimeReturn = _make("TimeReturn")
Benchmark = _make("Benchmark")
LogReturns = _make("LogReturns")
LogReturns2 = _make("LogReturns2")
FundValue = _make("FundValue")
FundShares = _make("FundShares")
