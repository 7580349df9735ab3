"""Compatibility shims, installed as ``ml4t.compat``.

``ml4t.compat.zipline`` and ``ml4t.compat.backtrader`` run Zipline and Backtrader
strategies on the native engine (only the import line changes). Shims translate onto
the native API; they never carry a private engine of their own.
"""
