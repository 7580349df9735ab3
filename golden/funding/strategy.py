"""golden/funding: long 1 BTC-PERP on day 1, reverse to short 1 on day 2."""
from ml4t import Strategy


class LongThenShort(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        if self.bar == 1:
            self.broker.order("BTC-PERP", 1)
        elif self.bar == 2:
            self.broker.order("BTC-PERP", -2)
