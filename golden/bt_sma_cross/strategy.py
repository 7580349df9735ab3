"""golden/bt_sma_cross: a 10/30-day SMA crossover written against the Backtrader API.

Driven by ``ml4t replay`` through ``ml4t.compat.backtrader`` (``kind = "backtrader"``):
buy ``size`` shares at the next open when the fast SMA crosses above the slow one and
nothing is held; close the position at the next open when it crosses below.
"""
import ml4t.compat.backtrader as bt


class SmaCross(bt.Strategy):
    params = (("fast", 10), ("slow", 30), ("size", 1000))

    def __init__(self):
        self.cross = bt.ind.CrossOver(bt.ind.SMA(self.data, period=self.p.fast),
                                      bt.ind.SMA(self.data, period=self.p.slow))

    def next(self):
        if self.cross[0] > 0 and not self.position:
            self.buy(size=self.p.size)
        elif self.cross[0] < 0 and self.position:
            self.close()
