"""Backtrader's order, trade, position and commission-scheme objects.

These are the objects a Backtrader strategy sees (``notify_order(order)``,
``notify_trade(trade)``, ``self.position``). The shim fills them from the native
engine: fills, cash and value come from the native broker; the fields Backtrader derives
per fill (``executed.value`` at the position's average price, a trade's P&L against the
average entry price, ``opened``/``closed`` parts) are derived here from each native fill
with Backtrader's average-cost conventions, so the numbers read the same.
"""
from __future__ import annotations

import datetime as _dt

from ._params import ParamsBase, ParamsHolder
from .utils import AutoOrderedDict, date2num, num2date

__all__ = ["Order", "BuyOrder", "SellOrder", "OrderData", "OrderExecutionBit", "Trade",
           "Position", "CommInfoBase", "CommissionInfo"]


class OrderExecutionBit:
    """One execution of an order, split into the part that closed and the part that
    opened a position."""

    def __init__(self, dt=None, size=0, price=0.0, closed=0, closedvalue=0.0, closedcomm=0.0,
                 opened=0, openedvalue=0.0, openedcomm=0.0, pnl=0.0, psize=0, pprice=0.0):
        self.dt = dt
        self.size = size
        self.price = price
        self.closed = closed
        self.opened = opened
        self.closedvalue = closedvalue
        self.openedvalue = openedvalue
        self.closedcomm = closedcomm
        self.openedcomm = openedcomm
        self.value = closedvalue + openedvalue
        self.comm = closedcomm + openedcomm
        self.pnl = pnl
        self.psize = psize
        self.pprice = pprice


class OrderData:
    """Creation or execution data of an order (``order.created`` / ``order.executed``)."""

    def __init__(self, dt=None, size=0, price=0.0, pricelimit=0.0, remsize=0, pclose=0.0,
                 trailamount=0.0, trailpercent=0.0):
        self.pclose = pclose
        self.exbits = []
        self.p1 = self.p2 = 0
        self.dt = dt
        self.size = size
        self.remsize = remsize
        self.price = price
        self.pricelimit = pricelimit
        self.trailamount = trailamount
        self.trailpercent = trailpercent
        if not pricelimit:
            self.pricelimit = self.price
        if pricelimit and not price:
            self.price = pricelimit
        self.plimit = pricelimit
        self.value = 0.0
        self.comm = 0.0
        self.margin = None
        self.pnl = 0.0
        self.psize = 0
        self.pprice = 0

    def __len__(self):
        return len(self.exbits)

    def __getitem__(self, key):
        return self.exbits[key]

    def add(self, bit: OrderExecutionBit):
        self.exbits.append(bit)
        self.remsize -= bit.size
        self.dt = bit.dt
        total = self.size + bit.size
        self.price = (self.size * self.price + bit.size * bit.price) / total
        self.size = total
        self.value += bit.value
        self.comm += bit.comm
        self.pnl += bit.pnl
        self.psize = bit.psize
        self.pprice = bit.pprice

    def iterpending(self):
        return iter(self.exbits[self.p1:self.p2])

    def getpending(self):
        return list(self.iterpending())

    def markpending(self):
        self.p1, self.p2 = self.p2, len(self.exbits)

    def clone(self):
        self.markpending()
        obj = object.__new__(OrderData)
        # (a copied dict assigned whole: ~2x faster than filling the new object's own)
        d = self.__dict__.copy()
        d["exbits"] = list(self.exbits)
        obj.__dict__ = d
        return obj


class Order(ParamsHolder):
    """A Backtrader order as the strategy sees it.

    Attributes
    ----------
    ref : int
        Order reference, counting from 1 in each run (Backtrader counts across runs).
    status : int
        One of ``Order.Created, Submitted, Accepted, Partial, Completed, Canceled,
        Expired, Margin, Rejected``.
    created, executed : OrderData
    """

    (Market, Close, Limit, Stop, StopLimit, StopTrail, StopTrailLimit,
     Historical) = range(8)
    ExecTypes = ["Market", "Close", "Limit", "Stop", "StopLimit", "StopTrail",
                 "StopTrailLimit", "Historical"]
    OrdTypes = ["Buy", "Sell"]
    Buy, Sell = range(2)
    (Created, Submitted, Accepted, Partial, Completed, Canceled, Expired, Margin,
     Rejected) = range(9)
    Cancelled = Canceled
    Status = ["Created", "Submitted", "Accepted", "Partial", "Completed", "Canceled",
              "Expired", "Margin", "Rejected"]
    DAY = _dt.timedelta()
    T_Close, T_Day, T_Date, T_None = range(4)

    params = (("owner", None), ("data", None), ("size", None), ("price", None),
              ("pricelimit", None), ("exectype", None), ("valid", None), ("tradeid", 0),
              ("oco", None), ("trailamount", None), ("trailpercent", None),
              ("parent", None), ("transmit", True), ("simulated", False),
              ("histnotify", False))

    ordtype = None

    def __init__(self, ref=None, **kwargs):
        defaults = type(self).params._defaults
        values, info = {}, {}
        for k, v in kwargs.items():
            (values if k in defaults else info)[k] = v
        self._bt_setup(type(self).params(**values), ref, info)

    @classmethod
    def _bt_make(cls, ref, values: dict, info: dict):
        """The broker's constructor: ``values`` are parameters by name (all known), ``info``
        the other keywords; the same order as ``cls(ref=ref, **values, **info)`` without
        sorting the keywords and checking their names again."""
        self = object.__new__(cls)
        p = object.__new__(cls.params)
        p.__dict__.update(values)
        self._bt_setup(p, ref, info)
        return self

    def _bt_setup(self, p, ref, info):
        d = self.__dict__
        d["p"] = d["params"] = p
        self.ref = ref
        self.broker = None
        self.info = AutoOrderedDict()
        for k, v in info.items():
            self.info[k] = v
        self.comminfo = None
        self.triggered = False
        self._active = p.parent is None
        self.status = Order.Created
        self.plimit = p.pricelimit
        if p.exectype is None:
            p.exectype = Order.Market
        if not self.isbuy():
            p.size = -p.size
        data = p.data
        pclose = data.close[0]
        price = pclose if not p.price and not p.pricelimit else p.price
        dcreated = data.datetime[0]
        self.created = OrderData(dt=dcreated, size=p.size, price=price,
                                 pricelimit=p.pricelimit, pclose=pclose,
                                 trailamount=p.trailamount, trailpercent=p.trailpercent)
        if p.exectype in (Order.StopTrail, Order.StopTrailLimit):
            d.update(p._merged())             # (trailadjust reads the parameters)
            self._limitoffset = self.created.price - self.created.pricelimit
            start = self.created.price
            self._trailstart = start
            self.created.price = float("inf") if self.isbuy() else float("-inf")
            self.trailadjust(start)
        else:
            self._limitoffset = 0.0
        self.executed = OrderData(remsize=p.size)
        self.position = 0
        # ``valid`` as Backtrader reads it: a date/datetime, a timedelta from the creation
        # bar (``Order.DAY`` = that day's 23:59:59.009999), or a day number; any other
        # non-zero number is kept as a day number (so ``valid=3`` expires at once) and 0
        # means no expiry
        v = p.valid
        if isinstance(v, _dt.date):
            p.valid = date2num(v)
        elif isinstance(v, _dt.timedelta):
            if v == self.DAY:
                p.valid = date2num(_dt.datetime.combine(data.datetime.date(0),
                                                        _dt.time(23, 59, 59, 9999)))
            else:
                p.valid = date2num(data.datetime.datetime(0) + v)
        # parameters read as attributes, as in Backtrader (copied for speed; the shim does
        # not change them afterwards)
        d.update(p._merged())

    @property
    def dteos(self):
        """End of the creation bar's session (a day number)."""
        now = num2date(self.created.dt)
        end = self.data.p.sessionend
        eos = now.replace(hour=end.hour, minute=end.minute, second=end.second,
                          microsecond=end.microsecond)
        if eos < now:
            eos += _dt.timedelta(days=1)
        return date2num(eos)

    def __eq__(self, other):
        return other is not None and isinstance(other, Order) and self.ref == other.ref

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __str__(self):
        rows = [("Ref", self.ref), ("OrdType", self.ordtype), ("OrdType", self.ordtypename()),
                ("Status", self.status), ("Status", self.getstatusname()),
                ("Size", self.size), ("Price", self.price),
                ("Price Limit", self.pricelimit), ("TrailAmount", self.trailamount),
                ("TrailPercent", self.trailpercent), ("ExecType", self.exectype),
                ("ExecType", self.getordername()), ("CommInfo", self.comminfo),
                ("End of Session", self.dteos), ("Info", self.info),
                ("Broker", self.broker), ("Alive", self.alive())]
        return "\n".join(f"{k}: {v}" for k, v in rows)

    # ------------------------------------------------------------------ queries
    def clone(self):
        """A snapshot for a notification; ``created`` stays shared with the live order."""
        obj = object.__new__(type(self))
        d = self.__dict__.copy()
        d["executed"] = self.executed.clone()
        obj.__dict__ = d
        return obj

    def getstatusname(self, status=None):
        return self.Status[self.status if status is None else status]

    def getordername(self, exectype=None):
        return self.ExecTypes[self.exectype if exectype is None else exectype]

    @classmethod
    def ExecType(cls, exectype):
        return getattr(cls, exectype)

    def ordtypename(self, ordtype=None):
        return self.OrdTypes[self.ordtype if ordtype is None else ordtype]

    def active(self):
        return self._active

    def activate(self):
        self._active = True

    def alive(self):
        return self.status in (Order.Created, Order.Submitted, Order.Partial, Order.Accepted)

    def isbuy(self):
        return self.ordtype == self.Buy

    def issell(self):
        return self.ordtype == self.Sell

    def addinfo(self, **kwargs):
        for k, v in kwargs.items():
            self.info[k] = v

    def addcomminfo(self, comminfo):
        self.comminfo = comminfo

    def setposition(self, position):
        self.position = position

    def brokerstatus(self):
        return self.status

    # ------------------------------------------------------------- transitions
    def submit(self, broker=None):
        self.status = Order.Submitted
        self.broker = broker
        self.plen = len(self.data)

    def accept(self, broker=None):
        self.status = Order.Accepted
        self.broker = broker

    def reject(self, broker=None):
        if self.status == Order.Rejected:
            return False
        self.status = Order.Rejected
        self.executed.dt = self.data.datetime[0]
        return True

    def cancel(self):
        self.status = Order.Canceled
        self.executed.dt = self.data.datetime[0]

    def margin(self):
        self.status = Order.Margin
        self.executed.dt = self.data.datetime[0]

    def completed(self):
        self.status = Order.Completed

    def partial(self):
        self.status = Order.Partial

    def expire(self):
        self.status = Order.Expired
        self.executed.dt = self.data.datetime[0]
        return True

    def execute(self, bit: OrderExecutionBit, margin=None):
        if not bit.size:
            return
        self.executed.add(bit)
        self.executed.margin = margin
        self.status = Order.Partial if self.executed.remsize else Order.Completed

    def trailadjust(self, price):
        if self.trailamount:
            amount = self.trailamount
        elif self.trailpercent:
            amount = price * self.trailpercent
        else:
            amount = 0.0
        if self.isbuy():
            price += amount
            if price < self.created.price:
                self.created.price = price
                if self.exectype == Order.StopTrailLimit:
                    self.created.pricelimit = price - self._limitoffset
        else:
            price -= amount
            if price > self.created.price:
                self.created.price = price
                if self.exectype == Order.StopTrailLimit:
                    self.created.pricelimit = price - self._limitoffset


def _params_helper(name):
    return property(lambda self: getattr(self.p, name),
                    doc=f"The parameter set's ``{name}`` (Backtrader's orders read what they "
                        "do not have from their parameters).")


# the parameters are the order's own attributes (copied by ``_bt_setup``); the parameter
# set's helpers are read through it (no ``__getattr__``: it would make every attribute
# read of an order take the interpreter's slow way)
for _name in [n for n in vars(ParamsBase) if not n.startswith("__")]:
    setattr(Order, _name, _params_helper(_name))
del _name


class BuyOrder(Order):
    ordtype = Order.Buy


class SellOrder(Order):
    ordtype = Order.Sell


StopBuyOrder = StopLimitBuyOrder = BuyOrder
StopSellOrder = StopLimitSellOrder = SellOrder
OrderBase = Order


_FROM_NUM = object()        # Position._datetime: the day number ``_dtnum``, not converted yet


class Position:
    """Size and average price of a holding, updated with Backtrader's rules (the price of
    a reduced position does not change; a reversal takes the new price)."""

    def __init__(self, size=0, price=0.0):
        self.size = size
        self.price = price if size else 0.0
        self.price_orig = self.price
        self.adjbase = None
        self.upopened = size
        self.upclosed = 0
        self._datetime = None

    @property
    def datetime(self):
        """The datetime of the last update (of a broker's fill: its bar's datetime, made
        from the bar's day number when first read)."""
        dt = self._datetime
        if dt is _FROM_NUM:
            dt = self._datetime = num2date(self._dtnum)
        return dt

    @datetime.setter
    def datetime(self, value):
        self._datetime = value

    def __str__(self):
        return "\n".join(["--- Position Begin", f"- Size: {self.size}",
                          f"- Price: {self.price}", f"- Price orig: {self.price_orig}",
                          f"- Closed: {self.upclosed}", f"- Opened: {self.upopened}",
                          f"- Adjbase: {self.adjbase}", "--- Position End"])

    def __len__(self):
        return abs(self.size)

    def __bool__(self):
        return bool(self.size != 0)

    def clone(self):
        return Position(size=self.size, price=self.price)

    def pseudoupdate(self, size, price):
        return Position(self.size, self.price).update(size, price)

    def set(self, size, price):
        self.size, self.price = size, price
        return self.size, self.price, 0, 0

    def update(self, size, price, dt=None):
        """Apply a fill; return (new size, new price, opened, closed) as Backtrader does."""
        self._datetime = dt
        return self._apply(size, price)

    def _bt_fill(self, size, price, dtnum):
        """``update(size, price, num2date(dtnum))`` with the datetime made when read."""
        self._datetime = _FROM_NUM
        self._dtnum = dtnum
        return self._apply(size, price)

    def _apply(self, size, price):
        self.price_orig = self.price
        old = self.size
        self.size += size
        if not self.size:
            opened, closed = 0, size
            self.price = 0.0
        elif not old:
            opened, closed = size, 0
            self.price = price
        elif old > 0:
            if size > 0:
                opened, closed = size, 0
                self.price = (self.price * old + size * price) / self.size
            elif self.size > 0:
                opened, closed = 0, size
            else:
                opened, closed = self.size, -old
                self.price = price
        else:
            if size < 0:
                opened, closed = size, 0
                self.price = (self.price * old + size * price) / self.size
            elif self.size < 0:
                opened, closed = 0, size
            else:
                opened, closed = self.size, -old
                self.price = price
        self.upopened = opened
        self.upclosed = closed
        return self.size, self.price, opened, closed


class Trade:
    """A round trip from flat to flat on one data (and trade id)."""

    Created, Open, Closed = range(3)
    status_names = ["Created", "Open", "Closed"]

    def __init__(self, data=None, tradeid=0, historyon=False, size=0, price=0.0, value=0.0,
                 commission=0.0, ref=None):
        self.ref = ref
        self.data = data
        self.tradeid = tradeid
        self.size = size
        self.price = price
        self.value = value
        self.commission = commission
        self.pnl = 0.0
        self.pnlcomm = 0.0
        self.justopened = False
        self.isopen = False
        self.isclosed = False
        self.baropen = 0
        self.dtopen = 0.0
        self.barclose = 0
        self.dtclose = 0.0
        self.barlen = 0
        self.historyon = historyon
        self.history = []
        self.status = self.Created
        self.long = True

    def __str__(self):
        keys = ("ref", "data", "tradeid", "size", "price", "value", "commission", "pnl",
                "pnlcomm", "justopened", "isopen", "isclosed", "baropen", "dtopen",
                "barclose", "dtclose", "barlen", "historyon", "history", "status")
        return "\n".join(f"{k}:{getattr(self, k)}" for k in keys)

    def __len__(self):
        return abs(self.size)

    def __bool__(self):
        return self.size != 0

    def __copy__(self):
        obj = object.__new__(Trade)
        obj.__dict__ = self.__dict__.copy()
        return obj

    def getdataname(self):
        return self.data._name

    def open_datetime(self, tz=None, naive=True):
        return num2date(self.dtopen, tz, naive)

    def close_datetime(self, tz=None, naive=True):
        return num2date(self.dtclose, tz, naive)

    def update(self, size, price, commission, comminfo):
        """Book the opened or closed part of one execution (Backtrader's rules)."""
        if not size:
            return
        self.commission += commission
        old = self.size
        self.size += size
        self.justopened = bool(not old and size)
        data = self.data
        if self.justopened:
            self.baropen = len(data)
            self.dtopen = data.datetime[0]
            self.long = self.size > 0
        self.isopen = bool(self.size)
        self.barlen = len(data) - self.baropen
        self.isclosed = bool(old and not self.size)
        if self.isclosed:
            self.isopen = False
            self.barclose = len(data)
            self.dtclose = data.datetime[0]
            self.status = self.Closed
        elif self.isopen:
            self.status = self.Open
        if abs(self.size) > abs(old):
            self.price = (old * self.price + size * price) / self.size
            pnl = 0.0
        else:
            pnl = comminfo.profitandloss(-size, self.price, price)
        self.pnl += pnl
        self.pnlcomm = self.pnl - self.commission
        self.value = comminfo.getvaluesize(self.size, self.price)


class CommInfoBase(ParamsHolder):
    """Backtrader's commission scheme parameters.

    Stock-like percentage (``commission=0.001`` = 0.1% of size x price with the broker's
    ``percabs=True``) and per-share fixed commissions map onto the native
    ``PercentCommission`` / ``PerShareCommission``. A futures-like scheme (``margin=``
    given, or ``stocklike=False`` with an explicit ``commtype``) makes each feed it
    applies to a native ``ml4t.Future`` with ``multiplier=mult`` and ``margin`` per
    contract (see :meth:`_native_future`). ``mult`` other than 1 on a stock-like
    scheme, ``automargin``, ``interest`` and ``leverage`` other than 1 have no native
    equivalent; running with them raises ``NotImplementedError``.
    """

    COMM_PERC, COMM_FIXED = range(2)
    params = (("commission", 0.0), ("mult", 1.0), ("margin", None), ("commtype", None),
              ("stocklike", False), ("percabs", False), ("interest", 0.0),
              ("interest_long", False), ("leverage", 1.0), ("automargin", False))

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        rest = self._bt_make_params(kwargs)
        self._bt_pending = (args, rest)
        return self

    def __init__(self):
        p = self.p
        self._stocklike = p.stocklike
        self._commtype = p.commtype
        if self._commtype is None:
            if p.margin:
                self._stocklike = False
                self._commtype = self.COMM_FIXED
            else:
                self._stocklike = True
                self._commtype = self.COMM_PERC
        if not self._stocklike and not p.margin:
            p.margin = 1.0
        self._rate = p.commission
        if self._commtype == self.COMM_PERC and not p.percabs:
            self._rate = p.commission / 100.0
        self._creditrate = p.interest / 365.0

    @property
    def margin(self):
        return self.p.margin

    @property
    def stocklike(self):
        return self._stocklike

    def get_margin(self, price):
        if not self.p.automargin:
            return self.p.margin
        if self.p.automargin < 0:
            return price * self.p.mult
        return price * self.p.automargin

    def get_leverage(self):
        return self.p.leverage

    def getsize(self, price, cash):
        if not self._stocklike:
            return int(self.p.leverage * (cash // self.get_margin(price)))
        return int(self.p.leverage * (cash // price))

    def getoperationcost(self, size, price):
        if not self._stocklike:
            return abs(size) * self.get_margin(price)
        return abs(size) * price

    def getvaluesize(self, size, price):
        if not self._stocklike:
            return abs(size) * self.get_margin(price)
        return size * price

    def getvalue(self, position, price):
        if not self._stocklike:
            return abs(position.size) * self.get_margin(price)
        size = position.size
        if size >= 0:
            return size * price
        value = position.price * size
        value += (position.price - price) * size
        return value

    def _getcommission(self, size, price, pseudoexec):
        if self._commtype == self.COMM_PERC:
            return abs(size) * self._rate * price
        return abs(size) * self._rate

    def getcommission(self, size, price):
        return self._getcommission(size, price, pseudoexec=True)

    def confirmexec(self, size, price):
        return self._getcommission(size, price, pseudoexec=False)

    def profitandloss(self, size, price, newprice):
        return size * (newprice - price) * self.p.mult

    def cashadjust(self, size, price, newprice):
        if not self._stocklike:
            return size * (newprice - price) * self.p.mult
        return 0.0

    def get_credit_interest(self, data, pos, dt):
        return 0.0

    # ------------------------------------------------------------- native mapping
    def _native_model(self):
        """The native commission model equivalent to this scheme."""
        from ml4t.models import NoCommission, PerShareCommission, PercentCommission
        p = self.p
        problems = []
        if self._stocklike and p.mult != 1.0:
            problems.append(f"mult={p.mult} on a stock-like scheme")
        if not self._stocklike and p.automargin:
            problems.append(f"automargin={p.automargin}")
        if p.interest:
            problems.append(f"interest={p.interest}")
        if p.leverage != 1.0:
            problems.append(f"leverage={p.leverage}")
        if problems:
            raise NotImplementedError(
                "the ml4t shim maps commission schemes onto native commission models and "
                "native futures (fixed margin per contract); unsupported: "
                + ", ".join(problems))
        if type(self)._getcommission is not CommInfoBase._getcommission:
            return _PythonCommission(self)
        if not self._rate:
            return NoCommission()
        if self._commtype == self.COMM_PERC:
            return PercentCommission(self._rate)
        return PerShareCommission(self._rate)


    def _native_future(self, name):
        """The native contract for a feed under this futures-like scheme, else None.

        Backtrader debits ``margin`` per contract from cash on opening and credits it on
        closing, settles the P&L (``mult`` x price move) into cash at every fill and bar
        close, and values the account at cash + ``margin`` per contract held: the native
        ``Future`` (no cash for the notional, daily settlement) with ``margin`` as the
        initial margin per contract has the same value and the same opening check. The
        engine runs with ``margin_calls=False`` because Backtrader never liquidates.
        """
        if self._stocklike:
            return None
        from ml4t.futures import Future
        margin = float(self.p.margin)
        return Future(root=name, expiry="2262-04-01", multiplier=float(self.p.mult),
                      initial_margin=margin, maintenance_margin=margin)


class CommissionInfo(CommInfoBase):
    params = (("percabs", True),)


def _python_commission_class():
    from ml4t.models import CommissionModel

    class _BtCommission(CommissionModel):
        """A user's ``CommInfoBase._getcommission`` as a native commission model."""

        def __init__(self, scheme):
            self.scheme = scheme

        def commission(self, qty, price, filled_before, charged_before):
            return float(self.scheme._getcommission(qty, price, False))

    return _BtCommission


def _PythonCommission(scheme):
    return _python_commission_class()(scheme)

