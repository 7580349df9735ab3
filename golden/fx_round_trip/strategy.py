"""golden/fx_round_trip: buy 100 SAP (EUR) on the first session, sell them on the third."""
from ml4t import Strategy


class EuroRoundTrip(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        if self.bar == 1:
            self.broker.order("SAP", 100)
        elif self.bar == 3:
            self.broker.order("SAP", -100)
