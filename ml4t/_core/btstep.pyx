# cython: boundscheck=False, wraparound=False
"""Compiled per-bar step of the Backtrader shim (``compat/backtrader/cerebro.py``).

The native engine calls a run's step once per master tick. On most bars nothing reaches
the strategy: no native order event, no notification waiting, no expiry, trailing stop
or cash addition. :class:`BarStep` serves those bars itself -- the clocks move, the
strategy's ``next()`` (``nextstart()``/``prenext()`` during its warm-up) runs, the
account's value and cash are recorded, and the broker's end-of-bar check runs when
orders are waiting -- and hands every other bar, and every bar of a run without a short
path plan (``_Run._quiet_plan`` returned None), to the Python step, ``_Run.step``.

It does what the Python short path did, in the same order and on the same objects: the
run's ``k``, ``phase`` and ``_ev_seen`` and the strategy's ``_minperstatus`` are the
entries of their ``__dict__`` (so the Python step and everything the strategy calls see
them as before), the clocks' ``_idx`` attributes move by one, the value is the native
ledger's ``nav`` and the cash its ``cash``. What it saves is the interpreter's ~140
bytecodes a bar (~0.7 us here on the SMA crossover's 5,036 bars).
"""
from ml4t._core.accounting cimport Ledger
from ml4t._core.clock cimport Simulator
from ml4t._core.matching cimport OrderBook


cdef class BarStep:
    """``on_bar`` of the shim's native driver: the short path, else ``run.step(bars)``.

    ``plan(...)`` arms the short path when the run starts (``_Run.start``); until then,
    and when it is never armed, every bar goes to the Python step.
    """

    cdef object run, full, strat, broker, obs_events, master, _bt_end_of_bar, _after
    cdef dict rd, sd, bd
    cdef list values, cash, adv, statuses
    # the broker's per-run lists (emptied in place, never replaced, during a run)
    cdef list expiring, trail, phase_a, phase_b, phase_c, cash_addition, submitted, pending
    cdef tuple steps
    cdef Ledger ledger
    cdef OrderBook book
    cdef Simulator sim
    cdef const long long[::1] ts
    cdef Py_ssize_t nticks, k
    cdef long long ev_seen
    cdef bint armed
    cdef readonly Py_ssize_t served      # bars the short path served (for tests)

    def __init__(self, run):
        self.run = run
        self.full = run.step
        self.armed = False
        self.served = 0

    def plan(self, plan, sim, master_ns, list adv, master, Py_ssize_t nticks):
        """Arm the short path with ``_Run._quiet_plan()``'s tuple (None: never), the
        native simulator, the master ticks' times (int64 ns), the clocks that move at
        each tick and the master clock."""
        self.armed = False
        if plan is None:
            return
        (self.strat, self.sd, self.statuses, self.steps, self.values, self.cash,
         self.obs_events, self.broker, self.ledger, self.book) = plan
        if len(self.statuses) != nticks or len(adv) != nticks or len(master_ns) != nticks:
            raise ValueError(f"internal: a short path plan for {nticks} ticks has "
                             f"{len(self.statuses)} statuses, {len(adv)} clock lists and "
                             f"{len(master_ns)} times")
        if len(self.steps) != 3:
            raise ValueError("internal: the short path needs (next, nextstart, prenext)")
        self.sim = sim
        self.ts = master_ns
        self.adv = adv
        self.master = master
        self.nticks = nticks
        self.rd = self.run.__dict__
        self.bd = self.broker.__dict__
        self._take_lists()
        self._sync()
        self._bt_end_of_bar = self.broker._bt_end_of_bar
        self._after = self.run._after_quiet_next
        self.armed = True

    cdef _take_lists(self):
        cdef dict bd = self.bd
        self.expiring = bd["_expiring"]
        self.trail = bd["_trail"]
        self.phase_a = bd["_phase_a"]
        self.phase_b = bd["_phase_b"]
        self.phase_c = bd["_phase_c"]
        self.cash_addition = bd["_cash_addition"]
        self.submitted = bd["submitted"]
        self.pending = bd["pending"]

    cdef int _sync(self) except -1:
        """After Python code that may move the run (its full step) or touch the broker:
        read the run's tick and log position back; the broker's lists must still be the
        ones held."""
        cdef dict rd = self.rd, bd = self.bd
        self.k = rd["k"]
        self.ev_seen = rd["_ev_seen"]
        if (bd["_expiring"] is not self.expiring or bd["_trail"] is not self.trail
                or bd["_phase_a"] is not self.phase_a or bd["_phase_b"] is not self.phase_b
                or bd["_phase_c"] is not self.phase_c
                or bd["_cash_addition"] is not self.cash_addition
                or bd["submitted"] is not self.submitted or bd["pending"] is not self.pending):
            raise RuntimeError("internal: the broker replaced one of its per-run lists; "
                               "the compiled step holds them (empty them in place)")
        return 0

    def __call__(self, bars):
        if not self.armed:
            return self.full(bars)
        cdef dict sd = self.sd
        if (self.book.ev_ts.n != self.ev_seen or self.expiring or self.trail or self.phase_a
                or self.phase_b or self.phase_c or self.cash_addition
                or sd["_orderspending"] or sd["_tradespending"]):
            self.full(bars)
            self._sync()
            return
        cdef Py_ssize_t k = self.k + 1
        if k >= self.nticks:
            raise RuntimeError(f"internal: native slice {self.sim.ts} is past the "
                               f"{self.nticks} master ticks")
        if self.sim.ts != self.ts[k]:
            raise RuntimeError(f"internal: native slice {self.sim.ts} is not master tick {k}")
        self.k = k
        self.rd["k"] = k
        self.master._idx = k
        for c in <list> self.adv[k]:
            c._idx += 1
        self.rd["phase"] = self.phase_a
        status = self.statuses[k]
        sd["_minperstatus"] = status
        cdef long s = status
        self.steps[(s >= 0) + (s > 0)]()
        self.values.append(self.ledger.nav_value())
        self.cash.append(self.ledger.cash)
        if sd["_orderspending"] or sd["_tradespending"]:
            self._after(k)
        if self.submitted or self.pending:
            self._bt_end_of_bar(last_bar=(k == self.nticks - 1))
            self._sync()
        self.served += 1


def order_news(OrderBook book, Ledger ledger, Py_ssize_t start, Py_ssize_t stop,
               news, dict statuses, dict reasons):
    """The native order events ``start``..``stop`` of the log whose status is in ``news``,
    in log order, as ``(order id, status name, reason name or "", fill)``; ``fill`` is the
    ledger's ``(qty, price, commission, ts_ns)`` of the event's fill, else None. The same
    tuples as reading ``book.event(i)`` and the ledger's fill columns one by one (the
    shim's ``_Run._take_events``), in one call.

    Raises
    ------
    IndexError
        ``start``/``stop`` outside the log, or a fill index outside the ledger's fills.
    """
    if start < 0 or stop < start or stop > book.ev_ts.n:
        raise IndexError(f"events {start}..{stop} outside the log [0, {book.ev_ts.n})")
    cdef Py_ssize_t i, nf = ledger.f_qty.n
    cdef long long f, reason
    cdef list out = []
    for i in range(start, stop):
        status = book.ev_status.data[i]
        if status not in news:
            continue
        f = book.ev_fill.data[i]
        if f >= 0:
            if f >= nf or f >= ledger.f_price.n or f >= ledger.f_comm.n or f >= ledger.f_ts.n:
                raise IndexError(f"event {i}: fill {f} outside the ledger's {nf} fills")
            fill = (ledger.f_qty.data[f], ledger.f_price.data[f], ledger.f_comm.data[f],
                    ledger.f_ts.data[f])
        else:
            fill = None
        reason = book.ev_reason.data[i]
        out.append((book.ev_oid.data[i], statuses[status], reasons[reason] if reason else "",
                    fill))
    return out
