# cython: boundscheck=False, wraparound=False, cdivision=True
"""Order matching against bars: Market, Limit, Stop, StopLimit; GTC, DAY, IOC, FOK.

Market rules implemented here (pinned by ``golden/basics``):

Intrabar rules (``fill="next_open"``), for an order submitted before the bar:

* Market: fills at the bar's open.
* Buy limit: fills if ``low <= limit``, at ``min(open, limit)`` (a gap down
  through the limit fills at the better open). Sell limit: ``high >= limit``,
  at ``max(open, limit)``.
* Buy stop: triggers if ``high >= stop``, fills at ``max(open, stop)`` (the
  worse of open and stop). Sell stop: ``low <= stop``, at ``min(open, stop)``.
* Stop-limit: triggered at the open (gap through the stop) it acts as a limit
  for the whole bar; triggered inside the bar it fills at the stop when the
  stop is within the limit, otherwise it rests as a limit from the next bar.

Close rules (``fill="next_close"`` and ``"same_close"``): only the close
decides; market orders fill at the close, a buy limit fills at the close when
``close <= limit``, a buy stop when ``close >= stop`` (sells mirrored).

Slippage moves the reference price against the trader; a limit order never
fills worse than its limit. Commission is computed on the slipped price.

Time in force: GTC rests until filled or canceled; DAY expires at the end of
the first session in which it could match; IOC and FOK get one chance, at the
first bar of their asset after submission (IOC cancels the unfilled rest, FOK
fills completely or not at all). Orders still open when the data ends are
canceled with reason ``END_OF_DATA``.

Sequencing at one fill point: position-reducing orders first, then the rest,
each group in submission order (``fill_order="exit_first"``); or strictly in
submission order (``fill_order="submission"``). Buying power is checked before
each fill; an order that does not fit is rejected with a reason, or filled up
to what fits with the rest canceled when ``on_insufficient="partial"``.
"""
import numpy as np
from libc.math cimport fabs, floor, isfinite, INFINITY, NAN

from ml4t._core.buffers cimport F64Buf, I64Buf
from ml4t._core.accounting cimport Ledger
from ml4t._core.costs cimport CommissionModel, SlippageModel
from ml4t._core.enums cimport OrderType, TimeInForce, OrderStatus, Reason, BarRules

cdef double QTY_EPS = 1e-9
cdef long long NO_SESSION = -(1LL << 62)


cdef inline bint _is_open(long long status) noexcept nogil:
    return status == OrderStatus.ACCEPTED or status == OrderStatus.PARTIALLY_FILLED


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
        Whether quantities may be fractional.
    """

    def __init__(self, Ledger ledger, CommissionModel commission_model,
                 SlippageModel slippage_model, bint exit_first=True,
                 bint partial_on_insufficient=False, bint fractional=False):
        if ledger is None or commission_model is None or slippage_model is None:
            raise TypeError("ledger, commission_model and slippage_model are required")
        self.ledger = ledger
        self.commission_model = commission_model
        self.slippage_model = slippage_model
        self.n_assets = ledger.n_assets
        self.exit_first = exit_first
        self.partial_on_insufficient = partial_on_insufficient
        self.fractional = fractional
        self.o_asset = I64Buf(); self.o_type = I64Buf(); self.o_tif = I64Buf()
        self.o_status = I64Buf(); self.o_reason = I64Buf(); self.o_ts_created = I64Buf()
        self.o_slice_created = I64Buf(); self.o_first_session = I64Buf()
        self.o_triggered = I64Buf()
        self.o_qty = F64Buf(); self.o_filled = F64Buf(); self.o_limit = F64Buf()
        self.o_stop = F64Buf(); self.o_comm = F64Buf(); self.o_fill_value = F64Buf()
        self.open_idx = I64Buf()
        self.ev_ts = I64Buf(); self.ev_oid = I64Buf(); self.ev_status = I64Buf()
        self.ev_reason = I64Buf(); self.ev_fill = I64Buf(); self.ev_filled = F64Buf()
        self._cand = I64Buf()
        self._cand_ref = F64Buf()

    # --------------------------------------------------------------- submission
    def submit(self, int asset, double qty, int order_type=OrderType.MARKET,
               double limit_price=NAN, double stop_price=NAN,
               int time_in_force=TimeInForce.GTC, long long ts=0, long long slice_no=-1):
        """Validate and accept an order; return its id (ids count from 1).

        Raises
        ------
        ml4t.errors.OrderError
            Unknown asset id, non-finite or zero quantity, a fractional quantity
            when fractional trading is off, a missing, non-finite or non-positive
            limit/stop price, or an unknown order type / time in force.
        """
        from ml4t.errors import OrderError
        if asset < 0 or asset >= self.n_assets:
            raise OrderError(f"unknown asset id {asset} (valid: 0..{self.n_assets - 1})")
        if not isfinite(qty) or qty == 0:
            raise OrderError(f"qty must be finite and non-zero, was {qty}")
        if not self.fractional and qty != floor(qty):
            raise OrderError(f"qty {qty} is not a whole number; fractional trading is off "
                             "(run with fractional=True to allow it)")
        if order_type < OrderType.MARKET or order_type > OrderType.STOP_LIMIT:
            raise OrderError(f"unknown order type {order_type}")
        if time_in_force < TimeInForce.GTC or time_in_force > TimeInForce.FOK:
            raise OrderError(f"unknown time in force {time_in_force}")
        if order_type == OrderType.LIMIT or order_type == OrderType.STOP_LIMIT:
            if not isfinite(limit_price) or limit_price <= 0:
                raise OrderError(f"limit_price must be finite and > 0, was {limit_price}")
        else:
            limit_price = NAN
        if order_type == OrderType.STOP or order_type == OrderType.STOP_LIMIT:
            if not isfinite(stop_price) or stop_price <= 0:
                raise OrderError(f"stop_price must be finite and > 0, was {stop_price}")
        else:
            stop_price = NAN
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
        self.o_qty.push(qty)
        self.o_filled.push(0.0)
        self.o_limit.push(limit_price)
        self.o_stop.push(stop_price)
        self.o_comm.push(0.0)
        self.o_fill_value.push(0.0)
        self._event(ts, idx, OrderStatus.SUBMITTED, Reason.NONE, -1)
        self._event(ts, idx, OrderStatus.ACCEPTED, Reason.NONE, -1)
        self.open_idx.push(idx)
        return idx + 1

    def cancel(self, long long order_id, long long ts=0):
        """Cancel an open order; return True if it was open, False otherwise.

        Raises
        ------
        ml4t.errors.OrderError
            When no order has that id.
        """
        from ml4t.errors import OrderError
        cdef long long idx = order_id - 1
        if idx < 0 or idx >= self.o_asset.n:
            raise OrderError(f"no order with id {order_id}")
        if not _is_open(self.o_status.data[idx]):
            return False
        self._close_order(ts, idx, OrderStatus.CANCELED, Reason.USER_CANCEL)
        self._compact_open()
        return True

    def cancel_all(self, long long ts, int reason):
        """Cancel every open order with ``reason``; return how many were canceled."""
        cdef Py_ssize_t i, n = self.open_idx.n
        for i in range(n):
            self._close_order(ts, self.open_idx.data[i], OrderStatus.CANCELED, reason)
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

    def open_qty(self, int asset):
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
        )

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
        if reason != Reason.NONE:
            self.o_reason.data[idx] = reason
        self.ev_ts.push(ts)
        self.ev_oid.push(idx + 1)
        self.ev_status.push(status)
        self.ev_reason.push(reason)
        self.ev_fill.push(fill)
        self.ev_filled.push(self.o_filled.data[idx])
        return 0

    cdef int _close_order(self, long long ts, long long idx, int status, int reason) except -1:
        """Move an open order to a final status (the caller compacts the open list)."""
        self._event(ts, idx, status, reason, -1)
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

    cdef double _ref_price(self, long long idx, int rules, double o, double h, double l,
                           double c) noexcept:
        """Reference fill price of order ``idx`` on this bar, or NaN if it does not fill."""
        cdef int t = <int> self.o_type.data[idx]
        cdef bint buy = self.o_qty.data[idx] > 0
        cdef double lim = self.o_limit.data[idx], stp = self.o_stop.data[idx], tp
        if rules == BarRules.AT_CLOSE:
            if t == OrderType.STOP or (t == OrderType.STOP_LIMIT and not self.o_triggered.data[idx]):
                if (buy and c >= stp) or (not buy and c <= stp):
                    self.o_triggered.data[idx] = 1
                else:
                    return NAN
            if t == OrderType.LIMIT or t == OrderType.STOP_LIMIT:
                if (buy and c <= lim) or (not buy and c >= lim):
                    return c
                return NAN
            return c
        # intrabar rules
        if t == OrderType.MARKET:
            return o
        if t == OrderType.LIMIT or (t == OrderType.STOP_LIMIT and self.o_triggered.data[idx]):
            if buy:
                return (o if o < lim else lim) if l <= lim else NAN
            return (o if o > lim else lim) if h >= lim else NAN
        if t == OrderType.STOP:
            if buy:
                return (o if o > stp else stp) if h >= stp else NAN
            return (o if o < stp else stp) if l <= stp else NAN
        # stop-limit not yet triggered
        if buy:
            if h < stp:
                return NAN
            self.o_triggered.data[idx] = 1
            if o >= stp:                                   # gapped through: a limit all bar
                return (o if o < lim else lim) if l <= lim else NAN
            return stp if stp <= lim else NAN
        if l > stp:
            return NAN
        self.o_triggered.data[idx] = 1
        if o <= stp:
            return (o if o > lim else lim) if h >= lim else NAN
        return stp if stp >= lim else NAN

    cdef int match(self, long long k, long long ts, long long session, int rules,
                   bint include_current, const long long[::1] bar_slice,
                   const double[::1] o, const double[::1] h, const double[::1] l,
                   const double[::1] c, const double[::1] v) except -1:
        """Match the open orders against slice ``k`` (per-asset bar arrays)."""
        cdef Py_ssize_t i, j, n = self.open_idx.n, nc = 0
        cdef long long idx, sc, tmp_i
        cdef int a, tif
        cdef double ref, pos, rem, tmp_r
        cdef bint any_closed = False, red_i, red_j
        if n == 0:
            return 0
        self._cand.n = 0
        self._cand_ref.n = 0
        for i in range(n):
            idx = self.open_idx.data[i]
            sc = self.o_slice_created.data[idx]
            if sc > k or (sc == k and not include_current):
                continue
            if self.o_first_session.data[idx] == NO_SESSION:
                self.o_first_session.data[idx] = session
            a = <int> self.o_asset.data[idx]
            if bar_slice[a] != k:
                continue                                   # no bar for this asset now (halt)
            ref = self._ref_price(idx, rules, o[a], h[a], l[a], c[a])
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
        if self.exit_first and nc > 1:
            # stable insertion sort: position-reducing orders first (by the positions now)
            for i in range(1, nc):
                tmp_i = self._cand.data[i]
                tmp_r = self._cand_ref.data[i]
                red_i = self._reduces(tmp_i)
                j = i - 1
                while j >= 0 and red_i and not self._reduces(self._cand.data[j]):
                    self._cand.data[j + 1] = self._cand.data[j]
                    self._cand_ref.data[j + 1] = self._cand_ref.data[j]
                    j -= 1
                self._cand.data[j + 1] = tmp_i
                self._cand_ref.data[j + 1] = tmp_r
        for i in range(nc):
            idx = self._cand.data[i]
            a = <int> self.o_asset.data[idx]
            self._fill_one(k, ts, idx, self._cand_ref.data[i], v[a])
            any_closed = True
        if any_closed:
            self._compact_open()
        return 0

    cdef bint _reduces(self, long long idx) noexcept:
        cdef double pos = self.ledger.qty[<int> self.o_asset.data[idx]]
        cdef double q = self.o_qty.data[idx]
        return pos != 0 and (pos > 0) != (q > 0)

    cdef int _fill_one(self, long long k, long long ts, long long idx, double ref,
                       double volume) except -1:
        cdef int a = <int> self.o_asset.data[idx]
        cdef int tif = <int> self.o_tif.data[idx]
        cdef int t = <int> self.o_type.data[idx]
        cdef double rem = self.o_qty.data[idx] - self.o_filled.data[idx]
        cdef double px, comm, q
        cdef int reason
        cdef long long fi
        px = self.slippage_model.fill_price(ref, rem, volume)
        if not isfinite(px) or px <= 0:
            self._close_order(ts, idx, OrderStatus.REJECTED, Reason.PRICE_INVALID)
            return 0
        if t == OrderType.LIMIT or t == OrderType.STOP_LIMIT:
            if rem > 0 and px > self.o_limit.data[idx]:
                px = self.o_limit.data[idx]
            elif rem < 0 and px < self.o_limit.data[idx]:
                px = self.o_limit.data[idx]
        comm = self.commission_model.commission(rem, px, fabs(self.o_filled.data[idx]),
                                                self.o_comm.data[idx])
        reason = self.ledger.check(a, rem, px, comm)
        q = rem
        if reason != 0:
            if not self.partial_on_insufficient or tif == TimeInForce.FOK:
                self._close_order(ts, idx, OrderStatus.REJECTED, reason)
                return 0
            q = self._max_fill(idx, rem, px)
            if q == 0:
                self._close_order(ts, idx, OrderStatus.REJECTED, reason)
                return 0
            comm = self.commission_model.commission(q, px, fabs(self.o_filled.data[idx]),
                                                    self.o_comm.data[idx])
        fi = self.ledger.apply_fill(ts, k, idx + 1, a, q, px, ref, comm)
        self.o_filled.data[idx] += q
        self.o_comm.data[idx] += comm
        self.o_fill_value.data[idx] += fabs(q) * px
        if fabs(self.o_qty.data[idx] - self.o_filled.data[idx]) <= QTY_EPS:
            self._event(ts, idx, OrderStatus.FILLED, Reason.NONE, fi)
            return 0
        self._event(ts, idx, OrderStatus.PARTIALLY_FILLED, Reason.NONE, fi)
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
        cdef int it
        if not self.fractional:
            hi = floor(hi)
            while hi - lo > 0.5:
                mid = floor((lo + hi + 1) / 2)
                comm = self.commission_model.commission(sgn * mid, px, fb, cb)
                if self.ledger.check(a, sgn * mid, px, comm) == 0:
                    lo = mid
                else:
                    hi = mid - 1
            return sgn * lo
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
            if self.o_tif.data[idx] == TimeInForce.DAY:
                fs = self.o_first_session.data[idx]
                if fs != NO_SESSION and fs <= session:
                    self._close_order(ts, idx, OrderStatus.EXPIRED, Reason.DAY_EXPIRED)
                    any_closed = True
        if any_closed:
            self._compact_open()
        return 0

    cpdef int split(self, int asset, double ratio, long long ts) except -1:
        """Adjust the open orders of ``asset`` for a split of ``ratio``.

        Quantities (ordered and filled) are multiplied by the ratio and limit and
        stop prices divided by it; with whole units the remaining quantity is
        rounded toward zero, and an order left with nothing to fill is canceled
        with reason ``CORPORATE_ACTION``. Returns the number of orders adjusted.
        """
        if asset < 0 or asset >= self.n_assets:
            raise IndexError(f"asset id {asset} out of range [0, {self.n_assets})")
        if not isfinite(ratio) or ratio <= 0:
            raise ValueError(f"split ratio must be finite and > 0, was {ratio}")
        cdef Py_ssize_t i
        cdef long long idx
        cdef double filled, rem
        cdef int n = 0
        cdef bint any_closed = False
        for i in range(self.open_idx.n):
            idx = self.open_idx.data[i]
            if self.o_asset.data[idx] != asset:
                continue
            n += 1
            filled = self.o_filled.data[idx] * ratio
            rem = (self.o_qty.data[idx] - self.o_filled.data[idx]) * ratio
            if not self.fractional:
                rem = <double> (<long long> (rem + (1e-9 if rem > 0 else -1e-9)))
            self.o_filled.data[idx] = filled
            self.o_qty.data[idx] = filled + rem
            self.o_limit.data[idx] /= ratio
            self.o_stop.data[idx] /= ratio
            if rem == 0:
                self._close_order(ts, idx, OrderStatus.CANCELED, Reason.CORPORATE_ACTION)
                any_closed = True
        if any_closed:
            self._compact_open()
        return n
