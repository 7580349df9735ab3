"""Cost models that Zipline defines differently from the native built-ins.

``CumulativeVolumeShare`` is Zipline's ``VolumeShareSlippage``: its price impact uses
every share of the asset filled in the bar so far (the native ``VolumeShareSlippage``
uses the fill alone). ``UserSlippage`` and ``UserCommission`` run a Zipline model
subclass's own ``process_order`` / ``calculate`` once per fill.

All three are plain-Python ``ml4t.models`` subclasses called by the compiled matching
loop, which tells each model which fill it is pricing (``self.asset``,
``self.fill_order``: the native fill context). ``FillProbe`` maps that to the shim's
assets and orders and reads how much of the asset the engine has filled in the bar so far.
"""
from __future__ import annotations

import math


from ml4t.models import CommissionModel, SlippageModel

__all__ = ["FillProbe", "CumulativeVolumeShare", "UserSlippage", "UserCommission"]


class FillProbe:
    """The shim's view of the fill a cost model is being called for."""

    def __init__(self, algo):
        self.algo = algo
        self._sids = None

    def sid_of(self, model) -> int:
        """The bundle sid of the fill's asset (from the model's native fill context)."""
        if self._sids is None:
            self._sids = {name: i for i, name in enumerate(self.algo._store.symbols)}
        return self._sids[model.asset]

    def filled_this_bar(self, sid: int) -> float:
        """Shares of ``sid`` the engine has filled in the current bar before this fill."""
        broker = self.algo._host.broker
        return broker.filled_in_bar(self.algo._store.symbols[sid])

    def limit_of(self, oid: int) -> float:
        """Limit price of engine order ``oid`` (NaN when it has none)."""
        lim = self.algo._host.broker.get_order(oid).limit_price
        return math.nan if lim is None else float(lim)


class CumulativeVolumeShare(SlippageModel):
    """Zipline's ``VolumeShareSlippage``: ``close * (1 +- impact * share**2)`` with
    ``share = min(shares filled in the bar so far incl. this fill / volume, limit)``;
    fills are capped at ``volume_limit x volume`` per asset and bar (engine cap). A fill
    whose impacted price is worse than the order's limit is declined (NaN): the order
    stays open, as Zipline skips it."""

    def __init__(self, probe: FillProbe, volume_limit: float, price_impact: float):
        self.probe = probe
        self.volume_limit = volume_limit
        self.price_impact = price_impact

    def fill_price(self, ref, qty, volume):
        if not volume > 0:
            return ref
        before = self.probe.filled_this_bar(self.probe.sid_of(self))
        share = min((before + abs(qty)) / volume, self.volume_limit)
        price = ref + share ** 2 * math.copysign(self.price_impact, qty) * ref
        limit = self.probe.limit_of(self.fill_order)
        if limit == limit and ((qty > 0 and price > limit) or (qty < 0 and price < limit)):
            return math.nan                  # declined: the order stays open
        return price


class _OrderView:
    """What a Zipline cost model sees of an order (state before the current fill)."""

    def __init__(self, zorder, filled_before: int, commission_before: float, open_amount):
        self.id = zorder.id
        self.asset = zorder.asset
        self.sid = zorder.asset
        self.amount = zorder.amount
        self.filled = filled_before
        self.commission = commission_before
        self.limit = zorder.limit
        self.stop = zorder.stop
        self.direction = zorder.direction
        self.dt = zorder.dt
        self.created = zorder.created
        self._open = open_amount

    @property
    def open_amount(self):
        return self._open


class _TxnView:
    def __init__(self, asset, amount, price, dt, order_id):
        self.asset = asset
        self.sid = asset
        self.amount = amount
        self.price = price
        self.dt = dt
        self.order_id = order_id
        self.commission = None


class UserSlippage(SlippageModel):
    """Runs a Zipline ``process_order`` override for the price of each fill.

    The engine proposes the fill size (the order's whole remaining quantity: no
    volume cap); the model must return that size and may change the price (the limit
    is not re-checked, as in Zipline), or return a ``None`` price to skip the order in
    this bar (declined with NaN: the order stays open).
    """

    def __init__(self, probe: FillProbe, model):
        self.probe = probe
        self.model = model
        self.respect_limit = False

    def fill_price(self, ref, qty, volume):
        from ml4t.compat.zipline.errors import UnsupportedFeature
        algo = self.probe.algo
        zorder = algo._by_engine[self.fill_order]
        filled_before = self.probe.filled_this_bar(self.probe.sid_of(self))
        self.model._volume_for_bar = int(filled_before)
        view = _OrderView(zorder, zorder.filled, zorder.commission, int(qty))
        price, amount = self.model.process_order(algo._data, view)
        if price is None:
            return math.nan                  # skipped in this bar: the order stays open
        if amount is None or int(amount) != int(qty):
            raise UnsupportedFeature(
                what=f"{type(self.model).__name__}.process_order returning {amount!r} shares "
                     f"for an open amount of {int(qty)}",
                why="the native engine decides fill sizes; a custom model may change the price "
                    "but must fill what it is given (see the migration guide)")
        return float(price)


class UserCommission(CommissionModel):
    """Runs a Zipline ``calculate(order, transaction)`` override for each fill."""

    def __init__(self, probe: FillProbe, model):
        self.probe = probe
        self.model = model

    def commission(self, qty, price, filled_before, charged_before):
        algo = self.probe.algo
        zorder = algo._by_engine[self.fill_order]
        sign = 1 if zorder.amount > 0 else -1
        view = _OrderView(zorder, sign * int(round(filled_before)), charged_before, int(qty))
        txn = _TxnView(zorder.asset, int(qty), price, algo.get_datetime(), zorder.id)
        return float(self.model.calculate(view, txn))
