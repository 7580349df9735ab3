# Order book and matching: per-asset open orders of every type, time in force,
# fill modes, exit-first sequencing, and the order-event log.
from ml4t._core.buffers cimport F64Buf, I64Buf
from ml4t._core.accounting cimport Ledger
from ml4t._core.costs cimport CommissionModel, SlippageModel

cdef class OrderBook:
    cdef readonly Ledger ledger
    cdef readonly CommissionModel commission_model
    cdef readonly SlippageModel slippage_model
    cdef readonly int n_assets
    cdef readonly bint exit_first
    cdef readonly bint partial_on_insufficient
    cdef readonly bint fractional

    # -- orders, struct of arrays indexed by order id - 1
    cdef readonly I64Buf o_asset, o_type, o_tif, o_status, o_reason
    cdef readonly I64Buf o_ts_created, o_slice_created, o_first_session, o_triggered
    cdef readonly F64Buf o_qty, o_filled, o_limit, o_stop, o_comm, o_fill_value

    # -- open orders in submission order (order indices)
    cdef readonly I64Buf open_idx

    # -- event log: one row per status change
    cdef readonly I64Buf ev_ts, ev_oid, ev_status, ev_reason, ev_fill
    cdef readonly F64Buf ev_filled

    # -- scratch for one matching pass
    cdef I64Buf _cand
    cdef F64Buf _cand_ref

    cdef int _event(self, long long ts, long long idx, int status, int reason, long long fill) except -1
    cdef int _close_order(self, long long ts, long long idx, int status, int reason) except -1
    cdef int _compact_open(self) except -1
    cdef double _ref_price(self, long long idx, int rules, double o, double h, double l,
                           double c) noexcept
    cdef int match(self, long long k, long long ts, long long session, int rules,
                   bint include_current, const long long[::1] bar_slice,
                   const double[::1] o, const double[::1] h, const double[::1] l,
                   const double[::1] c, const double[::1] v) except -1
    cdef int _fill_one(self, long long k, long long ts, long long idx, double ref,
                       double volume) except -1
    cdef double _max_fill(self, long long idx, double remaining, double px) except? -1.0
    cdef int expire_day(self, long long session, long long ts) except -1
    cpdef int split(self, int asset, double ratio, long long ts) except -1
    cdef bint _reduces(self, long long idx) noexcept
