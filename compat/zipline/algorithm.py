"""``TradingAlgorithm`` and ``run_algorithm``: a Zipline algorithm on the native engine.

One run configures ``ml4t.Engine`` for Zipline's daily semantics and hosts the
algorithm in a native ``Strategy`` (``_Host``):

* ``fill="next_close"``, ``fill_order="submission"``: an order placed on day T fills
  at T+1's close (before T+1's ``handle_data``), orders of one asset in placement order;
* the slippage and commission models of ``set_slippage``/``set_commission`` mapped onto
  native models (default: 5 bps with a 10% volume cap, $0.001 per share);
* ``account="unchecked"`` (no buying-power checks, no margin calls, shorting allowed),
  because Zipline checks no buying power at all;
* ``zero_volume="skip"``: Zipline fills nothing on a bar that traded nothing, whatever
  the slippage model;
* slippage models with ``respect_limit = False`` (Zipline's models do not re-check a
  limit; its ``VolumeShareSlippage`` declines such a fill by returning NaN);
* bars stamped at each session close, prices stored to 3 decimals, no csvdir dividends
  paid (see ``_store``).

The engine matches orders and books every fill and split; the shim turns its state into
Zipline's objects (orders, positions with Zipline's average cost basis, portfolio,
account) and builds the perf DataFrame. Per engine slice (one session T) the host runs
Zipline's day: fills of T, ``handle_data``, scheduled functions, the perf row, then
``before_trading_start`` of T+1 (which may not order; Zipline lets it see T+1's close).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from contextvars import ContextVar

import numpy as np
import pandas as pd

import ml4t.compat._preload  # noqa: F401  (the ml4t modules every run uses)
from ml4t import Engine, Strategy
from ml4t.compat.zipline import _models, _perf, _store  # noqa: F401  (used by every run)
from ml4t.engine import fill_at
from ml4t.orders import REASONS, STATUSES
from ml4t.orders import Order as NativeOrder
from ml4t.compat.zipline import errors as zerr
from ml4t.compat.zipline._bardata import BarData
from ml4t.compat.zipline.assets import Asset
from ml4t.compat.zipline.finance import commission as zcomm
from ml4t.compat.zipline.finance import slippage as zslip
from ml4t.compat.zipline.finance.asset_restrictions import NoRestrictions
from ml4t.compat.zipline.finance.execution import (ExecutionStyle, LimitOrder, MarketOrder,
                                                   StopLimitOrder, StopOrder)
from ml4t.compat.zipline.finance.order import ORDER_STATUS, Order
from ml4t.compat.zipline.protocol import Account, Portfolio, Position, Positions
from ml4t.compat.zipline.utils.events import DateRule, TimeRule, calendars, date_rules

__all__ = ["TradingAlgorithm", "run_algorithm", "current_algorithm"]

_CURRENT: ContextVar["TradingAlgorithm | None"] = ContextVar("ml4t_zipline_algorithm",
                                                             default=None)

MAX_SHARES = int(1e11)


#: native status codes of orders the engine closes itself, and the algorithm's own cancel
_ENGINE_CLOSED = frozenset(c for c, name in STATUSES.items() if name in ("canceled", "rejected"))
_USER_CANCEL = next(c for c, name in REASONS.items() if name == "user_cancel")


def current_algorithm() -> "TradingAlgorithm":
    """The algorithm of the run in progress (what ``zipline.api`` functions act on).

    Raises
    ------
    RuntimeError
        Outside a run (no ``initialize``/``handle_data``/... is executing).
    """
    algo = _CURRENT.get()
    if algo is None:
        raise RuntimeError("ml4t.compat.zipline.api functions can only be called while an "
                           "algorithm runs (from initialize, handle_data, "
                           "before_trading_start, scheduled functions or analyze)")
    return algo


def _bts_times(sessions) -> list:
    """08:45 New York time on each session date (naive midnights), as UTC Timestamps.

    Each date's UTC offset comes from ``zoneinfo`` at that wall time (no DST change
    happens near 08:45): the same instants as ``tz_localize("America/New_York")``, which
    pandas 2 computes element by element through the tz API (~15 us each) or, for the
    zone's name, after pytz's ~600-file first lookup."""
    local = pd.DatetimeIndex(sessions).as_unit("ns") + pd.Timedelta(hours=8, minutes=45)
    zone = _zone("America/New_York")
    if isinstance(zone, str):         # no zoneinfo data on this system: pandas' way
        return list(local.tz_localize(zone).tz_convert("UTC"))
    offsets = np.fromiter((zone.utcoffset(d).total_seconds() for d in local.to_pydatetime()),
                          dtype=np.float64, count=len(local))
    utc = local.asi8 - (offsets * 1e9).astype(np.int64)
    return list(pd.DatetimeIndex(utc.view("M8[ns]")).tz_localize("UTC"))


def _zone(name: str):
    """The time zone ``name`` as a ``zoneinfo.ZoneInfo`` (pandas 2 resolves a zone name
    through pytz, whose first lookup checks all ~600 zone files: ~20-40 ms); the name
    itself where the system has no zoneinfo data for it."""
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return name


def _round_if_near_integer(a: float, epsilon: float = 1e-4):
    r = round(a)
    return r if abs(a - r) <= epsilon else a


class _ZPosition:
    """Zipline's per-asset bookkeeping of cost basis (average cost incl. commissions).

    Quantities mirror the engine's and are checked against it every session.
    """

    __slots__ = ("asset", "amount", "cost_basis", "last_sale_price", "last_sale_date")

    def __init__(self, asset):
        self.asset = asset
        self.amount = 0
        self.cost_basis = 0.0
        self.last_sale_price = 0.0
        self.last_sale_date = None

    def update(self, amount: int, price: float, dt) -> None:
        total = self.amount + amount
        if total == 0:
            self.cost_basis = 0.0
        else:
            if math.copysign(1, self.amount) != math.copysign(1, amount):
                if abs(amount) > abs(self.amount):
                    self.cost_basis = price
            else:
                self.cost_basis = (self.cost_basis * self.amount + amount * price) / total
            if self.last_sale_date is None or dt > self.last_sale_date:
                self.last_sale_price = price
                self.last_sale_date = dt
        self.amount = total

    def add_commission(self, cost: float) -> None:
        if cost == 0.0 or self.amount == 0:
            return
        self.cost_basis = (self.cost_basis * self.amount + cost) / self.amount

    def split(self, zl_ratio: float) -> float:
        raw = self.amount / float(zl_ratio)
        whole = math.trunc(raw)
        frac = raw - whole
        self.cost_basis = round(self.cost_basis * zl_ratio, 2)
        self.amount = int(whole)
        return round(float(frac * self.cost_basis), 2)


class _Host(Strategy):
    """The native strategy that runs the Zipline algorithm's day inside the engine."""

    def __init__(self, algo: "TradingAlgorithm"):
        super().__init__()
        self._algo = algo

    def on_start(self):
        self._algo._on_start(self)

    def on_bar(self, bars):
        self._algo._on_bar(bars)

    # (no on_order / on_fill: the algorithm reads the engine's order log itself,
    # TradingAlgorithm._read_order_log)


class _Context:
    """``context``: a plain namespace plus ``portfolio``, ``account`` and ``recorded_vars``."""

    def __init__(self, algo):
        object.__setattr__(self, "_algo", algo)

    @property
    def portfolio(self) -> Portfolio:
        return self._algo.portfolio

    @property
    def account(self) -> Account:
        return self._algo.account

    @property
    def recorded_vars(self) -> dict:
        return dict(self._algo._recorded)

    def __repr__(self):
        return f"Context({ {k: v for k, v in vars(self).items() if k != '_algo'} })"


class TradingAlgorithm:
    """A Zipline algorithm bound to one bundle and date range, run on ``ml4t.Engine``.

    Parameters
    ----------
    bundle_data : ml4t.compat.zipline._store.BundleData
    start, end : timestamp-like
        First and last session (moved to the next / previous session if not one).
    capital_base : float
    initialize, handle_data, before_trading_start, analyze : callable, optional
        Zipline's callbacks (``initialize(context)``, ``handle_data(context, data)``...).
    benchmark_returns : pandas.Series, optional
        Daily benchmark returns; default zeros (``set_benchmark`` overrides).
    metrics_set : {"default", "none", "classic"}
    namespace : dict, optional
        Where ``initialize`` & co. were defined (for ``get_environment``/CLI use only).

    Raises
    ------
    ValueError
        Dates outside the bundle, no session in range, unknown metrics set.
    """

    def __init__(self, *, bundle_data, start, end, capital_base: float, initialize=None,
                 handle_data=None, before_trading_start=None, analyze=None,
                 benchmark_returns=None, metrics_set: str = "default",
                 data_frequency: str = "daily", platform: str = "zipline",
                 custom_loader=None):
        if data_frequency != "daily":
            raise zerr.UnsupportedFeature(what=f"data_frequency={data_frequency!r}",
                                          why="the shim runs daily bundles only")
        if metrics_set not in ("default", "none", "classic"):
            raise ValueError(f"no metrics set registered as {metrics_set!r}; options are "
                             "'classic', 'default', 'none'")
        self._store = store = bundle_data
        sessions = store.sessions
        start = pd.Timestamp(start)
        end = pd.Timestamp(end)
        start = (start.tz_convert("UTC") if start.tzinfo else start).tz_localize(None).normalize()
        end = (end.tz_convert("UTC") if end.tzinfo else end).tz_localize(None).normalize()
        if start > end:
            raise ValueError(f"start {start.date()} is after end {end.date()}")
        i0 = int(sessions.searchsorted(start, "left"))
        i1 = int(sessions.searchsorted(end, "right")) - 1
        if start < sessions[0] or end > sessions[-1]:
            raise ValueError(f"the bundle holds sessions {sessions[0].date()} to "
                             f"{sessions[-1].date()}; cannot run {start.date()} to {end.date()}")
        if i1 < i0:
            raise ValueError(f"there are no trading days between {start.date()} and "
                             f"{end.date()}")
        self._i0, self._i1 = i0, i1
        self.sim_sessions = sessions[i0:i1 + 1]
        self.capital_base = float(capital_base)
        self.metrics_set = metrics_set
        self._platform = platform
        self._initialize = initialize
        self._handle_data = handle_data
        self._before_trading_start = before_trading_start
        self._analyze = analyze
        self._benchmark_series = benchmark_returns
        self.benchmark_sid = None
        self.data_frequency = "daily"
        # models and controls (settable in initialize)
        self._slippage = zslip.FixedBasisPointsSlippage()
        self._commission = zcomm.PerShare()
        self._trading_controls = []
        self._account_controls = []
        self._restrictions = NoRestrictions()
        self._schedules = []
        self._symbol_lookup_date = None
        self._cancel_policy = None
        self._pipelines: dict = {}            # name -> Pipeline
        self._pipeline_out: dict = {}         # name -> (session row, DataFrame)
        self._custom_loader = _check_loaders(custom_loader)
        self._pipeline_engine = None
        # run state
        self.initialized = False
        self._phase = "created"
        self.datetime = pd.Timestamp(self.sim_sessions[0]).tz_localize("UTC")
        self._data_idx = i0
        self._recorded: dict = {}
        self._orders: dict[str, Order] = {}
        self._by_engine: dict[int, Order] = {}
        # plain dicts (insertion-ordered): iterating an OrderedDict's items hashes every key
        self._open: "dict[Asset, list[Order]]" = {}
        self._new_orders: list[Order] = []
        self._day_orders: "OrderedDict[str, Order]" = OrderedDict()
        self._carried: list = []              # canceled at the last session's end
        self._zpos: "dict[Asset, _ZPosition]" = {}
        self._fills = []
        self._lieu = {}                 # symbol -> Zipline's cash in lieu of the next split
        self._engine_closed = []
        self._log = None                # the engine's (order book, ledger, asset names)
        self._log_seen = 0
        self._next_id = 0
        self._host = None
        self._rows: list[dict] = []
        self._daily_returns = []
        self._leverages = []
        self._prev = None
        self._order_counts = {}
        self.context = _Context(self)
        self._data = BarData(self)
        self._bts_list = None
        self._closes = list(store.session_closes)
        self._session_list = list(sessions)
        self._session_labels = [d.strftime("%Y-%m") for d in self.sim_sessions]
        self._pf_cache = None
        self._version = 0
        self._positions_moved = True      # compare positions with the engine's (see _on_bar)
        self.perf = None

    # ==================================================================== running
    def run(self) -> pd.DataFrame:
        """Run the algorithm; return Zipline's perf DataFrame (one row per session)."""
        from ml4t.engine import fewer_young_collections
        token = _CURRENT.set(self)
        try:
            with fewer_young_collections():   # (as the native engine's runs: see there)
                self._phase = "initialize"
                if self._initialize is not None:
                    self._initialize(self.context)
                self.initialized = True
                engine = self._make_engine()
                bars = self._store.engine_bars(self._i0, self._i1)
                self._host = _Host(self)
                self._engine_result = engine.run(self._host, bars)
                self.perf = self._build_perf()
                self._phase = "analyze"
                if self._analyze is not None:
                    self._analyze(self.context, self.perf)
                return self.perf
        finally:
            self._phase = "done"
            _CURRENT.reset(token)

    def _make_engine(self) -> Engine:
        from ml4t.compat.zipline._models import FillProbe, UserCommission, UserSlippage
        self._probe = probe = FillProbe(self)
        comm = self._commission._native()
        slip = self._slippage._native(probe)
        if comm is None:
            comm = UserCommission(probe, self._commission)
            if slip is not None:      # attribution of fills needs the Python path
                slip = None
        if slip is None:
            slip = UserSlippage(probe, self._slippage)
            limit = getattr(self._slippage, "volume_limit", None)
            if limit is not None and isinstance(self._slippage, (
                    zslip.FixedBasisPointsSlippage, zslip.VolumeShareSlippage)):
                slip.volume_limit = float(limit)
        self._cap = float(getattr(slip, "volume_limit", float("nan")))
        return Engine(cash=self.capital_base, fill="next_close", commission=comm, slippage=slip,
                      account="unchecked", allow_short=True, zero_volume="skip",
                      fill_order="submission", fractional=False,
                      calendar=None, price_adjustment="raw", record="slice",
                      record_positions=False, cash_in_lieu=self._cash_in_lieu)

    def _cash_in_lieu(self, symbol: str, ratio: float):
        """Zipline's cash for a split's fraction of a share (``_ZPosition.split``), which
        the shim worked out when the session began; None: the engine's own rule."""
        return self._lieu.pop(symbol, None)

    def _bts_time(self, i: int) -> pd.Timestamp:
        """Zipline's before_trading_start minute of session ``i``, in UTC: 08:45 New York
        time whatever the calendar (zipline-reloaded fixes it to US/Eastern)."""
        i0, i1 = self._i0, self._i1
        if not i0 <= i <= i1:
            return _bts_times(self._store.sessions[i:i + 1])[0]
        if self._bts_list is None:
            # the run's sessions at once (a bundle may hold many more years than are run)
            self._bts_list = _bts_times(self._store.sessions[i0:i1 + 1])
        return self._bts_list[i - i0]

    # -------------------------------------------------------------- engine callbacks
    def _on_start(self, host):
        self._host = host
        native = host.broker
        self._log = (native._book, native._ledger, native._assets.names)
        self._log_seen = native._book.n_events
        self._engine_names = set(host.data.assets)
        self._close_index = {int(ts.value): i for i, ts in enumerate(self._closes)}
        self._next_session = self._i0
        self._begin_session(self._i0)

    def _on_bar(self, bars):
        i = self._close_index[bars.ts_ns]
        if i != self._next_session:       # every session has a bar (a placeholder if need be)
            missing = self._session_list[self._next_session]
            raise RuntimeError(f"ml4t.compat.zipline: the engine skipped session "
                               f"{missing.date()}; please report this")
        self._next_session = i + 1
        self._data_idx = i
        self.datetime = self._closes[i]
        self._read_order_log()
        self._book_fills(i)
        self._phase = "handle_data"
        if self._handle_data is not None:
            self._handle_data(self.context, self._data)
        session = self._session_list[i]
        now = self.datetime.value
        for event in self._schedules:
            # Zipline fires each scheduled function at most once per 24 hours counted
            # from the first session close of its "day": an early close less than 24
            # hours after the previous close is still that day, so it is skipped
            if now >= event[2]:
                event[2] = now + _DAY_NS
                event[3] = False
            if not event[3] and session in event[0]:
                event[3] = True
                event[1](self.context, self._data)
        self._phase = "session_end"
        self._close_expired(i)
        for order in self._carried:
            self._touch(order)
        self._carried = []
        for order in self._new_orders:
            self._touch(order)
        self._new_orders = []
        self._apply_cancel_policy()
        if self._positions_moved or i == self._i1:
            self._check_positions()
            self._positions_moved = False
        for control in self._account_controls:
            control(self)
        self._end_session(i)
        if i < self._i1:
            self._begin_session(i + 1)

    def _close_expired(self, i: int) -> None:
        """Zipline's session-end cleanup of assets past their auto-close date (the day
        after their last bar in the bundle): a position is closed at the asset's last
        price, as a transaction with no order and no commission (the engine settles it
        outside the market, ``Broker.settle_position``), and open orders are canceled."""
        day = self._session_list[i]

        def expired(asset):
            return asset.auto_close_date is not None and day >= asset.auto_close_date

        for asset in [a for a in self._zpos if expired(a)]:
            pos = self._zpos.pop(asset)
            price = self._price(asset, i)
            if price != price:
                price = pos.last_sale_price
            self._host.broker.settle_position(asset.symbol, price)
            self._day_txns.append({"amount": -pos.amount, "dt": self.datetime,
                                   "price": float(price), "order_id": None, "sid": asset,
                                   "commission": None})
            self._positions_moved = True
        for asset in [a for a in self._open if expired(a)]:
            for order in list(self._open[asset]):
                self.cancel_order(order)

    # -------------------------------------------------------------- session flow
    def _begin_session(self, i: int) -> None:
        """Zipline's session start: splits on positions and open orders, then
        ``before_trading_start`` (looking at session ``i``'s bar)."""
        self._day_orders = OrderedDict()
        self._day_txns = []
        self._data_idx = i
        self.datetime = self._bts_time(i)
        self._apply_splits(i)
        if self._before_trading_start is not None:
            self._phase = "before_trading_start"
            self._before_trading_start(self.context, self._data)
        self._phase = "between"

    def _apply_splits(self, i: int) -> None:
        self._version += 1
        store = self._store
        split_sids = store.split_sids_at(i)
        if not split_sids:
            return
        care = set(self._zpos) | set(self._open)
        for asset in sorted((a for a in care if a.sid in split_sids), key=lambda a: a.sid):
            for r, ratio, zl_ratio in store.splits[asset.sid]:
                if r != i:
                    continue
                for order in self._open.get(asset, []):
                    self._split_order(order, zl_ratio, ratio)
                if asset in self._open:
                    self._open[asset] = [o for o in self._open[asset] if o.open_amount != 0]
                    if not self._open[asset]:
                        del self._open[asset]
                pos = self._zpos.get(asset)
                if pos is not None:
                    # the engine books the split itself, with Zipline's amounts: the same
                    # whole shares, and cash for the fraction at the new cost basis rounded
                    # to cents (handed to the engine through ``_cash_in_lieu``)
                    self._lieu[asset.symbol] = pos.split(zl_ratio)
                    self._positions_moved = True
                    if pos.amount == 0:
                        del self._zpos[asset]

    def _split_order(self, order: Order, zl_ratio: float, ratio: float) -> None:
        remaining = int(order.open_amount / zl_ratio)
        order.filled = int(order.filled / zl_ratio)
        order.amount = order.filled + remaining
        new_limit = None if order.limit is None else round(order.limit * zl_ratio, 2)
        new_stop = None if order.stop is None else round(order.stop * zl_ratio, 2)
        order.limit, order.stop = new_limit, new_stop
        if new_limit is None and new_stop is None:
            return
        # the engine divides the order's prices by the ratio at the split; give it prices
        # that land exactly on Zipline's cent-rounded ones
        native = self._host.broker.get_order(order.engine_id)
        if not native.is_open:
            return
        kw = {}
        if new_limit is not None and native.limit_price is not None:
            kw["limit_price"] = _prescaled(new_limit, ratio)
        if new_stop is not None and native.stop_price is not None:
            kw["stop_price"] = _prescaled(new_stop, ratio)
        if kw:
            self._host.broker.replace(order.engine_id, **kw)

    def _read_order_log(self) -> None:
        """The engine's order events since the last session: its fills (for
        ``_book_fills``) and the orders it closed itself (rejected, or canceled other
        than by the algorithm), in log order, as ``on_fill``/``on_order`` would hand them
        over, without the native ``Order`` snapshot those make for every event (three an
        order)."""
        book, ledger, names = self._log
        n = book.n_events
        k = self._log_seen
        if k == n:
            return
        self._log_seen = n
        for k in range(k, n):
            ts, oid, status, reason, fill, filled = book.event(k)
            if fill >= 0:
                self._fills.append(fill_at(ledger, names, fill))
            if status in _ENGINE_CLOSED and reason != _USER_CANCEL:
                info = book.order_tuple(oid)
                self._engine_closed.append(NativeOrder._from_tuple(
                    info, names[info[1]], ts=ts, status=status, reason=reason, filled=filled))

    def _book_fills(self, i: int) -> None:
        """Turn the engine's fills of session ``i`` into Zipline transactions."""
        self._version += 1
        store = self._store
        dt = self.datetime
        close = store.close[i]
        volume = store.volume[i]
        fills, self._fills = self._fills, []
        if fills:
            self._positions_moved = True
        by_order = {}
        for f in fills:
            by_order.setdefault(f.order_id, []).append(f)
        # display flags: Zipline checks the triggers of each asset's open orders in
        # placement order, and stops at an asset's first order the volume cap leaves out
        ranked = []
        for rank, (asset, orders) in enumerate(self._open.items()):
            if volume[asset.sid] == 0 or np.isnan(close[asset.sid]):
                continue
            cap = int(self._cap * volume[asset.sid]) if self._cap == self._cap else None
            used = 0
            for order in orders:
                if order.open_amount == 0:
                    continue
                order.check_triggers(float(close[asset.sid]), dt)
                if cap is not None and order.triggered and used >= cap:
                    break                         # Zipline's LiquidityExceeded
                for f in by_order.get(order.engine_id, ()):
                    used += abs(int(round(f.qty)))
                    ranked.append((rank, f))
        known = {id(f) for _, f in ranked}
        for f in fills:
            if id(f) not in known:        # e.g. an order the display pass skipped
                ranked.append((len(self._open), f))
        ranked.sort(key=lambda x: x[0])   # stable: engine (placement) order within an asset
        closed = []
        for _, f in ranked:
            order = self._by_engine.get(f.order_id)
            if order is None:
                raise RuntimeError(
                    f"ml4t.compat.zipline: the engine traded {f.qty:g} {f.asset} on its own "
                    f"(order {f.order_id}, at {self.datetime}); Zipline never does, and an "
                    "unchecked account should not either: please report this")
            amount = int(round(f.qty))
            self._day_txns.append({"amount": amount, "dt": dt, "price": float(f.price),
                                   "order_id": order.id, "sid": order.asset,
                                   "commission": None})
            pos = self._zpos.get(order.asset)
            if pos is None:
                pos = self._zpos[order.asset] = _ZPosition(order.asset)
            pos.update(amount, float(f.price), dt)
            if pos.amount == 0:
                del self._zpos[order.asset]
            order.filled += amount
            order.commission += float(f.commission)
            order.dt = dt
            self._touch(order)
            if not order.open:
                closed.append(order)
        for _, f in ranked:
            if f.commission > 0:
                pos = self._zpos.get(self._by_engine[f.order_id].asset)
                if pos is not None:
                    pos.add_commission(float(f.commission))
        for order in closed:
            lst = self._open.get(order.asset)
            if lst is not None and order in lst:
                lst.remove(order)
        for asset in [a for a, lst in self._open.items() if not lst]:
            del self._open[asset]
        for o in self._engine_closed:
            order = self._by_engine.get(o.id)
            if order is not None and order.open:
                order._status = (ORDER_STATUS.REJECTED if o.status == "rejected"
                                 else ORDER_STATUS.CANCELLED)
                order.reason = o.reason_text
                order.dt = dt
                lst = self._open.get(order.asset)
                if lst is not None and order in lst:
                    lst.remove(order)
                    if not lst:
                        del self._open[order.asset]
                self._touch(order)
        self._engine_closed = []

    def _touch(self, order: Order) -> None:
        self._day_orders[order.id] = order
        self._day_orders.move_to_end(order.id)

    def _check_positions(self) -> None:
        # the engine's non-flat positions against the shim's (both keep only non-zero ones)
        engine = self._host.broker.holdings()
        mine_by_name = {a.symbol: p.amount for a, p in self._zpos.items()
                        if a.symbol in self._engine_names}
        if engine == mine_by_name:
            return
        for asset in self._store.assets:
            if asset.symbol not in self._engine_names:
                continue
            engine_qty = engine.get(asset.symbol, 0)
            mine = mine_by_name.get(asset.symbol, 0)
            if engine_qty != mine:
                raise RuntimeError(f"ml4t.compat.zipline: {asset.symbol} position {mine} differs "
                                   f"from the engine's {engine_qty} at {self.datetime}; please "
                                   "report this")

    # ==================================================================== views
    def _price(self, asset, i=None) -> float:
        return float(self._store.ffill_close[self._data_idx if i is None else i, asset.sid])

    def _stats(self, i=None, positions=None, views=None):
        """(long value, short value, longs, shorts) at session ``i``'s close (reading only
        the held assets' prices); with a ``positions`` list, Zipline's position dicts are
        appended to it in the same pass, and with a ``views`` dict the algorithm's
        ``Position`` objects are put in it."""
        held = self._zpos
        row = self._data_idx if i is None else i
        prices = self._store.ffill_close[row, [a.sid for a in held]].tolist() if held else ()
        long_v = short_v = 0.0
        longs = shorts = 0
        for (asset, pos), price in zip(held.items(), prices):
            if price != price:
                price = pos.last_sale_price
            exposure = pos.amount * price
            if exposure > 0:
                longs += 1
                long_v += exposure
            elif exposure < 0:
                shorts += 1
                short_v += exposure
            if positions is not None and pos.amount != 0:
                positions.append({"sid": asset, "amount": pos.amount,
                                  "cost_basis": pos.cost_basis, "last_sale_price": price})
            if views is not None:
                views[asset] = Position(asset, pos.amount, pos.cost_basis, price,
                                        self.datetime)
        return long_v, short_v, longs, shorts

    def _cash(self) -> float:
        return float(self._host.broker.cash) if self._host else self.capital_base

    @property
    def portfolio(self) -> Portfolio:
        """The portfolio valued at the current session's close (Zipline's view)."""
        key = (self._version, self._data_idx, self.datetime)
        if self._pf_cache is not None and self._pf_cache[0] == key:
            return self._pf_cache[1]
        pf = self._make_portfolio()
        self._pf_cache = (key, pf)
        return pf

    def _make_portfolio(self) -> Portfolio:
        cash = self._cash()
        positions = Positions()
        long_v, short_v, _, _ = self._stats(views=positions)
        value = long_v + short_v
        pv = cash + value
        return Portfolio(cash_flow=cash - self.capital_base, starting_cash=self.capital_base,
                         portfolio_value=pv, pnl=pv - self.capital_base,
                         returns=pv / self.capital_base - 1.0, cash=cash, positions=positions,
                         start_date=self.sim_sessions[0], positions_value=value,
                         positions_exposure=value)

    @property
    def account(self) -> Account:
        """Zipline's account fields for the current portfolio."""
        p = self.portfolio
        long_v, short_v, _, _ = self._stats()
        gross = long_v - short_v
        net = long_v + short_v
        pv = p.portfolio_value
        gl = np.inf if pv == 0 else gross / pv
        nl = np.inf if pv == 0 else net / pv
        return Account(settled_cash=p.cash, accrued_interest=0.0, buying_power=np.inf,
                       equity_with_loan=pv, total_positions_value=pv - p.cash,
                       total_positions_exposure=p.positions_exposure, regt_equity=p.cash,
                       regt_margin=np.inf, initial_margin_requirement=0.0,
                       maintenance_margin_requirement=0.0, available_funds=p.cash,
                       excess_liquidity=p.cash, cushion=(p.cash / pv) if pv else np.nan,
                       day_trades_remaining=np.inf, leverage=gl, net_leverage=nl,
                       net_liquidation=pv, gross_leverage=gl)

    def get_datetime(self, tz=None) -> pd.Timestamp:
        """The simulation time in UTC (or ``tz``)."""
        dt = self.datetime
        return dt if tz is None else dt.tz_convert(tz)

    # ==================================================================== perf
    def _end_session(self, i: int) -> None:
        from ml4t.compat.zipline import _perf
        _perf.end_session(self, i)

    def _build_perf(self) -> pd.DataFrame:
        from ml4t.compat.zipline import _perf
        return _perf.build_frame(self)

    # ==================================================================== API
    def _require(self, what: str, *, init_only=False, trading=False):
        if init_only and self._phase != "initialize":
            raise {"set_slippage": zerr.SetSlippagePostInit,
                   "set_commission": zerr.SetCommissionPostInit,
                   "set_benchmark": zerr.SetBenchmarkOutsideInitialize,
                   "trading_control": zerr.RegisterTradingControlPostInit,
                   "account_control": zerr.RegisterAccountControlPostInit}[what]()
        if trading:
            if self._phase == "initialize":
                raise zerr.OrderDuringInitialize()
            if self._phase == "before_trading_start":
                raise zerr.OrderInBeforeTradingStart()
            if self._phase not in ("handle_data",):
                raise RuntimeError(f"{what}() can only be called from handle_data or a "
                                   "scheduled function")

    # ---- assets
    def symbol(self, symbol_str: str, country_code=None) -> Asset:
        """The Equity with ticker ``symbol_str``.

        Raises
        ------
        SymbolNotFound
            No such ticker in the bundle (close spellings are suggested).
        """
        return self._store.asset_finder.lookup_symbol(symbol_str, None)

    def symbols(self, *args, **kwargs) -> list:
        return [self.symbol(s, **kwargs) for s in args]

    def sid(self, sid: int) -> Asset:
        """The asset with integer id ``sid``.

        Raises
        ------
        SidsNotFound
        """
        return self._store.asset_finder.retrieve_asset(sid)

    def set_symbol_lookup_date(self, dt) -> None:
        self._symbol_lookup_date = pd.Timestamp(dt)

    # ---- orders
    def _can_order_asset(self, asset) -> bool:
        if not isinstance(asset, Asset):
            raise zerr.UnsupportedOrderParameters(
                msg="order functions take an Asset (from symbol() or sid()), got "
                    f"{type(asset).__name__} {asset!r}")
        if asset.auto_close_date is not None:
            day = self._session_list[self._data_idx]
            if day > min(asset.end_date, asset.auto_close_date):
                return False
        return True

    def _value_to_amount(self, asset, value: float) -> float:
        day = self._session_list[self._data_idx]
        if day < asset.start_date:
            raise zerr.CannotOrderDelistedAsset(
                asset=asset.symbol, why=f"it starts trading on {asset.start_date.date()}")
        if day > asset.end_date:
            raise zerr.CannotOrderDelistedAsset(
                asset=asset.symbol, why=f"it stopped trading on {asset.end_date.date()}")
        price = self._price(asset)
        if np.isnan(price):
            raise zerr.CannotOrderDelistedAsset(
                asset=asset.symbol, why=f"it has no last price on {self.datetime}")
        if abs(price) <= 1e-6:
            return 0
        return value / (price * asset.price_multiplier)

    def order(self, asset, amount, limit_price=None, stop_price=None, style=None):
        """Place an order for ``amount`` shares; return its id (None for 0 shares)."""
        self._require("order", trading=True)
        if not self._can_order_asset(asset):
            return None
        amount = int(_round_if_near_integer(amount))
        if style is not None:
            if limit_price is not None:
                raise zerr.UnsupportedOrderParameters(
                    msg="pass either limit_price or style, not both")
            if stop_price is not None:
                raise zerr.UnsupportedOrderParameters(
                    msg="pass either stop_price or style, not both")
            if not isinstance(style, ExecutionStyle):
                raise zerr.UnsupportedOrderParameters(
                    msg=f"style must be an ExecutionStyle, got {type(style).__name__}")
        for control in self._trading_controls:
            control(self, asset, amount)
        if style is None:
            if limit_price is not None and stop_price is not None:
                style = StopLimitOrder(limit_price, stop_price, asset=asset)
            elif limit_price is not None:
                style = LimitOrder(limit_price, asset=asset)
            elif stop_price is not None:
                style = StopOrder(stop_price, asset=asset)
            else:
                style = MarketOrder()
        if amount == 0:
            return None
        if amount > MAX_SHARES:
            raise OverflowError(f"cannot order more than {MAX_SHARES} shares")
        if asset.symbol not in self._engine_names:
            raise zerr.CannotOrderDelistedAsset(
                asset=asset.symbol, why=f"it has no bars between {self.sim_sessions[0].date()} "
                                        f"and {self.sim_sessions[-1].date()}")
        buy = amount > 0
        stop = style.get_stop_price(buy)
        limit = style.get_limit_price(buy)
        self._next_id += 1
        order = Order(f"{self._next_id:032x}", self.datetime, asset, amount, stop=stop,
                      limit=limit)
        native = self._host.broker.order(asset.symbol, amount, limit_price=limit,
                                         stop_price=stop)
        order.engine_id = native.id
        self._orders[order.id] = order
        self._by_engine[native.id] = order
        self._open.setdefault(asset, []).append(order)
        self._new_orders.append(order)
        return order.id

    def order_value(self, asset, value, limit_price=None, stop_price=None, style=None):
        self._require("order_value", trading=True)
        if not self._can_order_asset(asset):
            return None
        amount = self._value_to_amount(asset, value)
        return self.order(asset, amount, limit_price, stop_price, style)

    def order_percent(self, asset, percent, limit_price=None, stop_price=None, style=None):
        self._require("order_percent", trading=True)
        if not self._can_order_asset(asset):
            return None
        amount = self._value_to_amount(asset, self.portfolio.portfolio_value * percent)
        return self.order(asset, amount, limit_price, stop_price, style)

    def _held(self, asset) -> int:
        pos = self._zpos.get(asset)
        return 0 if pos is None else pos.amount

    def order_target(self, asset, target, limit_price=None, stop_price=None, style=None):
        self._require("order_target", trading=True)
        if not self._can_order_asset(asset):
            return None
        return self.order(asset, target - self._held(asset), limit_price, stop_price, style)

    def order_target_value(self, asset, target, limit_price=None, stop_price=None, style=None):
        self._require("order_target_value", trading=True)
        if not self._can_order_asset(asset):
            return None
        amount = self._value_to_amount(asset, target) - self._held(asset)
        return self.order(asset, amount, limit_price, stop_price, style)

    def order_target_percent(self, asset, target, limit_price=None, stop_price=None,
                             style=None):
        self._require("order_target_percent", trading=True)
        if not self._can_order_asset(asset):
            return None
        value = self.portfolio.portfolio_value * target
        amount = self._value_to_amount(asset, value) - self._held(asset)
        return self.order(asset, amount, limit_price, stop_price, style)

    def batch_market_order(self, share_counts):
        return [self.order(a, n) for a, n in share_counts.items()]

    def get_open_orders(self, asset=None):
        """Open orders: a dict ``{asset: [order, ...]}``, or one asset's list."""
        if asset is None:
            return {a: [o.to_api_obj() for o in lst] for a, lst in self._open.items() if lst}
        return [o.to_api_obj() for o in self._open.get(asset, [])]

    def get_order(self, order_id):
        """The order with this id (None if unknown)."""
        order = self._orders.get(order_id)
        return None if order is None else order.to_api_obj()

    def cancel_order(self, order_param) -> None:
        """Cancel an open order (by id or order object)."""
        order_id = order_param if isinstance(order_param, str) else order_param.id
        order = self._orders.get(order_id)
        if order is None or not order.open:
            return
        self._cancel(order)
        if order in self._new_orders:
            self._new_orders.remove(order)
        self._new_orders.append(order)

    def _cancel(self, order) -> None:
        self._host.broker.cancel(order.engine_id)
        lst = self._open.get(order.asset)
        if lst is not None and order in lst:
            lst.remove(order)
            if not lst:
                del self._open[order.asset]
        order._status = ORDER_STATUS.CANCELLED
        order.dt = self.datetime

    # ---- models, controls, benchmark
    def set_slippage(self, us_equities=None, us_futures=None) -> None:
        self._require("set_slippage", init_only=True)
        if us_futures is not None:
            raise zerr.UnsupportedFeature(what="us_futures slippage", why="no futures")
        if us_equities is not None:
            if not isinstance(us_equities, zslip.SlippageModel):
                raise zerr.UnsupportedSlippageModel()
            self._slippage = us_equities

    def set_commission(self, us_equities=None, us_futures=None) -> None:
        self._require("set_commission", init_only=True)
        if us_futures is not None:
            raise zerr.UnsupportedFeature(what="us_futures commission", why="no futures")
        if us_equities is not None:
            if not isinstance(us_equities, zcomm.CommissionModel):
                raise zerr.UnsupportedCommissionModel()
            self._commission = us_equities

    def set_cancel_policy(self, cancel_policy) -> None:
        """When open orders are canceled (``EODCancel()``; default ``NeverCancel()``).

        As in Zipline's daily mode, at the end of each session a policy that cancels at
        ``SESSION_END`` cancels, for each asset with more than one open order, only the
        oldest of them (the canceled order shows in that session's ``orders``).

        Raises
        ------
        UnsupportedCancelPolicy
            Not a ``CancelPolicy``.
        SetCancelPolicyPostInit
            Called after ``initialize``.
        """
        from ml4t.compat.zipline.finance.cancel_policy import CancelPolicy
        if not isinstance(cancel_policy, CancelPolicy):
            raise zerr.UnsupportedCancelPolicy()
        if self.initialized:
            raise zerr.SetCancelPolicyPostInit()
        self._cancel_policy = cancel_policy

    def _apply_cancel_policy(self) -> None:
        from ml4t.compat.zipline.finance.cancel_policy import SESSION_END
        policy = self._cancel_policy
        if policy is None or not policy.should_cancel(SESSION_END):
            return
        for asset in list(self._open):
            orders = self._open.get(asset, [])
            if len(orders) > 1:
                oldest = orders[0]
                if policy.warn_on_cancel and oldest.filled:
                    import warnings
                    warnings.warn(f"Your order for {oldest.amount} shares of {asset.symbol} "
                                  f"has been partially filled. {oldest.filled} shares were "
                                  f"successfully traded. {oldest.amount - oldest.filled} "
                                  "shares were not filled by the end of day and were "
                                  "canceled.", stacklevel=2)
                # Zipline relays a policy cancel with the next session's new orders: the
                # order shows (canceled) today only if it was already listed today
                self._cancel(oldest)
                self._carried.append(oldest)

    def set_benchmark(self, benchmark) -> None:
        self._require("set_benchmark", init_only=True)
        self.benchmark_sid = benchmark

    def _register(self, check) -> None:
        self._require("trading_control", init_only=True)
        self._trading_controls.append(check)

    def set_max_position_size(self, asset=None, max_shares=None, max_notional=None,
                              on_error="fail"):
        from ml4t.compat.zipline.finance import controls
        self._register(controls.MaxPositionSize(on_error, asset, max_shares, max_notional))

    def set_max_order_size(self, asset=None, max_shares=None, max_notional=None,
                           on_error="fail"):
        from ml4t.compat.zipline.finance import controls
        self._register(controls.MaxOrderSize(on_error, asset, max_shares, max_notional))

    def set_max_order_count(self, max_count, on_error="fail"):
        from ml4t.compat.zipline.finance import controls
        self._register(controls.MaxOrderCount(on_error, max_count))

    def set_do_not_order_list(self, restricted_list, on_error="fail"):
        """``set_asset_restrictions(StaticRestrictions(restricted_list))`` (a
        ``Restrictions`` object is used as it is)."""
        from ml4t.compat.zipline.finance.asset_restrictions import (Restrictions,
                                                                    StaticRestrictions)
        if not isinstance(restricted_list, Restrictions):
            restricted_list = StaticRestrictions(restricted_list)
        self.set_asset_restrictions(restricted_list, on_error)

    def set_asset_restrictions(self, restrictions, on_error="fail"):
        """Refuse orders in restricted assets (``TradingControlViolation``, or a log line
        with ``on_error="log"``) and make ``data.can_trade`` False for them."""
        from ml4t.compat.zipline.finance import controls
        from ml4t.compat.zipline.finance.asset_restrictions import Restrictions
        if not isinstance(restrictions, Restrictions):
            raise TypeError(f"set_asset_restrictions() takes a Restrictions object "
                            f"(StaticRestrictions, HistoricalRestrictions), got "
                            f"{type(restrictions).__name__}")
        self._register(controls.RestrictedListOrder(on_error, restrictions))
        self._restrictions = self._restrictions | restrictions

    def set_min_leverage(self, min_leverage, grace_period):
        """From ``grace_period`` after the first session on, account leverage at each
        session's end must be at least ``min_leverage`` (``AccountControlViolation``)."""
        from ml4t.compat.zipline.finance import controls
        self._require("account_control", init_only=True)
        deadline = pd.Timestamp(self.sim_sessions[0]) + pd.Timedelta(grace_period)
        self._account_controls.append(controls.MinLeverage(min_leverage, deadline))

    def set_long_only(self, on_error="fail"):
        from ml4t.compat.zipline.finance import controls
        self._register(controls.LongOnly(on_error))

    def set_max_leverage(self, max_leverage):
        from ml4t.compat.zipline.finance import controls
        self._require("account_control", init_only=True)
        self._account_controls.append(controls.MaxLeverage(max_leverage))

    def _is_restricted(self, asset) -> bool:
        """Restricted at the algorithm's current time (as Zipline's ``data.can_trade``
        asks: the session close in ``handle_data``)."""
        return bool(self._restrictions.is_restricted(asset, self.get_datetime()))

    # ---- pipelines
    def attach_pipeline(self, pipeline, name, chunks=None, eager=True):
        """Register ``pipeline`` under ``name`` (in ``initialize`` only); returns it.
        ``chunks`` and ``eager`` are accepted: the shim computes the terms that can be
        (arithmetic, ranks, z-scores, ``Returns``, ``AverageDollarVolume``,
        ``AnnualizedVolatility``) for up to 64 sessions at once, from the first session asked for, and ``CustomFactor.compute``
        session by session; each session gets the values computing it alone would give."""
        from ml4t.compat.zipline.pipeline import Pipeline
        from ml4t.compat.zipline.pipeline.domain import check_runnable
        if self._phase != "initialize":
            raise zerr.AttachPipelineAfterInitialize()
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"attach_pipeline() takes a Pipeline, got "
                            f"{type(pipeline).__name__}")
        check_runnable(pipeline.domain)
        self._pipelines[name] = pipeline
        return pipeline

    def pipeline_output(self, name):
        """The output of pipeline ``name`` for the current session (a DataFrame indexed
        by asset); values use the bars up to the previous session."""
        if self._phase == "initialize":
            raise zerr.PipelineOutputDuringInitialize()
        pipe = self._pipelines.get(name)
        if pipe is None:
            raise zerr.NoSuchPipeline(name=name, valid=list(self._pipelines))
        i = self._data_idx
        done = self._pipeline_out.get(name)
        if done is None or done[0] != i:
            if self._pipeline_engine is None:
                from ml4t.compat.zipline.pipeline import _Engine
                self._pipeline_engine = _Engine(self._store, self._custom_loader,
                                                end=self._i1 + 1)
            done = self._pipeline_out[name] = (i, self._pipeline_engine.run(pipe, i))
        return done[1]

    # ---- misc
    def record(self, *args, **kwargs) -> None:
        """Record values by name; they appear as perf columns from this session on."""
        if len(args) % 2:
            raise ValueError("record() takes name, value pairs")
        for name, value in zip(args[::2], args[1::2]):
            self._recorded[name] = value
        self._recorded.update(kwargs)

    def schedule_function(self, func, date_rule=None, time_rule=None, half_days=True,
                          calendar=None) -> None:
        """Call ``func(context, data)`` after ``handle_data`` on the sessions of ``date_rule``."""
        if isinstance(date_rule, TimeRule) and time_rule is None:
            date_rule, time_rule = None, date_rule
        date_rule = date_rule or date_rules.every_day()
        if not isinstance(date_rule, DateRule):
            raise TypeError(f"date_rule must come from date_rules, got {date_rule!r}")
        if calendar not in (None, calendars.US_EQUITIES, calendars.US_FUTURES):
            raise zerr.ScheduleFunctionInvalidCalendar(
                given_calendar=calendar,
                allowed_calendars="[calendars.US_EQUITIES, calendars.US_FUTURES]")
        days = date_rule.sessions(self._store.calendar_sessions)
        if not half_days:
            days -= set(self._store.early_closes)
        self._schedules.append([days, func, -_DAY_NS, False])

    def get_environment(self, field="platform"):
        env = {"arena": "backtest", "data_frequency": "daily",
               "start": self._store.session_first_minutes[self._i0] + pd.Timedelta(minutes=1),
               "end": self._store.session_closes[self._i1],
               "capital_base": self.capital_base, "platform": self._platform}
        if field == "*":
            return env
        try:
            return env[field]
        except KeyError:
            raise ValueError(f"{field!r} is not a valid field for get_environment; use one "
                             f"of {', '.join(sorted(env))} or '*'") from None


_DAY_NS = 86_400 * 10**9


def loader_of_file(namespace: dict, bundle, environ=None):
    """The ``custom_loader`` a file-style algorithm declares for ``ml4t zipline run`` and
    golden scenarios: a module-level mapping ``custom_loader``, or a function
    ``custom_loader(bundle_data)`` returning one (called with the loaded bundle, so the
    file can look its assets up); ``None`` when the file has neither."""
    loader = namespace.get("custom_loader")
    if callable(loader):
        from ml4t.compat.zipline.data import bundles
        loader = loader(bundles.load(bundle, environ))
    return loader


def _check_loaders(custom_loader) -> dict:
    """``run_algorithm(custom_loader=...)``: a mapping of custom dataset columns to
    loaders the shim can read (``DataFrameLoader``)."""
    if custom_loader is None:
        return {}
    from ml4t.compat.zipline.pipeline.data import BoundColumn, EquityPricing
    from ml4t.compat.zipline.pipeline.loaders.frame import DataFrameLoader
    try:
        items = list(custom_loader.items())
    except AttributeError:
        raise TypeError("custom_loader must map dataset columns to loaders, got "
                        f"{type(custom_loader).__name__}") from None
    out = {}
    for column, loader in items:
        if not isinstance(column, BoundColumn):
            raise TypeError(f"custom_loader: key {column!r} is not a dataset column "
                            "(MyDataSet.my_column)")
        if column.dataset is EquityPricing:
            continue                      # bundle prices are loaded by the shim
        if not isinstance(loader, DataFrameLoader):
            raise zerr.UnsupportedFeature(what=f"custom_loader[{column!r}] = "
                                               f"{type(loader).__name__}",
                                          why="the shim reads custom columns through "
                                              "DataFrameLoader")
        out[column] = loader
    return out


def _prescaled(target: float, ratio: float) -> float:
    """A price ``x`` with ``x / ratio == target`` exactly (the engine divides at the split)."""
    x = target * ratio
    for _ in range(64):
        q = x / ratio
        if q == target:
            return x
        x = math.nextafter(x, math.inf if q < target else -math.inf)
    return target * ratio


def run_algorithm(start, end, initialize, capital_base, handle_data=None,
                  before_trading_start=None, analyze=None, data_frequency="daily",
                  bundle="quantopian-quandl", bundle_timestamp=None, trading_calendar=None,
                  metrics_set="default", benchmark_returns=None, default_extension=True,
                  extensions=(), strict_extensions=True, environ=None, custom_loader=None,
                  blotter="default"):
    """Run a Zipline algorithm on the native ml4t engine; return the perf DataFrame.

    The arguments are Zipline's. ``bundle`` names a bundle registered with
    ``ml4t.compat.zipline.data.bundles.register`` (read straight from its csvdir
    folder; no ingest needed), or is a path to a csvdir folder. ``bundle_timestamp`` and
    extensions are accepted for compatibility and ignored; ``blotter`` must be
    ``"default"``. ``custom_loader`` maps the columns of your own pipeline datasets to
    their loaders (``DataFrameLoader``).

    Returns
    -------
    pandas.DataFrame
        One row per session, indexed by the session close (UTC), with Zipline's
        columns (``portfolio_value``, ``ending_cash``, ``returns``, ``transactions``,
        ``orders``, ``positions``, risk metrics...) and recorded variables.

    Raises
    ------
    ml4t.compat.zipline.errors.UnknownBundle
        ``bundle`` is neither registered nor a folder.
    ml4t.errors.DataError
        Bad bundle data, including split-adjusted prices not declared as such.
    """
    from ml4t.compat.zipline.data import bundles
    if blotter != "default":
        raise zerr.UnsupportedFeature(what=f"blotter={blotter!r}", why="only 'default'")
    store = bundles.load(bundle, environ, bundle_timestamp)
    if trading_calendar is not None:
        name = getattr(trading_calendar, "name", trading_calendar)
        if name not in (store.calendar_name, "NYSE") and store.calendar_name != name:
            raise ValueError(f"bundle {bundle!r} uses calendar {store.calendar_name!r}, not "
                             f"{name!r}")
    algo = TradingAlgorithm(bundle_data=store, start=start, end=end, capital_base=capital_base,
                            initialize=initialize, handle_data=handle_data,
                            before_trading_start=before_trading_start, analyze=analyze,
                            benchmark_returns=benchmark_returns, metrics_set=metrics_set,
                            data_frequency=data_frequency, custom_loader=custom_loader)
    return algo.run()
