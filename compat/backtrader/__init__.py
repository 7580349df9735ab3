"""Backtrader compatibility shim: run Backtrader strategies on the ml4t engine.

Replace ``import backtrader as bt`` with ``import ml4t.compat.backtrader as bt``. Orders
are matched and booked by the native engine; the shim reproduces Backtrader's timing and
bookkeeping (order statuses a bar late, the submission cash check, bracket and OCO
rules, trade and analyzer numbers). What is supported and which Backtrader quirks are
reproduced is listed in ``docs/migration/backtrader.md``.
"""
from . import (analyzers, brokers, errors, feeds, filters, indicators, observers, signal, sizers,
               timer, utils)
from .analyzers import Analyzer, TimeFrameAnalyzerBase
from .broker import BackBroker
from .cerebro import Cerebro, OptReturn
from .feeds import DataBase, AbstractDataBase, CSVDataBase
from .indicators import (All, And, Any, Cmp, CmpEx, DivByZero, DivZeroByZero, If, Indicator,
                         Max, Min, Or, Reduce, Sum)
from .lines import LineBuffer, LineSeries
from .observers import Observer
from .order import (BuyOrder, CommInfoBase, CommissionInfo, Order, OrderData,
                    OrderExecutionBit, Position, SellOrder, Trade)
from .signal import *  # noqa: F401,F403  (bt.SIGNAL_LONG ..., bt.Signal)
from .sizers import Sizer, SizerBase
from .strategy import SignalStrategy, Strategy, StrategyBase
from .utils import TimeFrame, date2num, num2date, num2dt, num2time, time2num

ind = indicators
obs = observers
observer = observers        # bt.observer.Observer, bt.analyzer.Analyzer, bt.indicator.Indicator
analyzer = analyzers
indicator = indicators
comminfo = CommInfoBase
MAXINT = 2 ** 63 - 1
__version__ = "1.9.78.123-ml4t"

__all__ = [
    "Cerebro", "Strategy", "StrategyBase", "SignalStrategy", "Indicator", "Analyzer",
    "TimeFrameAnalyzerBase", "Observer", "Sizer", "SizerBase", "Order", "BuyOrder",
    "SellOrder", "OrderData", "OrderExecutionBit", "Trade", "Position", "CommInfoBase",
    "CommissionInfo", "BackBroker", "OptReturn", "DataBase", "AbstractDataBase",
    "CSVDataBase", "LineBuffer", "LineSeries", "TimeFrame", "date2num", "num2date", "num2dt",
    "num2time", "time2num", "If", "And", "Or", "Max", "Min", "Sum", "Any", "All", "Cmp",
    "CmpEx", "DivByZero", "DivZeroByZero", "Reduce", "analyzers", "brokers", "errors",
    "feeds", "indicators", "ind", "indicator", "observers", "obs", "observer", "analyzer",
    "sizers", "utils",
]
