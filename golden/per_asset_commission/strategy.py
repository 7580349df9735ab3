"""golden/per_asset_commission: three assets, each charged by its own commission model.

Bar 1 buys XYZ, ABC and DEF; bar 2 sells part of ABC and all of DEF. With
``fill="next_open"`` each order fills at the next bar's open. The README works out every
commission and the cash.
"""
from ml4t import Strategy


class PerAsset(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        if self.bar == 1:
            self.broker.order("XYZ", 100)        # 0.1% of notional
            self.broker.order("ABC", 300)        # 0.005 per share, at least 1.00 per order
            self.broker.order("DEF", 10)         # not listed: the default, 2.00 per order
        elif self.bar == 2:
            self.broker.order("ABC", -100)
            self.broker.order("DEF", -10)
