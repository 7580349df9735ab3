"""ml4t: an event-driven backtesting engine with a compiled Cython core.

>>> from ml4t import Strategy, run_backtest
>>> from ml4t.models import PercentCommission

See the README for the two commands that install and run it.
"""
__version__ = "0.1.0"

from ml4t.engine import Engine, run_backtest
from ml4t.orders import ContractSpec
from ml4t.futures import ContinuousFuture, Future
from ml4t.result import BacktestResult
from ml4t.strategy import Strategy

__all__ = ["Strategy", "run_backtest", "Engine", "BacktestResult", "ContractSpec", "Future",
           "ContinuousFuture", "__version__"]
