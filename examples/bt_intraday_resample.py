"""Intraday trading on two time frames written against the Backtrader API, run on ml4t.

The 5-minute bars of ``data/backtrader/2006-min-005.txt`` (an index, January 2006) are
added as they are and resampled to hourly bars with ``cerebro.resampledata`` (Backtrader's
clock-aligned boundaries: an hourly bar closes at hh:00 and reaches the strategy with the
5-minute bar that closes it). The strategy buys when the 5-minute close crosses above the
hourly EMA(5) while the last hourly bar closed up, protects the entry with a stop 0.3%
under the fill, and leaves on a cross back below with a market order in a one-cancels-
other group with the stop. Commission 0.05%.

As with every shim script, replacing the import line with ``import backtrader as bt``
runs the same file on Backtrader with the same orders and final value
(``tests/test_bt_parity.py::test_intraday_example_runs_the_same_on_both``).

Run it:  python examples/bt_intraday_resample.py
"""
import pathlib

import ml4t.compat.backtrader as bt

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "backtrader"


class TwoTimeFrames(bt.Strategy):
    params = (("ema", 5), ("stop", 0.003), ("size", 10))

    def __init__(self):
        self.m5, self.h1 = self.datas
        self.trend = bt.ind.EMA(self.h1, period=self.p.ema)
        self.above = None                       # 5-minute close above the hourly trend
        self.working = None                     # the entry or exit order in flight
        self.guard = None                       # the protective stop
        self.stopped = 0                        # exits by the protective stop

    def notify_order(self, order):              # a copy of the order: compare with ==
        if order.alive():
            return
        if order == self.working:
            self.working = None
            if order.status == order.Completed and order.isbuy():    # protect the entry
                self.guard = self.sell(exectype=bt.Order.Stop, size=order.executed.size,
                                       price=order.executed.price * (1 - self.p.stop))
        elif order == self.guard:
            self.guard = None
            self.stopped += order.status == order.Completed

    def next(self):
        # the two feeds run on different clocks: compare their current values here
        # (Backtrader's CrossOver cannot take lines of two time frames without coupling)
        was, self.above = self.above, self.m5.close[0] > self.trend[0]
        if self.working or was is None or was == self.above:
            return
        if not self.position:
            if self.above and self.h1.close[0] > self.h1.open[0]:
                self.working = self.buy(size=self.p.size)
        elif not self.above:
            # one cancels the other: whichever of the exit and the stop fills first
            # cancels the other one (a stop placed on this bar is not accepted yet, and
            # cancel() of an order that is only submitted does nothing in Backtrader)
            self.working = self.close(oco=self.guard)


def make_cerebro():
    cerebro = bt.Cerebro()
    m5 = bt.feeds.BacktraderCSVData(dataname=str(DATA / "2006-min-005.txt"),
                                    timeframe=bt.TimeFrame.Minutes, compression=5)
    cerebro.adddata(m5, name="5m")
    cerebro.resampledata(m5, name="1h", timeframe=bt.TimeFrame.Minutes, compression=60)
    cerebro.addstrategy(TwoTimeFrames)
    cerebro.broker.setcash(100_000)
    cerebro.broker.setcommission(commission=0.0005)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="daily", timeframe=bt.TimeFrame.Days)
    return cerebro


def main():
    cerebro = make_cerebro()
    strat = cerebro.run()[0]
    trades = strat.analyzers.trades.get_analysis()
    daily = strat.analyzers.daily.get_analysis()
    print(f"final value   {cerebro.broker.getvalue():,.2f}")
    print(f"trades        {trades.total.closed} closed, {trades.won.total} won, "
          f"net {trades.pnl.net.total:,.2f}")
    print(f"stop exits    {strat.stopped}")
    print(f"trading days  {len(daily)}")
    return cerebro, strat


if __name__ == "__main__":
    main()
