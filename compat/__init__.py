"""Compatibility shims: ``ml4t.compat.zipline`` and ``ml4t.compat.backtrader``."""
