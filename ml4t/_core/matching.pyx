# cython: boundscheck=False, wraparound=False, cdivision=True
"""Order matching against bars: Market, Limit, Stop, StopLimit, TrailingStop;
GTC, DAY, IOC, FOK; brackets, OCO groups, cancel/replace, volume caps and
contract specifications.

Market rules implemented here (pinned by ``golden/basics``,
``golden/trailing_vs_limit`` and ``golden/partial_fills``):

Intrabar rules (``fill="next_open"``), for an order submitted before the bar:

* Market: fills at the bar's open.
* Buy limit: fills if ``low <= limit``, at ``min(open, limit)`` (a gap down
  through the limit fills at the better open). Sell limit: ``high >= limit``,
  at ``max(open, limit)``.
* Buy stop: triggers if ``high >= stop``, fills at ``max(open, stop)`` (the
  worse of open and stop). Sell stop: ``low <= stop``, at ``min(open, stop)``.
  Triggers are sticky: once elected a stop is a market order, so the part a
  volume cap leaves unfilled trades at the next bar's open (at its close under
  the at-close rules), wherever the price has gone.
* Stop-limit: triggered at the open (gap through the stop) it acts as a limit
  for the whole bar; triggered inside the bar it fills at the stop when the
  stop is within the limit, otherwise it rests as a limit from the next bar.
* Trailing stop (by amount or percent): a stop whose price follows the best
  price since acceptance (the highest for a sell, the lowest for a buy),
  starting from the last close when placed. Each bar is first checked against
  the stop as it stood, then the trail moves with the bar's close (or its
  high/low, ``trail_source="high_low"``) for the next bar.
* Trailing stop-limit (a trail plus a limit offset): stop-limit rules; the
  limit is the stop minus the offset (sell) or plus it (buy), and both move
  with the trail up to and including the bar that triggers the stop; from
  then on the limit stays where it is.
* Market-on-close: fills at the close of the last bar of its asset in the
  session it was placed in (``close_session``, when the next session starts);
  placed on or after that bar (always so with daily bars) at the close of the
  asset's next bar; never on the bar it was placed on.

Close rules (``fill="next_close"`` and ``"same_close"``): only the close
decides; market orders fill at the close, a buy limit fills at the close when
``close <= limit``, a buy stop when ``close >= stop`` (sells mirrored).

Quote rules (bid/ask data): market buys fill at the ask, sells at the bid; a
buy limit fills at the ask when ``ask <= limit``, a sell limit at the bid when
``bid >= limit``; a buy stop triggers when ``ask >= stop`` and fills at the ask,
a sell stop when ``bid <= stop`` at the bid. The quoted size caps each fill
(shared by the asset's orders at that quote); the rest carries over per time
in force.

Brackets: an entry with a take-profit limit and a stop-loss; the two exits
are held until the entry ends, then live for the filled quantity from the next
bar (canceled if the entry never filled); they form an OCO pair that shares
the position: a partial exit shrinks the other leg, a full exit cancels it.
OCO groups: the first fill of one member cancels the others; canceling or
expiring one cancels the others too. When one bar touches two members of a
group on the same asset, ``intrabar_policy`` decides which fills: the stop
(default, conservative), the limit, the one whose price is nearer the open, or
the one submitted first.

Liquidity: with ``volume_limit`` (or a slippage model that has one) the fills
of one asset in one bar take at most that fraction of the bar's volume,
shared by its orders in sequence; the rest carries over (GTC), is canceled
(IOC), expires at the session end (DAY); FOK fills completely or not at all.
Zero volume under a cap means no fill that bar.

Contract specifications per asset: limit and stop prices rounded to the tick
(buy limits and sell stops down, sell limits and buy stops up: never a worse
price than asked), quantities rounded toward zero to the lot, and an order
below the minimum quantity rejected with reason ``BELOW_MIN_QTY``.

Slippage moves the reference price against the trader; a limit order never
fills worse than its limit (unless the model sets ``respect_limit = False``);
a model may return NaN to decline a bar, leaving the order open. Commission is
computed on the slipped price.

Time in force: GTC rests until filled or canceled; DAY expires at the end of
the first session in which its asset had a bar to match against; IOC and FOK
get one chance, at the first bar of their asset after submission. Orders
still open when the data
ends are canceled with reason ``END_OF_DATA``.

Sequencing at one fill point: position-reducing orders first, then the rest,
each group in submission order (``fill_order="exit_first"``); or strictly in
submission order (``fill_order="submission"``). Buying power is checked before
each fill; an order that does not fit is rejected with a reason, or filled up
to what fits with the rest canceled when ``on_insufficient="partial"``.
"""
import numpy as np
from libc.math cimport fabs, floor, ceil, sqrt, log, isfinite, INFINITY, NAN

from ml4t.errors import OrderError

from ml4t._core.buffers cimport F64Buf, I64Buf
from ml4t._core.accounting cimport Ledger
from ml4t._core.costs cimport CommissionModel, SlippageModel
from ml4t._core.history cimport History
from ml4t._core.enums cimport (OrderType, TimeInForce, OrderStatus, Reason, BarRules,
                               IntrabarPolicy, TrailSource)

cdef double QTY_EPS = 1e-9
cdef long long NO_SESSION = -(1LL << 62)


cdef inline bint _is_open(long long status) noexcept nogil:
    return status == OrderStatus.ACCEPTED or status == OrderStatus.PARTIALLY_FILLED


cdef inline bint _is_live(long long status) noexcept nogil:
    """Open, or held (a bracket exit waiting for its entry)."""
    return _is_open(status) or status == OrderStatus.SUBMITTED


cdef inline bint _is_final(int status) noexcept nogil:
    return (status == OrderStatus.FILLED or status == OrderStatus.CANCELED
            or status == OrderStatus.REJECTED or status == OrderStatus.EXPIRED)


cdef inline bint _stop_like(long long t) noexcept nogil:
    return (t == OrderType.STOP or t == OrderType.STOP_LIMIT or t == OrderType.TRAILING_STOP
            or t == OrderType.TRAILING_STOP_LIMIT)


cdef inline bint _trailing(long long t) noexcept nogil:
    return t == OrderType.TRAILING_STOP or t == OrderType.TRAILING_STOP_LIMIT


cdef inline bint _limit_now(long long t, long long triggered) noexcept nogil:
    """The order acts as a limit order (a limit, or a triggered stop-limit)."""
    return t == OrderType.LIMIT or ((t == OrderType.STOP_LIMIT
                                     or t == OrderType.TRAILING_STOP_LIMIT) and triggered)


cdef class OrderBook:
    """Open orders of one backtest and the rules that fill them.

    Parameters
    ----------
    ledger : Ledger
        The account that books fills and checks buying power.
    commission_model : CommissionModel
    slippage_model : SlippageModel
    exit_first : bool
        Fill position-reducing orders before the others at one fill point.
    partial_on_insufficient : bool
        Fill what fits instead of rejecting an order that exceeds buying power.
    fractional : bool
        Whether quantities may be fractional (default for every asset).
    volume_limit : float
        Largest fraction of a bar's volume one asset's fills may take (NaN: no cap).
    intrabar_policy : int
        An ``IntrabarPolicy``: which member of an OCO group fills when one bar
        touches several.
    trail_source : int
        A ``TrailSource``: what trailing stops follow.
    stop_limit_rule : int
        0: a stop-limit triggered inside a bar fills there only at its stop (when the
        stop is within the limit); 1 ("bar direction"): also at its limit when the limit
        lies beyond the stop and the bar closes past the limit moving away from its
        open (a buy on a bar closing below its open, at a close <= limit; a sell on a
        bar closing at or above its open, at a close >= limit) -- Backtrader's rule.
    """

    def __init__(self, Ledger ledger, CommissionModel commission_model,
                 SlippageModel slippage_model, bint exit_first=True,
                 bint partial_on_insufficient=False, bint fractional=False,
                 double volume_limit=NAN, int intrabar_policy=IntrabarPolicy.STOP_FIRST,
                 int trail_source=TrailSource.TRAIL_CLOSE, int stop_limit_rule=0):
        if ledger is None or commission_model is None or slippage_model is None:
            raise TypeError("ledger, commission_model and slippage_model are required")
        if volume_limit == volume_limit and not (volume_limit > 0 and volume_limit <= 1):
            raise ValueError(f"volume_limit must be in (0, 1] or NaN, was {volume_limit}")
        if intrabar_policy < IntrabarPolicy.STOP_FIRST or intrabar_policy > IntrabarPolicy.SUBMISSION:
            raise ValueError(f"unknown intrabar policy {intrabar_policy}")
        if trail_source < TrailSource.TRAIL_CLOSE or trail_source > TrailSource.TRAIL_HIGH_LOW:
            raise ValueError(f"unknown trail source {trail_source}")
        self.ledger = ledger
        self.commission_model = commission_model
        self.slippage_model = slippage_model
        self.history = None
        self.n_assets = ledger.n_assets
        self.exit_first = exit_first
        self.partial_on_insufficient = partial_on_insufficient
        self.fractional = fractional
        self.volume_limit = volume_limit
        self.intrabar_policy = intrabar_policy
        self.trail_source = trail_source
        if stop_limit_rule not in (0, 1):
            raise ValueError(f"unknown stop-limit rule {stop_limit_rule}")
        self.stop_limit_rule = stop_limit_rule
        n = self.n_assets
        self.tick_np = np.full(n, np.nan)
        self.lot_np = np.full(n, np.nan)
        self.min_qty_np = np.zeros(n)
        self.asset_fractional_np = np.full(n, 1 if fractional else 0, dtype=np.uint8)
        self.tick = self.tick_np
        self.lot = self.lot_np
        self.min_qty = self.min_qty_np
        self.asset_fractional = self.asset_fractional_np
        self.vol_used = np.zeros(n)
        self.vol_slice = np.full(n, -1, dtype=np.int64)
        self.o_asset = I64Buf(); self.o_type = I64Buf(); self.o_tif = I64Buf()
        self.o_status = I64Buf(); self.o_reason = I64Buf(); self.o_ts_created = I64Buf()
        self.o_slice_created = I64Buf(); self.o_first_session = I64Buf()
        self.o_triggered = I64Buf()
        self.o_parent = I64Buf(); self.o_child1 = I64Buf(); self.o_child2 = I64Buf()
        self.o_oco_next = I64Buf(); self.o_oco_reduce = I64Buf()
        self.o_qty = F64Buf(); self.o_filled = F64Buf(); self.o_limit = F64Buf()
        self.o_stop = F64Buf(); self.o_comm = F64Buf(); self.o_fill_value = F64Buf()
        self.o_trail_amount = F64Buf(); self.o_trail_percent = F64Buf(); self.o_best = F64Buf()
        self.limit_offsets = {}
        self.open_idx = I64Buf()
        self.ev_ts = I64Buf(); self.ev_oid = I64Buf(); self.ev_status = I64Buf()
        self.ev_reason = I64Buf(); self.ev_fill = I64Buf(); self.ev_filled = F64Buf()
        self.ev_qty = F64Buf(); self.ev_limit = F64Buf(); self.ev_stop = F64Buf()
        self._cand = I64Buf()
        self._cand_ref = F64Buf()
        self._slice = -1
        self.expired = set()
        self.skip_zero_volume = False

    def attach_history(self, History history):
        """Give the book the bar history (used by impact models that need context)."""
        if history is not None and history.n_assets != self.n_assets:
            raise ValueError("history has a different number of assets")
        self.history = history

    def set_contract(self, int asset, double tick_size=NAN, double lot_size=NAN,
                     double min_qty=0.0, fractional=None):
        """Contract specification of one asset.

        Parameters
        ----------
        asset : int
        tick_size : float
            Price increment (NaN: any price).
        lot_size : float
            Quantity increment; quantities are rounded toward zero to it (NaN:
            whole units, or any quantity when fractional).
        min_qty : float
            Smallest order quantity accepted.
        fractional : bool or None
            Whether this asset trades in fractions (None: the book's default).

        Raises
        ------
        ValueError
            Asset id out of range or a non-positive increment.
        """
        if asset < 0 or asset >= self.n_assets:
            raise IndexError(f"asset id {asset} out of range [0, {self.n_assets})")
        if tick_size == tick_size and not (isfinite(tick_size) and tick_size > 0):
            raise ValueError(f"tick_size must be finite and > 0, was {tick_size}")
        if lot_size == lot_size and not (isfinite(lot_size) and lot_size > 0):
            raise ValueError(f"lot_size must be finite and > 0, was {lot_size}")
        if not (isfinite(min_qty) and min_qty >= 0):
            raise ValueError(f"min_qty must be finite and >= 0, was {min_qty}")
        self.tick[asset] = tick_size
        self.lot[asset] = lot_size
        self.min_qty[asset] = min_qty
        if fractional is not None:
            self.asset_fractional[asset] = 1 if fractional else 0

    # --------------------------------------------------------------- submission
    cdef double _round_qty(self, int a, double q) noexcept:
        """Round ``q`` toward zero to the asset's lot (whole units by default)."""
        cdef double lot = self.lot[a], n
        if lot == lot:
            n = floor(fabs(q) / lot + 1e-9)
            return (n * lot) if q > 0 else -(n * lot)
        if self.asset_fractional[a]:
            return q
        return floor(q + 1e-9) if q > 0 else -floor(-q + 1e-9)

    def _round_price(self, int a, double p, bint round_down):
        cdef double tick = self.tick[a]
        if tick != tick:
            return p
        if round_down:
            return floor(p / tick + 1e-9) * tick
        return ceil(p / tick - 1e-9) * tick

    cpdef long long submit(self, int asset, double qty, int order_type=OrderType.MARKET,
               double limit_price=NAN, double stop_price=NAN,
               int time_in_force=TimeInForce.GTC, long long ts=0, long long slice_no=-1,
               double trail_amount=NAN, double trail_percent=NAN, double ref_price=NAN,
               long long parent=0, long long oco=0, double limit_offset=NAN) except -1:
        """Validate and accept an order; return its id (ids count from 1).

        ``parent`` (an order id) makes this a bracket exit held until the parent
        ends; ``oco`` (an order id) puts it in that order's one-cancels-other group.
        A trailing stop needs ``ref_price`` (the price its trail starts from) and
        exactly one of ``trail_amount`` / ``trail_percent``; a trailing stop-limit
        also needs ``limit_offset`` (its limit is the stop minus the offset for a
        sell, plus it for a buy). A market-on-close order takes no prices and a
        GTC or DAY time in force. An order whose
        quantity rounds below the asset's minimum is logged as rejected
        (``BELOW_MIN_QTY``) and its id returned.

        Raises
        ------
        ml4t.errors.OrderError
            Unknown asset id, non-finite or zero quantity, a fractional quantity
            where fractional trading is off, a missing, non-finite or non-positive
            price or trail, an unknown order type / time in force, or an unknown
            or finished parent / OCO peer.
        """
        if asset < 0 or asset >= self.n_assets:
            raise OrderError(f"unknown asset id {asset} (valid: 0..{self.n_assets - 1})")
        if not isfinite(qty) or qty == 0:
            raise OrderError(f"qty must be finite and non-zero, was {qty}")
        if (not self.asset_fractional[asset] and self.lot[asset] != self.lot[asset]
                and qty != floor(qty)):
            raise OrderError(f"qty {qty} is not a whole number; fractional trading is off "
                             "(run with fractional=True to allow it)")
        if order_type < OrderType.MARKET or order_type > OrderType.TRAILING_STOP_LIMIT:
            raise OrderError(f"unknown order type {order_type}")
        if order_type == OrderType.MARKET_ON_CLOSE and time_in_force > TimeInForce.DAY:
            raise OrderError("a market-on-close order fills at a session close: it takes "
                             "time in force GTC or DAY, not IOC/FOK")
        if time_in_force < TimeInForce.GTC or time_in_force > TimeInForce.FOK:
            raise OrderError(f"unknown time in force {time_in_force}")
        cdef bint buy = qty > 0
        if order_type == OrderType.LIMIT or order_type == OrderType.STOP_LIMIT:
            if not isfinite(limit_price) or limit_price <= 0:
                raise OrderError(f"limit_price must be finite and > 0, was {limit_price}")
            limit_price = self._round_price(asset, limit_price, buy)
        else:
            limit_price = NAN
        if order_type == OrderType.STOP or order_type == OrderType.STOP_LIMIT:
            if not isfinite(stop_price) or stop_price <= 0:
                raise OrderError(f"stop_price must be finite and > 0, was {stop_price}")
            stop_price = self._round_price(asset, stop_price, not buy)
        elif not _trailing(order_type):
            stop_price = NAN
        cdef double best = NAN
        if order_type == OrderType.TRAILING_STOP_LIMIT:
            if not isfinite(limit_offset):
                raise OrderError(f"a trailing stop-limit needs a finite limit_offset, was "
                                 f"{limit_offset}")
        if _trailing(order_type):
            if (trail_amount == trail_amount) == (trail_percent == trail_percent):
                raise OrderError("a trailing stop needs exactly one of trail_amount and "
                                 "trail_percent")
            if trail_amount == trail_amount and not (isfinite(trail_amount) and trail_amount > 0):
                raise OrderError(f"trail_amount must be finite and > 0, was {trail_amount}")
            if trail_percent == trail_percent and not (trail_percent > 0 and trail_percent < 1):
                raise OrderError(f"trail_percent must be a fraction in (0, 1), was {trail_percent}")
            if parent == 0 and not (isfinite(ref_price) and ref_price > 0):
                raise OrderError(f"a trailing stop needs the price its trail starts from; "
                                 f"the asset has no price yet (got {ref_price})")
            best = ref_price
        else:
            trail_amount = NAN
            trail_percent = NAN
        cdef long long pidx = parent - 1, peer = oco - 1
        if parent != 0:
            if pidx < 0 or pidx >= self.o_asset.n or not _is_live(self.o_status.data[pidx]):
                raise OrderError(f"parent order {parent} does not exist or has ended")
            if self.o_child1.data[pidx] >= 0 and self.o_child2.data[pidx] >= 0:
                raise OrderError(f"parent order {parent} already has two exits")
        if oco != 0:
            if peer < 0 or peer >= self.o_asset.n or not _is_live(self.o_status.data[peer]):
                raise OrderError(f"OCO peer order {oco} does not exist or has ended")
        cdef double q = self._round_qty(asset, qty)
        cdef long long idx = self.o_asset.n
        self.o_asset.push(asset)
        self.o_type.push(order_type)
        self.o_tif.push(time_in_force)
        self.o_status.push(OrderStatus.CREATED)
        self.o_reason.push(Reason.NONE)
        self.o_ts_created.push(ts)
        self.o_slice_created.push(slice_no)
        self.o_first_session.push(NO_SESSION)
        self.o_triggered.push(0)
        self.o_parent.push(pidx if parent != 0 else -1)
        self.o_child1.push(-1)
        self.o_child2.push(-1)
        self.o_oco_next.push(idx)
        self.o_oco_reduce.push(0)
        self.o_qty.push(q)
        self.o_filled.push(0.0)
        self.o_limit.push(limit_price)
        self.o_stop.push(stop_price)
        self.o_comm.push(0.0)
        self.o_fill_value.push(0.0)
        self.o_trail_amount.push(trail_amount)
        self.o_trail_percent.push(trail_percent)
        self.o_best.push(best)
        if order_type == OrderType.TRAILING_STOP_LIMIT:
            self.limit_offsets[idx] = limit_offset
        if _trailing(order_type) and best == best:
            self.o_stop.data[idx] = self._trail_stop(idx)
        self._event(ts, idx, OrderStatus.SUBMITTED, Reason.NONE, -1)
        if self.expired and asset in self.expired:
            self._event(ts, idx, OrderStatus.REJECTED, Reason.CONTRACT_EXPIRED, -1)
            return idx + 1
        if q == 0 or fabs(q) < self.min_qty[asset] - QTY_EPS:
            self.o_qty.data[idx] = qty                 # keep what was asked for the record
            self._event(ts, idx, OrderStatus.REJECTED, Reason.BELOW_MIN_QTY, -1)
            return idx + 1
        if parent != 0:
            if self.o_child1.data[pidx] < 0:
                self.o_child1.data[pidx] = idx
            else:
                self.o_child2.data[pidx] = idx
                sib = self.o_child1.data[pidx]
                self.o_oco_next.data[idx] = sib
                self.o_oco_next.data[sib] = idx
                self.o_oco_reduce.data[idx] = 1
                self.o_oco_reduce.data[sib] = 1
        if oco != 0:
            self.o_oco_next.data[idx] = self.o_oco_next.data[peer]
            self.o_oco_next.data[peer] = idx
        if parent == 0:
            self._event(ts, idx, OrderStatus.ACCEPTED, Reason.NONE, -1)
            self.open_idx.push(idx)
        return idx + 1

    def replace(self, long long order_id, double qty=NAN, double limit_price=NAN,
                double stop_price=NAN, long long ts=0):
        """Change the quantity and/or prices of a live order, keeping its id.

        Logged as a status row with reason ``REPLACED``. Returns True.

        Raises
        ------
        ml4t.errors.OrderError
            Unknown or finished order, a quantity that flips sign or is not above
            what already filled, a price the order type does not have, or an
            invalid value.
        """
        from ml4t.errors import OrderError
        cdef long long idx = order_id - 1
        if idx < 0 or idx >= self.o_asset.n:
            raise OrderError(f"no order with id {order_id}")
        if not _is_live(self.o_status.data[idx]):
            raise OrderError(f"order {order_id} has ended; only live orders can be replaced")
        cdef int a = <int> self.o_asset.data[idx]
        cdef long long t = self.o_type.data[idx]
        cdef double old = self.o_qty.data[idx], filled = self.o_filled.data[idx], q
        if qty == qty:
            if not isfinite(qty) or qty == 0 or (qty > 0) != (old > 0):
                raise OrderError(f"replacement qty must be finite, non-zero and keep the side "
                                 f"of the order ({old}), was {qty}")
            q = self._round_qty(a, qty)
            if fabs(q) <= fabs(filled) + QTY_EPS:
                raise OrderError(f"replacement qty {qty} is not above the {fabs(filled)} "
                                 "already filled")
            self.o_qty.data[idx] = q
        if limit_price == limit_price:
            if t != OrderType.LIMIT and t != OrderType.STOP_LIMIT:
                raise OrderError(f"order {order_id} has no limit price")
            if not (isfinite(limit_price) and limit_price > 0):
                raise OrderError(f"limit_price must be finite and > 0, was {limit_price}")
            self.o_limit.data[idx] = self._round_price(a, limit_price, old > 0)
        if stop_price == stop_price:
            if t != OrderType.STOP and t != OrderType.STOP_LIMIT:
                raise OrderError(f"order {order_id} has no stop price")
            if not (isfinite(stop_price) and stop_price > 0):
                raise OrderError(f"stop_price must be finite and > 0, was {stop_price}")
            self.o_stop.data[idx] = self._round_price(a, stop_price, old < 0)
        self._event(ts, idx, <int> self.o_status.data[idx], Reason.REPLACED, -1)
        return True

    def cancel(self, long long order_id, long long ts=0):
        """Cancel a live order; return True if it was live, False otherwise.

        Raises
        ------
        ml4t.errors.OrderError
            When no order has that id.
        """
        from ml4t.errors import OrderError
        cdef long long idx = order_id - 1
        if idx < 0 or idx >= self.o_asset.n:
            raise OrderError(f"no order with id {order_id}")
        if not _is_live(self.o_status.data[idx]):
            return False
        self._close_order(ts, idx, OrderStatus.CANCELED, Reason.USER_CANCEL)
        self._compact_open()
        return True

    def cancel_asset(self, int asset, long long ts, int reason):
        """Cancel every live order of ``asset`` with ``reason``; return how many."""
        cdef Py_ssize_t i, n = 0
        for i in range(self.o_asset.n):
            if self.o_asset.data[i] == asset and _is_live(self.o_status.data[i]):
                self._close_order(ts, i, OrderStatus.CANCELED, reason)
                n += 1
        self._compact_open()
        return n

    def cancel_all(self, long long ts, int reason):
        """Cancel every live order with ``reason``; return how many were canceled."""
        cdef Py_ssize_t i, n = 0
        for i in range(self.o_asset.n):
            if _is_live(self.o_status.data[i]):
                self._close_order(ts, i, OrderStatus.CANCELED, reason)
                n += 1
        self._compact_open()
        return n

    # ------------------------------------------------------------------ queries
    @property
    def n_orders(self):
        return self.o_asset.n

    @property
    def n_open(self):
        return self.open_idx.n

    @property
    def n_events(self):
        return self.ev_ts.n

    def open_ids(self):
        """Ids of the open orders in submission order."""
        return [self.open_idx.data[i] + 1 for i in range(self.open_idx.n)]

    def live_ids(self):
        """Ids of open and held (bracket exits waiting for their entry) orders."""
        return [i + 1 for i in range(self.o_asset.n) if _is_live(self.o_status.data[i])]

    cpdef double open_qty(self, int asset):
        """Signed quantity still to fill over the open orders of ``asset``."""
        cdef double total = 0.0
        cdef long long idx
        cdef Py_ssize_t i
        for i in range(self.open_idx.n):
            idx = self.open_idx.data[i]
            if self.o_asset.data[idx] == asset:
                total += self.o_qty.data[idx] - self.o_filled.data[idx]
        return total

    def order(self, long long order_id):
        """Current state of an order as a dict."""
        cdef long long idx = order_id - 1
        if idx < 0 or idx >= self.o_asset.n:
            from ml4t.errors import OrderError
            raise OrderError(f"no order with id {order_id}")
        filled = self.o_filled.data[idx]
        return dict(
            id=order_id, asset=self.o_asset.data[idx], qty=self.o_qty.data[idx],
            filled=filled, type=self.o_type.data[idx], time_in_force=self.o_tif.data[idx],
            status=self.o_status.data[idx], reason=self.o_reason.data[idx],
            limit_price=self.o_limit.data[idx], stop_price=self.o_stop.data[idx],
            ts_created=self.o_ts_created.data[idx], commission=self.o_comm.data[idx],
            avg_fill_price=(self.o_fill_value.data[idx] / fabs(filled)) if filled != 0 else NAN,
            parent=self.o_parent.data[idx] + 1,
            trail_amount=self.o_trail_amount.data[idx],
            trail_percent=self.o_trail_percent.data[idx],
        )

    def order_tuple(self, long long order_id):
        """Current state of an order as a tuple (fast path of :meth:`order`):
        ``(id, asset, qty, filled, type, tif, status, reason, limit, stop, ts_created,
        commission, avg_fill_price)``."""
        cdef long long idx = order_id - 1
        if idx < 0 or idx >= self.o_asset.n:
            from ml4t.errors import OrderError
            raise OrderError(f"no order with id {order_id}")
        cdef double filled = self.o_filled.data[idx]
        return (order_id, self.o_asset.data[idx], self.o_qty.data[idx], filled,
                self.o_type.data[idx], self.o_tif.data[idx], self.o_status.data[idx],
                self.o_reason.data[idx], self.o_limit.data[idx], self.o_stop.data[idx],
                self.o_ts_created.data[idx], self.o_comm.data[idx],
                (self.o_fill_value.data[idx] / fabs(filled)) if filled != 0 else NAN)

    def event(self, Py_ssize_t i):
        """Event ``i`` of the log as ``(ts, order_id, status, reason, fill_index, filled)``."""
        if i < 0 or i >= self.ev_ts.n:
            raise IndexError(f"event {i} out of range [0, {self.ev_ts.n})")
        return (self.ev_ts.data[i], self.ev_oid.data[i], self.ev_status.data[i],
                self.ev_reason.data[i], self.ev_fill.data[i], self.ev_filled.data[i])

    # ----------------------------------------------------------------- internal
    cdef int _event(self, long long ts, long long idx, int status, int reason,
                    long long fill) except -1:
        self.o_status.data[idx] = status
        self.o_reason.data[idx] = reason
        self.ev_ts.push(ts)
        self.ev_oid.push(idx + 1)
        self.ev_status.push(status)
        self.ev_reason.push(reason)
        self.ev_fill.push(fill)
        self.ev_filled.push(self.o_filled.data[idx])
        self.ev_qty.push(self.o_qty.data[idx])          # the order as it stood at this event
        self.ev_limit.push(self.o_limit.data[idx])
        self.ev_stop.push(self.o_stop.data[idx])
        if _is_final(status):
            self._on_final(ts, idx)
        return 0

    cdef int _close_order(self, long long ts, long long idx, int status, int reason) except -1:
        """Move a live order to a final status (the caller compacts the open list)."""
        self._event(ts, idx, status, reason, -1)
        return 0

    cdef int _on_final(self, long long ts, long long idx) except -1:
        """Links of an order that just ended: activate or cancel its bracket exits,
        cancel its OCO group."""
        cdef long long c, j, nxt
        cdef double filled = self.o_filled.data[idx]
        cdef int k
        for k in range(2):
            c = self.o_child1.data[idx] if k == 0 else self.o_child2.data[idx]
            if c < 0 or self.o_status.data[c] != OrderStatus.SUBMITTED:
                continue
            if fabs(filled) > QTY_EPS:
                self.o_qty.data[c] = -filled
                self.o_slice_created.data[c] = self._slice
                if _trailing(self.o_type.data[c]):
                    self.o_best.data[c] = self.o_fill_value.data[idx] / fabs(filled)
                    self.o_stop.data[c] = self._trail_stop(c)
                self._event(ts, c, OrderStatus.ACCEPTED, Reason.NONE, -1)
                self.open_idx.push(c)
            else:
                self._event(ts, c, OrderStatus.CANCELED, Reason.PARENT_CANCELED, -1)
        # one cancels other: an order that ended without filling takes its group with it
        # (bracket exits canceled with their parent are each canceled by the parent, and a
        # member canceled by its group leaves the rest to the member that canceled it: it
        # must not turn on that member, e.g. one that is partly filled and still open)
        if (self.o_reason.data[idx] == Reason.PARENT_CANCELED
                or self.o_reason.data[idx] == Reason.OCO_CANCELED):
            return 0
        if self.o_status.data[idx] != OrderStatus.FILLED or not self.o_oco_reduce.data[idx]:
            j = self.o_oco_next.data[idx]
            while j != idx:
                nxt = self.o_oco_next.data[j]
                if _is_live(self.o_status.data[j]):
                    self._event(ts, j, OrderStatus.CANCELED, Reason.OCO_CANCELED, -1)
                j = nxt
        return 0

    cdef int _on_fill_links(self, long long ts, long long idx, double q) except -1:
        """After a fill of ``q``: bracket exits shrink their sibling, other OCO members
        are canceled."""
        cdef long long j = self.o_oco_next.data[idx], nxt
        cdef double rem
        while j != idx:
            nxt = self.o_oco_next.data[j]
            if _is_live(self.o_status.data[j]):
                if self.o_oco_reduce.data[idx]:
                    # the sibling exit shares the position: shrink it, or cancel it when
                    # nothing is left (keeping its quantity on record)
                    rem = self.o_qty.data[j] - q - self.o_filled.data[j]
                    if fabs(rem) <= QTY_EPS or (rem > 0) != (self.o_qty.data[j] > 0):
                        self._event(ts, j, OrderStatus.CANCELED, Reason.OCO_CANCELED, -1)
                    else:
                        self.o_qty.data[j] -= q
                else:
                    self._event(ts, j, OrderStatus.CANCELED, Reason.OCO_CANCELED, -1)
            j = nxt
        return 0

    cdef int _compact_open(self) except -1:
        cdef Py_ssize_t i, j = 0
        cdef long long idx
        for i in range(self.open_idx.n):
            idx = self.open_idx.data[i]
            if _is_open(self.o_status.data[idx]):
                self.open_idx.data[j] = idx
                j += 1
        self.open_idx.n = j
        return 0

    cdef double _trail_stop(self, long long idx) noexcept:
        """The stop of a trailing order from its best price (a trailing stop-limit's
        limit is set here too: the stop minus its offset for a sell, plus for a buy)."""
        cdef double best = self.o_best.data[idx], amt = self.o_trail_amount.data[idx]
        cdef double pct = self.o_trail_percent.data[idx], stp
        if self.o_qty.data[idx] < 0:                   # sell stop under the highest price
            stp = best - amt if amt == amt else best * (1.0 - pct)
        else:
            stp = best + amt if amt == amt else best * (1.0 + pct)
        if self.o_type.data[idx] == OrderType.TRAILING_STOP_LIMIT:
            self._set_trail_limit(idx, stp)
        return stp

    cdef void _set_trail_limit(self, long long idx, double stp) noexcept:
        """The limit of trailing stop-limit ``idx`` for the stop ``stp`` (its offset is
        kept in the ``limit_offsets`` dict: only these orders have one)."""
        cdef object off = self.limit_offsets.get(idx)
        if off is None:
            return
        if self.o_qty.data[idx] < 0:
            self.o_limit.data[idx] = stp - <double> off
        else:
            self.o_limit.data[idx] = stp + <double> off

    cdef int _update_trails(self, long long k, const long long[::1] bar_slice,
                            const double[::1] h, const double[::1] l,
                            const double[::1] c) except -1:
        cdef Py_ssize_t i
        cdef long long idx
        cdef int a
        cdef double p
        for i in range(self.open_idx.n):
            idx = self.open_idx.data[i]
            if not _trailing(self.o_type.data[idx]) or not _is_open(self.o_status.data[idx]):
                continue
            a = <int> self.o_asset.data[idx]
            if bar_slice[a] != k or self.o_slice_created.data[idx] >= k:
                continue
            if self.o_type.data[idx] == OrderType.TRAILING_STOP_LIMIT:
                # a trailing stop-limit trails up to and including the bar that triggers
                # it; from then on it is a limit order at a fixed price
                if self.o_triggered.data[idx] == 2:
                    continue
                if self.o_triggered.data[idx] == 1:
                    self.o_triggered.data[idx] = 2
            if self.o_qty.data[idx] < 0:
                p = h[a] if self.trail_source == TrailSource.TRAIL_HIGH_LOW else c[a]
                if p > self.o_best.data[idx]:
                    self.o_best.data[idx] = p
            else:
                p = l[a] if self.trail_source == TrailSource.TRAIL_HIGH_LOW else c[a]
                if p < self.o_best.data[idx]:
                    self.o_best.data[idx] = p
            self.o_stop.data[idx] = self._trail_stop(idx)
        return 0

    cdef double _ref_price(self, long long idx, int rules, double o, double h, double l,
                           double c, double bid, double ask) noexcept:
        """Reference fill price of order ``idx`` on this bar, or NaN if it does not fill."""
        cdef int t = <int> self.o_type.data[idx]
        cdef bint buy = self.o_qty.data[idx] > 0
        cdef double lim = self.o_limit.data[idx], stp = self.o_stop.data[idx], px
        cdef bint sl = t == OrderType.STOP_LIMIT or t == OrderType.TRAILING_STOP_LIMIT
        if t == OrderType.MARKET_ON_CLOSE:
            # only when its own session closed before it could fill (see close_session)
            if not self.o_triggered.data[idx]:
                return NAN
            if rules == BarRules.QUOTES:
                px = ask if buy else bid
                return px if px > 0 else NAN
            return c
        if rules == BarRules.QUOTES:
            px = ask if buy else bid
            if not (px > 0):
                return NAN                                 # one-sided or empty quote
            if _stop_like(t) and not self.o_triggered.data[idx]:
                if (buy and px >= stp) or (not buy and px <= stp):
                    self.o_triggered.data[idx] = 1
                else:
                    return NAN
            if t == OrderType.LIMIT or sl:
                if (buy and px <= lim) or (not buy and px >= lim):
                    return px
                return NAN
            return px
        if rules == BarRules.AT_CLOSE:
            if _stop_like(t) and not self.o_triggered.data[idx]:
                if (buy and c >= stp) or (not buy and c <= stp):
                    self.o_triggered.data[idx] = 1
                else:
                    return NAN
            if t == OrderType.LIMIT or sl:
                if (buy and c <= lim) or (not buy and c >= lim):
                    return c
                return NAN
            return c
        # intrabar rules
        if t == OrderType.MARKET:
            return o
        if _limit_now(t, self.o_triggered.data[idx]):
            if buy:
                return (o if o < lim else lim) if l <= lim else NAN
            return (o if o > lim else lim) if h >= lim else NAN
        if t == OrderType.STOP or t == OrderType.TRAILING_STOP:
            # once elected a stop is a market order: what a partial fill leaves trades
            # at the next bar's open, whatever the price does
            if self.o_triggered.data[idx]:
                return o
            if buy:
                if h < stp:
                    return NAN
                self.o_triggered.data[idx] = 1
                return o if o > stp else stp
            if l > stp:
                return NAN
            self.o_triggered.data[idx] = 1
            return o if o < stp else stp
        # stop-limit not yet triggered
        if buy:
            if h < stp:
                return NAN
            self.o_triggered.data[idx] = 1
            if o >= stp:                                   # gapped through: a limit all bar
                return (o if o < lim else lim) if l <= lim else NAN
            if stp <= lim:
                return stp
            if self.stop_limit_rule == 1 and o > c and c <= lim:
                return lim                                 # fell back through the limit
            return NAN
        if l > stp:
            return NAN
        self.o_triggered.data[idx] = 1
        if o <= stp:
            return (o if o > lim else lim) if h >= lim else NAN
        if stp >= lim:
            return stp
        if self.stop_limit_rule == 1 and o <= c and c >= lim:
            return lim                                     # rose back through the limit
        return NAN

    cdef bint _prefer(self, long long a_idx, double a_ref, long long b_idx, double b_ref,
                      double o) noexcept:
        """True if OCO member ``a`` fills rather than ``b`` when one bar touches both."""
        cdef bint a_stop = _stop_like(self.o_type.data[a_idx])
        cdef bint b_stop = _stop_like(self.o_type.data[b_idx])
        cdef double da, db
        if self.intrabar_policy == IntrabarPolicy.SUBMISSION:
            return a_idx < b_idx
        if self.intrabar_policy == IntrabarPolicy.NEAREST_OPEN:
            da = fabs(a_ref - o)
            db = fabs(b_ref - o)
            if da != db:
                return da < db
        elif self.intrabar_policy == IntrabarPolicy.LIMIT_FIRST:
            if a_stop != b_stop:
                return not a_stop
            return a_idx < b_idx
        if a_stop != b_stop:
            return a_stop
        return a_idx < b_idx

    cdef int match(self, long long k, long long ts, long long session, int rules,
                   bint include_current, const long long[::1] bar_slice,
                   const double[::1] o, const double[::1] h, const double[::1] l,
                   const double[::1] c, const double[::1] v, const double[::1] bid,
                   const double[::1] ask, const double[::1] bid_size,
                   const double[::1] ask_size) except -1:
        """Match the open orders against slice ``k`` (per-asset bar and quote arrays)."""
        cdef Py_ssize_t i, j, n = self.open_idx.n, nc = 0
        cdef long long idx, sc, tmp_i, r
        cdef int a, tif
        cdef double ref, tmp_r
        cdef bint any_closed = False, red_i
        if n == 0:
            return 0
        self._slice = k
        self._cand.n = 0
        self._cand_ref.n = 0
        for i in range(n):
            idx = self.open_idx.data[i]
            if not _is_open(self.o_status.data[idx]):
                continue                                   # ended earlier in this pass (OCO)
            sc = self.o_slice_created.data[idx]
            if sc > k or (sc == k and not include_current):
                continue
            if sc == k and self.o_type.data[idx] == OrderType.MARKET_ON_CLOSE:
                continue                                   # never on the bar it was placed on
            a = <int> self.o_asset.data[idx]
            if bar_slice[a] != k:
                continue                                   # no bar for this asset now (halt)
            if self.o_first_session.data[idx] == NO_SESSION:
                self.o_first_session.data[idx] = session   # DAY: its first chance to match
            ref = self._ref_price(idx, rules, o[a], h[a], l[a], c[a], bid[a], ask[a])
            if ref != ref:
                tif = <int> self.o_tif.data[idx]
                if tif == TimeInForce.IOC:
                    self._close_order(ts, idx, OrderStatus.CANCELED, Reason.IOC_UNFILLED)
                    any_closed = True
                elif tif == TimeInForce.FOK:
                    self._close_order(ts, idx, OrderStatus.CANCELED, Reason.FOK_UNFILLED)
                    any_closed = True
                continue
            self._cand.push(idx)
            self._cand_ref.push(ref)
        nc = self._cand.n
        # intrabar path: of two touched members of one OCO group on one asset, one fills
        for i in range(nc):
            idx = self._cand.data[i]
            if idx < 0 or self.o_oco_next.data[idx] == idx:
                continue
            for j in range(i + 1, nc):
                tmp_i = self._cand.data[j]
                if tmp_i < 0 or self.o_asset.data[tmp_i] != self.o_asset.data[idx]:
                    continue
                r = self.o_oco_next.data[idx]
                while r != idx and r != tmp_i:
                    r = self.o_oco_next.data[r]
                if r != tmp_i:
                    continue
                a = <int> self.o_asset.data[idx]
                if self._prefer(idx, self._cand_ref.data[i], tmp_i, self._cand_ref.data[j], o[a]):
                    self._cand.data[j] = -1
                else:
                    self._cand.data[i] = -1
                    break
        if self.exit_first and nc > 1:
            # stable insertion sort: position-reducing orders first (by the positions now)
            for i in range(1, nc):
                tmp_i = self._cand.data[i]
                tmp_r = self._cand_ref.data[i]
                red_i = tmp_i >= 0 and self._reduces(tmp_i)
                j = i - 1
                while j >= 0 and red_i and not (self._cand.data[j] >= 0
                                                and self._reduces(self._cand.data[j])):
                    self._cand.data[j + 1] = self._cand.data[j]
                    self._cand_ref.data[j + 1] = self._cand_ref.data[j]
                    j -= 1
                self._cand.data[j + 1] = tmp_i
                self._cand_ref.data[j + 1] = tmp_r
        for i in range(nc):
            idx = self._cand.data[i]
            if idx < 0 or not _is_open(self.o_status.data[idx]):
                continue                                   # lost the intrabar race / canceled
            a = <int> self.o_asset.data[idx]
            if rules == BarRules.QUOTES:
                self._fill_one(k, ts, idx, self._cand_ref.data[i], v[a],
                               ask_size[a] if self.o_qty.data[idx] > 0 else bid_size[a])
            else:
                self._fill_one(k, ts, idx, self._cand_ref.data[i], v[a], NAN)
            any_closed = True
        self._update_trails(k, bar_slice, h, l, c)
        if any_closed:
            self._compact_open()
        return 0

    cdef bint _reduces(self, long long idx) noexcept:
        cdef double pos = self.ledger.qty[<int> self.o_asset.data[idx]]
        cdef double q = self.o_qty.data[idx]
        return pos != 0 and (pos > 0) != (q > 0)

    cdef int _context(self, int a, double* sigma, double* adv) noexcept:
        """Point-in-time sigma of close-to-close returns and average volume over the
        slippage model's window, from the bars before the current one."""
        cdef History hist = self.history
        cdef int w = self.slippage_model.history_window
        cdef long long end, start, r, m = 0
        cdef double s = 0.0, s2 = 0.0, vs = 0.0, x, mean
        sigma[0] = NAN
        adv[0] = NAN
        if hist is None or w <= 0:
            return 0
        end = hist.count[a] - 1                        # rows before the current bar
        if end < 2:
            return 0
        start = end - w
        if start < 1:
            start = 1
        for r in range(start, end):
            x = hist.close_at(r, a) / hist.close_at(r - 1, a) - 1.0
            s += x
            s2 += x * x
            vs += hist.volume_at(r, a)
            m += 1
        if m < 2:
            return 0
        mean = s / m
        sigma[0] = sqrt((s2 - m * mean * mean) / (m - 1)) if s2 > m * mean * mean else 0.0
        adv[0] = vs / m
        return 0

    cdef void _fill_context(self, int a, long long order_id) noexcept:
        """Tell both cost models which fill they are about to price and charge."""
        self.slippage_model.fill_asset = a
        self.slippage_model.fill_order = order_id
        self.commission_model.fill_asset = a
        self.commission_model.fill_order = order_id

    cdef int _fill_one(self, long long k, long long ts, long long idx, double ref,
                       double volume, double quote_size) except -1:
        cdef int a = <int> self.o_asset.data[idx]
        cdef int tif = <int> self.o_tif.data[idx]
        cdef int t = <int> self.o_type.data[idx]
        cdef double rem = self.o_qty.data[idx] - self.o_filled.data[idx]
        cdef double px, comm, q = rem, cap = INFINITY, avail, sigma = NAN, adv = NAN, pos
        cdef double svl = self.slippage_model.volume_limit
        cdef int reason = 0
        cdef long long fi
        cdef bint capped = False
        if self.skip_zero_volume and quote_size != quote_size and not (volume > 0):
            # nothing traded in this bar: nothing can fill in it
            if tif == TimeInForce.IOC:
                self._close_order(ts, idx, OrderStatus.CANCELED, Reason.IOC_UNFILLED)
            elif tif == TimeInForce.FOK:
                self._close_order(ts, idx, OrderStatus.CANCELED, Reason.FOK_UNFILLED)
            return 0
        # liquidity: a share of the bar's volume, shared by this asset's orders
        if self.volume_limit == self.volume_limit:
            cap = self.volume_limit
        if svl == svl and svl < cap:
            cap = svl
        if quote_size == quote_size:                   # quotes: the quoted size is the cap
            cap = 1.0
            volume = quote_size
        if cap < INFINITY:
            if self.vol_slice[a] != k:
                self.vol_slice[a] = k
                self.vol_used[a] = 0.0
            avail = cap * volume - self.vol_used[a] if volume == volume else 0.0
            if not self.asset_fractional[a] or self.lot[a] == self.lot[a]:
                avail = fabs(self._round_qty(a, avail)) if avail > 0 else 0.0
            if avail <= QTY_EPS or (tif == TimeInForce.FOK and avail < fabs(rem) - QTY_EPS):
                if tif == TimeInForce.IOC:
                    self._close_order(ts, idx, OrderStatus.CANCELED, Reason.IOC_UNFILLED)
                elif tif == TimeInForce.FOK:
                    self._close_order(ts, idx, OrderStatus.CANCELED, Reason.FOK_UNFILLED)
                return 0
            if avail < fabs(rem):
                q = avail if rem > 0 else -avail
                capped = True
        if self.slippage_model.history_window > 0:
            self._context(a, &sigma, &adv)
        self._fill_context(a, idx + 1)
        px = self.slippage_model.fill_price_ctx(ref, q, volume, sigma, adv)
        if px != px:                                   # the model declines this bar
            if tif == TimeInForce.IOC:
                self._close_order(ts, idx, OrderStatus.CANCELED, Reason.IOC_UNFILLED)
            elif tif == TimeInForce.FOK:
                self._close_order(ts, idx, OrderStatus.CANCELED, Reason.FOK_UNFILLED)
            return 0
        if not isfinite(px) or px <= 0:
            self._close_order(ts, idx, OrderStatus.REJECTED, Reason.PRICE_INVALID)
            return 0
        if (t == OrderType.LIMIT or t == OrderType.STOP_LIMIT
                or t == OrderType.TRAILING_STOP_LIMIT) and self.slippage_model.respect_limit:
            if q > 0 and px > self.o_limit.data[idx]:
                px = self.o_limit.data[idx]
            elif q < 0 and px < self.o_limit.data[idx]:
                px = self.o_limit.data[idx]
        comm = self.commission_model.commission(q, px, fabs(self.o_filled.data[idx]),
                                                self.o_comm.data[idx])
        reason = self.ledger.check(a, q, px, comm)
        if reason != 0 and self.ledger.check_opening_only:
            # only the part that opens or enlarges a position needs buying power: fill the
            # closing leg and refuse the rest
            pos = self.ledger.qty[a]
            if pos != 0 and (pos > 0) != (q > 0) and tif != TimeInForce.FOK:
                q = -pos if fabs(q) > fabs(pos) else q
                if fabs(q) < fabs(rem) - QTY_EPS:
                    comm = self.commission_model.commission(
                        q, px, fabs(self.o_filled.data[idx]), self.o_comm.data[idx])
                    fi = self.ledger.apply_fill(ts, k, idx + 1, a, q, px, ref, comm)
                    self.o_filled.data[idx] += q
                    self.o_comm.data[idx] += comm
                    self.o_fill_value.data[idx] += fabs(q) * px
                    self._event(ts, idx, OrderStatus.PARTIALLY_FILLED, Reason.NONE, fi)
                    self._on_fill_links(ts, idx, q)
                    self._close_order(ts, idx, OrderStatus.CANCELED, reason)
                    return 0
                reason = 0
        if reason != 0:
            if not self.partial_on_insufficient or tif == TimeInForce.FOK:
                self._close_order(ts, idx, OrderStatus.REJECTED, reason)
                return 0
            q = self._max_fill(idx, q, px)
            if q == 0:
                self._close_order(ts, idx, OrderStatus.REJECTED, reason)
                return 0
            comm = self.commission_model.commission(q, px, fabs(self.o_filled.data[idx]),
                                                    self.o_comm.data[idx])
        fi = self.ledger.apply_fill(ts, k, idx + 1, a, q, px, ref, comm)
        if cap < INFINITY:
            self.vol_used[a] += fabs(q)
        self.o_filled.data[idx] += q
        self.o_comm.data[idx] += comm
        self.o_fill_value.data[idx] += fabs(q) * px
        if fabs(self.o_qty.data[idx] - self.o_filled.data[idx]) <= QTY_EPS:
            self._event(ts, idx, OrderStatus.FILLED, Reason.NONE, fi)
            self._on_fill_links(ts, idx, q)
            return 0
        self._event(ts, idx, OrderStatus.PARTIALLY_FILLED, Reason.NONE, fi)
        self._on_fill_links(ts, idx, q)
        if reason != 0:
            self._close_order(ts, idx, OrderStatus.CANCELED, reason)
        elif tif == TimeInForce.IOC:
            self._close_order(ts, idx, OrderStatus.CANCELED, Reason.IOC_UNFILLED)
        return 0

    cdef double _max_fill(self, long long idx, double remaining, double px) except? -1.0:
        """Largest signed quantity (same sign as ``remaining``) that passes the check."""
        cdef int a = <int> self.o_asset.data[idx]
        cdef double sgn = 1.0 if remaining > 0 else -1.0
        cdef double lo = 0.0, hi = fabs(remaining), mid, comm
        cdef double fb = fabs(self.o_filled.data[idx]), cb = self.o_comm.data[idx]
        cdef double lot = self.lot[a]
        cdef int it
        if not self.asset_fractional[a] or lot == lot:
            if lot != lot:
                lot = 1.0
            hi = floor(hi / lot + 1e-9)
            while hi - lo > 0.5:
                mid = floor((lo + hi + 1) / 2)
                comm = self.commission_model.commission(sgn * mid * lot, px, fb, cb)
                if self.ledger.check(a, sgn * mid * lot, px, comm) == 0:
                    lo = mid
                else:
                    hi = mid - 1
            if lo * lot < self.min_qty[a] - QTY_EPS:
                return 0.0
            return sgn * lo * lot
        for it in range(60):
            mid = 0.5 * (lo + hi)
            comm = self.commission_model.commission(sgn * mid, px, fb, cb)
            if self.ledger.check(a, sgn * mid, px, comm) == 0:
                lo = mid
            else:
                hi = mid
        return sgn * lo

    cdef int expire_day(self, long long session, long long ts) except -1:
        """End of ``session``: expire DAY orders whose first session has ended."""
        cdef Py_ssize_t i
        cdef long long idx, fs
        cdef bint any_closed = False
        for i in range(self.open_idx.n):
            idx = self.open_idx.data[i]
            if self.o_tif.data[idx] == TimeInForce.DAY and _is_open(self.o_status.data[idx]):
                fs = self.o_first_session.data[idx]
                if fs != NO_SESSION and fs <= session:
                    self._close_order(ts, idx, OrderStatus.EXPIRED, Reason.DAY_EXPIRED)
                    any_closed = True
        if any_closed:
            self._compact_open()
        return 0

    cdef int close_session(self, long long k, long long session, long long ts,
                           const double[::1] c, const double[::1] v, const double[::1] bid,
                           const double[::1] ask, bint quotes) except -1:
        """A session ended (the next slice starts another): market-on-close orders that
        had a bar of their asset in it after they were placed fill at its close (the
        asset's last close, or its last quote), stamped ``ts`` / slice ``k`` (the
        session's last slice); the others -- placed at or after their asset's last bar
        of the session -- fill at the close of their asset's next bar. Position-reducing
        orders first under ``exit_first``, then submission order."""
        cdef Py_ssize_t i, n = self.open_idx.n
        cdef long long idx
        cdef int a, p
        cdef double ref
        cdef bint any_closed = False
        if n == 0:
            return 0
        for p in range(2 if self.exit_first else 1):
            for i in range(n):
                idx = self.open_idx.data[i]
                if (self.o_type.data[idx] != OrderType.MARKET_ON_CLOSE
                        or not _is_open(self.o_status.data[idx])
                        or self.o_triggered.data[idx]):
                    continue
                if self.o_first_session.data[idx] != session:
                    if p == 0 or not self.exit_first:
                        self.o_triggered.data[idx] = 1     # no bar after it this session
                    continue
                if self.exit_first and (p == 0) != self._reduces(idx):
                    continue
                a = <int> self.o_asset.data[idx]
                if quotes:
                    ref = ask[a] if self.o_qty.data[idx] > 0 else bid[a]
                else:
                    ref = c[a]
                if not (ref > 0):
                    continue
                self._slice = k
                self._fill_one(k, ts, idx, ref, v[a], NAN)
                any_closed = True
        if any_closed:
            self._compact_open()
        return 0

    cpdef int split(self, int asset, double ratio, long long ts) except -1:
        """Adjust the live orders of ``asset`` for a split of ``ratio``.

        Quantities (ordered and filled) are multiplied by the ratio and limit,
        stop and trail prices divided by it; with whole units the remaining
        quantity is rounded toward zero, and an order left with nothing to fill
        is canceled with reason ``CORPORATE_ACTION``. Returns the number of
        orders adjusted.
        """
        if asset < 0 or asset >= self.n_assets:
            raise IndexError(f"asset id {asset} out of range [0, {self.n_assets})")
        if not isfinite(ratio) or ratio <= 0:
            raise ValueError(f"split ratio must be finite and > 0, was {ratio}")
        cdef Py_ssize_t i
        cdef double filled, rem
        cdef int n = 0
        for i in range(self.o_asset.n):
            if self.o_asset.data[i] != asset or not _is_live(self.o_status.data[i]):
                continue
            n += 1
            filled = self.o_filled.data[i] * ratio
            rem = (self.o_qty.data[i] - self.o_filled.data[i]) * ratio
            if not self.asset_fractional[asset]:
                rem = <double> (<long long> (rem + (1e-9 if rem > 0 else -1e-9)))
            self.o_filled.data[i] = filled
            self.o_qty.data[i] = filled + rem
            self.o_limit.data[i] /= ratio
            self.o_stop.data[i] /= ratio
            self.o_best.data[i] /= ratio
            self.o_trail_amount.data[i] /= ratio
            if i in self.limit_offsets:
                self.limit_offsets[i] = self.limit_offsets[i] / ratio
            if rem == 0:
                self._close_order(ts, i, OrderStatus.CANCELED, Reason.CORPORATE_ACTION)
            else:                                      # a row showing the adjusted order
                self._event(ts, i, <int> self.o_status.data[i], Reason.CORPORATE_ACTION, -1)
        self._compact_open()
        return n

    cpdef long long liquidate(self, long long k, long long ts, int asset, double qty,
                              double price) except -1:
        """Forced liquidation: a market order for ``qty`` filled now at ``price`` (plus
        slippage and commission), logged with reason ``MARGIN_CALL``. Returns its id.

        Raises
        ------
        ValueError
            Asset out of range, a quantity that does not reduce the position, or a
            non-positive price.
        """
        if asset < 0 or asset >= self.n_assets:
            raise IndexError(f"asset id {asset} out of range [0, {self.n_assets})")
        cdef double pos = self.ledger.qty[asset]
        if not isfinite(qty) or qty == 0 or (qty > 0) == (pos > 0) or fabs(qty) > fabs(pos) + QTY_EPS:
            raise ValueError(f"a liquidation must reduce the position ({pos}), got {qty}")
        if not (isfinite(price) and price > 0):
            raise ValueError(f"liquidation price must be finite and > 0, was {price}")
        return self.forced_fill(k, ts, asset, qty, price, Reason.MARGIN_CALL, False)

    cpdef long long forced_fill(self, long long k, long long ts, int asset, double qty,
                                double price, int reason, bint check) except -1:
        """A market order the engine places itself (margin call, contract expiry, roll),
        filled now at ``price`` plus slippage and commission and logged with ``reason``.
        With ``check`` the account's buying-power check applies: a fill that fails it is
        logged as rejected with the check's reason. Returns the order id.
        """
        if asset < 0 or asset >= self.n_assets:
            raise IndexError(f"asset id {asset} out of range [0, {self.n_assets})")
        if not isfinite(qty) or qty == 0:
            raise ValueError(f"a forced fill needs a finite non-zero quantity, got {qty}")
        if not (isfinite(price) and price > 0):
            raise ValueError(f"forced fill price must be finite and > 0, was {price}")
        cdef long long idx = self.o_asset.n
        cdef int why
        self.o_asset.push(asset); self.o_type.push(OrderType.MARKET)
        self.o_tif.push(TimeInForce.IOC); self.o_status.push(OrderStatus.CREATED)
        self.o_reason.push(reason); self.o_ts_created.push(ts)
        self.o_slice_created.push(k); self.o_first_session.push(NO_SESSION)
        self.o_triggered.push(0); self.o_parent.push(-1); self.o_child1.push(-1)
        self.o_child2.push(-1); self.o_oco_next.push(idx); self.o_oco_reduce.push(0)
        self.o_qty.push(qty); self.o_filled.push(0.0); self.o_limit.push(NAN)
        self.o_stop.push(NAN); self.o_comm.push(0.0); self.o_fill_value.push(0.0)
        self.o_trail_amount.push(NAN); self.o_trail_percent.push(NAN); self.o_best.push(NAN)
        self._event(ts, idx, OrderStatus.SUBMITTED, reason, -1)
        self._fill_context(asset, idx + 1)
        cdef double px = self.slippage_model.fill_price(price, qty, NAN)
        if not (isfinite(px) and px > 0):
            px = price
        cdef double comm = self.commission_model.commission(qty, px, 0.0, 0.0)
        if check:
            why = self.ledger.check(asset, qty, px, comm)
            if why != 0:
                self.o_status.data[idx] = OrderStatus.REJECTED
                self.o_reason.data[idx] = why
                self._event(ts, idx, OrderStatus.REJECTED, why, -1)
                return idx + 1
        self._event(ts, idx, OrderStatus.ACCEPTED, reason, -1)
        cdef long long fi = self.ledger.apply_fill(ts, k, idx + 1, asset, qty, px, price, comm)
        self.o_filled.data[idx] = qty
        self.o_comm.data[idx] = comm
        self.o_fill_value.data[idx] = fabs(qty) * px
        self._event(ts, idx, OrderStatus.FILLED, reason, fi)
        return idx + 1
