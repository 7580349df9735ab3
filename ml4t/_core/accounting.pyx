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
from libc.math cimport fabs, isfinite, INFINITY

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
        self.p_maint = F64Buf(); self.p_accrued = F64Buf()
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

    # ------------------------------------------------------------------ queries
    @property
    def nav(self):
        """Net asset value at the last mark: cash + sum(qty * price) + dividends receivable."""
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
                if self.qty[a] < 0 and self.borrow_rate[a] > 0:
                    base = -self.qty[a] * self.mark[a]
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
        cdef double base = self.qty[a] * self.mark[a]
        cdef double amt = -base * rate
        if self.qty[a] != 0:
            self._log_accrual(ts, 3, a, amt, base, rate)
            self.accrue(amt)
        return amt

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
            if self.qty[a] < 0:
                out -= self.qty[a] * self.mark[a]
        return out

    def margin_shortfall_order(self, target=1.0):
        """Assets by descending maintenance requirement: list of (asset, qty, price, req)."""
        out = []
        cdef int a
        cdef double q, v
        for a in range(self.n_assets):
            q = self.qty[a]
            if q != 0:
                v = fabs(q * self.mark[a]) * (self.maint_long[a] if q > 0 else self.maint_short[a])
                out.append((-v, a, q, self.mark[a], v))
        out.sort()
        return [(a, q, p, v) for _, a, q, p, v in out]

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
        if self.unchecked:
            return 0
        if q < 0 and newpos < -QTY_EPS and not self.allow_short:
            return Reason.SHORT_NOT_ALLOWED
        if q < 0 and newpos < -QTY_EPS and newpos < pos and self.htb[a]:
            return Reason.HARD_TO_BORROW
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
                self.lot_next = np.resize(np.asarray(self.lot_next), self.lot_cap)
            node = self.lot_top
            self.lot_top += 1
        self.lot_q[node] = q
        self.lot_p[node] = p
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
        self.cash -= q * px + comm
        self.commission_total += comm
        if pos != 0 and (pos > 0) != (q > 0):
            close_abs = aq if aq < fabs(pos) else fabs(pos)
            open_q = q + _sign(pos) * close_abs      # q and pos have opposite signs
            if fabs(open_q) <= QTY_EPS:
                open_q = 0.0
            comm_close = comm * close_abs / aq
            comm_open = comm - comm_close
        newpos = pos
        if close_abs > 0:
            realized = self._consume_lots(a, close_abs, px)
            self.tr_exit_qty[a] += close_abs
            self.tr_exit_val[a] += close_abs * px
            self.tr_pnl[a] += realized
            self.tr_comm[a] += comm_close
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
            self.tr_comm[a] += comm_open
            newpos += open_q
        if newpos == 0:
            self.lot_value[a] = 0.0
        self.qty[a] = newpos
        # incremental exposure update; the asset is now valued at the fill price
        self.net_mv += newpos * px - pos * m_old
        self.gross_mv += fabs(newpos * px) - fabs(pos * m_old)
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
                       long long slice_no=0) except? -1e300:
        """Apply a split of ``ratio`` new units per old unit to asset ``a``.

        Quantity and every open lot's quantity are multiplied by ``ratio`` and
        lot prices divided by it, so cost basis and market value are unchanged.
        With whole units only, the fractional remainder is paid out as cash in
        lieu at the pre-split close divided by the ratio (realising its FIFO
        P&L). Returns the cash in lieu.

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
                if not isfinite(pre_close) or pre_close <= 0:
                    raise ValueError(f"cash in lieu needs the pre-split close, got {pre_close}")
                px = pre_close / ratio
                realized = self._consume_lots(a, fabs(frac), px)
                self.tr_pnl[a] += realized
                self.realized_total += realized
                self.tr_exit_qty[a] += fabs(frac)
                self.tr_exit_val[a] += fabs(frac) * px
                cash_in_lieu = frac * px
                self.cash += cash_in_lieu
                newq -= frac
                self.qty[a] = newq
                if newq == 0:
                    self.n_held -= 1
                    self.lot_value[a] = 0.0
                    self._close_trade(a, ts, slice_no, 1.0 if q > 0 else -1.0)
        self.net_mv = 0.0
        self.gross_mv = 0.0
        for node in range(self.n_assets):
            if self.qty[node] != 0:
                self.net_mv += self.qty[node] * self.mark[node]
                self.gross_mv += fabs(self.qty[node] * self.mark[node])
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
        cdef double net = 0.0, gross = 0.0, unreal = 0.0, req = 0.0, q, p, v
        if self.n_held == 0:
            self.net_mv = 0.0
            self.gross_mv = 0.0
            self.unrealized = 0.0
            self.maint_req = 0.0
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
        self.unrealized = unreal
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
        self.p_realized.push(self.realized_total)
        self.p_unrealized.push(self.unrealized)
        self.p_commission.push(self.commission_total)
        self.p_receivable.push(self.receivable)
        self.p_dividends.push(self.dividends_total)
        self.p_maint.push(self.maint_req if self.margin else 0.0)
        self.p_accrued.push(self.accrued_total)
        if positions and self.n_held > 0:
            for a in range(self.n_assets):
                q = self.qty[a]
                if q != 0:
                    self.s_ts.push(ts)
                    self.s_asset.push(a)
                    self.s_qty.push(q)
                    self.s_price.push(self.mark[a])
                    self.s_cost.push(self.lot_value[a] / q)
        return 0

    def apply_fill_py(self, long long ts, long long oid, int a, double q, double px, double comm=0.0):
        """Python entry to book a fill directly (tests and tools); returns realised P&L."""
        self._check_asset(a)
        if not isfinite(q) or q == 0 or not isfinite(px) or px <= 0 or not isfinite(comm):
            raise ValueError(f"bad fill: qty={q}, price={px}, commission={comm}")
        idx = self.apply_fill(ts, 0, oid, a, q, px, px, comm)
        return self.f_realized.data[idx]
