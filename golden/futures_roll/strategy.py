"""golden/futures_roll: buy 3 of the continuous E-mini-like future and hold.

``"ES"`` is the continuous root: the first order goes to the active contract (ESH24);
the engine rolls the position into ESM24 one session before ESH24 expires.
"""
from ml4t import Strategy


class HoldThree(Strategy):
    def on_bar(self, bars):
        if not self.broker.position("ES") and not self.broker.get_open_orders():
            self.broker.order("ES", 3)
