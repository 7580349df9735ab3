# cython: boundscheck=False, wraparound=False, cdivision=True
"""Accounting of fills: cash, positions, FIFO lots, P&L, NAV, exposures, buying power.

Market rules implemented here (pinned by ``golden/basics``, ``golden/reversal``
and ``golden/cash_rejection``):

* NAV = cash + sum(qty * price). Short-sale proceeds are credited to cash and
  the short is a negative position, so nothing is counted twice.
* Cash changes only through fills: ``cash -= qty * price + commission`` at the
  moment of the fill (T+0).
* Buying power is checked *before* a fill on the projected state at the fill
  price. Cash account: cash after the fill must stay >= 0 and shorts need
  ``allow_short``. Margin account (Reg-T): a fill that increases exposure must
  leave ``gross * initial_margin <= NAV`` and ``gross <= max_leverage * NAV``;
  a fill that only reduces a position is always allowed.
* Realised P&L is FIFO over open lots. A reversal (long 100 -> short 100) is
  one fill booked as a closing leg (ends the trade) and an opening leg (starts
  a new trade); its commission is split between the legs by quantity.
* A trade runs from flat to flat; its entry/exit prices are quantity-weighted
  averages of its opening/closing fills.
"""
import numpy as np
from libc.math cimport fabs, isfinite, INFINITY, NAN

from ml4t._core.buffers cimport F64Buf, I64Buf
from ml4t._core.enums cimport Reason

cdef double QTY_EPS = 1e-9
cdef double CASH_EPS = 1e-7


cdef inline double _sign(double x) noexcept nogil:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


cdef class Ledger:
    """Portfolio state and logs of one backtest.

    Parameters
    ----------
    n_assets : int
        Number of assets (ids ``0 .. n_assets-1``).
    cash : float
        Starting cash (> 0).
    margin : bool
        True for a margin account, False for a cash account.
    allow_short : bool
        Whether positions may go below zero.
    initial_margin : float
        Initial margin requirement as a fraction of gross exposure (margin accounts).
    max_leverage : float
        Maximum gross exposure / NAV (``inf`` = no cap).
    """

    def __init__(self, int n_assets, double cash, bint margin=False, bint allow_short=False,
                 double initial_margin=0.5, double max_leverage=INFINITY):
        if n_assets < 0:
            raise ValueError(f"n_assets must be >= 0, was {n_assets}")
        if not isfinite(cash) or cash <= 0:
            raise ValueError(f"cash must be finite and > 0, was {cash}")
        if not (initial_margin > 0 and initial_margin <= 1):
            raise ValueError(f"initial_margin must be in (0, 1], was {initial_margin}")
        if not (max_leverage > 0):
            raise ValueError(f"max_leverage must be > 0, was {max_leverage}")
        self.n_assets = n_assets
        self.margin = margin
        self.allow_short = allow_short
        self.initial_margin = initial_margin
        self.max_leverage = max_leverage
        self.starting_cash = cash
        self.cash = cash
        self.check_opening_only = False
        self.unchecked = False
        self.qty_np = np.zeros(n_assets, dtype=np.float64)
        self.mark_np = np.full(n_assets, np.nan, dtype=np.float64)
        self.lot_value_np = np.zeros(n_assets, dtype=np.float64)
        self.qty = self.qty_np
        self.mark = self.mark_np
        self.lot_value = self.lot_value_np
        self.lot_cap = 64
        self.lot_q = np.zeros(self.lot_cap)
        self.lot_p = np.zeros(self.lot_cap)
        self.lot_r = np.ones(self.lot_cap)
        self.lot_next = np.full(self.lot_cap, -1, dtype=np.int64)
        self.lot_head = np.full(n_assets, -1, dtype=np.int64)
        self.lot_tail = np.full(n_assets, -1, dtype=np.int64)
        self.lot_free = -1
        self.lot_top = 0
        self.tr_entry_ts = np.zeros(n_assets, dtype=np.int64)
        self.tr_entry_slice = np.zeros(n_assets, dtype=np.int64)
        self.tr_entry_qty = np.zeros(n_assets)
        self.tr_entry_val = np.zeros(n_assets)
        self.tr_exit_qty = np.zeros(n_assets)
        self.tr_exit_val = np.zeros(n_assets)
        self.tr_pnl = np.zeros(n_assets)
        self.tr_comm = np.zeros(n_assets)
        self.f_ts = I64Buf(); self.f_oid = I64Buf(); self.f_asset = I64Buf()
        self.f_qty = F64Buf(); self.f_price = F64Buf(); self.f_ref = F64Buf()
        self.f_comm = F64Buf(); self.f_realized = F64Buf()
        self.t_asset = I64Buf(); self.t_dir = I64Buf(); self.t_entry_ts = I64Buf()
        self.t_exit_ts = I64Buf(); self.t_bars = I64Buf()
        self.t_entry_price = F64Buf(); self.t_exit_price = F64Buf(); self.t_qty = F64Buf()
        self.t_pnl = F64Buf(); self.t_comm = F64Buf()
        self.p_ts = I64Buf()
        self.p_nav = F64Buf(); self.p_cash = F64Buf(); self.p_gross = F64Buf()
        self.p_net = F64Buf(); self.p_realized = F64Buf(); self.p_unrealized = F64Buf()
        self.p_commission = F64Buf()
        self.p_receivable = F64Buf(); self.p_dividends = F64Buf()
        self.p_maint = F64Buf(); self.p_accrued = F64Buf(); self.p_flows = F64Buf()
        self.cf_ts = I64Buf(); self.cf_amount = F64Buf(); self.cf_cash = F64Buf()
        self.maint_long_np = np.full(n_assets, 0.25)
        self.maint_short_np = np.full(n_assets, 0.30)
        self.htb_np = np.zeros(n_assets, dtype=np.uint8)
        self.maint_long = self.maint_long_np
        self.borrow_rate_np = np.zeros(n_assets)
        self.borrow_rate = self.borrow_rate_np
        self.credit_rate = 0.0
        self.debit_rate = 0.0
        self.day_count = 360.0
        self.acc_ts = I64Buf(); self.acc_kind = I64Buf(); self.acc_asset = I64Buf()
        self.acc_amount = F64Buf(); self.acc_base = F64Buf(); self.acc_rate = F64Buf()
        self.maint_short = self.maint_short_np
        self.htb = self.htb_np
        self.s_ts = I64Buf(); self.s_asset = I64Buf()
        self.s_qty = F64Buf(); self.s_price = F64Buf(); self.s_cost = F64Buf()
        self.s_value = F64Buf()
        self.n_ccy = 1
        self.acur_np = np.zeros(n_assets, dtype=np.int32)
        self.rate_np = np.ones(1)
        self.ccy_cash_np = np.zeros(1)
        self.ccy_cost_np = np.zeros(1)
        self.lot_value_base_np = np.zeros(n_assets)
        self.acur = self.acur_np
        self.rate = self.rate_np
        self.ccy_cash = self.ccy_cash_np
        self.ccy_cost = self.ccy_cost_np
        self.lot_value_base = self.lot_value_base_np
        self.fx_auto = True
        self.fx_spread = 0.0
        self.p_fx_pnl = F64Buf(); self.p_fx_cash = F64Buf(); self.f_fx = F64Buf()
        self.x_ts = I64Buf(); self.x_ccy = I64Buf()
        self.x_amount = F64Buf(); self.x_rate = F64Buf(); self.x_base = F64Buf()
        self.x_cost = F64Buf()
        self.mult_np = np.ones(n_assets)
        self.is_fut_np = np.zeros(n_assets, dtype=np.uint8)
        self.im_c_np = np.full(n_assets, np.nan)
        self.mm_c_np = np.full(n_assets, np.nan)
        self.settle_np = np.full(n_assets, np.nan)
        self.mult = self.mult_np
        self.is_fut = self.is_fut_np
        self.im_c = self.im_c_np
        self.mm_c = self.mm_c_np
        self.settle = self.settle_np
        self.n_fut = 0
        self.im_frac_np = np.full(n_assets, initial_margin)
        self.im_frac = self.im_frac_np
        self.im_varies = False
        self.p_net_exp = F64Buf()
        self.vm_ts = I64Buf(); self.vm_asset = I64Buf()
        self.vm_qty = F64Buf(); self.vm_from = F64Buf(); self.vm_to = F64Buf()
        self.vm_amount = F64Buf()

    # ------------------------------------------------------------------ queries
    @property
    def nav(self):
        """Net asset value at the last mark: cash + sum(qty * price) + dividends receivable."""
        return self.nav_value()

    cdef double nav_value(self):
        """``nav`` for compiled callers."""
        return self.cash + self.net_mv + self.receivable

    def position(self, int a):
        """Signed quantity held in asset ``a``."""
        self._check_asset(a)
        return self.qty[a]

    def avg_cost(self, int a):
        """Average cost of the open FIFO lots of asset ``a`` (NaN when flat)."""
        self._check_asset(a)
        if self.qty[a] == 0:
            return float("nan")
        return self.lot_value[a] / self.qty[a]

    def position_mark(self, int a):
        """Price at which asset ``a`` is currently valued (NaN if never priced)."""
        self._check_asset(a)
        return self.mark[a]

    def set_margin(self, int a, double maintenance_long, double maintenance_short):
        """Maintenance requirements of asset ``a`` (fractions of market value)."""
        self._check_asset(a)
        for v in (maintenance_long, maintenance_short):
            if not (v >= 0 and v <= 1):
                raise ValueError(f"maintenance requirement must be in [0, 1], was {v}")
        self.maint_long[a] = maintenance_long
        self.maint_short[a] = maintenance_short

    def set_initial_margin(self, int a, double fraction):
        """Initial requirement of asset ``a`` (fraction of market value) in place of the
        account's ``initial_margin``."""
        self._check_asset(a)
        if not (fraction > 0 and fraction <= 1):
            raise ValueError(f"initial margin must be in (0, 1], was {fraction}")
        self.im_frac[a] = fraction
        self.im_varies = True

    def set_hard_to_borrow(self, int a, bint flag):
        """Mark asset ``a`` hard to borrow (new or larger shorts rejected)."""
        self._check_asset(a)
        self.htb[a] = 1 if flag else 0

    def set_borrow_rate(self, int a, double rate):
        """Annual borrow fee of asset ``a`` (fraction of short market value)."""
        self._check_asset(a)
        if not (isfinite(rate) and rate >= 0):
            raise ValueError(f"borrow rate must be finite and >= 0, was {rate}")
        self.borrow_rate[a] = rate

    def set_currencies(self, acur, int n_ccy, balances=None):
        """Currencies of the assets: ``acur[a]`` indexes ``0 .. n_ccy-1`` (0 = base).

        ``balances`` (length ``n_ccy``) are opening balances in the foreign currencies
        (entry 0 is ignored: the base balance is ``cash``). Rates start unknown (NaN)
        until :meth:`set_rate`.
        """
        if self.f_ts.n or self.n_held:
            raise ValueError("currencies must be set before the first fill")
        arr = np.ascontiguousarray(acur, dtype=np.int32)
        if arr.shape[0] != self.n_assets:
            raise ValueError(f"acur has {arr.shape[0]} entries for {self.n_assets} assets")
        if n_ccy < 1 or (self.n_assets and (arr.min() < 0 or arr.max() >= n_ccy)):
            raise ValueError(f"currency indexes must be in [0, {n_ccy})")
        self.n_ccy = n_ccy
        self.acur_np = arr
        self.acur = arr
        self.rate_np = np.full(n_ccy, np.nan)
        self.rate_np[0] = 1.0
        self.rate = self.rate_np
        bal = np.zeros(n_ccy) if balances is None else np.array(balances, dtype=np.float64)
        if bal.shape[0] != n_ccy or not np.isfinite(bal).all():
            raise ValueError("balances must be n_ccy finite amounts")
        bal[0] = 0.0
        self.ccy_cash_np = bal
        self.ccy_cash = bal
        self.ccy_cost_np = np.zeros(n_ccy)
        self.ccy_cost = self.ccy_cost_np

    def set_rate(self, int c, double r):
        """Exchange rate of currency ``c``: base units per unit (EURUSD 1.08 for EUR
        in a USD account). Foreign balances held before their first rate get it as
        their cost."""
        if c <= 0 or c >= self.n_ccy:
            raise IndexError(f"currency index {c} out of range [1, {self.n_ccy})")
        if not (isfinite(r) and r > 0):
            raise ValueError(f"exchange rate must be finite and > 0, was {r}")
        if self.rate[c] != self.rate[c]:
            self.ccy_cost[c] = self.ccy_cash[c] * r
            self.net_mv += self.ccy_cash[c] * r
        else:
            self.net_mv += self.ccy_cash[c] * (r - self.rate[c])
        self.rate[c] = r

    def convert(self, long long ts, int src, int dst, double amount):
        """Exchange ``amount`` of currency ``src`` into ``dst`` at the rates, paying the
        spread; returns the amount of ``dst`` received.

        Raises
        ------
        ValueError
            Unknown currency, no rate yet, a non-positive amount, or (cash account) more
            than the ``src`` balance.
        """
        if src < 0 or src >= self.n_ccy or dst < 0 or dst >= self.n_ccy or src == dst:
            raise ValueError(f"convert needs two different currencies in [0, {self.n_ccy})")
        if not (isfinite(amount) and amount > 0):
            raise ValueError(f"amount must be finite and > 0, was {amount}")
        if self.rate[src] != self.rate[src] or self.rate[dst] != self.rate[dst]:
            raise ValueError("no exchange rate yet for one of the currencies")
        have = self.cash if src == 0 else self.ccy_cash[src]
        if not self.margin and not self.unchecked and amount > have + CASH_EPS:
            raise ValueError(f"a cash account cannot convert {amount} with a balance of {have}")
        cdef double base = amount * self.rate[src]
        cdef double cost = base * self.fx_spread
        cdef double out = (base - cost) / self.rate[dst]
        self._hold_cash(ts, src, -amount)
        self._hold_cash(ts, dst, out)
        self.fx_costs += cost
        # one row per foreign leg: amount in that currency (+ = received), its base value
        if src != 0:
            self._log_conversion(ts, src, -amount, self.rate[src], base, cost)
        if dst != 0:
            self._log_conversion(ts, dst, out, self.rate[dst], -(base - cost),
                                 cost if src == 0 else 0.0)
        return out

    cdef int _hold_cash(self, long long ts, int c, double amount) except -1:
        """Change the balance of currency ``c`` (no conversion)."""
        cdef double bal, take, part
        if c == 0:
            self.cash += amount
            return 0
        bal = self.ccy_cash[c]
        if bal != 0 and (amount > 0) != (bal > 0):
            # the flow reduces the balance: that part leaves at today's rate against its
            # average base cost (realised FX P&L); any excess opens the other side at the rate
            take = fabs(amount) if fabs(amount) < fabs(bal) else fabs(bal)
            part = self.ccy_cost[c] * (take / fabs(bal))
            self.fx_realized += _sign(bal) * take * self.rate[c] - part
            self.realized_total += _sign(bal) * take * self.rate[c] - part
            self.ccy_cost[c] -= part
            if fabs(amount) > fabs(bal):
                self.ccy_cost[c] += (amount + bal) * self.rate[c]
        else:
            self.ccy_cost[c] += amount * self.rate[c]
        self.ccy_cash[c] = bal + amount
        self.net_mv += amount * self.rate[c]
        return 0

    cdef int _local_cash(self, long long ts, int c, double amount) except -1:
        """A cash flow of ``amount`` in currency ``c``: booked in base at once
        (``fx_auto``, paying the spread) or held in that currency."""
        cdef double r, base, cost
        if c == 0 or amount == 0:
            self.cash += amount
            return 0
        if not self.fx_auto:
            return self._hold_cash(ts, c, amount)
        r = self.rate[c]
        base = amount * r
        cost = fabs(base) * self.fx_spread
        self.cash += base - cost
        self.fx_costs += cost
        self._log_conversion(ts, c, amount, r, base - cost, cost)
        return 0

    cdef int _log_conversion(self, long long ts, int c, double amount, double r, double base,
                             double cost) except -1:
        self.x_ts.push(ts)
        self.x_ccy.push(c)
        self.x_amount.push(amount)
        self.x_rate.push(r)
        self.x_base.push(base)
        self.x_cost.push(cost)
        return 0

    cdef double _foreign_cash_value(self) noexcept:
        cdef double out = 0.0
        cdef int c
        for c in range(1, self.n_ccy):
            if self.rate[c] == self.rate[c]:
                out += self.ccy_cash[c] * self.rate[c]
        return out

    def currency_books(self):
        """Per currency: (cash balance, positions value, rate), all in that currency
        (positions at their marks; futures at their unsettled P&L)."""
        cash = [self.cash] + [self.ccy_cash[c] for c in range(1, self.n_ccy)]
        pos = [0.0] * self.n_ccy
        cdef int a
        for a in range(self.n_assets):
            if self.qty[a] != 0:
                if self.is_fut[a]:
                    pos[self.acur[a]] += self.qty[a] * (self.mark[a] - self.settle[a]) * self.mult[a]
                else:
                    pos[self.acur[a]] += self.qty[a] * self.mark[a] * self.mult[a]
        return [(cash[c], pos[c], self.rate[c]) for c in range(self.n_ccy)]

    def set_future(self, int a, double multiplier, double initial=NAN, double maintenance=NAN):
        """Account for asset ``a`` as a futures contract.

        Exposure and P&L are ``qty * price * multiplier``; buying or selling moves no
        cash for the notional, only commission; the position settles its P&L into
        cash at every session end (variation margin) and at every fill. ``initial``
        and ``maintenance`` are margins per contract in the account currency; NaN
        means the account's fractions of notional apply instead.
        """
        self._check_asset(a)
        if not self.margin and not self.unchecked:
            raise ValueError("futures trade on margin: a cash account cannot hold them")
        if self.qty[a] != 0:
            raise ValueError(f"asset {a} already has a position; declare futures before trading")
        if not (isfinite(multiplier) and multiplier > 0):
            raise ValueError(f"multiplier must be finite and > 0, was {multiplier}")
        if (initial == initial) != (maintenance == maintenance):
            raise ValueError("give both the initial and the maintenance margin per contract, "
                             "or neither")
        if initial == initial:
            if not (isfinite(initial) and initial > 0 and isfinite(maintenance)
                    and maintenance > 0 and maintenance <= initial):
                raise ValueError(f"per-contract margins need 0 < maintenance <= initial, "
                                 f"were initial={initial}, maintenance={maintenance}")
        if not self.is_fut[a]:
            self.n_fut += 1
        self.is_fut[a] = 1
        self.mult[a] = multiplier
        self.im_c[a] = initial
        self.mm_c[a] = maintenance

    def is_future(self, int a):
        self._check_asset(a)
        return bool(self.is_fut[a])

    cdef double _init_req(self, int a, double q, double p) noexcept:
        """Initial margin requirement of holding ``q`` units of ``a`` at ``p``."""
        if self.is_fut[a]:
            if self.im_c[a] == self.im_c[a]:
                return fabs(q) * self.im_c[a]
            return fabs(q * p * self.mult[a]) * self.im_frac[a]
        return fabs(q * p) * self.im_frac[a]

    cpdef double settle_futures(self, long long ts) except? -1e300:
        """Daily settlement: every open futures position moves its P&L since the last
        settlement (``qty * (mark - settle) * multiplier``) into cash and is settled at
        its mark. NAV does not change. Returns the total variation margin."""
        cdef double total = 0.0, amt, q, r
        cdef int a
        if self.n_fut == 0 or self.n_held == 0:
            return 0.0
        for a in range(self.n_assets):
            q = self.qty[a]
            if q != 0 and self.is_fut[a]:
                amt = q * (self.mark[a] - self.settle[a]) * self.mult[a]   # its currency
                r = self.rate[self.acur[a]]
                self._log_variation(ts, a, q, self.settle[a], self.mark[a], amt)
                self.net_mv -= amt * r
                self._local_cash(ts, self.acur[a], amt)
                self.variation_total += amt * r
                self.settle[a] = self.mark[a]
                total += amt * r
        return total

    cdef int _log_variation(self, long long ts, int a, double q, double p0, double p1,
                            double amt) except -1:
        self.vm_ts.push(ts)
        self.vm_asset.push(a)
        self.vm_qty.push(q)
        self.vm_from.push(p0)
        self.vm_to.push(p1)
        self.vm_amount.push(amt)
        return 0

    cdef void _revalue(self) noexcept:
        """Recompute exposures from quantities and marks (no new prices)."""
        cdef int a, c
        cdef double q, v, r
        self.net_mv = 0.0
        self.gross_mv = 0.0
        self.net_exp = 0.0
        if self.n_ccy > 1:
            self.net_mv = self._foreign_cash_value()
        for a in range(self.n_assets):
            q = self.qty[a]
            if q != 0:
                r = self.rate[self.acur[a]]
                v = q * self.mark[a] * self.mult[a] * r
                self.gross_mv += fabs(v)
                self.net_exp += v
                if self.is_fut[a]:
                    self.net_mv += q * (self.mark[a] - self.settle[a]) * self.mult[a] * r
                else:
                    self.net_mv += v

    cdef int _log_accrual(self, long long ts, int kind, int a, double amount, double base,
                          double rate) except -1:
        self.acc_ts.push(ts)
        self.acc_kind.push(kind)
        self.acc_asset.push(a)
        self.acc_amount.push(amount)
        self.acc_base.push(base)
        self.acc_rate.push(rate)
        return 0

    cpdef double accrue_session(self, long long ts, double days) except? -1e300:
        """Accrue ``days`` calendar days of borrow fees and cash interest on the
        current (end-of-session) balances. Returns the total cash change.

        Borrow fee per short: ``|qty * price| * rate * days / day_count``;
        interest: ``cash * rate * days / day_count`` with the credit rate on
        positive cash and the debit rate on negative cash.
        """
        cdef double total = 0.0, amt, base, f = days / self.day_count
        cdef int a
        if self.n_held > 0:
            for a in range(self.n_assets):
                if self.qty[a] < 0 and self.borrow_rate[a] > 0 and not self.is_fut[a]:
                    base = -self.qty[a] * self.mark[a] * self.rate[self.acur[a]]
                    amt = -base * self.borrow_rate[a] * f
                    self._log_accrual(ts, 1, a, amt, base, self.borrow_rate[a])
                    total += amt
        if self.cash > 0 and self.credit_rate != 0:
            amt = self.cash * self.credit_rate * f
            self._log_accrual(ts, 2, -1, amt, self.cash, self.credit_rate)
            total += amt
        elif self.cash < 0 and self.debit_rate != 0:
            amt = self.cash * self.debit_rate * f
            self._log_accrual(ts, 2, -1, amt, self.cash, self.debit_rate)
            total += amt
        if total != 0:
            self.accrue(total)
        return total

    cpdef double fund(self, long long ts, int a, double rate) except? -1e300:
        """A perpetual-swap funding payment: ``-qty * price * rate`` (longs pay a
        positive rate, shorts receive it). Returns the cash change."""
        self._check_asset(a)
        if not isfinite(rate):
            raise ValueError(f"funding rate must be finite, was {rate}")
        cdef double base = self.qty[a] * self.mark[a] * self.mult[a] * self.rate[self.acur[a]]
        cdef double amt = -base * rate
        if self.qty[a] != 0:
            self._log_accrual(ts, 3, a, amt, base, rate)
            self.accrue(amt)
        return amt

    cpdef double deposit(self, long long ts, double amount) except? -1e300:
        """Add cash from outside the account (``amount`` > 0) or take it out (< 0).

        A withdrawal larger than the cash balance is refused (``ValueError``): the
        account does not borrow to pay it out. Returns the new cash balance.
        """
        if not isfinite(amount) or amount == 0.0:
            raise ValueError(f"a deposit or withdrawal needs a finite, non-zero amount, "
                             f"got {amount}")
        if amount < 0 and self.cash + amount < -CASH_EPS:
            raise ValueError(f"cannot withdraw {-amount}: the cash balance is {self.cash}")
        self.cash += amount
        self.flows_total += amount
        self.cf_ts.push(ts)
        self.cf_amount.push(amount)
        self.cf_cash.push(self.cash)
        return self.cash

    cpdef void accrue(self, double amount):
        """Add an accrual (borrow fee, interest, funding: negative = a cost) to cash."""
        self.cash += amount
        self.accrued_total += amount

    @property
    def equity(self):
        """Equity for margin purposes: NAV."""
        return self.cash + self.net_mv + self.receivable

    @property
    def short_value(self):
        """Sum of |qty * price| over short positions at the last mark."""
        cdef double out = 0.0
        cdef int a
        for a in range(self.n_assets):
            if self.qty[a] < 0 and not self.is_fut[a]:
                out -= self.qty[a] * self.mark[a]
        return out

    def margin_shortfall_order(self, target=1.0):
        """Assets by descending maintenance requirement: list of
        (asset, qty, price, requirement, requirement per unit)."""
        out = []
        cdef int a
        cdef double q, v
        for a in range(self.n_assets):
            q = self.qty[a]
            if q != 0:
                v = self._maint_req(a, q, self.mark[a])
                out.append((-v, a, q, self.mark[a], v, v / fabs(q)))
        out.sort()
        return [(a, q, p, v, u) for _, a, q, p, v, u in out]

    cdef double _maint_req(self, int a, double q, double p) noexcept:
        if self.is_fut[a] and self.mm_c[a] == self.mm_c[a]:
            return fabs(q) * self.mm_c[a]
        return fabs(q * p * self.mult[a]) * (self.maint_long[a] if q > 0 else self.maint_short[a])

    def _check_asset(self, int a):
        if a < 0 or a >= self.n_assets:
            raise IndexError(f"asset id {a} out of range [0, {self.n_assets})")

    def check_fill(self, int a, double q, double px, double comm):
        """Python view of the buying-power check: 0 if the fill fits, else a ``Reason``."""
        self._check_asset(a)
        return self.check(a, q, px, comm)

    # ------------------------------------------------------------ buying power
    cdef int check(self, int a, double q, double px, double comm) noexcept:
        cdef double pos = self.qty[a]
        cdef double newpos = pos + q
        cdef double cash_after = self.cash - q * px - comm
        cdef double m, net_after, gross_after, nav_after
        if self.n_ccy > 1 and self.rate[self.acur[a]] != self.rate[self.acur[a]]:
            return Reason.NO_FX_RATE
        if self.unchecked:
            return 0
        if q < 0 and newpos < -QTY_EPS and not self.allow_short:
            return Reason.SHORT_NOT_ALLOWED
        if q < 0 and newpos < -QTY_EPS and newpos < pos and self.htb[a]:
            return Reason.HARD_TO_BORROW
        if self.n_fut > 0 or self.n_ccy > 1 or self.im_varies:
            return self._check_general(a, q, px, comm)
        if not self.margin:
            if cash_after < -CASH_EPS:
                if (self.check_opening_only and pos != 0 and (pos > 0) != (q > 0)
                        and fabs(q) <= fabs(pos) + QTY_EPS):
                    return 0                      # closing or reducing only
                return Reason.INSUFFICIENT_CASH
            return 0
        # margin account: pure reductions are always allowed
        if fabs(newpos) <= fabs(pos) + QTY_EPS and _sign(newpos) * _sign(pos) >= 0:
            return 0
        m = self.mark[a] if pos != 0 else px
        net_after = self.net_mv - pos * m + newpos * px
        gross_after = self.gross_mv - fabs(pos * m) + fabs(newpos * px)
        nav_after = cash_after + net_after + self.receivable
        if nav_after <= 0 or gross_after * self.initial_margin > nav_after * (1 + 1e-12):
            return Reason.INSUFFICIENT_MARGIN
        if gross_after > self.max_leverage * nav_after * (1 + 1e-12):
            return Reason.MAX_LEVERAGE
        return 0

    cdef int _check_general(self, int a, double q, double px, double comm) noexcept:
        """The buying-power check with futures or foreign currencies in the book: the
        same rules, with notional times the multiplier, futures paying no notional,
        per-contract margins, and every amount converted at the current rates."""
        cdef double pos = self.qty[a], newpos = pos + q
        cdef int c = self.acur[a], b
        cdef double r = self.rate[c], mu = self.mult[a]
        cdef bint fut = self.is_fut[a]
        cdef double flow = -comm if fut else -(q * px + comm)     # in the asset's currency
        cdef double base_flow = 0.0, held_flow = 0.0, m, dv, gross_after, req_after, nav_after
        cdef bint reducing
        if r != r:
            return Reason.NO_FX_RATE
        if c == 0:
            base_flow = flow
        elif self.fx_auto:
            base_flow = flow * r - fabs(flow * r) * self.fx_spread
        else:
            held_flow = flow
        reducing = (pos != 0 and (pos > 0) != (q > 0) and fabs(q) <= fabs(pos) + QTY_EPS)
        if not self.margin:
            if fut:
                return Reason.INSUFFICIENT_MARGIN         # futures need a margin account
            if ((c != 0 and not self.fx_auto and self.ccy_cash[c] + held_flow < -CASH_EPS)
                    or self.cash + base_flow < -CASH_EPS):
                if self.check_opening_only and reducing:
                    return 0
                return Reason.INSUFFICIENT_CASH
            return 0
        if fabs(newpos) <= fabs(pos) + QTY_EPS and _sign(newpos) * _sign(pos) >= 0:
            return 0
        m = self.mark[a] if pos != 0 else px
        if fut:
            dv = pos * (px - m) * mu * r         # the old position settles at the fill price
        else:
            dv = (newpos * px - pos * m) * r
        nav_after = (self.cash + base_flow + self.net_mv + held_flow * r + dv + self.receivable)
        gross_after = self.gross_mv - fabs(pos * m * mu * r) + fabs(newpos * px * mu * r)
        req_after = self._init_req(a, newpos, px) * r
        for b in range(self.n_assets):
            if b != a and self.qty[b] != 0:
                req_after += self._init_req(b, self.qty[b], self.mark[b]) * self.rate[self.acur[b]]
        if nav_after <= 0 or req_after > nav_after * (1 + 1e-12):
            return Reason.INSUFFICIENT_MARGIN
        if gross_after > self.max_leverage * nav_after * (1 + 1e-12):
            return Reason.MAX_LEVERAGE
        return 0

    # --------------------------------------------------------------- FIFO lots
    cdef int _push_lot(self, int a, double q, double p) except -1:
        cdef long long node
        if self.lot_free >= 0:
            node = self.lot_free
            self.lot_free = self.lot_next[node]
        else:
            if self.lot_top == self.lot_cap:
                self.lot_cap *= 2
                self.lot_q = np.resize(np.asarray(self.lot_q), self.lot_cap)
                self.lot_p = np.resize(np.asarray(self.lot_p), self.lot_cap)
                self.lot_r = np.resize(np.asarray(self.lot_r), self.lot_cap)
                self.lot_next = np.resize(np.asarray(self.lot_next), self.lot_cap)
            node = self.lot_top
            self.lot_top += 1
        self.lot_q[node] = q
        self.lot_p[node] = p
        self.lot_r[node] = self.rate[self.acur[a]]
        self.lot_value_base[a] += q * p * self.lot_r[node]
        self.lot_next[node] = -1
        if self.lot_tail[a] >= 0:
            self.lot_next[self.lot_tail[a]] = node
        else:
            self.lot_head[a] = node
        self.lot_tail[a] = node
        self.lot_value[a] += q * p
        return 0

    cdef double _consume_lots(self, int a, double amount, double px) noexcept:
        """Close ``amount`` (> 0) units FIFO at ``px``; return realised P&L."""
        cdef double realized = 0.0, take, lq
        cdef long long node
        while amount > QTY_EPS and self.lot_head[a] >= 0:
            node = self.lot_head[a]
            lq = self.lot_q[node]
            take = fabs(lq)
            if take > amount:
                take = amount
            realized += take * (px - self.lot_p[node]) * _sign(lq)
            self.lot_value[a] -= _sign(lq) * take * self.lot_p[node]
            self._cons_local += _sign(lq) * take * self.lot_p[node]
            self._cons_base += _sign(lq) * take * self.lot_p[node] * self.lot_r[node]
            self.lot_value_base[a] -= _sign(lq) * take * self.lot_p[node] * self.lot_r[node]
            self.lot_q[node] = lq - _sign(lq) * take
            amount -= take
            if fabs(self.lot_q[node]) <= QTY_EPS:
                self.lot_head[a] = self.lot_next[node]
                if self.lot_head[a] < 0:
                    self.lot_tail[a] = -1
                self.lot_next[node] = self.lot_free
                self.lot_free = node
        return realized

    cdef void _hold(self, int a) noexcept:
        pass

    # -------------------------------------------------------------------- fills
    cdef long long apply_fill(self, long long ts, long long slice_no, long long oid, int a,
                              double q, double px, double ref, double comm) except -1:
        """Book one fill; return its index in the fill log."""
        cdef double pos = self.qty[a]
        cdef double m_old = self.mark[a] if pos != 0 else 0.0
        cdef double close_abs = 0.0, open_q = q, comm_close = 0.0, comm_open = comm
        cdef double realized = 0.0, newpos, aq = fabs(q)
        cdef long long idx = self.f_ts.n
        cdef bint fut = self.is_fut[a]
        cdef double mu = self.mult[a], vm, fxr = 0.0
        cdef int c = self.acur[a]
        cdef double r = 1.0 if c == 0 else self.rate[c]
        if r != r:
            raise ValueError(f"no exchange rate for the currency of asset {a}")
        if fut:
            # no cash changes hands for the notional: the old position settles its P&L
            # at the fill price, the new one starts from it
            if pos != 0:
                vm = pos * (px - self.settle[a]) * mu
                self._log_variation(ts, a, pos, self.settle[a], px, vm)
                self._local_cash(ts, c, vm)
                self.variation_total += vm * r
                self.net_mv -= pos * (m_old - self.settle[a]) * mu * r
            self.settle[a] = px
            self._local_cash(ts, c, -comm)
        elif c == 0:
            self.cash -= q * px + comm
        else:
            self._local_cash(ts, c, -(q * px + comm))
        self.commission_total += comm * r
        if pos != 0 and (pos > 0) != (q > 0):
            close_abs = aq if aq < fabs(pos) else fabs(pos)
            open_q = q + _sign(pos) * close_abs      # q and pos have opposite signs
            if fabs(open_q) <= QTY_EPS:
                open_q = 0.0
            comm_close = comm * close_abs / aq
            comm_open = comm - comm_close
        newpos = pos
        if close_abs > 0:
            self._cons_local = 0.0
            self._cons_base = 0.0
            realized = self._consume_lots(a, close_abs, px) * mu * r
            if c != 0 and not fut:
                # the lots' cost at today's rate minus their cost at the entry rates
                fxr = self._cons_local * r - self._cons_base
                realized += fxr
                self.fx_realized += fxr
            self.tr_exit_qty[a] += close_abs
            self.tr_exit_val[a] += close_abs * px
            self.tr_pnl[a] += realized
            self.tr_comm[a] += comm_close * r
            newpos = pos - _sign(pos) * close_abs
            if fabs(newpos) <= QTY_EPS:
                newpos = 0.0
                self._close_trade(a, ts, slice_no, _sign(pos))
        if open_q != 0:
            if newpos == 0:
                self.tr_entry_ts[a] = ts
                self.tr_entry_slice[a] = slice_no
                self.tr_entry_qty[a] = 0.0
                self.tr_entry_val[a] = 0.0
                self.tr_exit_qty[a] = 0.0
                self.tr_exit_val[a] = 0.0
                self.tr_pnl[a] = 0.0
                self.tr_comm[a] = 0.0
            self._push_lot(a, open_q, px)
            self.tr_entry_qty[a] += fabs(open_q)
            self.tr_entry_val[a] += fabs(open_q) * px
            self.tr_comm[a] += comm_open * r
            newpos += open_q
        if newpos == 0:
            self.lot_value[a] = 0.0
            self.lot_value_base[a] = 0.0
        self.qty[a] = newpos
        # incremental exposure update; the asset is now valued at the fill price
        if not fut:
            self.net_mv += (newpos * px - pos * m_old) * r
        self.gross_mv += (fabs(newpos * px * mu) - fabs(pos * m_old * mu)) * r
        self.net_exp += (newpos * px - pos * m_old) * mu * r
        self.mark[a] = px
        if pos == 0 and newpos != 0:
            self.n_held += 1
        elif pos != 0 and newpos == 0:
            self.n_held -= 1
        self.realized_total += realized
        self.f_ts.push(ts)
        self.f_oid.push(oid)
        self.f_asset.push(a)
        self.f_qty.push(q)
        self.f_price.push(px)
        self.f_ref.push(ref)
        self.f_comm.push(comm)
        self.f_realized.push(realized)
        self.f_fx.push(fxr)
        return idx

    cdef int _close_trade(self, int a, long long ts, long long slice_no, double direction) except -1:
        self.t_asset.push(a)
        self.t_dir.push(<long long> direction)
        self.t_entry_ts.push(self.tr_entry_ts[a])
        self.t_exit_ts.push(ts)
        self.t_bars.push(slice_no - self.tr_entry_slice[a])
        self.t_entry_price.push(self.tr_entry_val[a] / self.tr_entry_qty[a])
        self.t_exit_price.push(self.tr_exit_val[a] / self.tr_exit_qty[a])
        self.t_qty.push(self.tr_entry_qty[a])
        self.t_pnl.push(self.tr_pnl[a])
        self.t_comm.push(self.tr_comm[a])
        return 0

    def open_trades(self):
        """Trades still open: list of (asset, direction, entry_ts, entry_price, qty, pnl_so_far, commission)."""
        out = []
        cdef int a
        for a in range(self.n_assets):
            if self.qty[a] != 0:
                out.append((a, int(_sign(self.qty[a])), self.tr_entry_ts[a],
                            self.tr_entry_val[a] / self.tr_entry_qty[a], self.tr_entry_qty[a],
                            self.tr_pnl[a], self.tr_comm[a]))
        return out

    # -------------------------------------------------------- corporate actions
    cpdef double split(self, int a, double ratio, double pre_close, bint whole, long long ts=0,
                       long long slice_no=0, double lieu_cash=NAN) except? -1e300:
        """Apply a split of ``ratio`` new units per old unit to asset ``a``.

        Quantity and every open lot's quantity are multiplied by ``ratio`` and
        lot prices divided by it, so cost basis and market value are unchanged.
        With whole units only, the fractional remainder is paid out as cash in
        lieu at the pre-split close divided by the ratio (realising its FIFO
        P&L), or, when ``lieu_cash`` is given (finite, same sign as the fraction),
        as exactly that amount. Returns the cash in lieu.

        Raises
        ------
        ValueError
            Asset id out of range, or a ratio that is not finite and > 0.
        """
        self._check_asset(a)
        if not isfinite(ratio) or ratio <= 0:
            raise ValueError(f"split ratio must be finite and > 0, was {ratio}")
        cdef double q = self.qty[a], newq, frac, px, realized, cash_in_lieu = 0.0
        cdef long long node
        if q == 0:
            return 0.0
        node = self.lot_head[a]
        while node >= 0:
            self.lot_q[node] *= ratio
            self.lot_p[node] /= ratio
            node = self.lot_next[node]
        self.tr_entry_qty[a] *= ratio
        self.tr_exit_qty[a] *= ratio
        newq = q * ratio
        if fabs(newq - (<double> (<long long> (newq + (0.5 if newq > 0 else -0.5))))) <= QTY_EPS:
            newq = <double> (<long long> (newq + (0.5 if newq > 0 else -0.5)))
        self.mark[a] = self.mark[a] / ratio
        self.qty[a] = newq
        if whole:
            frac = newq - <double> (<long long> newq)     # same sign as newq
            if fabs(frac) > QTY_EPS:
                if isfinite(lieu_cash) and lieu_cash * frac > 0:
                    px = lieu_cash / frac                   # a price per new unit
                else:
                    if not isfinite(pre_close) or pre_close <= 0:
                        raise ValueError(
                            f"cash in lieu needs the pre-split close, got {pre_close}")
                    px = pre_close / ratio
                realized = self._consume_lots(a, fabs(frac), px) * self.rate[self.acur[a]]
                self.tr_pnl[a] += realized
                self.realized_total += realized
                self.tr_exit_qty[a] += fabs(frac)
                self.tr_exit_val[a] += fabs(frac) * px
                cash_in_lieu = lieu_cash if isfinite(lieu_cash) and lieu_cash * frac > 0 \
                    else frac * px
                self._local_cash(ts, self.acur[a], cash_in_lieu)
                newq -= frac
                self.qty[a] = newq
                if newq == 0:
                    self.n_held -= 1
                    self.lot_value[a] = 0.0
                    self._close_trade(a, ts, slice_no, 1.0 if q > 0 else -1.0)
        self._revalue()
        return cash_in_lieu

    cpdef double dividend(self, int a, double amount, bint pay_now) except? -1e300:
        """Book a cash dividend of ``amount`` per unit on the position held now (ex-date).

        Longs earn it, shorts owe it. Paid into cash now, or held as a
        receivable (counted in NAV) until ``pay_receivable``. Returns the amount.
        """
        self._check_asset(a)
        if not isfinite(amount):
            raise ValueError(f"dividend amount must be finite, was {amount}")
        cdef double cash_amount = self.qty[a] * amount
        cdef int c = self.acur[a]
        cdef double r = self.rate[c]
        if c != 0:
            # a foreign dividend is converted to base at the ex-date rate (no spread)
            if r != r:
                raise ValueError(f"no exchange rate for the dividend of asset {a}")
            cash_amount *= r
        self.dividends_total += cash_amount
        if pay_now:
            self.cash += cash_amount
        else:
            self.receivable += cash_amount
        return cash_amount

    cpdef void pay_receivable(self, double amount):
        """Move ``amount`` of dividends receivable into cash (the pay date)."""
        self.receivable -= amount
        self.cash += amount

    # ----------------------------------------------------------- mark to market
    cdef void mark_to_market(self, const double[::1] last_close) noexcept:
        cdef int a
        cdef double net = 0.0, gross = 0.0, unreal = 0.0, req = 0.0, q, p, v, nexp = 0.0
        if self.n_held == 0 and self.n_ccy == 1:
            self.net_mv = 0.0
            self.gross_mv = 0.0
            self.net_exp = 0.0
            self.unrealized = 0.0
            self.maint_req = 0.0
            return
        if self.n_fut > 0 or self.n_ccy > 1:
            self._mark_mixed(last_close)
            return
        for a in range(self.n_assets):
            q = self.qty[a]
            if q != 0:
                p = last_close[a]
                if p == p:
                    self.mark[a] = p
                else:
                    p = self.mark[a]
                v = q * p
                net += v
                gross += fabs(v)
                unreal += v - self.lot_value[a]
                req += fabs(v) * (self.maint_long[a] if q > 0 else self.maint_short[a])
        self.net_mv = net
        self.gross_mv = gross
        self.net_exp = net
        self.unrealized = unreal
        self.maint_req = req

    cdef void _mark_mixed(self, const double[::1] last_close) noexcept:
        """Mark to market when some assets are futures (exposure at notional, NAV
        counts only their P&L since the last settlement)."""
        cdef int a, c
        cdef double net = 0.0, gross = 0.0, unreal = 0.0, req = 0.0, nexp = 0.0, q, p, v, mu, r
        cdef double fx = 0.0
        for c in range(1, self.n_ccy):
            if self.rate[c] == self.rate[c]:
                net += self.ccy_cash[c] * self.rate[c]
                fx += self.ccy_cash[c] * self.rate[c] - self.ccy_cost[c]
        for a in range(self.n_assets):
            q = self.qty[a]
            if q != 0:
                p = last_close[a]
                if p == p:
                    self.mark[a] = p
                else:
                    p = self.mark[a]
                mu = self.mult[a]
                r = self.rate[self.acur[a]]
                v = q * p * mu * r
                gross += fabs(v)
                nexp += v
                unreal += (q * p - self.lot_value[a]) * mu * r
                req += self._maint_req(a, q, p) * r
                if self.is_fut[a]:
                    net += q * (p - self.settle[a]) * mu * r
                else:
                    net += v
                    if self.acur[a] != 0:
                        # open lots' cost at today's rate minus at their entry rates
                        fx += self.lot_value[a] * r - self.lot_value_base[a]
        self.net_mv = net
        self.gross_mv = gross
        self.net_exp = nexp
        self.unrealized = unreal + fx
        self.fx_unrealized = fx
        self.maint_req = req

    def mark_prices(self, last_close):
        """Python entry to mark-to-market (tests); ``last_close`` is float64 per asset."""
        cdef double[::1] lc = np.ascontiguousarray(last_close, dtype=np.float64)
        if lc.shape[0] != self.n_assets:
            raise ValueError(f"last_close has {lc.shape[0]} prices for {self.n_assets} assets")
        self.mark_to_market(lc)

    # ------------------------------------------------------------------ history
    cdef int record(self, long long ts, bint positions) except -1:
        cdef int a
        cdef double q
        self.p_ts.push(ts)
        self.p_nav.push(self.cash + self.net_mv + self.receivable)
        self.p_cash.push(self.cash)
        self.p_gross.push(self.gross_mv)
        self.p_net.push(self.net_mv)
        self.p_net_exp.push(self.net_exp)
        if self.n_ccy > 1:
            self.p_fx_pnl.push(self.fx_realized + self.fx_unrealized)
            self.p_fx_cash.push(self._foreign_cash_value())
        self.p_realized.push(self.realized_total)
        self.p_unrealized.push(self.unrealized)
        self.p_commission.push(self.commission_total)
        self.p_receivable.push(self.receivable)
        self.p_dividends.push(self.dividends_total)
        self.p_maint.push(self.maint_req if self.margin else 0.0)
        self.p_accrued.push(self.accrued_total)
        self.p_flows.push(self.flows_total)
        if positions and self.n_held > 0:
            for a in range(self.n_assets):
                q = self.qty[a]
                if q != 0:
                    self.s_ts.push(ts)
                    self.s_asset.push(a)
                    self.s_qty.push(q)
                    self.s_price.push(self.mark[a])
                    self.s_cost.push(self.lot_value[a] / q)
                    self.s_value.push(q * self.mark[a] * self.mult[a] * self.rate[self.acur[a]])
        return 0

    def apply_fill_py(self, long long ts, long long oid, int a, double q, double px, double comm=0.0,
                      long long slice_no=0):
        """Python entry to book a fill directly (tests, tools, ``Broker.settle_position``);
        returns realised P&L."""
        self._check_asset(a)
        if not isfinite(q) or q == 0 or not isfinite(px) or px <= 0 or not isfinite(comm):
            raise ValueError(f"bad fill: qty={q}, price={px}, commission={comm}")
        idx = self.apply_fill(ts, slice_no, oid, a, q, px, px, comm)
        return self.f_realized.data[idx]
