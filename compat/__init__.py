"""Compatibility shims, installed as ``ml4t.compat``.

``ml4t.compat.backtrader`` runs Backtrader strategies on the native engine
(``import ml4t.compat.backtrader as bt``). Shims translate onto the native API;
they never carry a private engine of their own.
"""
