"""``BackBroker``: Backtrader's broker interface on top of the native ml4t broker.

Orders are matched, filled and booked by the native engine (``ml4t.Engine`` with
``fill="next_open"``, or ``"same_close"`` under ``set_coc(True)``,
``fill_order="submission"``, ``intrabar_policy="submission"`` -- the earlier-submitted
member of an OCO group fills when one bar touches both -- and ``cash_check="opening"`` --
only the opening part of a fill needs cash). This class keeps what Backtrader adds around the broker,
so that a strategy sees the same statuses at the same bars:

* **Submission check.** Backtrader accepts the orders of a bar only at the start of the
  next one, after pseudo-executing them cumulatively, in submission order, at their
  creation price (the creation close for market orders) plus commission, on the cash of
  that moment. An order that does not fit gets ``Margin`` and never reaches the market
  (and the cash it would have used stays spent for the rest of that check). The shim runs
  this pre-trade check when the bar ends and transmits only the accepted orders to the
  native broker; fills are then checked again by the native broker at the fill price.
* **Notifications a bar late.** ``Submitted`` (and cancels made during the bar) are
  delivered before the next bar's ``next()``, followed by ``Accepted``/``Margin`` from
  the check and by what the market did on that bar (fills, expiries, cancels of linked
  orders), in Backtrader's queue order (by order reference).
* **Order links.** One-cancels-other groups and bracket parent/children follow
  Backtrader's rules (when one bracket leg fills or expires the other is ``Canceled``;
  when the parent ends unfilled, both children are ``Canceled``; a child whose parent was
  refused at submission is ``Rejected``). The shim issues the matching native cancels.
* **Validity.** ``valid`` is Backtrader's good-till-date, checked before matching on the
  first bar whose time is past it; the native order is canceled before that bar and the
  strategy hears ``Expired``.

* **Order types.** ``Close`` is the native market-on-close order (``at_close=True``),
  ``StopTrail``/``StopTrailLimit`` the native trailing stop (-limit) starting from the
  order's ``price`` with the limit at Backtrader's creation offset; the shim copies the
  live stop and limit back into ``order.created`` after each bar.

Positions shown to the strategy (size and average price) mirror the native ledger fill by
fill; cash and value are read from the native broker.

* **Futures-like schemes** (``setcommission(margin=..., mult=...)``): each feed is a
  native ``Future`` with ``margin`` as its initial margin per contract (see
  ``CommInfoBase._native_future``). The value is the native account value; Backtrader's
  cash is that value less ``margin`` per contract held, and the submission check starts
  from it. The native engine re-checks each fill that opens contracts (Backtrader's
  ``Margin`` at the fill).
"""
from __future__ import annotations

import collections
import math

from ._params import ParamsHolder
from .order import (BuyOrder, CommInfoBase, Order, OrderExecutionBit, Position, SellOrder)

__all__ = ["BackBroker", "BrokerBack", "BrokerBase"]

_UNSUPPORTED_EXEC = {
    Order.Historical: "Order.Historical",
}


# the native order statuses the broker acts on (not: submitted, accepted, held)
NATIVE_NEWS = ("filled", "partially_filled", "rejected", "canceled", "expired")


def _refused_for_cash(reason):
    """True for the native reasons Backtrader reports as ``Margin``."""
    return bool(reason) and (reason.startswith("insufficient")
                             or reason in ("short_not_allowed", "max_leverage"))


class BackBroker(ParamsHolder):
    """Backtrader's simulated broker, delegating matching and accounting to ml4t.

    Parameters
    ----------
    cash : float
        Starting cash (default 10,000 as in Backtrader).
    checksubmit : bool
        Run Backtrader's submission check (default True).
    coc : bool
        Cheat-on-close: market orders fill at the close of the bar they were placed on.
    coo : bool
        Cheat-on-open: the submission check prices market orders at the next open.
    slip_perc, slip_fixed : float
        Slippage (see :meth:`set_slippage_perc`).
    shortcash : bool
        Short sales add their proceeds to cash (True, the only mode the native cash
        account has).
    """

    params = (("cash", 10000.0), ("checksubmit", True), ("eosbar", False), ("filler", None),
              ("slip_perc", 0.0), ("slip_fixed", 0.0), ("slip_open", False),
              ("slip_match", True), ("slip_limit", True), ("slip_out", False),
              ("coc", False), ("coo", False), ("int2pnl", True), ("shortcash", True),
              ("fundstartval", 100.0), ("fundmode", False), ("commission", None))

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        rest = self._bt_make_params(kwargs)
        self._bt_pending = (args, rest)
        return self

    def __init__(self):
        self.comminfo = {None: self.p.commission or CommInfoBase(percabs=True)}
        self.startingcash = self.cash = self.p.cash
        self._value = self.cash
        self._run = None
        self._futures = False
        self._cash_addition = []
        self.positions = collections.defaultdict(Position)
        self.orders = []
        self.pending = []

    # ------------------------------------------------------------ configuration
    def setcommission(self, commission=0.0, margin=None, mult=1.0, commtype=None,
                      percabs=True, stocklike=False, interest=0.0, interest_long=False,
                      leverage=1.0, automargin=False, name=None):
        """Set the commission scheme (for the feed ``name``, or the default one)."""
        self.comminfo[name] = CommInfoBase(
            commission=commission, margin=margin, mult=mult, commtype=commtype,
            stocklike=stocklike, percabs=percabs, interest=interest,
            interest_long=interest_long, leverage=leverage, automargin=automargin)

    def addcommissioninfo(self, comminfo, name=None):
        self.comminfo[name] = comminfo

    def getcommissioninfo(self, data):
        return self.comminfo.get(getattr(data, "_name", None), self.comminfo[None])

    def set_cash(self, cash):
        self.startingcash = self.cash = self.p.cash = cash
        self._value = cash

    setcash = set_cash

    def add_cash(self, cash):
        """Add (or, negative, remove) cash. As in Backtrader it arrives when the broker
        next values the account: at the next bar, after that bar's orders were handled
        (so it cannot pay for them), before its ``next()``; in fund mode it buys fund
        shares at the last fund value. Cash added before the run starts is dropped, as
        Backtrader's broker resets its queue when the run starts."""
        self._cash_addition.append(float(cash))

    def _bt_add_cash(self, last_value):
        """Book the queued additions as native deposits/withdrawals (start of a bar;
        ``last_value``: the account value at the end of the previous bar, or None)."""
        native = self._run.native
        for c in self._cash_addition:
            shares = self.get_fundshares()
            fundval = self.p.fundstartval if last_value is None else last_value / shares
            if c > 0:
                native.deposit(c)
            elif c < 0:
                cash = native.cash
                if -c > cash + 1e-7:
                    raise NotImplementedError(
                        f"add_cash({c}): more than the cash ({cash}); Backtrader lets the "
                        "cash go negative, the ml4t engine does not pay out a withdrawal "
                        "it does not hold")
                native.withdraw(-c)
            self._fundshares = shares + c / fundval
        self._cash_addition.clear()

    def set_coc(self, coc):
        self.p.coc = coc

    def set_coo(self, coo):
        self.p.coo = coo

    def set_checksubmit(self, checksubmit):
        self.p.checksubmit = checksubmit

    def set_shortcash(self, shortcash):
        if not shortcash:
            raise NotImplementedError("shortcash=False has no native equivalent")
        self.p.shortcash = shortcash

    def set_int2pnl(self, int2pnl):
        self.p.int2pnl = int2pnl

    def set_eosbar(self, eosbar):
        self.p.eosbar = eosbar

    seteosbar = set_eosbar

    def set_filler(self, filler):
        if filler is not None:
            raise NotImplementedError("volume fillers: use the native volume_limit instead")

    def set_fundmode(self, fundmode, fundstartval=None):
        """Fund mode: analyzers and observers follow the fund value (value per fund
        share; the shares are the starting cash / ``fundstartval``) unless told
        otherwise. Without ``add_cash`` the share count never changes."""
        self.p.fundmode = bool(fundmode)
        if fundstartval is not None:
            self.set_fundstartval(fundstartval)

    def get_fundmode(self):
        return self.p.fundmode

    fundmode = property(get_fundmode, set_fundmode)

    def set_fundstartval(self, fundstartval):
        """The fund value per share at the start (default 100)."""
        self.p.fundstartval = fundstartval

    def set_slippage_perc(self, perc, slip_open=True, slip_limit=True, slip_match=True,
                          slip_out=False):
        """Slippage as a fraction of the price (buys pay more, sells get less)."""
        p = self.p
        p.slip_perc, p.slip_fixed = perc, 0.0
        p.slip_open, p.slip_limit, p.slip_match, p.slip_out = (slip_open, slip_limit,
                                                               slip_match, slip_out)

    def set_slippage_fixed(self, fixed, slip_open=True, slip_limit=True, slip_match=True,
                           slip_out=False):
        """Slippage as a fixed price amount."""
        p = self.p
        p.slip_perc, p.slip_fixed = 0.0, fixed
        p.slip_open, p.slip_limit, p.slip_match, p.slip_out = (slip_open, slip_limit,
                                                               slip_match, slip_out)

    # ------------------------------------------------------------------ queries
    def get_cash(self):
        """Cash; with a futures-like scheme Backtrader's cash is the account value less
        the margin held (``margin`` per open contract)."""
        if self._run is not None and self._run.native is not None:
            if self._futures:
                return self._run.native.value - self._margin_held()
            return self._run.native.cash
        return self.cash

    getcash = get_cash

    def _margin_held(self):
        held = 0.0
        for data, pos in self.positions.items():
            if pos.size:
                comminfo = self.getcommissioninfo(data)
                if not comminfo.stocklike:
                    held += comminfo.getoperationcost(pos.size, pos.price)
        return held

    def get_value(self, datas=None, mkt=False, lever=False):
        """Portfolio value (cash + positions at their last close), or the value of the
        positions in ``datas``."""
        if datas is not None:
            total = 0.0
            for d in datas:
                pos = self.positions[d]
                total += self.getcommissioninfo(d).getvaluesize(pos.size, d.close[0])
            return total
        if self._run is not None and self._run.native is not None:
            return self._run.native.value
        return self._value

    getvalue = get_value

    def get_value_lever(self, datas=None, mkt=False):
        return self.get_value(datas, mkt)

    def get_leverage(self):
        return 1.0

    def get_fundshares(self):
        """Fund shares: the starting cash / ``fundstartval`` (set when the run starts)."""
        shares = self.__dict__.get("_fundshares")
        return self.startingcash / self.p.fundstartval if shares is None else shares

    fundshares = property(get_fundshares)

    def get_fundvalue(self):
        """The value of one fund share (Backtrader keeps it in every mode)."""
        return self.get_value() / self.get_fundshares()

    fundvalue = property(get_fundvalue)

    def getposition(self, data):
        return self.positions[data]

    def get_orders_open(self, safe=False):
        return [o.clone() for o in self.pending] if safe else list(self.pending)

    def orderstatus(self, order):
        return order.status

    # ============================================================== the run
    def _bt_start(self, run):
        """Reset the per-run state (called by Cerebro before the first bar)."""
        self._run = run
        self._fundshares = self.startingcash / self.p.fundstartval
        self._cash_addition = []          # Backtrader drops what was added before the run
        self.positions = collections.defaultdict(Position)
        self.orders = []
        self.pending = []               # accepted, alive orders in queue (reference) order
        self.submitted = []             # orders waiting for the submission check
        self._pchildren = {}            # parent ref -> deque of [parent, children...]
        self._ocos = {}                 # ref -> ref of its OCO group leader
        self._ocol = collections.defaultdict(list)
        # (the lists of a run are emptied in place, never replaced: the compiled step,
        # ``ml4t._core.btstep.BarStep``, holds them)
        self._expiring = []             # orders that expire at the start of the next bar
        self._phase_a = []              # notifications made during the bar
        self._phase_b = []              # results of the submission check
        self._phase_c = []              # what the next bar's market did
        self._native_id = {}            # BT ref -> native order id
        self._by_native = {}            # native order id -> BT order
        self._native_done = set()       # native ids the shim has ended itself
        self._held = {}                 # parent ref -> children the shim activates itself
        self._next_ref = 1
        self._trail = []                # live trailing orders (their stop follows native)
        self._bt_cheat_open = False     # cheat_on_open: the check runs at the next open
        self._at_open = False
        # futures-like schemes: Backtrader's cash excludes the margin held
        self._futures = any(not self.getcommissioninfo(d).stocklike for d in run.datas)
        run.phase = self._phase_a

    # --------------------------------------------------------------- creation
    def buy(self, owner, data, size, price=None, plimit=None, exectype=None, valid=None,
            tradeid=0, oco=None, trailamount=None, trailpercent=None, parent=None,
            transmit=True, histnotify=False, _checksubmit=True, **kwargs):
        return self._create(BuyOrder, owner, data, size, price, plimit, exectype, valid,
                            tradeid, oco, trailamount, trailpercent, parent, transmit,
                            histnotify, _checksubmit, kwargs)

    def sell(self, owner, data, size, price=None, plimit=None, exectype=None, valid=None,
             tradeid=0, oco=None, trailamount=None, trailpercent=None, parent=None,
             transmit=True, histnotify=False, _checksubmit=True, **kwargs):
        return self._create(SellOrder, owner, data, size, price, plimit, exectype, valid,
                            tradeid, oco, trailamount, trailpercent, parent, transmit,
                            histnotify, _checksubmit, kwargs)

    def _create(self, cls, owner, data, size, price, plimit, exectype, valid, tradeid, oco,
                trailamount, trailpercent, parent, transmit, histnotify, checksubmit, info):
        if self._run is None:
            raise RuntimeError("orders can only be placed while cerebro.run() is running")
        if exectype in _UNSUPPORTED_EXEC:
            raise NotImplementedError(f"{_UNSUPPORTED_EXEC[exectype]} is not supported by the "
                                      "ml4t shim yet")
        if exectype == Order.Close and self.p.coc:
            raise NotImplementedError(
                "Order.Close together with cheat-on-close (set_coc(True)) is not supported "
                "by the ml4t shim: the native same_close mode matches only after next()")
        if len(data) == 0:
            raise RuntimeError(f"cannot place an order on {data._name!r} before its first bar")
        if exectype == Order.Close:
            self._check_close_session(data)
        ref = self._next_ref
        self._next_ref += 1
        order = cls._bt_make(ref, dict(
            owner=owner, data=data, size=size, price=price, pricelimit=plimit,
            exectype=exectype, valid=valid, tradeid=tradeid, oco=oco,
            trailamount=trailamount, trailpercent=trailpercent, parent=parent,
            transmit=transmit, histnotify=histnotify), info)
        # one-cancels-other group bookkeeping
        if oco is None:
            self._ocos[ref] = ref
            self._ocol[ref].append(ref)
        else:
            leader = self._ocos[oco.ref]
            self._ocos[ref] = leader
            self._ocol[leader].append(ref)
        return self._submit(order, checksubmit)

    @staticmethod
    def _check_close_session(data):
        """Order.Close follows the native sessions (calendar days); an intraday feed with
        its own ``sessionend`` makes Backtrader fill on the bar stamped at that time."""
        from .utils import TIME_MAX, TimeFrame
        p = data.p
        if p.timeframe < TimeFrame.Days and p.sessionend != TIME_MAX:
            raise NotImplementedError(
                f"Order.Close on the intraday feed {data._name!r} with sessionend="
                f"{p.sessionend}: the ml4t shim closes sessions at the end of the calendar "
                "day (Backtrader's default session end); drop sessionend to use Order.Close")

    def submit(self, order, check=True):
        return self._submit(order, check)

    def _submit(self, order, check):
        pref = self._take_children(order)
        if pref is None:
            return order
        pc = self._pchildren.setdefault(pref, collections.deque())
        pc.append(order)
        if order.transmit:
            group = list(pc)
            for o in group:
                self._transmit(o, check)
            if not (check and self.p.checksubmit):
                self._send(group)               # accepted at once: the group goes together
            return group[-1]
        return order

    def _take_children(self, order):
        pref = order.parent.ref if order.parent is not None else order.ref
        if order.ref != pref and pref not in self._pchildren:
            order.reject()
            self._notify(order, self._phase_a)
            return None
        return pref

    def _transmit(self, order, check):
        if check and self.p.checksubmit:
            order.submit()
            self.submitted.append(order)
            self.orders.append(order)
            self._notify(order, self._phase_a)
        else:
            self._accept(order, self._phase_a)
        return order

    # ----------------------------------------------------------- cancellation
    def cancel(self, order, bracket=False):
        """Cancel an accepted order; does nothing for one still waiting to be checked."""
        if not self._in_pending(order):
            return False
        self._remove_pending(order)
        order.cancel()
        self._notify(order, self._current_phase())
        self._native_cancel(order)
        self._ococheck(order)
        if not bracket:
            self._bracketize(order, cancel=True)
        return True

    def _in_pending(self, order):
        return any(o is order for o in self.pending)

    def _remove_pending(self, order):
        for i, o in enumerate(self.pending):
            if o is order:
                del self.pending[i]
                return

    def _ococheck(self, order, executing=False):
        leader = self._ocos.get(order.ref, order.ref)
        group = self._ocol.pop(self._ocos.get(leader, leader), None)
        if group:
            phase = self._current_phase()
            for i in range(len(self.pending) - 1, -1, -1):
                o = self.pending[i]
                # Backtrader takes an order off its queue while executing it, so a
                # partial fill does not cancel the order itself
                if o.ref in group and not (executing and o is order):
                    del self.pending[i]
                    o.cancel()
                    self._notify(o, phase)
                    self._native_cancel(o)

    def _bracketize(self, order, cancel=False):
        pref = order.parent.ref if order.parent is not None else order.ref
        pc = self._pchildren.get(pref)
        if pc is None:
            pc = self._pchildren[pref] = collections.deque()
        if cancel or order.ref != pref:
            while pc:
                self.cancel(pc.popleft(), bracket=True)
            del self._pchildren[pref]
        else:
            pc.popleft()
            for child in pc:
                child.activate()
            held = self._held.pop(pref, None)
            if held:
                self._send(held, activation=True)

    # ------------------------------------------------------------ notification
    def _current_phase(self):
        return self._run.phase

    def _notify(self, order, phase):
        phase.append(order.clone())

    # ------------------------------------------------------ end of a bar (check)
    def _bt_end_of_bar(self, last_bar: bool):
        """Run the submission check on this bar's orders and transmit the accepted ones;
        schedule the expiries of the next bar."""
        run = self._run
        if self._bt_cheat_open:
            return                      # checked at the next open (``_bt_open``)
        run.phase = self._phase_b
        if not last_bar and self.p.checksubmit and self.submitted:
            self._check_submitted()
        if not last_bar:
            self._schedule_expiries()
        run.phase = self._phase_a

    def _bt_open(self):
        """Cheat-on-open, after ``next_open()``: Backtrader's broker step before
        matching -- the submission check of the orders of the last ``next()`` and of
        ``next_open()`` (market orders priced at this open), then the expiries due
        now -- so that the native engine matches this bar with them."""
        run = self._run
        run.phase = self._phase_b
        self._at_open = True
        try:
            if self.p.checksubmit and self.submitted:
                self._check_submitted()
        finally:
            self._at_open = False
        self._schedule_expiries(now=True)
        run.phase = self._phase_a

    def _pseudo_price(self, order):
        if self.p.coo and order.exectype == Order.Market:
            if self._at_open:
                return order.data.open[0]
            return self._run.next_open(order.data)
        return order.created.price

    def _check_submitted(self):
        cash = self.get_cash()
        positions = {}
        accepted = []
        while self.submitted:
            order = self.submitted.pop(0)
            if self._take_children_check(order) is None:
                continue
            comminfo = self.getcommissioninfo(order.data)
            pos = positions.get(id(order.data))
            if pos is None:
                pos = positions[id(order.data)] = self.positions[order.data].clone()
            cash = self._pseudo_execute(order, cash, pos, comminfo)
            if cash >= 0.0:
                self._accept(order, self._phase_b)
                accepted.append(order)
                continue
            order.margin()
            self._notify(order, self._phase_b)
            self._ococheck(order)
            self._bracketize(order, cancel=True)
        self._send([o for o in accepted if o.alive()])

    def _take_children_check(self, order):
        pref = order.parent.ref if order.parent is not None else order.ref
        if order.ref != pref and pref not in self._pchildren:
            order.reject()
            self._notify(order, self._phase_b)
            return None
        return pref

    def _pseudo_execute(self, order, cash, pos, comminfo):
        """Backtrader's cash projection of one order at its creation price."""
        size = order.executed.remsize
        price = self._pseudo_price(order)
        _, _, opened, closed = pos._apply(size, price)      # (a clone: no datetime)
        shortcash = self.p.shortcash
        if closed:
            value = (comminfo.getvaluesize(-closed, price) if shortcash
                     else comminfo.getoperationcost(closed, price))
            if value > 0:
                value /= comminfo.get_leverage()
            cash += value
            cash -= comminfo.getcommission(closed, price)
        if opened:
            value = (comminfo.getvaluesize(opened, price) if shortcash
                     else comminfo.getoperationcost(opened, price))
            if value > 0:
                value /= comminfo.get_leverage()
            cash -= value
            cash -= comminfo.getcommission(opened, price)
        return cash

    def _accept(self, order, phase):
        order.pannotated = None
        order.submit()
        order.accept()
        self.pending.append(order)
        self._notify(order, phase)

    # ---------------------------------------------------------- native orders
    def _send(self, orders, activation=False):
        """Transmit accepted orders to the native broker (brackets as native brackets
        when they have that shape)."""
        native = self._run.native
        if len(orders) == 1 and not activation and orders[0].parent is None:
            self._send_one(native, orders[0])       # the common case: one plain order
            return
        by_parent = collections.OrderedDict()
        for o in orders:
            key = o.parent.ref if o.parent is not None else o.ref
            by_parent.setdefault(key, []).append(o)
        for key, group in by_parent.items():
            parent = group[0] if group[0].ref == key else None
            children = [o for o in group if o.parent is not None]
            if activation or parent is None:
                first = None
                for o in group:
                    # bracket children work as a one-cancels-other pair
                    self._send_one(native, o, peer=first if activation else None)
                    if activation and first is None:
                        first = self._native_id.get(o.ref)
                continue
            if not children:
                self._send_one(native, parent)
                continue
            if not self._send_bracket(native, parent, children):
                self._send_one(native, parent)
                self._held[parent.ref] = children

    def _asset(self, data):
        return self._run.asset_of[id(data)]

    def _send_one(self, native, o, peer=None):
        kw = self._native_prices(o)
        if o.oco is not None:
            pid = self._native_id.get(o.oco.ref)
            if pid is not None and pid not in self._native_done:
                peer = pid
        if not kw and peer is None:         # a plain market order: only its id is kept
            self._link(o, native._market_id(self._asset(o.data), float(o.size)))
            return
        snap = native.order(self._asset(o.data), float(o.size), oco=peer, **kw)
        self._link(o, snap.id)

    def _native_prices(self, o):
        et = o.exectype
        if et == Order.Market:
            return {}
        if et == Order.Limit:
            return {"limit_price": float(o.created.price)}
        if et == Order.Stop:
            return {"stop_price": float(o.created.price)}
        if et == Order.StopLimit:
            return {"stop_price": float(o.created.price),
                    "limit_price": float(o.created.pricelimit)}
        if et == Order.Close:
            return {"at_close": True}
        if et in (Order.StopTrail, Order.StopTrailLimit):
            kw = ({"trail_amount": float(o.trailamount)} if o.trailamount
                  else {"trail_percent": float(o.trailpercent)})
            kw["trail_start"] = float(o._trailstart)
            if et == Order.StopTrailLimit:
                # Backtrader: limit = stop - (price - plimit) for either side
                off = float(o._limitoffset)
                kw["limit_offset"] = off if o.issell() else -off
            return kw
        raise NotImplementedError(_UNSUPPORTED_EXEC.get(et, f"exectype {et}"))

    def _send_bracket(self, native, parent, children):
        if len(children) != 2 or parent.exectype not in (Order.Market, Order.Limit,
                                                          Order.Stop, Order.StopLimit):
            return False
        stop = [c for c in children if c.exectype in (Order.Stop, Order.StopTrail)]
        limit = [c for c in children if c.exectype == Order.Limit]
        if len(stop) != 1 or len(limit) != 1:
            return False
        stop, limit = stop[0], limit[0]
        if stop.ref < limit.ref:
            # the native bracket submits its take-profit first, so under
            # intrabar_policy="submission" it would fill the limit when one bar touches
            # both legs; Backtrader fills the earlier-submitted stop (buy_bracket creates
            # it first). Send the legs as an OCO pair in Backtrader's order instead.
            return False
        if abs(stop.size) != abs(parent.size) or abs(limit.size) != abs(parent.size):
            return False
        kw = self._native_prices(parent)
        skw = self._native_prices(stop)
        if stop.exectype == Order.Stop:
            skw = {"stop_loss": skw["stop_price"]}
        else:
            skw.pop("trail_start", None)    # a native bracket trails from the entry's fill
        entry, tp, sl = native.bracket(self._asset(parent.data), float(parent.size),
                                       take_profit=float(limit.created.price), **skw, **kw)
        self._link(parent, entry.id)
        if tp is not None:
            self._link(limit, tp.id)
            self._link(stop, sl.id)
        return True

    def _link(self, order, native_id):
        self._native_id[order.ref] = native_id
        self._by_native[native_id] = order
        if order.exectype in (Order.StopTrail, Order.StopTrailLimit):
            self._trail.append(order)

    def _native_cancel(self, order):
        nid = self._native_id.get(order.ref)
        if nid is None:
            # a child the shim still holds: forget it
            for key, kids in list(self._held.items()):
                self._held[key] = [k for k in kids if k is not order]
            return
        if nid not in self._native_done:
            self._native_done.add(nid)
            self._run.native.cancel(nid)

    # ------------------------------------------------------------------ expiry
    def _schedule_expiries(self, now=False):
        self._expiring.clear()
        run = self._run
        for o in self.pending:
            v = o.valid
            if not v or o.exectype == Order.Market:
                continue
            if (o.data.datetime[0] if now else run.next_datetime(o.data)) > v:
                self._expiring.append(o)
                nid = self._native_id.get(o.ref)
                if nid is not None and nid not in self._native_done:
                    self._native_done.add(nid)
                    run.native.cancel(nid)

    # ------------------------------------------------- start of a bar (market)
    def _bt_market(self, events):
        """Turn what the native broker did on this bar into Backtrader's order changes,
        in Backtrader's queue order."""
        run = self._run
        if not events and not self._expiring and not self._trail:
            run.phase = self._phase_a           # nothing happened on this bar
            return
        run.phase = self._phase_c
        work = []
        for o in self._expiring:
            work.append((o.ref, 0, o, None, None))
        self._expiring.clear()
        seq = 1
        for ev in events:
            nid, st, reason, fill = ev
            o = self._by_native.get(nid)
            if o is None:
                continue
            if st in ("filled", "partially_filled") and fill is not None:
                work.append((o.ref, seq, o, ev, fill))
            elif st == "rejected":
                work.append((o.ref, seq, o, ev, None))
            elif st in ("canceled", "expired"):
                if nid not in self._native_done and reason not in (
                        "oco_canceled", "parent_canceled", "end_of_data"):
                    work.append((o.ref, seq, o, ev, None))
            seq += 1
        work.sort(key=lambda w: (w[0], w[1]))
        filled = {}                               # the feeds that got fills
        for ref, _, o, ev, fill in work:
            if ev is None:                        # Backtrader's expiry
                if not self._in_pending(o):
                    continue
                self._remove_pending(o)
                o.expire()
                self._notify(o, self._phase_c)
                self._ococheck(o)
                self._bracketize(o, cancel=True)
            elif fill is not None:
                self._execute(o, fill)
                filled[id(o.data)] = o.data
            elif ev[1] == "rejected":
                self._native_done.add(ev[0])
                if not o.alive():
                    continue
                self._remove_pending(o)
                o.margin() if _refused_for_cash(ev[2]) else o.reject()
                self._notify(o, self._phase_c)
                self._ococheck(o)
                self._bracketize(o, cancel=True)
            else:
                self._native_done.add(ev[0])
                if not o.alive():
                    continue
                self._remove_pending(o)
                # cash_check="opening": a reversal that does not fit fills its closing
                # leg and the native broker cancels the rest for cash (Backtrader: Margin)
                o.margin() if _refused_for_cash(ev[2]) else o.cancel()
                self._notify(o, self._phase_c)
                self._ococheck(o)
                self._bracketize(o, cancel=True)
        if self._trail:
            self._refresh_trails()
        if filled:
            self._check_positions(filled.values())
        run.phase = self._phase_a

    def _check_positions(self, datas=None):
        """The mirrored positions (of ``datas``, default all) agree with the native ledger."""
        native = self._run.native
        items = (self.positions.items() if datas is None
                 else [(d, self.positions[d]) for d in datas])
        for data, pos in items:
            qty = native._qty(self._asset(data))
            if not math.isclose(qty, pos.size, rel_tol=1e-9, abs_tol=1e-9):
                raise RuntimeError(f"internal: position of {data._name!r} is {pos.size} in "
                                   f"the shim but {qty} in the native ledger")

    def _refresh_trails(self):
        native = self._run.native
        live = []
        for o in self._trail:
            if not o.alive():
                continue
            nid = self._native_id[o.ref]
            snap = native.get_order(nid)
            if snap.stop_price is not None and snap.status in ("accepted", "partially_filled"):
                o.created.price = snap.stop_price
                if o.exectype == Order.StopTrailLimit and snap.limit_price is not None:
                    o.created.pricelimit = snap.limit_price
            live.append(o)
        self._trail[:] = live

    def _execute(self, order, fill):
        """Book one native fill (``(qty, price, commission, ts_ns)``) into the order, the
        mirrored position and the trades."""
        data = order.data
        comminfo = self.getcommissioninfo(data)
        size, price, comm, fill_ts = fill
        if isinstance(order.size, int) and float(size).is_integer():
            size = int(size)                       # Backtrader keeps integer sizes
        pos = self.positions[data]
        pprice_orig = pos.price
        psize, pprice, opened, closed = pos._bt_fill(size, price, data.datetime[0])
        pnl = comminfo.profitandloss(-closed, pprice_orig, price)
        if self.p.shortcash:
            closedvalue = comminfo.getvaluesize(-closed, pprice_orig)
            openedvalue = comminfo.getvaluesize(opened, price)
        else:
            closedvalue = comminfo.getoperationcost(closed, pprice_orig)
            openedvalue = comminfo.getoperationcost(opened, price)
        if closed and opened:
            closedcomm = comm * abs(closed) / abs(size)
            openedcomm = comm - closedcomm
        elif closed:
            closedcomm, openedcomm = comm, 0.0
        else:
            closedcomm, openedcomm = 0.0, comm
        coc = (self.p.coc and order.exectype == Order.Market
               and order.info.get("coc", True))
        dt = order.created.dt if coc else data.datetime[0]
        if (order.exectype == Order.Close and len(data) > 1
                and fill_ts < self._run.native_ts_now()):
            dt = data.datetime[-1]          # filled at the close of the session's last bar
        bit = OrderExecutionBit(dt, size, price, closed, closedvalue, closedcomm, opened,
                                openedvalue, openedcomm, pnl, psize, pprice)
        order.execute(bit, comminfo.margin)
        order.addcomminfo(comminfo)
        if not order.alive():
            self._remove_pending(order)
            self._native_done.add(self._native_id[order.ref])
        self._notify(order, self._phase_c)
        self._ococheck(order, executing=True)
        if order.status == Order.Completed:
            self._bracketize(order)

    def _bt_take_notifications(self):
        """All notifications due before this bar's ``next()``, in delivery order."""
        if not (self._phase_a or self._phase_b or self._phase_c):
            self._run.phase = self._phase_a
            return ()
        out = self._phase_a + self._phase_b + self._phase_c
        self._phase_a.clear()
        self._phase_b.clear()
        self._phase_c.clear()
        self._run.phase = self._phase_a
        return out

    def _bt_stop(self):
        self.cash = self.get_cash()
        self._value = self.get_value()
        self._run = None


BrokerBack = BackBroker
BrokerBase = BackBroker
