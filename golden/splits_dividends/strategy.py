"""golden/splits_dividends: hold AAPL and KO through splits and dividends.

First bar (2012-07-02): market buys of 100 AAPL and 400 KO (fill at the next
open). On 2014-06-02 (AAPL about 629, before its 7:1 split) a GTC sell limit
of 50 AAPL at 665.00 that cannot fill before the split; the split turns it into
a sell limit of 350 at 95.00, which fills after the split. No costs.
"""
from ml4t import Strategy


class SplitsDividends(Strategy):
    def on_start(self):
        self.placed = False

    def on_bar(self, bars):
        day = str(self.data.now.date())
        if day == "2012-07-02":
            self.broker.order("AAPL", 100)
            self.broker.order("KO", 400)
        elif day == "2014-06-02" and not self.placed:
            self.broker.order("AAPL", -50, limit_price=665.00)
            self.placed = True
