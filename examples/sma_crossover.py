"""Dual moving average crossover on the bundled daily data (native ml4t API).

Run it:  ml4t run examples/sma_crossover.py
or:      python examples/sma_crossover.py

Each asset is held long (an equal share of the portfolio) while its fast
simple moving average is above the slow one, and flat otherwise. Orders are
placed after the close and fill at the next session's open.
"""
from ml4t import Strategy, run_backtest
from ml4t.models import PercentCommission

ENGINE = dict(cash=100_000, fill="next_open", commission=PercentCommission(0.001))
PARAMS = dict(fast=10, slow=30)


class SmaCross(Strategy):
    fast = 10
    slow = 30

    def on_start(self):
        self.weight = 0.95 / len(self.data.assets)

    def on_bar(self, bars):
        for asset in bars.assets:
            closes = self.data.history_array(asset, "close", self.slow + 1)
            if len(closes) <= self.slow:
                continue                      # not enough history yet
            fast_now = closes[-self.fast:].mean()
            slow_now = closes[-self.slow:].mean()
            fast_before = closes[-self.fast - 1:-1].mean()
            slow_before = closes[-self.slow - 1:-1].mean()
            if fast_now > slow_now and fast_before <= slow_before:
                self.broker.order_target_percent(asset, self.weight)
            elif fast_now < slow_now and fast_before >= slow_before:
                self.broker.order_target(asset, 0)


if __name__ == "__main__":
    from ml4t.datasets import data_dir

    result = run_backtest(SmaCross, data_dir(), params=PARAMS, out="results/sma_crossover",
                          **ENGINE)
    print(result.summary())
