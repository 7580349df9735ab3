"""The native strategy API: ``Strategy`` with its ``broker`` and point-in-time ``data``.

A strategy overrides any of ``on_start``, ``on_bar(bars)``, ``on_event(event)``,
``on_order(order)``, ``on_fill(fill)``, ``on_stop``. The engine works out once
which hooks are overridden and calls only those. During a callback at time t,
``self.data`` and ``bars`` show bars up to and including t, never later.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ml4t._core.broker import BrokerCore
from ml4t._core.enums import OrderType
from ml4t.errors import ConfigError, OrderError, suggest
from ml4t.orders import TIF_CODES, Fill, Order, Position, _ts

HOOKS = ("on_start", "on_bar", "on_event", "on_order", "on_fill", "on_stop", "on_open")
FIELDS = ("open", "high", "low", "close", "volume", "price")


class Strategy:
    """Base class of native strategies.

    Class attributes are the strategy's parameters; ``run_backtest(..., params=...)``
    (or ``MyStrategy(fast=10)``) overrides them. An unknown parameter raises.

    Attributes
    ----------
    broker : Broker
        Places and cancels orders; reports cash, value and positions.
    data : DataView
        Point-in-time prices: ``current`` and ``history``.

    Raises
    ------
    ml4t.errors.ConfigError
        For a parameter the class does not declare.
    """

    broker: "Broker"
    data: "DataView"

    def __init__(self, **params):
        declared = [n for n in dir(type(self)) if not n.startswith("_")
                    and n not in HOOKS and not callable(getattr(type(self), n))]
        for name, value in params.items():
            if name not in declared:
                raise ConfigError(name, value, f"a parameter declared on {type(self).__name__} "
                                  f"({', '.join(sorted(declared)) or 'none declared'})",
                                  hint=suggest(name, declared))
            setattr(self, name, value)

    def on_start(self):
        """Called once before the first bar."""

    def on_bar(self, bars: "Bars"):
        """Called once per timestamp slice with the bars of that slice."""

    def on_event(self, event):
        """Called for every event: ``BarEvent``, ``OrderEvent``, ``FillEvent``."""

    def on_order(self, order: Order):
        """Called for every order status change, in time order."""

    def on_fill(self, fill: Fill):
        """Called for every execution, in time order."""

    def on_stop(self):
        """Called once after the last bar."""

    def on_open(self, opens: "OpenPrices"):
        """Called at each slice's open, before its bars are read (only when overridden).

        ``opens["AAPL"]`` is the slice's open; ``self.data`` and the account still show
        the previous slice. Orders placed here are matched against this slice: a market
        order fills at this open (fill="next_open").
        """


def overridden(strategy: Strategy) -> set[str]:
    """Names of the hooks that ``strategy``'s class overrides."""
    cls = type(strategy)
    return {h for h in HOOKS if getattr(cls, h) is not getattr(Strategy, h)}


class _Assets:
    """Name <-> id mapping with helpful errors."""

    def __init__(self, names: Iterable[str]):
        self.names = tuple(names)
        self.ids = {n: i for i, n in enumerate(self.names)}

    def id(self, asset) -> int:
        try:
            return self.ids[asset]
        except (KeyError, TypeError):
            hint = suggest(str(asset), self.names)
            raise OrderError(f"unknown asset {asset!r}" + (f"; did you mean {hint!r}?" if hint
                             else f" (known: {', '.join(self.names[:10])}"
                             f"{'...' if len(self.names) > 10 else ''})")) from None


def Bars(sim, assets: _Assets):
    """The per-slice bars view handed to ``on_bar`` (a compiled ``SliceBars``).

    ``bars.close["AAPL"]`` (KeyError when the asset has no bar in this slice),
    ``bars.close.get("AAPL")``, ``bars.close.values`` (numpy, in ``bars.assets``
    order), ``"AAPL" in bars``, ``bars.assets``, ``bars.ts``, ``bars.to_frame()``.
    """
    from ml4t._core.clock import SliceBars

    return SliceBars(sim, assets.names, assets.id)


class OpenPrices:
    """The opens of the slice about to be read, handed to ``Strategy.on_open``:
    ``opens["AAPL"]`` (KeyError when the asset has no bar now), ``opens.get("AAPL")``,
    ``"AAPL" in opens``, ``opens.assets``, ``opens.ts``, ``opens.to_series()``."""

    __slots__ = ("ts_ns", "_names", "_ids", "_opens")

    def __init__(self, ts_ns, names, ids, opens):
        self.ts_ns = int(ts_ns)
        self._names = names
        self._ids = ids
        self._opens = opens

    @property
    def ts(self) -> pd.Timestamp:
        return _ts(self.ts_ns)

    @property
    def assets(self) -> list[str]:
        return [self._names[i] for i in self._ids]

    def get(self, asset, default=None):
        for i, a in enumerate(self._ids):
            if self._names[a] == asset:
                return float(self._opens[i])
        return default

    def __getitem__(self, asset):
        v = self.get(asset)
        if v is None:
            raise KeyError(f"{asset!r} has no bar at {self.ts}")
        return v

    def __contains__(self, asset):
        return self.get(asset) is not None

    def to_series(self) -> pd.Series:
        return pd.Series(np.asarray(self._opens, dtype=float), index=self.assets, name="open")


class DataView:
    """Point-in-time data access. Nothing after the current time is ever returned."""

    def __init__(self, sim, assets: _Assets):
        self._sim = sim
        self._assets = assets
        self._last = {"open": sim.last_open_np, "high": sim.last_high_np, "low": sim.last_low_np,
                      "close": sim.last_close_np, "price": sim.last_close_np,
                      "volume": sim.last_volume_np}
        self._n_actions = 0
        self._action_cache: dict[int, list] = {}

    @property
    def assets(self) -> tuple[str, ...]:
        """Every asset name in the data."""
        return self._assets.names

    @property
    def now(self) -> pd.Timestamp | None:
        """The current simulation time (None before the first bar)."""
        return _ts(self._sim.ts) if self._sim.slice_no >= 0 else None

    def _field(self, field: str) -> str:
        if field not in FIELDS:
            hint = suggest(field, FIELDS)
            raise ConfigError("field", field, f"one of {', '.join(FIELDS)}", hint=hint)
        return field

    def current(self, asset, field: str = "close") -> float:
        """Last known (unadjusted) value of ``field`` for ``asset``; NaN before its first bar.

        Raises
        ------
        ml4t.errors.OrderError
            Unknown asset.
        ml4t.errors.ConfigError
            Unknown field.
        """
        a = self._assets.id(asset)
        return float(self._last[self._field(field)][a])

    def has_bar(self, asset) -> bool:
        """True if ``asset`` has a bar in the current slice."""
        a = self._assets.id(asset)
        return bool(self._sim.bar_slice_np[a] == self._sim.slice_no)

    def history_array(self, asset, field: str = "close", bars: int = 1,
                      adjusted: bool = True) -> np.ndarray:
        """The last ``bars`` values of ``field`` for ``asset`` as a numpy array (oldest first).

        Fewer values are returned when the asset has fewer bars so far. Prices are
        adjusted for the splits and dividends applied up to now (``adjusted=False``
        gives the traded prices).
        """
        a = self._assets.id(asset)
        field = self._field(field)
        vals = self._sim.history.window(a, field, int(bars))
        if adjusted:
            vals = self._adjust(a, field, vals)
        return vals

    def _actions(self, a: int):
        sim = self._sim
        n = len(sim.ax_ts)
        if n != self._n_actions:
            self._n_actions = n
            self._action_cache = {}
        acts = self._action_cache.get(a)
        if acts is None:
            acts = self._action_cache[a] = sim.actions_for(a)
        return acts

    def _adjust(self, a: int, field: str, vals: np.ndarray) -> np.ndarray:
        if self._n_actions == 0 and len(self._sim.ax_ts) == 0:
            return vals
        acts = self._actions(a)
        if not acts or field == "ts":
            return vals
        from ml4t.corporate import adjustment_factors
        hist = self._sim.history
        end = int(hist.count_np[a])
        start = end - len(vals)
        price, volume = adjustment_factors(acts, start, end,
                                           lambda h: float(hist.value("close", h - 1, a)))
        return vals * (volume if field == "volume" else price)

    def history(self, assets, field: str = "close", bars: int = 1, adjusted: bool = True):
        """The last ``bars`` bars up to now: a Series for one asset, a DataFrame for several.

        The current bar is included. An asset's window holds its own last ``bars``
        bars (fewer if it has fewer so far); several assets are aligned on time.
        Prices and volumes are adjusted for the splits and dividends applied up to
        now, never later ones (``adjusted=False`` gives traded prices).

        Raises
        ------
        ml4t.errors.OrderError
            Unknown asset.
        ml4t.errors.ConfigError
            Unknown field.
        ValueError
            ``bars`` < 1.
        """
        field = self._field(field)
        if isinstance(assets, str):
            return self._series(assets, field, bars, adjusted)
        cols = {name: self._series(name, field, bars, adjusted) for name in assets}
        if not cols:
            return pd.DataFrame()
        return pd.DataFrame(cols)

    def _series(self, asset, field, bars, adjusted=True) -> pd.Series:
        a = self._assets.id(asset)
        hist = self._sim.history
        vals = self.history_array(asset, field, bars, adjusted)
        ts = hist.window(a, "ts", int(bars))
        index = pd.DatetimeIndex(ts.view("M8[ns]")).tz_localize("UTC")
        return pd.Series(vals, index=index, name=asset)


class Broker(BrokerCore):
    """Orders and account state for the running strategy.

    Prices are keyword-only: ``order("AAPL", 10, limit_price=150.0)``. The order
    type follows from the prices given (none: market; limit: limit; stop: stop;
    both: stop-limit). Sizing helpers use the current close and NAV, round the
    quantity toward zero to whole units (unless fractional trading is on) and
    return ``None`` instead of placing an order of zero. Targets count the
    quantity still to fill in the asset's open orders.

    ``order_target`` and plain market orders run in the compiled base class
    (``ml4t._core.broker.BrokerCore``); everything else is here.
    """

    def __init__(self, run):
        self._run = run
        self._sim = run.sim
        self._book = run.book
        self._ledger = run.ledger
        self._assets = run.assets
        self._bind(run)

    # ---------------------------------------------------------------- orders
    def _now(self):
        sim = self._sim
        if sim.slice_no >= 0:
            return sim.ts, sim.slice_no
        return self._run.start_ts, -1

    def order(self, asset, qty: float, *, limit_price: float | None = None,
              stop_price: float | None = None, trail_amount: float | None = None,
              trail_percent: float | None = None, time_in_force: str = "GTC",
              oco=None, limit_offset: float | None = None, trail_start: float | None = None,
              at_close: bool = False) -> Order:
        """Place an order for a signed quantity (positive buys, negative sells).

        The type follows from the prices: none -> market; ``limit_price`` ->
        limit; ``stop_price`` -> stop; both -> stop-limit; ``trail_amount`` or
        ``trail_percent`` (a fraction, 0.05 = 5%) -> trailing stop, whose trail
        starts from the current close (or ``trail_start``); a trail plus
        ``limit_offset`` -> trailing stop-limit (its limit is the stop minus the
        offset for a sell, plus it for a buy; both move with the trail until the
        stop triggers, then the limit stays); ``at_close=True`` -> market-on-close.

        Parameters
        ----------
        asset : str
        qty : float
        limit_price, stop_price, trail_amount, trail_percent : float, optional
        time_in_force : {"GTC", "DAY", "IOC", "FOK"}
        oco : Order or int, optional
            Put this order in the one-cancels-other group of that order.
        limit_offset : float, optional
            With a trail: make it a trailing stop-limit.
        trail_start : float, optional
            The price a trail starts from (default: the current close).
        at_close : bool
            Market-on-close: fills at the close of the session it was placed in
            (at the last bar of its asset in that session); placed at or after that
            bar -- always so with daily bars -- at the close of its asset's next bar.

        Returns
        -------
        Order
            Snapshot of the accepted (or, below the minimum quantity, rejected) order.

        Raises
        ------
        ml4t.errors.OrderError
            Unknown asset, non-finite/zero/fractional quantity, bad prices, a trail
            combined with a limit or stop price, an unknown OCO peer.
        ml4t.errors.ConfigError
            Unknown time in force.
        """
        if (limit_price is None and stop_price is None and trail_amount is None
                and trail_percent is None and oco is None and time_in_force == "GTC"
                and limit_offset is None and trail_start is None and not at_close):
            return self._market(asset, qty)         # compiled: plain market order
        return self._submit(asset, qty, limit_price, stop_price, trail_amount, trail_percent,
                            time_in_force, 0, oco, limit_offset, trail_start, at_close)

    def _submit(self, asset, qty, limit_price, stop_price, trail_amount, trail_percent,
                time_in_force, parent, oco, limit_offset=None, trail_start=None,
                at_close=False) -> Order:
        a = self._assets.id(asset)
        tif = str(time_in_force).upper()
        if tif not in TIF_CODES:
            raise ConfigError("time_in_force", time_in_force, "one of GTC, DAY, IOC, FOK",
                              hint=suggest(tif, list(TIF_CODES)))
        trailing = trail_amount is not None or trail_percent is not None
        if trailing and (limit_price is not None or stop_price is not None):
            raise OrderError(f"order({asset!r}): a trailing stop takes no limit_price or "
                             "stop_price")
        if at_close and (trailing or limit_price is not None or stop_price is not None):
            raise OrderError(f"order({asset!r}): a market-on-close order (at_close=True) "
                             "takes no limit, stop or trail")
        if (limit_offset is not None or trail_start is not None) and not trailing:
            raise OrderError(f"order({asset!r}): limit_offset and trail_start need "
                             "trail_amount or trail_percent")
        if at_close:
            otype = OrderType.MARKET_ON_CLOSE
        elif trailing and limit_offset is not None:
            otype = OrderType.TRAILING_STOP_LIMIT
        elif trailing:
            otype = OrderType.TRAILING_STOP
        elif limit_price is not None and stop_price is not None:
            otype = OrderType.STOP_LIMIT
        elif limit_price is not None:
            otype = OrderType.LIMIT
        elif stop_price is not None:
            otype = OrderType.STOP
        else:
            otype = OrderType.MARKET
        try:
            q = float(qty)
            lp = float(limit_price) if limit_price is not None else math.nan
            sp = float(stop_price) if stop_price is not None else math.nan
            ta = float(trail_amount) if trail_amount is not None else math.nan
            tp = float(trail_percent) if trail_percent is not None else math.nan
            lo = float(limit_offset) if limit_offset is not None else math.nan
            start = float(trail_start) if trail_start is not None else math.nan
        except (TypeError, ValueError):
            raise OrderError(f"order({asset!r}): qty and prices must be numbers, got qty={qty!r}, "
                             f"limit_price={limit_price!r}, stop_price={stop_price!r}, "
                             f"trail_amount={trail_amount!r}, "
                             f"trail_percent={trail_percent!r}") from None
        ts, k = self._now()
        peer = 0 if oco is None else (oco.id if isinstance(oco, Order) else int(oco))
        ref = float(self._sim.last_close_np[a]) if trail_start is None else start
        oid = self._book.submit(a, q, int(otype), lp, sp, TIF_CODES[tif], ts, k, ta, tp, ref,
                                parent, peer, lo)
        return self.get_order(oid)

    def bracket(self, asset, qty: float, *, take_profit: float, stop_loss: float | None = None,
                trail_amount: float | None = None, trail_percent: float | None = None,
                limit_price: float | None = None, stop_price: float | None = None,
                time_in_force: str = "GTC", exit_time_in_force: str = "GTC"):
        """Entry plus a take-profit limit and a protective stop (or trailing stop).

        The two exits are held until the entry ends, then work for the filled
        quantity from the next bar as a one-cancels-other pair (a partial exit
        shrinks the other leg). If the entry ends unfilled, both are canceled.

        Returns
        -------
        tuple of Order
            ``(entry, take_profit_order, stop_loss_order)``.

        Raises
        ------
        ml4t.errors.OrderError
            As :meth:`order`, or when neither/both of ``stop_loss`` and a trail are given.
        """
        if (stop_loss is None) == (trail_amount is None and trail_percent is None):
            raise OrderError("bracket needs exactly one protective exit: stop_loss, "
                             "trail_amount or trail_percent")
        entry = self._submit(asset, qty, limit_price, stop_price, None, None, time_in_force,
                             0, None)
        if entry.status == "rejected":
            return entry, None, None
        tp = self._submit(asset, -float(qty), take_profit, None, None, None,
                          exit_time_in_force, entry.id, None)
        sl = self._submit(asset, -float(qty), None, stop_loss, trail_amount, trail_percent,
                          exit_time_in_force, entry.id, None)
        return self.get_order(entry.id), tp, sl

    def replace(self, order, *, qty: float | None = None, limit_price: float | None = None,
                stop_price: float | None = None) -> Order:
        """Change the quantity and/or prices of a live order; it keeps its id.

        Raises
        ------
        ml4t.errors.OrderError
            A finished order, a quantity that flips side or is not above what
            already filled, or a price the order type does not have.
        """
        oid = order.id if isinstance(order, Order) else int(order)
        ts, _ = self._now()
        nan = math.nan
        self._book.replace(oid, nan if qty is None else float(qty),
                           nan if limit_price is None else float(limit_price),
                           nan if stop_price is None else float(stop_price), ts)
        return self.get_order(oid)

    def _price(self, asset) -> float:
        a = self._assets.id(asset)
        p = float(self._sim.last_close_np[a])
        if not p > 0:
            raise OrderError(f"no price for {asset!r} yet: it has had no bar up to "
                             f"{_ts(self._sim.ts) if self._sim.slice_no >= 0 else 'the start'}")
        return p

    def _unit_value(self, asset) -> float:
        """Value of one unit at the current close (futures: times the multiplier)."""
        return self._price(asset) * float(self._ledger.mult_np[self._assets.id(asset)])

    def _units(self, x: float) -> float:
        if not math.isfinite(x):
            raise OrderError(f"computed quantity is not finite ({x})")
        return x if self._run.fractional else float(math.trunc(x))

    def _place(self, asset, qty, **kw):
        if abs(qty) < 1e-12:
            return None
        return self.order(asset, qty, **kw)

    def order_value(self, asset, value: float, **kw) -> Order | None:
        """Order ``value`` currency worth of ``asset`` at the current close (negative sells)."""
        return self._place(asset, self._units(float(value) / self._unit_value(asset)), **kw)

    def order_percent(self, asset, percent: float, **kw) -> Order | None:
        """Order ``percent`` (a fraction, 0.1 = 10%) of the current NAV in ``asset``."""
        return self.order_value(asset, float(percent) * self.value, **kw)

    # order_target(asset, target, **kw) is compiled: see BrokerCore.order_target

    def order_target_value(self, asset, value: float, **kw) -> Order | None:
        """Order what it takes to hold ``value`` currency of ``asset`` at the current close."""
        return self.order_target(asset, self._units(float(value) / self._unit_value(asset)), **kw)

    def order_target_percent(self, asset, percent: float, **kw) -> Order | None:
        """Order what it takes for ``asset`` to be ``percent`` of NAV (0.95 = 95%)."""
        return self.order_target_value(asset, float(percent) * self.value, **kw)

    def order_target_weights(self, weights: Mapping[str, float], **kw) -> list[Order]:
        """Rebalance each asset in ``weights`` to its fraction of NAV.

        Assets not in ``weights`` (or with a NaN weight) are left alone; a weight of
        0 flattens. Orders are placed in the mapping's order; the fill sequencing
        (``fill_order``) still puts position-reducing orders first.
        """
        placed = []
        nav = self.value
        for asset, w in weights.items():
            if w is None or (isinstance(w, float) and math.isnan(w)):
                continue
            o = self.order_target_value(asset, float(w) * nav, **kw)
            if o is not None:
                placed.append(o)
        return placed

    def cancel(self, order) -> bool:
        """Cancel an open order (an ``Order`` or its id); False if it was not open."""
        oid = order.id if isinstance(order, Order) else int(order)
        ts, _ = self._now()
        return bool(self._book.cancel(oid, ts))

    def get_order(self, order_id: int) -> Order:
        """Current snapshot of an order."""
        t = self._book.order_tuple(int(order_id))
        ts, _ = self._now()
        return Order._from_tuple(t, self._assets.names[t[1]], ts=ts)

    def filled_in_bar(self, asset) -> float:
        """Absolute quantity of ``asset`` filled at the current timestamp so far.

        Meant for cost models, which the engine calls while it fills a bar: there it
        counts the fills of that bar made before the one being priced (Zipline's
        ``VolumeShareSlippage`` needs them). Inside ``on_bar`` it counts the fills made
        at that timestamp (e.g. market-on-close orders of an earlier bar).
        """
        a = self._assets.id(asset)
        led = self._ledger
        ts, _ = self._now()
        total = 0.0
        i = led.f_ts.n - 1
        while i >= 0 and led.f_ts.get(i) == ts:
            if led.f_asset.get(i) == a:
                total += abs(led.f_qty.get(i))
            i -= 1
        return total

    def settle_position(self, asset, price: float) -> Fill | None:
        """Close the whole position in ``asset`` at ``price`` now, outside the market: a
        delisting or cash takeover (the Zipline shim closes positions of assets past their
        auto-close date this way).

        Cash receives (a short pays) quantity x price x multiplier; no commission or
        slippage; the P&L is realised and the trade closed. The settlement is a row of
        ``result.fills`` with ``order_id`` 0 (no order placed it) and reaches no ``on_fill``.
        Open orders of the asset stay open: cancel them first if they must not fill later.
        Returns the ``Fill``, or None when the position is flat.

        Raises
        ------
        OrderError
            An unknown asset, or a price that is not a positive finite number.
        """
        a = self._assets.id(asset)
        px = float(price)
        if not (math.isfinite(px) and px > 0):
            raise OrderError(f"settle_position({asset!r}): price must be a positive finite "
                             f"number, got {price!r}")
        led = self._ledger
        q = float(led.qty_np[a])
        if q == 0:
            return None
        ts, slice_no = self._now()
        realized = led.apply_fill_py(ts, 0, a, -q, px, 0.0, max(slice_no, 0))
        return Fill(order_id=0, asset=self._assets.names[a], ts_ns=int(ts), qty=-q, price=px,
                    ref_price=px, commission=0.0, slippage=0.0, realized_pnl=float(realized))

    def get_open_orders(self, asset=None) -> list[Order]:
        """Open orders in submission order, optionally of one asset (bracket exits
        waiting for their entry are included, with status ``submitted``)."""
        out = [self.get_order(i) for i in self._book.live_ids()]
        if asset is not None:
            out = [o for o in out if o.asset == asset]
        return out

    # --------------------------------------------------------------- account
    @property
    def cash(self) -> float:
        """Cash balance."""
        return float(self._ledger.cash)

    def balances(self) -> dict[str, float]:
        """Cash per currency, each in its own currency (base first)."""
        fx = self._run.fx
        books = self._ledger.currency_books()
        names = fx.names if fx is not None else [self._run.config["base_currency"]]
        return {names[c]: float(cash) for c, (cash, _, _) in enumerate(books)}

    def convert(self, from_currency: str, to_currency: str, amount: float) -> float:
        """Exchange ``amount`` of one currency into another at the current rates,
        paying ``fx_spread``; returns the amount received. Raises ``OrderError`` for an
        unknown currency, no rate yet, or (cash account) more than the balance."""
        fx = self._run.fx
        names = fx.names if fx is not None else [self._run.config["base_currency"]]
        try:
            src, dst = names.index(from_currency), names.index(to_currency)
        except ValueError:
            raise OrderError(f"unknown currency in convert({from_currency!r}, {to_currency!r}); "
                             f"this run has {', '.join(names)}") from None
        ts, _ = self._now()
        try:
            return float(self._ledger.convert(ts, src, dst, float(amount)))
        except ValueError as exc:
            raise OrderError(f"convert({from_currency!r}, {to_currency!r}, {amount}): {exc}") \
                from None

    def deposit(self, amount: float) -> float:
        """Add ``amount`` of cash (base currency) to the account now, from outside: a
        contribution, not a gain. Returns the new cash balance.

        Deposits and withdrawals are listed in ``result.cash_flows``; the portfolio's
        ``returns`` (and every metric) leave them out: a slice's return is (NAV - the
        flows of that slice) / the previous NAV - 1, as if the flow arrived at its end.

        Raises
        ------
        OrderError
            An amount that is not a positive finite number.
        """
        amount = float(amount)
        if not (math.isfinite(amount) and amount > 0):
            raise OrderError(f"deposit({amount!r}): the amount must be a positive finite "
                             "number (withdraw() takes cash out)")
        return self._flow(amount)

    def withdraw(self, amount: float) -> float:
        """Take ``amount`` of cash out of the account now (see :meth:`deposit`).
        Returns the new cash balance.

        Raises
        ------
        OrderError
            An amount that is not a positive finite number, or more than the cash balance
            (the account does not borrow to pay a withdrawal).
        """
        amount = float(amount)
        if not (math.isfinite(amount) and amount > 0):
            raise OrderError(f"withdraw({amount!r}): the amount must be a positive finite "
                             "number")
        return self._flow(-amount)

    def _flow(self, amount: float) -> float:
        ts, _ = self._now()
        try:
            return float(self._ledger.deposit(ts, amount))
        except ValueError as exc:
            raise OrderError(str(exc)) from None

    @property
    def value(self) -> float:
        """Net asset value: cash + positions at their current prices."""
        return float(self._ledger.nav)

    def position(self, asset) -> Position:
        """The holding in ``asset`` (``bool(position)`` is False when flat)."""
        a = self._assets.id(asset)
        led = self._ledger
        q = float(led.qty_np[a])
        price = float(led.mark_np[a]) if q != 0 else float(self._sim.last_close_np[a])
        cost = led.avg_cost(a) if q != 0 else math.nan
        mult = float(led.mult_np[a])
        mv = q * price * mult if q != 0 else 0.0
        return Position(asset=self._assets.names[a], qty=q,
                        avg_cost=None if math.isnan(cost) else cost,
                        price=None if math.isnan(price) else price, market_value=mv,
                        unrealized_pnl=(price - cost) * q * mult if q != 0 else 0.0)

    # (``_qty(asset)``, the signed quantity held without the pricing, and ``_market_id``
    # are compiled: ``ml4t._core.broker.BrokerCore``)

    def holdings(self) -> dict[str, float]:
        """Quantity of every non-flat position, by asset name (`positions` without the
        prices and costs: cheap enough to call every bar)."""
        qty = self._ledger.qty_np
        names = self._assets.names
        return {names[a]: float(qty[a]) for a in np.flatnonzero(qty).tolist()}

    def positions(self) -> dict[str, Position]:
        """Every non-flat position, by asset name."""
        qty = self._ledger.qty_np
        return {self._assets.names[a]: self.position(self._assets.names[a])
                for a in np.flatnonzero(qty)}
