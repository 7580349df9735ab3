"""golden/bracket: entry, take-profit and stop-loss; both exits touched in one bar.

Order 1 is a market buy of 100; order 2 a sell limit at 105.00 (take profit) and
order 3 a sell stop at 97.00 (stop loss), held until the entry fills and then
working as a one-cancels-other pair from the next bar.
"""
from ml4t import Strategy


class BracketStopWins(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        if self.bar == 1:
            self.broker.bracket("BRK", 100, take_profit=105.00, stop_loss=97.00)
