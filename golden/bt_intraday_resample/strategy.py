"""golden/bt_intraday_resample: 5-minute bars resampled to 15 minutes (Backtrader API).

``scenario.toml`` adds the 5-minute file as ``M5`` and, with ``[data] resample``, the
same bars compressed to 15 minutes as ``M15`` (``cerebro.resampledata``). When a new
15-minute bar arrives the strategy buys 10 if that bar closed up and nothing is held,
and closes the position if it closed down. Orders are market orders on the 5-minute
feed (they fill at the next 5-minute open). ``self.seen`` keeps every 15-minute bar as
the strategy received it (the README derives them by hand).
"""
import ml4t.compat.backtrader as bt


class FifteenMinutes(bt.Strategy):
    params = (("size", 10),)

    def start(self):
        self.seen = []

    def next(self):
        m5, m15 = self.datas
        if len(m15) == len(self.seen):
            return                               # no new 15-minute bar on this step
        self.seen.append((m5.datetime.datetime(0), m15.datetime.datetime(0), m15.open[0],
                          m15.high[0], m15.low[0], m15.close[0]))
        if m15.close[0] > m15.open[0] and not self.position:
            self.buy(data=m5, size=self.p.size)
        elif m15.close[0] < m15.open[0] and self.position:
            self.close(data=m5)
