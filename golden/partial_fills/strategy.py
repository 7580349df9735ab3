"""golden/partial_fills: volume-capped fills under GTC, IOC and DAY.

With ``volume_limit = 0.025`` the fills of one bar take at most 2.5 % of its
volume (100 shares of 4000, 50 of 2000). Order 1 (GTC buy 250) fills over three
bars; order 2 (IOC sell 150) fills 100 and the rest is canceled; order 3 (DAY buy
120) fills 50 and expires at the end of its session.
"""
from ml4t import Strategy


class PartialFills(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        broker = self.broker
        if self.bar == 1:
            broker.order("PF", 250)                                  # 1: GTC buy 250
        elif self.bar == 4:
            broker.order("PF", -150, time_in_force="IOC")            # 2: IOC sell 150
        elif self.bar == 5:
            broker.order("PF", 120, time_in_force="DAY")             # 3: DAY buy 120
