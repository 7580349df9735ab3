# Cash and margin accounting: positions, FIFO lots, realised/unrealised P&L,
# NAV and exposures, buying-power checks, and the fill/trade/portfolio logs.
from ml4t._core.buffers cimport F64Buf, I64Buf

cdef class Ledger:
    # -- configuration
    cdef readonly int n_assets
    cdef readonly bint margin              # False: cash account (cash never below zero)
    cdef readonly bint allow_short
    cdef readonly double initial_margin    # Reg-T initial requirement (margin accounts)
    cdef readonly double max_leverage      # gross / NAV cap; inf = none
    cdef readonly double starting_cash
    cdef public bint check_opening_only   # buying power checks skip position-reducing fills
    cdef public bint unchecked            # no buying power checks at all (parity with Zipline)
    cdef readonly object maint_long_np, maint_short_np, htb_np
    cdef double[::1] maint_long           # maintenance requirement of longs, per asset
    cdef double[::1] maint_short          # maintenance requirement of shorts, per asset
    cdef unsigned char[::1] htb           # hard to borrow: new shorts rejected
    cdef readonly object borrow_rate_np
    cdef double[::1] borrow_rate          # annual borrow fee on short market value, per asset
    cdef public double credit_rate        # annual interest on positive cash
    cdef public double debit_rate         # annual interest on negative cash (margin loan)
    cdef public double day_count          # days in the rate year (360 or 365)

    # -- state
    cdef readonly double cash
    cdef readonly double net_mv            # sum qty * mark
    cdef readonly double gross_mv          # sum |qty * mark|
    cdef readonly double unrealized
    cdef readonly double maint_req         # maintenance requirement at the last mark
    cdef readonly double accrued_total     # borrow fees, interest and funding (signed cash)
    cdef readonly double realized_total
    cdef readonly double commission_total
    cdef readonly double receivable        # dividends earned, not yet paid
    cdef readonly double dividends_total   # dividend cash earned (longs +, shorts -)
    cdef double[::1] qty
    cdef double[::1] mark                  # last price each position is valued at
    cdef double[::1] lot_value             # sum of open lots' qty * price (signed)
    cdef readonly object qty_np, mark_np, lot_value_np
    cdef readonly int n_held

    # -- FIFO lots: a pool of linked nodes, one queue per asset
    cdef double[::1] lot_q
    cdef double[::1] lot_p
    cdef long long[::1] lot_next
    cdef long long[::1] lot_head
    cdef long long[::1] lot_tail
    cdef long long lot_free
    cdef long long lot_cap
    cdef long long lot_top

    # -- the open trade of each asset (a trade runs from flat to flat)
    cdef long long[::1] tr_entry_ts
    cdef long long[::1] tr_entry_slice
    cdef double[::1] tr_entry_qty
    cdef double[::1] tr_entry_val
    cdef double[::1] tr_exit_qty
    cdef double[::1] tr_exit_val
    cdef double[::1] tr_pnl
    cdef double[::1] tr_comm

    # -- logs
    cdef readonly I64Buf f_ts, f_oid, f_asset
    cdef readonly F64Buf f_qty, f_price, f_ref, f_comm, f_realized
    cdef readonly I64Buf t_asset, t_dir, t_entry_ts, t_exit_ts, t_bars
    cdef readonly F64Buf t_entry_price, t_exit_price, t_qty, t_pnl, t_comm
    cdef readonly I64Buf p_ts
    cdef readonly F64Buf p_nav, p_cash, p_gross, p_net, p_realized, p_unrealized, p_commission
    cdef readonly F64Buf p_receivable, p_dividends, p_maint, p_accrued
    cdef readonly I64Buf s_ts, s_asset
    cdef readonly I64Buf acc_ts, acc_kind, acc_asset
    cdef readonly F64Buf acc_amount, acc_base, acc_rate
    cdef readonly F64Buf s_qty, s_price, s_cost

    cdef int check(self, int a, double q, double px, double comm) noexcept
    cdef long long apply_fill(self, long long ts, long long slice_no, long long oid, int a,
                              double q, double px, double ref, double comm) except -1
    cdef void mark_to_market(self, const double[::1] last_close) noexcept
    cdef int record(self, long long ts, bint positions) except -1
    cdef int _push_lot(self, int a, double q, double p) except -1
    cdef double _consume_lots(self, int a, double amount, double px) noexcept
    cdef void _hold(self, int a) noexcept
    cdef int _close_trade(self, int a, long long ts, long long slice_no, double direction) except -1
    cpdef double split(self, int a, double ratio, double pre_close, bint whole, long long ts=*,
                       long long slice_no=*) except? -1e300
    cpdef double dividend(self, int a, double amount, bint pay_now) except? -1e300
    cpdef void pay_receivable(self, double amount)
    cpdef void accrue(self, double amount)
    cpdef double accrue_session(self, long long ts, double days) except? -1e300
    cpdef double fund(self, long long ts, int a, double rate) except? -1e300
    cdef int _log_accrual(self, long long ts, int kind, int a, double amount, double base,
                          double rate) except -1
