# cython: boundscheck=False, wraparound=False, cdivision=True
"""Compiled fast path of the strategy's broker: ``order_target`` and plain market orders.

A strategy that rebalances many assets every bar calls ``broker.order_target`` once
per asset, and most calls have nothing to do. ``BrokerCore`` is the compiled base
of ``ml4t.strategy.Broker``: it answers those calls without leaving C (asset lookup,
position plus open orders, rounding to whole units) and places a plain market order
(no prices, GTC, no OCO peer) straight into the ``OrderBook``. Anything else goes
through the Python ``Broker`` methods, which check the order's options first.

Market rules are not implemented here: ``OrderBook.submit`` validates and books the
order exactly as for any other caller, so the results are those of the Python path
(pinned by ``golden/basics`` and the W4 churn benchmark's fills, value and commission).
"""
from libc.math cimport NAN, fabs, isfinite, trunc

from ml4t._core.accounting cimport Ledger
from ml4t._core.clock cimport Simulator
from ml4t._core.enums cimport OrderType, TimeInForce
from ml4t._core.matching cimport OrderBook

from ml4t._core.enums import REASON_TEXT
from ml4t.errors import OrderError
from ml4t.orders import ORDER_TYPES, REASONS, STATUSES, TIME_IN_FORCE, Order


cdef tuple _by_code(dict names, str blank_zero=None):
    """A code -> text dict as a tuple indexed by code (C-level lookups)."""
    out = [""] * (max(names) + 1)
    for code, text in names.items():
        out[code] = text
    if blank_zero is not None:
        out[0] = blank_zero
    return tuple(out)


cdef inline object _text(tuple table, long long code):
    """``table[code]``, checked (a code the table lacks raises KeyError, as the dicts do)."""
    if code < 0 or code >= len(table):
        raise KeyError(code)
    return table[code]


cdef tuple _STATUS = _by_code(STATUSES)
cdef tuple _TYPE = _by_code(ORDER_TYPES)
cdef tuple _TIF = _by_code(TIME_IN_FORCE)
cdef tuple _REASON = _by_code(REASONS, "")
cdef tuple _REASON_TEXT = _by_code(REASON_TEXT)


cdef class BrokerCore:
    """The compiled part of :class:`ml4t.strategy.Broker` (see there for the API).

    ``_bind(run)`` gives it the run's simulator, order book, ledger and asset names
    before the first callback.
    """

    cdef Simulator _c_sim
    cdef OrderBook _c_book
    cdef Ledger _c_ledger
    cdef dict _c_ids
    cdef tuple _c_names
    cdef bint _c_fractional
    cdef object _c_run

    def _bind(self, run):
        self._c_run = run
        self._c_sim = run.sim
        self._c_book = run.book
        self._c_ledger = run.ledger
        self._c_ids = run.assets.ids
        self._c_names = tuple(run.assets.names)
        self._c_fractional = bool(run.fractional)

    cdef int _asset_id(self, object asset) except -1:
        cdef object a
        try:
            a = self._c_ids.get(asset)
        except TypeError:                  # unhashable: let the Python lookup word the error
            a = None
        if a is None:
            return self._c_run.assets.id(asset)  # raises OrderError with a suggestion
        return <int> a

    def order_target(self, asset, target, **kw):
        """Order what it takes to hold ``target`` units (counting open orders).

        Parameters
        ----------
        asset : str
        target : float
            Signed number of units to hold; rounded toward zero to whole units
            unless fractional trading is on.
        **kw
            Order options of :meth:`order` (``limit_price``, ``time_in_force``, ...).

        Returns
        -------
        Order or None
            The order placed, or None when the holding is already at the target.

        Raises
        ------
        ml4t.errors.OrderError
            Unknown asset, a target that is not finite, or an order :meth:`order` refuses.
        """
        cdef int a = self._asset_id(asset)
        cdef double have = self._c_ledger.qty[a] + self._c_book.open_qty(a)
        cdef double t = float(target)
        if not isfinite(t):
            raise OrderError(f"computed quantity is not finite ({t})")
        if not self._c_fractional:
            t = trunc(t) + 0.0
        cdef double q = t - have
        if fabs(q) < 1e-12:
            return None
        if kw:
            return (<object> self).order(asset, q, **kw)
        return self._market_order(a, q)

    def _market(self, asset, qty):
        """A plain market order (GTC, no OCO peer): ``order(asset, qty)`` without options."""
        cdef int a = self._asset_id(asset)
        cdef double q
        try:
            q = float(qty)
        except (TypeError, ValueError):
            raise OrderError(f"order({asset!r}): qty and prices must be numbers, got qty={qty!r}, "
                             f"limit_price=None, stop_price=None, trail_amount=None, "
                             f"trail_percent=None") from None
        return self._market_order(a, q)

    def _market_id(self, asset, double qty):
        """``_market(asset, qty).id`` without the snapshot: the id of a plain market
        order, booked exactly as ``_market`` books it (for callers that keep their own
        order objects, such as the Backtrader shim's broker)."""
        return self._submit_market(self._asset_id(asset), qty)

    def _qty(self, asset):
        """The signed quantity held in ``asset`` (``position()`` without the pricing)."""
        return self._c_ledger.qty[self._asset_id(asset)]

    cdef long long _submit_market(self, int a, double q) except -1:
        cdef Simulator sim = self._c_sim
        cdef long long ts, k
        if sim.slice_no >= 0:
            ts = sim.ts
            k = sim.slice_no
        else:
            ts = self._c_run.start_ts
            k = -1
        return self._c_book.submit(a, q, OrderType.MARKET, NAN, NAN, TimeInForce.GTC, ts, k,
                                   NAN, NAN, sim.last_close[a], 0, 0)

    cdef object _market_order(self, int a, double q):
        cdef Simulator sim = self._c_sim
        cdef OrderBook book = self._c_book
        cdef long long oid = self._submit_market(a, q)
        cdef long long ts = sim.ts if sim.slice_no >= 0 else self._c_run.start_ts
        # the snapshot get_order(oid) would build, read straight from the book
        cdef long long idx = oid - 1
        cdef double filled = book.o_filled.data[idx]
        cdef double limit = book.o_limit.data[idx], stop = book.o_stop.data[idx]
        cdef long long rs = book.o_reason.data[idx], created = book.o_ts_created.data[idx]
        cdef object ts_obj = ts
        return Order(oid, self._c_names[book.o_asset.data[idx]], book.o_qty.data[idx], filled,
                     _text(_STATUS, book.o_status.data[idx]),
                     _text(_TYPE, book.o_type.data[idx]), _text(_TIF, book.o_tif.data[idx]),
                     None if limit != limit else limit, None if stop != stop else stop,
                     _text(_REASON, rs), _text(_REASON_TEXT, rs), ts_obj,
                     ts_obj if created == ts else created,
                     (book.o_fill_value.data[idx] / fabs(filled)) if filled != 0 else None,
                     book.o_comm.data[idx])
