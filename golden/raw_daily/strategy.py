"""golden/raw_daily: a 5/20-day moving-average crossover on real unadjusted prices.

Each asset is held long at ``weight`` of NAV while its 5-day mean close is above
its 20-day mean, and flat otherwise; orders go in at the close and fill at the
next session's open. Only the crossing bar acts.
"""
from ml4t import Strategy


class RawDailyCross(Strategy):
    fast = 5
    slow = 20
    weight = 0.45

    def on_bar(self, bars):
        for asset in bars.assets:
            closes = self.data.history_array(asset, "close", self.slow + 1)
            if len(closes) <= self.slow:
                continue
            fast_now, slow_now = closes[-self.fast:].mean(), closes[-self.slow:].mean()
            fast_before = closes[-self.fast - 1:-1].mean()
            slow_before = closes[-self.slow - 1:-1].mean()
            if fast_now > slow_now and fast_before <= slow_before:
                self.broker.order_target_percent(asset, self.weight)
            elif fast_now < slow_now and fast_before >= slow_before:
                self.broker.order_target(asset, 0)
