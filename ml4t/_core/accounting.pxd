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
    # futures: value = qty * price * multiplier; positions settle daily (variation margin)
    cdef readonly object mult_np, is_fut_np, im_c_np, mm_c_np, settle_np
    cdef double[::1] mult                 # contract multiplier (1 for everything else)
    cdef unsigned char[::1] is_fut        # 1: futures accounting (no cash for notional)
    cdef double[::1] im_c                 # initial margin per contract (NaN: a fraction)
    cdef double[::1] mm_c                 # maintenance margin per contract (NaN: a fraction)
    cdef double[::1] settle               # price the open futures position last settled at
    cdef readonly int n_fut
    cdef readonly object im_frac_np
    cdef double[::1] im_frac           # initial requirement per asset (fraction)
    cdef readonly bint im_varies
    # currencies: an asset's prices, commissions and lots are in its currency (index into
    # rate); currency 0 is the base currency, whose balance is ``cash``
    cdef readonly int n_ccy
    cdef readonly object acur_np, rate_np, ccy_cash_np, ccy_cost_np, lot_value_base_np
    cdef int[::1] acur
    cdef double[::1] rate                 # base units per unit of each currency (rate[0] = 1)
    cdef double[::1] ccy_cash             # balances held in foreign currencies
    cdef double[::1] ccy_cost             # base value of those balances when they arrived
    cdef public bint fx_auto              # True: foreign cash flows convert to base at once
    cdef public double fx_spread          # conversion cost, a fraction of the amount
    cdef double[::1] lot_value_base       # sum of open lots' qty * price * rate at entry
    cdef readonly double fx_realized      # FX P&L realised by closing foreign positions
    cdef readonly double fx_unrealized    # FX P&L of open positions and foreign balances
    cdef readonly double fx_costs         # spread paid on conversions (base currency)
    cdef double _cons_local, _cons_base

    # -- state
    cdef readonly double cash
    cdef readonly double net_mv            # value of positions in NAV: sum qty * mark for
                                           # cash instruments, unsettled P&L for futures
    cdef readonly double net_exp           # net exposure: futures at notional
    cdef readonly double variation_total   # futures P&L settled into cash
    cdef readonly double gross_mv          # sum |qty * mark|
    cdef readonly double unrealized
    cdef readonly double maint_req         # maintenance requirement at the last mark
    cdef readonly double accrued_total     # borrow fees, interest and funding (signed cash)
    cdef readonly double realized_total
    cdef readonly double commission_total
    cdef readonly double receivable        # dividends earned, not yet paid
    cdef readonly double dividends_total   # dividend cash earned (longs +, shorts -)
    cdef readonly double flows_total       # deposits (+) and withdrawals (-) of cash
    cdef double[::1] qty
    cdef double[::1] mark                  # last price each position is valued at
    cdef double[::1] lot_value             # sum of open lots' qty * price (signed)
    cdef readonly object qty_np, mark_np, lot_value_np
    cdef readonly int n_held

    # -- FIFO lots: a pool of linked nodes, one queue per asset
    cdef double[::1] lot_q
    cdef double[::1] lot_p
    cdef double[::1] lot_r                # FX rate at which each lot was opened
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
    cdef readonly F64Buf p_receivable, p_dividends, p_maint, p_accrued, p_flows
    cdef readonly I64Buf cf_ts
    cdef readonly F64Buf cf_amount, cf_cash
    cdef readonly I64Buf s_ts, s_asset
    cdef readonly I64Buf acc_ts, acc_kind, acc_asset
    cdef readonly F64Buf acc_amount, acc_base, acc_rate
    cdef readonly F64Buf s_qty, s_price, s_cost, s_value
    cdef readonly F64Buf p_net_exp, p_fx_pnl, p_fx_cash, f_fx
    cdef readonly I64Buf x_ts, x_ccy
    cdef readonly F64Buf x_amount, x_rate, x_base, x_cost
    cdef readonly I64Buf vm_ts, vm_asset
    cdef readonly F64Buf vm_qty, vm_from, vm_to, vm_amount

    cdef int check(self, int a, double q, double px, double comm) noexcept
    cdef long long apply_fill(self, long long ts, long long slice_no, long long oid, int a,
                              double q, double px, double ref, double comm) except -1
    cdef void mark_to_market(self, const double[::1] last_close) noexcept
    cdef void _mark_mixed(self, const double[::1] last_close) noexcept
    cdef int record(self, long long ts, bint positions) except -1
    cdef int _push_lot(self, int a, double q, double p) except -1
    cdef double _consume_lots(self, int a, double amount, double px) noexcept
    cdef void _hold(self, int a) noexcept
    cdef int _close_trade(self, int a, long long ts, long long slice_no, double direction) except -1
    cpdef double split(self, int a, double ratio, double pre_close, bint whole, long long ts=*,
                       long long slice_no=*, double lieu_cash=*) except? -1e300
    cpdef double dividend(self, int a, double amount, bint pay_now) except? -1e300
    cdef double nav_value(self)
    cpdef void pay_receivable(self, double amount)
    cpdef double deposit(self, long long ts, double amount) except? -1e300
    cpdef void accrue(self, double amount)
    cpdef double accrue_session(self, long long ts, double days) except? -1e300
    cpdef double fund(self, long long ts, int a, double rate) except? -1e300
    cpdef double settle_futures(self, long long ts) except? -1e300
    cdef void _revalue(self) noexcept
    cdef int _local_cash(self, long long ts, int c, double amount) except -1
    cdef double _foreign_cash_value(self) noexcept
    cdef int _hold_cash(self, long long ts, int c, double amount) except -1
    cdef int _log_conversion(self, long long ts, int c, double amount, double r, double base,
                             double cost) except -1
    cdef int _check_general(self, int a, double q, double px, double comm) noexcept
    cdef int _log_variation(self, long long ts, int a, double q, double p0, double p1,
                            double amt) except -1
    cdef double _init_req(self, int a, double q, double p) noexcept
    cdef double _maint_req(self, int a, double q, double p) noexcept
    cdef int _log_accrual(self, long long ts, int kind, int a, double amount, double base,
                          double rate) except -1
