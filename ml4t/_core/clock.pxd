# The clock: walks (ts, asset)-sorted bar batches one timestamp slice at a time,
# keeps the last bar of every asset and its history, and drives matching,
# accounting and the strategy callback in the order DESIGN.md fixes.
from ml4t._core.accounting cimport Ledger
from ml4t._core.matching cimport OrderBook
from ml4t._core.history cimport History
from ml4t._core.buffers cimport F64Buf, I64Buf

cdef class Simulator:
    cdef readonly Ledger ledger
    cdef readonly OrderBook book
    cdef readonly History history
    cdef readonly int n_assets
    cdef readonly int fill_mode
    cdef readonly bint record_positions
    cdef readonly bint record_each_slice

    # last bar of every asset
    cdef readonly object last_open_np, last_high_np, last_low_np, last_close_np, last_volume_np
    cdef readonly object last_ts_np, bar_slice_np
    cdef double[::1] last_open, last_high, last_low, last_close, last_volume
    cdef readonly object last_bid_np, last_ask_np, last_bid_size_np, last_ask_size_np
    cdef double[::1] last_bid, last_ask, last_bid_size, last_ask_size
    cdef readonly bint quotes              # the data carries bid/ask quotes
    cdef long long[::1] last_ts, bar_slice

    # the current slice
    cdef readonly long long slice_no
    cdef readonly long long ts
    cdef readonly long long session
    cdef readonly Py_ssize_t row_lo, row_hi
    cdef readonly object batch
    cdef readonly bint running
    cdef readonly bint finished

    # corporate actions: the scheduled timeline and the log of what was applied
    cdef readonly bint fractional
    cdef long long[::1] ca_ts, ca_pay_ts
    cdef int[::1] ca_asset, ca_kind
    cdef double[::1] ca_value
    cdef Py_ssize_t ca_n, ca_pos
    cdef object _pending_pay
    cdef long long _next_pay_ts
    cdef readonly I64Buf ax_ts, ax_asset, ax_kind, ax_hist_row
    cdef readonly F64Buf ax_value, ax_qty, ax_cash

    # funding payments (perpetuals): scheduled (ts, asset, rate)
    cdef long long[::1] fu_ts
    cdef int[::1] fu_asset
    cdef double[::1] fu_rate
    cdef Py_ssize_t fu_n, fu_pos
    # exchange rates: at ts, currency index ccy is worth rate base units
    cdef long long[::1] fx_ts
    cdef int[::1] fx_ccy
    cdef double[::1] fx_rate
    cdef Py_ssize_t fx_n, fx_pos
    # accruals and margin calls
    cdef public bint accruals              # accrue borrow fees / interest at session ends
    cdef public object session_hook        # Python callable(session, ts) before accruals (rate schedules)
    cdef public object margin_hook         # Python callable(k, ts) when equity < maintenance
    cdef public object next_session_fn     # Python callable(session) -> the session after it
    cdef public object close_hook          # Python callable(session, ts, k) at each session end
    cdef public object lieu_hook           # Python callable(asset, ratio) -> cash in lieu or None
    cdef public object open_hook           # Python callable(ts, asset_ids, opens) before a slice's bars

    cdef object _driver
    cdef public Py_ssize_t events_seen     # order events already handed to the strategy
    cdef public Py_ssize_t actions_seen    # corporate actions already handed to the strategy
    cdef int _session_end(self, long long session, long long ts, long long next_session) except -1
    cdef int _apply_actions(self, long long t, long long k) except -1
    cdef int _pay_due(self, long long t) except -1
    cdef int _log_action(self, long long t, int a, int kind, double value, double qty,
                         double cash) except -1
