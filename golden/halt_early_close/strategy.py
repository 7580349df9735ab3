"""golden/halt_early_close: a halt and an early close on intraday bars.

Orders are placed at a bar's close (``on_bar``, by UTC time of the slice) and,
with ``fill="next_open"``, fill at the open of that asset's next bar. No costs.
"""
from ml4t import Strategy


class HaltEarlyClose(Strategy):
    def on_bar(self, bars):
        now = self.data.now.strftime("%Y-%m-%d %H:%M")
        broker = self.broker
        if now == "2012-11-23 15:00":
            broker.order("AAA", 100)            # 1: fills at AAA's 15:30 open
            broker.order("BBB", 200)            # 2: BBB halted 15:30-16:30: fills at its 17:00 open
        elif now == "2012-11-23 16:00":
            broker.order("AAA", 100, limit_price=49.00, time_in_force="DAY")   # 3: expires at 13:00 NY
        elif now == "2012-11-23 18:00":         # last bar of the early-close session
            broker.order("AAA", -100)           # 4: fills at the 2012-11-26 14:30 open
