"""The ml4t modules every backtest run imports, imported with a shim.

``Engine.run`` imports them on first use; a shim imports them when it is imported, as
Backtrader and Zipline import their own modules before a run, so that a script's first
``cerebro.run()`` / ``run_algorithm`` does not pay for them (the process's total is the same).
"""
import ml4t.corporate  # noqa: F401
import ml4t.data  # noqa: F401
import ml4t.fx  # noqa: F401
import ml4t.manifest  # noqa: F401
import ml4t.margin  # noqa: F401
import ml4t.models  # noqa: F401
