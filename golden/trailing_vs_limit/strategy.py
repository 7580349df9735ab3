"""golden/trailing_vs_limit: a trailing stop and a take-profit limit as an OCO pair.

Leg A: long 100 at bar 2's open; a 5 % trailing stop and a limit at 115 in one OCO
group. The trail ratchets up with the closes and triggers on bar 6; the limit is
canceled. Leg B: long 100 at bar 7's open; a 3.00 trailing stop and a limit at 106.
The limit fills on bar 9 and the trail is canceled (bar 10 would have triggered it).
"""
from ml4t import Strategy


class TrailingVsLimit(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        broker = self.broker
        if self.bar in (1, 6):
            broker.order("TVL", 100)                                          # 1, 4: entries
        elif self.bar == 2:
            trail = broker.order("TVL", -100, trail_percent=0.05)             # 2: 5 % trail
            broker.order("TVL", -100, limit_price=115.00, oco=trail)          # 3: take profit
        elif self.bar == 7:
            trail = broker.order("TVL", -100, trail_amount=3.00)              # 5: 3.00 trail
            broker.order("TVL", -100, limit_price=106.00, oco=trail)          # 6: take profit
