"""Cost models that Zipline defines differently from the native built-ins.

``CumulativeVolumeShare`` is Zipline's ``VolumeShareSlippage``: its price impact uses
every share of the asset filled in the bar so far (the native ``VolumeShareSlippage``
uses the fill alone). ``UserSlippage`` and ``UserCommission`` run a Zipline model
subclass's own ``process_order`` / ``calculate`` once per fill.

All three are plain-Python ``ml4t.models`` subclasses called by the compiled matching
loop. The native model interface passes ``(reference price, quantity, bar volume)``
only, so ``FillProbe`` works out which asset and order the engine is filling from the
engine's state at that moment (the asset whose bar has that close and volume; the
earliest open order of it, in submission order, that the close triggers and that has
neither filled nor been declined in this bar) and the host checks every such fill against the engine's fill
log afterwards. See the migration guide: an engine hook passing the order id would
make this unnecessary.
"""
from __future__ import annotations

import math

import numpy as np

from ml4t.models import CommissionModel, SlippageModel

__all__ = ["FillProbe", "CumulativeVolumeShare", "UserSlippage", "UserCommission"]


class FillProbe:
    """Identifies the asset and order behind a cost-model call from the engine's state."""

    def __init__(self, algo):
        self.algo = algo
        self.last = None          # (slice, engine order id, asset sid) of the latest call
        self.guesses = []         # (slice, engine order id) to verify after the bar
        self.declined = (-1, set())   # (slice, engine order ids a model declined in it)

    def _engine(self):
        host = self.algo._host
        return host.broker._sim, host.broker._book, host.broker._ledger

    def filled_this_bar(self, sid: int) -> tuple[float, set]:
        """Shares of ``sid`` filled in the current slice, and the engine order ids filled."""
        sim, _, led = self._engine()
        ts = sim.ts
        total, ids = 0.0, set()
        i = led.f_ts.n - 1
        while i >= 0 and led.f_ts.get(i) == ts:
            if led.f_asset.get(i) == sid:
                total += abs(led.f_qty.get(i))
                ids.add(int(led.f_oid.get(i)))
            i -= 1
        return total, ids

    def asset_of(self, ref: float, volume: float) -> int:
        """Sid of the asset whose current bar has close ``ref`` and volume ``volume``."""
        sim, _, _ = self._engine()
        here = np.flatnonzero((sim.bar_slice_np == sim.slice_no)
                              & (sim.last_close_np == ref)
                              & ((sim.last_volume_np == volume)
                                 | (np.isnan(sim.last_volume_np) & (volume != volume))))
        if len(here) != 1:
            from ml4t.compat.zipline.errors import UnsupportedFeature
            raise UnsupportedFeature(
                what="a Python cost model on this bar",
                why=f"{len(here)} assets share close {ref} and volume {volume} at "
                    f"{self.algo.get_datetime()}, so the fill cannot be attributed; the "
                    "native engine's model hook does not pass the asset (see the migration guide)")
        return int(here[0])

    def order_of(self, sid: int, ref: float, record: bool = True):
        """Engine id of the order being filled: the earliest open order of ``sid`` that
        this close triggers and that has neither filled nor been declined in this bar."""
        sim, book, _ = self._engine()
        _, done = self.filled_this_bar(sid)
        if self.declined[0] == sim.slice_no:
            done |= self.declined[1]
        for oid in book.live_ids():
            if oid in done:
                continue
            info = book.order(oid)
            if info["asset"] != sid or info["ts_created"] >= sim.ts:
                continue
            if self._triggers(book, oid, info, ref):
                if record:
                    self.last = (sim.slice_no, oid, sid)
                    self.guesses.append((sim.slice_no, oid))
                return oid
        return None

    def limit_of(self, oid: int) -> float:
        """Limit price of engine order ``oid`` (NaN when it has none)."""
        _, book, _ = self._engine()
        lim = book.order(oid)["limit_price"]
        return math.nan if lim is None else float(lim)

    def decline(self, oid: int) -> float:
        """Note that a model declined order ``oid`` in this bar; NaN (the native decline)."""
        sim, _, _ = self._engine()
        if self.declined[0] != sim.slice_no:
            self.declined = (sim.slice_no, set())
        self.declined[1].add(oid)
        if self.guesses and self.guesses[-1] == (sim.slice_no, oid):
            self.guesses.pop()
        if self.last is not None and self.last[:2] == (sim.slice_no, oid):
            self.last = None
        return math.nan

    @staticmethod
    def _triggers(book, oid, info, close) -> bool:
        from ml4t.orders import ORDER_TYPES
        buy = info["qty"] > 0
        lim, stp = info["limit_price"], info["stop_price"]
        kind = ORDER_TYPES[info["type"]]
        if kind in ("stop", "stop_limit"):
            armed = kind == "stop_limit" and book.o_triggered.get(oid - 1) == 1
            if not armed and not ((buy and close >= stp) or (not buy and close <= stp)):
                return False
        if kind in ("limit", "stop_limit"):
            return (buy and close <= lim) or (not buy and close >= lim)
        return kind == "market" or kind == "stop"


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
        sid = self.probe.asset_of(ref, volume)
        before, _ = self.probe.filled_this_bar(sid)
        share = min((before + abs(qty)) / volume, self.volume_limit)
        price = ref + share ** 2 * math.copysign(self.price_impact, qty) * ref
        oid = self.probe.order_of(sid, ref, record=False)
        if oid is not None:
            limit = self.probe.limit_of(oid)
            if limit == limit and ((qty > 0 and price > limit) or (qty < 0 and price < limit)):
                return self.probe.decline(oid)
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
        sid = self.probe.asset_of(ref, volume)
        oid = self.probe.order_of(sid, ref)
        zorder = algo._by_engine[oid]
        filled_before, _ = self.probe.filled_this_bar(sid)
        self.model._volume_for_bar = int(filled_before)
        view = _OrderView(zorder, zorder.filled, zorder.commission, int(qty))
        price, amount = self.model.process_order(algo._data, view)
        if price is None:
            return self.probe.decline(oid)
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
        last = self.probe.last
        sim = algo._host.broker._sim
        if last is None or last[0] != sim.slice_no:
            from ml4t.compat.zipline.errors import UnsupportedFeature
            raise UnsupportedFeature(what="a custom commission model",
                                     why="the fill could not be attributed to an order")
        zorder = algo._by_engine[last[1]]
        sign = 1 if zorder.amount > 0 else -1
        view = _OrderView(zorder, sign * int(round(filled_before)), charged_before, int(qty))
        txn = _TxnView(zorder.asset, int(qty), price, algo.get_datetime(), zorder.id)
        return float(self.model.calculate(view, txn))
