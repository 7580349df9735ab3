"""golden/zl_buy_and_hold: buy 100 AAPL on the first day and hold, Zipline API.

Driven by ``ml4t replay`` through ``ml4t.compat.zipline.run_algorithm``
(``kind = "zipline"``), with Zipline's default costs (5 bps slippage on the close,
$0.001 per share). The hold runs through AAPL's 7:1 split of 2014-06-09 and its
2014-05-08 ex-dividend date (csvdir dividends are never paid by Zipline).
"""
from ml4t.compat.zipline.api import order, record, symbol


def initialize(context):
    context.asset = symbol("AAPL")
    context.bought = False


def handle_data(context, data):
    if not context.bought:
        order(context.asset, 100)
        context.bought = True
    record(shares=context.portfolio.positions[context.asset].amount)
