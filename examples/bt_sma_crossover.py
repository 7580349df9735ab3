"""Dual moving average crossover written against the Backtrader API, run on ml4t.

The same strategy as ``examples/sma_crossover.py`` (native API): each asset is held long
with an equal share of the portfolio (95% / number of assets) while its 10-day simple
moving average is above its 30-day one, and flat otherwise. Orders are placed after the
close and fill at the next session's open; commission is 0.1% of each fill.

The only change from a Backtrader script is the import line: replace it with
``import backtrader as bt`` and the same file runs on Backtrader with the same orders,
trades and final value (``tests/test_bt_parity.py::test_example_runs_the_same_on_both``).

Backtrader has no corporate actions, so the script reads the split-adjusted files of
``data/daily`` (the native example handles AAPL's 7:1 and KO's 2:1 splits itself).

Run it:  python examples/bt_sma_crossover.py [--plot out.png]
"""
import argparse
import pathlib

import pandas as pd

import ml4t.compat.backtrader as bt

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "daily"
SYMBOLS = ("AAPL", "IBM", "KO", "MSFT")


class SmaCross(bt.Strategy):
    params = (("fast", 10), ("slow", 30))

    def __init__(self):
        self.weight = 0.95 / len(self.datas)
        self.cross = {
            d: bt.ind.CrossOver(bt.ind.SMA(d, period=self.p.fast),
                                bt.ind.SMA(d, period=self.p.slow))
            for d in self.datas
        }

    def next(self):
        for d in self.datas:
            if self.cross[d][0] > 0:
                self.order_target_percent(data=d, target=self.weight)
            elif self.cross[d][0] < 0 and self.getposition(d).size:
                self.close(data=d)


def make_cerebro():
    cerebro = bt.Cerebro()
    for symbol in SYMBOLS:
        frame = pd.read_csv(DATA / f"{symbol}.csv", parse_dates=["date"], index_col="date")
        cerebro.adddata(bt.feeds.PandasData(dataname=frame), name=symbol)
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(100_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe",
                        timeframe=bt.TimeFrame.Days, annualize=True)
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(bt.analyzers.Returns, _name="returns")
    return cerebro


def main(plot=None):
    cerebro = make_cerebro()
    strat = cerebro.run()[0]
    trades = strat.analyzers.trades.get_analysis()
    print(f"final value    {cerebro.broker.getvalue():,.2f}")
    print(f"total return   {strat.analyzers.returns.get_analysis()['rtot']:.4f} (log)")
    print(f"sharpe (ann.)  {strat.analyzers.sharpe.get_analysis()['sharperatio']:.3f}")
    print(f"max drawdown   {strat.analyzers.drawdown.get_analysis()['max']['drawdown']:.2f}%")
    print(f"closed trades  {trades['total']['closed']}")
    if plot:
        cerebro.plot(savefig=plot)
    return cerebro, strat


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="PNG", help="save the chart to this file")
    main(parser.parse_args().plot)
