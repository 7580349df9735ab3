"""golden/reversal: long 100 -> short 100 with one order of -200, then cover."""
from ml4t import Strategy


class Reversal(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        if self.bar == 1:
            self.broker.order("REV", 100)          # go long 100
        elif self.bar == 2:
            self.broker.order("REV", -200)         # one order: close 100, open short 100
        elif self.bar == 4:
            self.broker.order_target("REV", 0)     # cover the short (+100)
