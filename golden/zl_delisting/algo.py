"""golden/zl_delisting: an asset that stops trading, sessions without any bar, an asset
that starts late; Zipline API.

Driven by ``ml4t replay`` through ``ml4t.compat.zipline.run_algorithm``
(``kind = "zipline"``), with Zipline's default costs (5 bps slippage on the close,
$0.001 per share). IBM's file ends on 2014-06-13 and KO's starts on 2014-06-19, so no
asset has a bar on 2014-06-16, 17 and 18.
"""
from ml4t.compat.zipline.api import get_open_orders, order, record, symbol


def initialize(context):
    context.ibm = symbol("IBM")
    context.ko = symbol("KO")
    context.bought = False


def handle_data(context, data):
    if not context.bought:
        order(context.ibm, 50)
        context.bought = True
    ko = context.ko
    if data.can_trade(ko) and ko not in context.portfolio.positions and not get_open_orders(ko):
        order(ko, 100)
    record(ibm_price=data.current(context.ibm, "price"),
           ibm_shares=context.portfolio.positions[context.ibm].amount)
