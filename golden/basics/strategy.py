"""golden/basics: market, limit and stop orders on nine hand-made daily bars.

Orders are placed at a bar's close (``on_bar``) and, with ``fill="next_open"``,
can fill from the next bar on. The README shows every fill price and the cash.
"""
from ml4t import Strategy


class Basics(Strategy):
    def on_start(self):
        self.bar = 0
        self.take_profit = None

    def on_bar(self, bars):
        self.bar += 1
        broker = self.broker
        if self.bar == 1:
            broker.order("XYZ", 100)                                    # 1: market buy
            broker.order("XYZ", 50, limit_price=99.50)                  # 2: buy limit
        elif self.bar == 3:
            broker.order("XYZ", 50, stop_price=102.00)                  # 3: buy stop
        elif self.bar == 4:
            broker.order("XYZ", -200, stop_price=102.00)                # 4: protective sell stop
            self.take_profit = broker.order("XYZ", -200, limit_price=104.00)   # 5: sell limit
        elif self.bar == 6:
            if not broker.position("XYZ") and self.take_profit is not None:
                broker.cancel(self.take_profit)                         # stopped out: cancel 5
            broker.order("XYZ", 100, limit_price=100.50)                # 6: buy limit, gap fill
        elif self.bar == 7:
            broker.order("XYZ", -100)                                   # 7: market sell
        elif self.bar == 8:
            broker.order("XYZ", 100, limit_price=99.00, time_in_force="DAY")   # 8: expires
