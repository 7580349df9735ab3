"""Monthly trend rotation written against the Backtrader API, run on ml4t.

On the first trading day of each month (a Backtrader timer, ``add_timer`` with
``monthdays=[1]``) the strategy holds, at equal weight, every asset whose close is above
its 50-day moving average while the trend is strong (ADX(14) above 20), and nothing
else. Commission 0.1%; orders fill at the next open. A ``PyFolio`` analyzer collects the
returns, positions, transactions and gross leverage pyfolio takes (``get_pf_items()``).

As with every shim script, replacing the import line with ``import backtrader as bt``
runs the same file on Backtrader with the same orders and final value
(``tests/test_bt_parity.py::test_rotation_example_runs_the_same_on_both``). The data are
the split-adjusted files of ``data/daily`` (Backtrader has no corporate actions).

Run it:  python examples/bt_monthly_rotation.py
"""
import pathlib

import pandas as pd

import ml4t.compat.backtrader as bt

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "daily"
SYMBOLS = ("AAPL", "IBM", "KO", "MSFT")


class MonthlyTrend(bt.Strategy):
    params = (("trend", 50), ("adx", 14), ("strength", 20.0))

    def __init__(self):
        self.sma = {d: bt.ind.SMA(d, period=self.p.trend) for d in self.datas}
        self.adx = {d: bt.ind.ADX(d, period=self.p.adx) for d in self.datas}
        self.add_timer(when=bt.timer.SESSION_START, monthdays=[1], monthcarry=True)

    def notify_timer(self, timer, when, *args, **kwargs):
        chosen = [d for d in self.datas
                  if d.close[0] > self.sma[d][0] and self.adx[d][0] > self.p.strength]
        weight = 0.95 / len(chosen) if chosen else 0.0
        for d in self.datas:                       # exits first, then the holdings
            if d not in chosen and self.getposition(d).size:
                self.order_target_percent(data=d, target=0.0)
        for d in chosen:
            self.order_target_percent(data=d, target=weight)


def make_cerebro():
    cerebro = bt.Cerebro()
    for symbol in SYMBOLS:
        frame = pd.read_csv(DATA / f"{symbol}.csv", parse_dates=["date"], index_col="date")
        cerebro.adddata(bt.feeds.PandasData(dataname=frame), name=symbol)
    cerebro.addstrategy(MonthlyTrend)
    cerebro.broker.setcash(100_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addanalyzer(bt.analyzers.PyFolio, _name="pyfolio")
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    return cerebro


def main():
    cerebro = make_cerebro()
    strat = cerebro.run()[0]
    returns, positions, transactions, gross_lev = strat.analyzers.pyfolio.get_pf_items()
    print(f"final value      {cerebro.broker.getvalue():,.2f}")
    print(f"max drawdown     {strat.analyzers.drawdown.get_analysis()['max']['drawdown']:.2f}%")
    print(f"transactions     {len(transactions)} (pyfolio frame)")
    print(f"mean gross lev.  {gross_lev.mean():.2f}")
    print(f"daily returns    {len(returns)} from {returns.index[0]:%Y-%m-%d} "
          f"to {returns.index[-1]:%Y-%m-%d}")
    return cerebro, strat


if __name__ == "__main__":
    main()
