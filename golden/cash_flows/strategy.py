"""golden/cash_flows: a deposit and a withdrawal that are not returns.

Bar 1 buys 50 XYZ (filled at that bar's close, ``fill="same_close"``); bar 3 deposits
1,000; bar 4 withdraws 500. The README works out the NAV and the returns net of the
flows.
"""
from ml4t import Strategy


class Flows(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        if self.bar == 1:
            self.broker.order("XYZ", 50)
        elif self.bar == 3:
            self.broker.deposit(1_000)
        elif self.bar == 4:
            self.broker.withdraw(500)
