"""Cash-account orders that do not fit: a buy beyond the cash, a sell beyond the holding.

Used by ``golden/cash_rejection`` (``on_insufficient = "reject"``) and
``golden/cash_partial`` (``on_insufficient = "partial"``) with the same bars.
"""
from ml4t import Strategy


class CashLimits(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        broker = self.broker
        if self.bar == 1:
            broker.order("ABC", 50)          # fits: 50 x 100.00 + 5.00 commission
        elif self.bar == 2:
            broker.order("ABC", 60)          # does not fit the remaining cash
        elif self.bar == 3:
            broker.order("ABC", -120)        # more than held: a short, not allowed
        elif self.bar == 4:
            broker.order_target("ABC", 0)    # sell what is left (nothing when flat)
