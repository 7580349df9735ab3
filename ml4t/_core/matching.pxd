# Order book and matching: per-asset open orders of every type, time in force,
# fill modes, brackets and OCO groups, volume caps, contract specifications,
# exit-first sequencing, and the order-event log.
from ml4t._core.buffers cimport F64Buf, I64Buf
from ml4t._core.accounting cimport Ledger
from ml4t._core.costs cimport CommissionModel, SlippageModel
from ml4t._core.history cimport History

cdef class OrderBook:
    cdef readonly Ledger ledger
    cdef readonly CommissionModel commission_model
    cdef readonly SlippageModel slippage_model
    cdef readonly History history
    cdef readonly int n_assets
    cdef readonly bint exit_first
    cdef readonly bint partial_on_insufficient
    cdef readonly bint fractional
    cdef readonly double volume_limit          # fraction of bar volume per asset; NaN = none
    cdef readonly int intrabar_policy
    cdef readonly int trail_source
    cdef readonly int stop_limit_rule          # 0: stop only, 1: bar direction

    # -- contract specifications per asset
    cdef readonly object tick_np, lot_np, min_qty_np, asset_fractional_np
    cdef double[::1] tick, lot, min_qty
    cdef unsigned char[::1] asset_fractional
    cdef public object expired            # asset ids of expired futures: orders rejected
    cdef public bint skip_zero_volume     # no fills on a bar that traded nothing

    # -- per-asset volume already taken in the current slice
    cdef double[::1] vol_used
    cdef long long[::1] vol_slice

    # -- orders, struct of arrays indexed by order id - 1
    cdef readonly I64Buf o_asset, o_type, o_tif, o_status, o_reason
    cdef readonly I64Buf o_ts_created, o_slice_created, o_first_session, o_triggered
    cdef readonly I64Buf o_parent, o_child1, o_child2, o_oco_next, o_oco_reduce
    cdef readonly F64Buf o_qty, o_filled, o_limit, o_stop, o_comm, o_fill_value
    cdef readonly F64Buf o_trail_amount, o_trail_percent, o_best
    cdef readonly dict limit_offsets           # trailing stop-limits: order index -> offset

    # -- open orders in submission order (order indices)
    cdef readonly I64Buf open_idx

    # -- event log: one row per status change
    cdef readonly I64Buf ev_ts, ev_oid, ev_status, ev_reason, ev_fill
    cdef readonly F64Buf ev_filled, ev_qty, ev_limit, ev_stop

    # -- scratch for one matching pass
    cdef I64Buf _cand
    cdef F64Buf _cand_ref
    cdef long long _slice

    cdef int _event(self, long long ts, long long idx, int status, int reason, long long fill) except -1
    cdef int _close_order(self, long long ts, long long idx, int status, int reason) except -1
    cdef int _on_final(self, long long ts, long long idx) except -1
    cdef int _on_fill_links(self, long long ts, long long idx, double q) except -1
    cdef int _compact_open(self) except -1
    cdef double _ref_price(self, long long idx, int rules, double o, double h, double l,
                           double c, double bid, double ask) noexcept
    cdef int match(self, long long k, long long ts, long long session, int rules,
                   bint include_current, const long long[::1] bar_slice,
                   const double[::1] o, const double[::1] h, const double[::1] l,
                   const double[::1] c, const double[::1] v, const double[::1] bid,
                   const double[::1] ask, const double[::1] bid_size,
                   const double[::1] ask_size) except -1
    cdef int _fill_one(self, long long k, long long ts, long long idx, double ref,
                       double volume, double quote_size) except -1
    cdef double _max_fill(self, long long idx, double remaining, double px) except? -1.0
    cdef double _round_qty(self, int a, double q) noexcept
    cdef double _trail_stop(self, long long idx) noexcept
    cdef void _set_trail_limit(self, long long idx, double stp) noexcept
    cdef int _update_trails(self, long long k, const long long[::1] bar_slice,
                            const double[::1] h, const double[::1] l,
                            const double[::1] c) except -1
    cdef bint _prefer(self, long long a_idx, double a_ref, long long b_idx, double b_ref,
                      double o) noexcept
    cdef int _context(self, int a, double* sigma, double* adv) noexcept
    cdef void _fill_context(self, int a, long long order_id) noexcept
    cdef int expire_day(self, long long session, long long ts) except -1
    cdef int close_session(self, long long k, long long session, long long ts,
                           const double[::1] c, const double[::1] v, const double[::1] bid,
                           const double[::1] ask, bint quotes) except -1
    cdef bint _reduces(self, long long idx) noexcept
    cpdef long long submit(self, int asset, double qty, int order_type=*, double limit_price=*,
                           double stop_price=*, int time_in_force=*, long long ts=*,
                           long long slice_no=*, double trail_amount=*,
                           double trail_percent=*, double ref_price=*, long long parent=*,
                           long long oco=*, double limit_offset=*) except -1
    cpdef double open_qty(self, int asset)
    cpdef int split(self, int asset, double ratio, long long ts) except -1
    cpdef long long liquidate(self, long long k, long long ts, int asset, double qty, double price) except -1
    cpdef long long forced_fill(self, long long k, long long ts, int asset, double qty, double price,
                                int reason, bint check) except -1
