"""Zipline compatibility shim: run Zipline algorithms on the native ml4t engine.

Replace the ``zipline`` import prefix with ``ml4t.compat.zipline``::

    from ml4t.compat.zipline import run_algorithm
    from ml4t.compat.zipline.api import order_target_percent, symbol

``run_algorithm`` reads csvdir bundles in place (no ingest step), runs the algorithm
on ``ml4t.Engine`` configured for Zipline's daily semantics and returns Zipline's perf
DataFrame. See ``docs/migration/zipline.md`` for the API mapping and the quirks the
shim reproduces.
"""
from ml4t.compat.zipline import api  # noqa: F401
from ml4t.compat.zipline.algorithm import TradingAlgorithm, run_algorithm

__version__ = "3.2.1+ml4t"

__all__ = ["run_algorithm", "TradingAlgorithm", "api"]
