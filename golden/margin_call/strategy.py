"""golden/margin_call: a leveraged long through a crash, forced liquidation.

Buys 1,900 shares (1.9x the 100,000 of equity) at the first bar's close; the
market order fills at the next open. The engine's margin desk liquidates on
the two closes where equity falls below 25% of the long's market value. The
strategy sells what is left on the ninth bar, so the round trip shows in
``trades.csv``. The README derives every number.
"""
from ml4t import Strategy


class LeveragedLong(Strategy):
    def on_start(self):
        self.bar = 0
        self.margin_calls = []

    def on_event(self, event):
        if event.kind == "margin_call":
            self.margin_calls.append(event)

    def on_bar(self, bars):
        self.bar += 1
        if self.bar == 1:
            self.broker.order("XYZ", 1900)                      # 1.9x leverage
        elif self.bar == 9:
            self.broker.order("XYZ", -self.broker.position("XYZ").qty)   # close the rest
