# cython: boundscheck=False, wraparound=False, cdivision=True
"""The clock: one pass over the timeline, one timestamp slice at a time.

Market rules implemented here (pinned by every golden scenario): per slice,
in this order, nothing at time t sees data after t --

0. corporate actions effective now: a split scales the position, its lots
   and open orders (cash in lieu for fractions at the pre-split close); a
   dividend is earned on the position held at the start of the ex-date and
   paid on the pay date (the same slice when it has none); shorts pay it;
0b. a session that just ended closes: market-on-close orders fill at its close;
0c. with an open hook (``Strategy.on_open``), the strategy sees the slice's
   opens, before its rows are read (everything else still shows the previous
   slice); orders it places are matched against this slice;
1. the rows of the slice update each asset's last bar and its history;
2. orders submitted before t are matched against this slice's bars
   (``fill="next_open"``: intrabar rules; ``"next_close"``: close rules);
3. fills are booked as they happen (accounting);
4. positions are marked to market at the last close;
5. the strategy is called once (notifications first, then the bar);
6. with ``fill="same_close"``, orders are matched now at this bar's close;
7. when the next slice starts a new session (or the data ends), DAY orders
   of the ending session expire and accruals are booked; then the slice's
   portfolio row is recorded.

Batches come from ``ml4t.data.BarData.batches()``: sorted by (ts, asset), no
timestamp split across two batches, so a Parquet file can stream through.
"""
import numpy as np
from libc.math cimport NAN

from ml4t._core.accounting cimport Ledger
from ml4t._core.matching cimport OrderBook
from ml4t._core.history cimport History
from ml4t._core.enums cimport FillMode, BarRules, ActionKind
from ml4t._core.buffers cimport F64Buf, I64Buf

cdef long long NO_TS = 0x7FFFFFFFFFFFFFFF


def _schedule(what, ts, key, rate, int lo, int hi, bint positive):
    """Validated (ts, key, rate) arrays of a time-ordered schedule; keys in [lo, hi)."""
    ts_a = np.ascontiguousarray(ts, dtype=np.int64)
    key_a = np.ascontiguousarray(key, dtype=np.int32)
    rate_a = np.ascontiguousarray(rate, dtype=np.float64)
    n = ts_a.shape[0]
    if key_a.shape[0] != n or rate_a.shape[0] != n:
        raise ValueError(f"{what} columns have different lengths")
    if n:
        if (np.diff(ts_a) < 0).any():
            raise ValueError(f"{what} times must be sorted")
        if key_a.min() < lo or key_a.max() >= hi:
            raise ValueError(f"{what} ids outside [{lo}, {hi})")
        if not np.isfinite(rate_a).all() or (positive and not (rate_a > 0).all()):
            raise ValueError(f"{what} rates must be finite" + (" and > 0" if positive else ""))
    return ts_a, key_a, rate_a


cdef class Simulator:
    """One backtest's clock loop around a ledger and an order book.

    Parameters
    ----------
    ledger : Ledger
    book : OrderBook
    fill_mode : int
        A ``FillMode`` value.
    history_capacity : int
        Initial rows per asset of the history store (it grows when needed).
    record_each_slice : bool
        Record a portfolio row after every slice (True) or at each session end.
    record_positions : bool
        Record position snapshots with the portfolio rows.
    fractional : bool
        Whether quantities may be fractional (else splits pay cash in lieu).
    indexed_history : bool
        Keep history as positions into the (single, in-memory) batch instead of
        copying values; falls back to copying if a second batch arrives.
    """

    def __init__(self, Ledger ledger, OrderBook book, int fill_mode=FillMode.NEXT_OPEN,
                 Py_ssize_t history_capacity=256, bint record_each_slice=True,
                 bint record_positions=True, bint fractional=False,
                 bint indexed_history=False):
        if book.ledger is not ledger:
            raise ValueError("the order book must book its fills into this ledger")
        if fill_mode < FillMode.NEXT_OPEN or fill_mode > FillMode.SAME_CLOSE:
            raise ValueError(f"unknown fill mode {fill_mode}")
        self.ledger = ledger
        self.book = book
        self.n_assets = ledger.n_assets
        self.fill_mode = fill_mode
        self.record_each_slice = record_each_slice
        self.record_positions = record_positions
        self.history = History(self.n_assets, history_capacity, indexed_history)
        book.attach_history(self.history)
        n = self.n_assets
        self.last_open_np = np.full(n, np.nan)
        self.last_high_np = np.full(n, np.nan)
        self.last_low_np = np.full(n, np.nan)
        self.last_close_np = np.full(n, np.nan)
        self.last_volume_np = np.full(n, np.nan)
        self.last_ts_np = np.full(n, -1, dtype=np.int64)
        self.bar_slice_np = np.full(n, -1, dtype=np.int64)
        self.last_open = self.last_open_np
        self.last_high = self.last_high_np
        self.last_low = self.last_low_np
        self.last_close = self.last_close_np
        self.last_volume = self.last_volume_np
        self.last_ts = self.last_ts_np
        self.last_bid_np = np.full(n, np.nan)
        self.last_ask_np = np.full(n, np.nan)
        self.last_bid_size_np = np.full(n, np.nan)
        self.last_ask_size_np = np.full(n, np.nan)
        self.last_bid = self.last_bid_np
        self.last_ask = self.last_ask_np
        self.last_bid_size = self.last_bid_size_np
        self.last_ask_size = self.last_ask_size_np
        self.quotes = False
        self.bar_slice = self.bar_slice_np
        self.slice_no = -1
        self.ts = 0
        self.session = 0
        self.running = False
        self.finished = False
        self.fractional = fractional
        self.ca_n = 0
        self.ca_pos = 0
        self.events_seen = 0
        self.actions_seen = 0
        self.accruals = False
        self.session_hook = None
        self.margin_hook = None
        self.next_session_fn = None
        self.close_hook = None
        self.lieu_hook = None
        self.open_hook = None
        self.set_funding(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0))
        self._pending_pay = []
        self._next_pay_ts = NO_TS
        self.ax_ts = I64Buf(); self.ax_asset = I64Buf(); self.ax_kind = I64Buf()
        self.ax_hist_row = I64Buf()
        self.ax_value = F64Buf(); self.ax_qty = F64Buf(); self.ax_cash = F64Buf()
        self.set_corporate_actions(np.zeros(0, np.int64), np.zeros(0, np.int32),
                                   np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int64))

    def set_corporate_actions(self, ts, asset, kind, value, pay_ts):
        """Schedule corporate actions (before ``run``).

        Parameters
        ----------
        ts : int64 array
            When each action takes effect (ns UTC; the start of the ex-date),
            non-decreasing.
        asset : int32 array
        kind : int32 array
            ``ActionKind.SPLIT`` or ``ActionKind.DIVIDEND``.
        value : float64 array
            Split ratio (new units per old unit, > 0) or dividend per unit.
        pay_ts : int64 array
            Dividend pay time (ns UTC); ignored for splits.

        Raises
        ------
        ValueError
            Mismatched lengths, unsorted times, unknown assets or kinds, bad values.
        """
        if self.running or self.finished:
            raise RuntimeError("corporate actions must be set before run()")
        ts_a = np.ascontiguousarray(ts, dtype=np.int64)
        n = ts_a.shape[0]
        asset_a = np.ascontiguousarray(asset, dtype=np.int32)
        kind_a = np.ascontiguousarray(kind, dtype=np.int32)
        value_a = np.ascontiguousarray(value, dtype=np.float64)
        pay_a = np.ascontiguousarray(pay_ts, dtype=np.int64)
        if any(x.shape[0] != n for x in (asset_a, kind_a, value_a, pay_a)):
            raise ValueError("corporate action columns have different lengths")
        if n:
            if (np.diff(ts_a) < 0).any():
                raise ValueError("corporate actions must be sorted by time")
            if asset_a.min() < 0 or asset_a.max() >= self.n_assets:
                raise ValueError(f"corporate action asset ids outside [0, {self.n_assets})")
            if not np.isin(kind_a, [ActionKind.SPLIT, ActionKind.DIVIDEND]).all():
                raise ValueError("corporate action kind must be SPLIT or DIVIDEND")
            if not np.isfinite(value_a).all():
                raise ValueError("corporate action values must be finite")
            if (value_a[kind_a == ActionKind.SPLIT] <= 0).any():
                raise ValueError("split ratios must be > 0")
        self.ca_ts = ts_a
        self.ca_asset = asset_a
        self.ca_kind = kind_a
        self.ca_value = value_a
        self.ca_pay_ts = pay_a
        self.ca_n = n
        self.ca_pos = 0

    cdef int _apply_actions(self, long long t, long long k) except -1:
        cdef int a, kind
        cdef double v, q, cil, amount, pre_close, lieu, frac
        cdef long long pay
        while self.ca_pos < self.ca_n and self.ca_ts[self.ca_pos] <= t:
            a = self.ca_asset[self.ca_pos]
            kind = self.ca_kind[self.ca_pos]
            v = self.ca_value[self.ca_pos]
            pay = self.ca_pay_ts[self.ca_pos]
            self.ca_pos += 1
            q = self.ledger.qty[a]
            if kind == ActionKind.SPLIT:
                pre_close = self.last_close[a]
                lieu = NAN
                if self.lieu_hook is not None and q != 0 and not self.fractional:
                    got = self.lieu_hook(a, v)
                    if got is not None:
                        lieu = float(got)
                cil = self.ledger.split(a, v, pre_close, not self.fractional, t, k, lieu)
                self.book.split(a, v, t)
                # the last known bar is restated in post-split units
                self.last_open[a] /= v
                self.last_high[a] /= v
                self.last_low[a] /= v
                self.last_close[a] /= v
                self.last_volume[a] *= v
                self._log_action(t, a, ActionKind.SPLIT, v, q, 0.0)
                if cil != 0 and lieu == lieu:             # an amount from the hook
                    frac = (q * v) - self.ledger.qty[a]        # the units paid out
                    self._log_action(t, a, ActionKind.CASH_IN_LIEU,
                                     cil / frac if frac != 0 else pre_close / v, frac, cil)
                elif cil != 0:
                    self._log_action(t, a, ActionKind.CASH_IN_LIEU, pre_close / v,
                                     cil / (pre_close / v), cil)
            else:
                amount = self.ledger.dividend(a, v, pay <= t)
                self._log_action(t, a, ActionKind.DIVIDEND, v, q, amount if pay <= t else 0.0)
                if pay > t and amount != 0:
                    self._pending_pay.append((pay, a, amount, v))
                    self._pending_pay.sort(key=lambda x: x[0])
                    self._next_pay_ts = self._pending_pay[0][0]
        return 0

    cdef int _log_action(self, long long t, int a, int kind, double value, double qty,
                         double cash) except -1:
        self.ax_ts.push(t)
        self.ax_asset.push(a)
        self.ax_kind.push(kind)
        self.ax_hist_row.push(self.history.count[a])
        self.ax_value.push(value)
        self.ax_qty.push(qty)
        self.ax_cash.push(cash)
        return 0

    cdef int _pay_due(self, long long t) except -1:
        while self._pending_pay and self._pending_pay[0][0] <= t:
            pay, a, amount, per_unit = self._pending_pay.pop(0)
            self.ledger.pay_receivable(amount)
            self._log_action(t, a, ActionKind.DIVIDEND_PAID, per_unit, amount / per_unit
                             if per_unit != 0 else 0.0, amount)
        self._next_pay_ts = self._pending_pay[0][0] if self._pending_pay else NO_TS
        return 0

    def actions_for(self, int asset):
        """Applied splits and dividends of ``asset``: list of (kind, value, history_row)."""
        out = []
        cdef Py_ssize_t i
        for i in range(self.ax_ts.n):
            if self.ax_asset.data[i] == asset and (self.ax_kind.data[i] == ActionKind.SPLIT
                                                   or self.ax_kind.data[i] == ActionKind.DIVIDEND):
                out.append((self.ax_kind.data[i], self.ax_value.data[i], self.ax_hist_row.data[i]))
        return out

    cdef int _session_end(self, long long session, long long ts, long long next_session) except -1:
        self.book.expire_day(session, ts)
        if self.close_hook is not None:         # futures expiries and rolls
            self.close_hook(session, ts, self.slice_no)
        if self.ledger.n_fut > 0:                # daily settlement (variation margin)
            self.ledger.settle_futures(ts)
        if self.accruals:
            if self.session_hook is not None:
                self.session_hook(session, ts)
            # end-of-session balances accrue until the next session (weekends included)
            self.ledger.accrue_session(ts, <double> (next_session - session))
        if not self.record_each_slice:
            self.ledger.record(ts, self.record_positions)
        return 0

    def set_fx(self, ts, ccy, rate):
        """Schedule exchange rates: from ``ts`` (ns UTC, sorted) currency index ``ccy``
        (>= 1) is worth ``rate`` base units. A rate applies from the first slice at or
        after its time, before that slice's orders are matched.

        Raises
        ------
        ValueError
            Mismatched lengths, unsorted times, unknown currencies, rates that are not
            finite and > 0.
        """
        if self.running or self.finished:
            raise RuntimeError("exchange rates must be set before run()")
        self.fx_ts, self.fx_ccy, self.fx_rate = _schedule(
            "exchange-rate", ts, ccy, rate, 1, self.ledger.n_ccy, True)
        self.fx_n = self.fx_ts.shape[0]
        self.fx_pos = 0

    def set_funding(self, ts, asset, rate):
        """Schedule perpetual funding payments: at ``ts`` (ns UTC, sorted) the holder of
        ``asset`` pays ``qty * price * rate`` (a short receives it).

        Raises
        ------
        ValueError
            Mismatched lengths, unsorted times, unknown assets, non-finite rates.
        """
        if self.running or self.finished:
            raise RuntimeError("funding must be set before run()")
        self.fu_ts, self.fu_asset, self.fu_rate = _schedule(
            "funding", ts, asset, rate, 0, self.n_assets, False)
        self.fu_n = self.fu_ts.shape[0]
        self.fu_pos = 0

    def run(self, batches, on_bar=None, bars=None, notify=None):
        """Walk every batch, calling the strategy once per slice.

        Parameters
        ----------
        batches : iterable of BarBatch
        on_bar : callable, optional
            Called as ``on_bar(bars)`` once per slice.
        bars : object
            The argument handed to ``on_bar`` (a view that reads this simulator).
        notify : callable, optional
            Called before and after ``on_bar`` when order events or corporate
            actions were logged that the strategy has not seen
            (``events_seen`` / ``actions_seen`` count what it has).

        Raises
        ------
        ValueError
            A batch with mismatched column lengths, an asset id out of range,
            or timestamps that decrease within or across batches.
        """
        if self.running or self.finished:
            raise RuntimeError("a Simulator runs once")
        self.running = True
        cdef long long[::1] ts_v, sess_v
        cdef int[::1] asset_v
        cdef const double[::1] o_v, h_v, l_v, c_v, v_v, b_v, a_v, bs_v, as_v
        cdef bint has_q = False
        cdef bint indexed = False
        cdef Py_ssize_t i, j, n, cnt
        cdef long long t, s, k = -1, prev_session = 0, prev_ts = 0, last_batch_ts
        cdef int a
        cdef bint have_prev = False, call = on_bar is not None, tell = notify is not None
        cdef int mode = self.fill_mode
        cdef int rules = BarRules.INTRABAR if mode == FillMode.NEXT_OPEN else BarRules.AT_CLOSE
        cdef History hist = self.history
        cdef Ledger ledger = self.ledger
        cdef OrderBook book = self.book
        try:
            for batch in batches:
                ts_a = np.ascontiguousarray(batch.ts, dtype=np.int64)
                n = ts_a.shape[0]
                asset_a = np.ascontiguousarray(batch.asset, dtype=np.int32)
                cols = [np.ascontiguousarray(getattr(batch, f), dtype=np.float64)
                        for f in ("open", "high", "low", "close", "volume")]
                sess_a = np.ascontiguousarray(batch.session, dtype=np.int64)
                if any(x.shape[0] != n for x in [asset_a, sess_a] + cols):
                    raise ValueError("batch columns have different lengths")
                if n == 0:
                    continue
                if have_prev and ts_a[0] <= prev_ts:
                    raise ValueError("a batch starts at or before the previous batch's last "
                                     "timestamp; batches must not split or reorder slices")
                has_q = getattr(batch, "bid", None) is not None
                if has_q:
                    qcols = [np.ascontiguousarray(getattr(batch, f), dtype=np.float64)
                             for f in ("bid", "ask", "bid_size", "ask_size")]
                    if any(x.shape[0] != n for x in qcols):
                        raise ValueError("quote columns have different lengths")
                    b_v = qcols[0]; a_v = qcols[1]; bs_v = qcols[2]; as_v = qcols[3]
                    self.quotes = True
                    rules = BarRules.QUOTES
                self.batch = batch
                hist.bind_source(batch)
                indexed = hist.indexed
                ts_v = ts_a
                asset_v = asset_a
                sess_v = sess_a
                o_v = cols[0]; h_v = cols[1]; l_v = cols[2]; c_v = cols[3]; v_v = cols[4]
                # rows are checked as they are read: asset ids in range, time not decreasing
                i = 0
                while i < n:
                    t = ts_v[i]
                    if i > 0 and t < ts_v[i - 1]:
                        raise ValueError(f"batch row {i}: timestamps decrease; rows must be "
                                         "sorted by (ts, asset)")
                    s = sess_v[i]
                    k += 1
                    if have_prev and s != prev_session:
                        if book.open_idx.n > 0:
                            book.close_session(k - 1, prev_session, prev_ts, self.last_close,
                                               self.last_volume, self.last_bid, self.last_ask,
                                               self.quotes)
                            ledger.mark_to_market(self.last_close)
                        self._session_end(prev_session, prev_ts, s)
                    if have_prev and self.record_each_slice:
                        # the previous slice's row, after its session's expiries and accruals
                        ledger.record(prev_ts, self.record_positions)
                    if self.ca_pos < self.ca_n and self.ca_ts[self.ca_pos] <= t:
                        self._apply_actions(t, k)
                    if self._next_pay_ts <= t:
                        self._pay_due(t)
                    while self.fx_pos < self.fx_n and self.fx_ts[self.fx_pos] <= t:
                        ledger.set_rate(self.fx_ccy[self.fx_pos], self.fx_rate[self.fx_pos])
                        self.fx_pos += 1
                    while self.fu_pos < self.fu_n and self.fu_ts[self.fu_pos] <= t:
                        ledger.fund(t, self.fu_asset[self.fu_pos], self.fu_rate[self.fu_pos])
                        self.fu_pos += 1
                    if self.open_hook is not None:
                        j = i
                        while j < n and ts_v[j] == t:
                            j += 1
                        if tell and (book.ev_ts.n != self.events_seen
                                     or self.ax_ts.n != self.actions_seen):
                            notify()
                        self.ts = t                # now is this slice's open
                        self.open_hook(t, asset_a[i:j], cols[0][i:j])
                    j = i
                    while j < n and ts_v[j] == t:
                        a = asset_v[j]
                        if a < 0 or a >= self.n_assets:
                            raise ValueError(f"batch row {j}: asset id {a} outside "
                                             f"[0, {self.n_assets})")
                        self.last_open[a] = o_v[j]
                        self.last_high[a] = h_v[j]
                        self.last_low[a] = l_v[j]
                        self.last_close[a] = c_v[j]
                        self.last_volume[a] = v_v[j]
                        self.last_ts[a] = t
                        self.bar_slice[a] = k
                        if has_q:
                            self.last_bid[a] = b_v[j]
                            self.last_ask[a] = a_v[j]
                            self.last_bid_size[a] = bs_v[j]
                            self.last_ask_size[a] = as_v[j]
                        cnt = hist.count[a]
                        if cnt == hist.cap:
                            hist._grow(cnt + 1)
                        if indexed:
                            hist.rows[cnt, a] = j
                        else:
                            hist.ts[cnt, a] = t
                            hist.open[cnt, a] = o_v[j]
                            hist.high[cnt, a] = h_v[j]
                            hist.low[cnt, a] = l_v[j]
                            hist.close[cnt, a] = c_v[j]
                            hist.volume[cnt, a] = v_v[j]
                        hist.count[a] = cnt + 1
                        j += 1
                    self.slice_no = k
                    self.ts = t
                    self.session = s
                    self.row_lo = i
                    self.row_hi = j
                    if mode != FillMode.SAME_CLOSE and book.open_idx.n > 0:
                        book.match(k, t, s, rules, False, self.bar_slice, self.last_open,
                                   self.last_high, self.last_low, self.last_close,
                                   self.last_volume, self.last_bid, self.last_ask,
                                   self.last_bid_size, self.last_ask_size)
                    ledger.mark_to_market(self.last_close)
                    if (ledger.margin and ledger.n_held > 0 and self.margin_hook is not None
                            and ledger.cash + ledger.net_mv + ledger.receivable
                            < ledger.maint_req - 1e-9):
                        self.margin_hook(k, t)
                    if tell and (book.ev_ts.n != self.events_seen
                                 or self.ax_ts.n != self.actions_seen):
                        notify()
                    if call:
                        on_bar(bars)
                        if tell and book.ev_ts.n != self.events_seen:
                            notify()
                    if mode == FillMode.SAME_CLOSE and book.open_idx.n > 0:
                        book.match(k, t, s, BarRules.QUOTES if has_q else BarRules.AT_CLOSE,
                                   True, self.bar_slice, self.last_open, self.last_high,
                                   self.last_low, self.last_close, self.last_volume,
                                   self.last_bid, self.last_ask, self.last_bid_size,
                                   self.last_ask_size)
                        ledger.mark_to_market(self.last_close)
                    prev_session = s
                    prev_ts = t
                    have_prev = True
                    i = j
            if have_prev:
                nxt = prev_session + 1
                if self.next_session_fn is not None:
                    nxt = self.next_session_fn(prev_session)
                self._session_end(prev_session, prev_ts, nxt)
                if self.record_each_slice:
                    ledger.record(prev_ts, self.record_positions)
        finally:
            self.running = False
            self.finished = True
        return k + 1


cdef class FieldView:
    """One field of the current slice: ``bars.close["AAPL"]`` (compiled for speed)."""

    cdef readonly object bars
    cdef readonly str field
    cdef Simulator sim
    cdef dict ids
    cdef double[::1] arr

    def __init__(self, SliceBars bars, str field, arr):
        self.bars = bars
        self.field = field
        self.sim = bars.sim
        self.ids = bars.ids
        self.arr = arr

    def __getitem__(self, asset):
        a = self.ids.get(asset)
        if a is None:
            a = self.bars._unknown(asset)     # an alias (continuous future) or an error
        cdef int i = a
        if self.sim.bar_slice[i] != self.sim.slice_no:
            raise KeyError(f"{asset!r} has no bar at {self.bars.ts}")
        return self.arr[i]

    def get(self, asset, default=None):
        """Value for ``asset``, or ``default`` when it has no bar in this slice."""
        a = self.ids.get(asset)
        if a is None:
            a = self.bars._unknown(asset)     # an alias (continuous future) or an error
        cdef int i = a
        if self.sim.bar_slice[i] != self.sim.slice_no:
            return default
        return self.arr[i]

    @property
    def values(self):
        """Values of the assets present in this slice, in ``bars.assets`` order."""
        col = "close" if self.field == "price" else self.field
        sim = self.sim
        return np.asarray(getattr(sim.batch, col)[sim.row_lo:sim.row_hi], dtype=np.float64)

    def to_series(self):
        """The field as a Series indexed by asset name."""
        import pandas as pd
        return pd.Series(self.values, index=self.bars.assets, name=self.field)


cdef class SliceBars:
    """The bars of the current slice (all rows sharing one timestamp).

    ``bars.close["AAPL"]``, ``"AAPL" in bars``, ``bars.assets``, ``bars.ts``,
    ``bars.to_frame()``. One object serves the whole run; it always shows the
    slice being processed.
    """

    cdef readonly Simulator sim
    cdef readonly dict ids
    cdef readonly tuple names
    cdef readonly FieldView open, high, low, close, volume, price
    cdef object _on_unknown

    def __init__(self, Simulator sim, tuple names, on_unknown):
        self.sim = sim
        self.names = names
        self.ids = {n: i for i, n in enumerate(names)}
        self._on_unknown = on_unknown
        self.open = FieldView(self, "open", sim.last_open_np)
        self.high = FieldView(self, "high", sim.last_high_np)
        self.low = FieldView(self, "low", sim.last_low_np)
        self.close = FieldView(self, "close", sim.last_close_np)
        self.volume = FieldView(self, "volume", sim.last_volume_np)
        self.price = self.close

    def _unknown(self, asset):
        return self._on_unknown(asset)

    @property
    def ts(self):
        """Timestamp of this slice (pandas Timestamp, UTC)."""
        import pandas as pd
        return pd.Timestamp(self.sim.ts, unit="ns", tz="UTC")

    @property
    def ts_ns(self):
        """Timestamp of this slice as int64 nanoseconds since the epoch (UTC)."""
        return self.sim.ts

    @property
    def asset_ids(self):
        sim = self.sim
        return np.asarray(sim.batch.asset[sim.row_lo:sim.row_hi])

    @property
    def assets(self):
        """Names of the assets with a bar in this slice."""
        names = self.names
        return [names[i] for i in self.asset_ids.tolist()]    # Python ints: fast tuple indexing

    def __contains__(self, asset):
        a = self.ids.get(asset)
        if a is None:
            try:
                a = self._on_unknown(asset)   # an alias (continuous future)
            except Exception:
                return False
        cdef int i = a
        return self.sim.bar_slice[i] == self.sim.slice_no

    def __len__(self):
        return self.sim.row_hi - self.sim.row_lo

    def __iter__(self):
        return iter(self.assets)

    def to_frame(self):
        """The slice as a DataFrame indexed by asset name."""
        import pandas as pd
        return pd.DataFrame({f: getattr(self, f).values for f in
                             ("open", "high", "low", "close", "volume")}, index=self.assets)

    def __repr__(self):
        return f"Bars(ts={self.ts}, assets={len(self)})"
