"""``Engine`` and ``run_backtest``: configure a run, drive the compiled core, build the result."""
from __future__ import annotations

import contextlib
import gc
import math
from typing import Any

import numpy as np
import pandas as pd

from ml4t._core.accounting import Ledger
from ml4t._core.clock import Simulator
from ml4t._core.costs import (CommissionModel, NoCommission, NoSlippage, PerAssetCommission,
                              SlippageModel)
from ml4t._core.enums import FillMode, IntrabarPolicy, Reason, TrailSource
from ml4t._core.matching import OrderBook
from ml4t.errors import ConfigError, check_choice, suggest
from ml4t.orders import (ACTION_NAMES, BarEvent, CorporateActionEvent, Fill, FillEvent, Order,
                         OrderEvent, _ts)
from ml4t.strategy import Bars, Broker, DataView, OpenPrices, Strategy, _Assets, overridden

FILL_MODES = {"next_open": FillMode.NEXT_OPEN, "next_close": FillMode.NEXT_CLOSE,
              "same_close": FillMode.SAME_CLOSE}
ACCOUNTS = ("cash", "margin", "unchecked")
ON_INSUFFICIENT = ("reject", "partial")
FILL_ORDERS = ("exit_first", "submission")
RECORD = ("slice", "session")
INTRABAR = {"stop_first": IntrabarPolicy.STOP_FIRST, "limit_first": IntrabarPolicy.LIMIT_FIRST,
            "nearest_open": IntrabarPolicy.NEAREST_OPEN, "submission": IntrabarPolicy.SUBMISSION}
CASH_CHECKS = ("all", "opening")
ZERO_VOLUME = ("fill", "skip")
TRAIL_SOURCES = {"close": TrailSource.TRAIL_CLOSE, "high_low": TrailSource.TRAIL_HIGH_LOW}
STOP_LIMIT_RULES = {"stop_only": 0, "bar_direction": 1}


class _Run:
    """Everything one run shares between the engine, the broker and the data view."""

    def __init__(self, engine: "Engine", bar_data):
        self.config = engine.config
        self.fractional = engine.config["fractional"]
        self.bar_data = bar_data
        self.assets = _Assets(bar_data.assets)
        n = len(self.assets.names)
        c = engine.config
        self.ledger = Ledger(n, c["cash"], c["account"] == "margin", c["allow_short"],
                             c["initial_margin"], c["max_leverage"])
        self.ledger.check_opening_only = c["cash_check"] == "opening"
        self.ledger.unchecked = c["account"] == "unchecked"
        self.book = OrderBook(self.ledger, c["commission"], c["slippage"],
                              c["fill_order"] == "exit_first",
                              c["on_insufficient"] == "partial", c["fractional"],
                              math.nan if c["volume_limit"] is None else c["volume_limit"],
                              int(INTRABAR[c["intrabar_policy"]]),
                              int(TRAIL_SOURCES[c["trail_source"]]),
                              STOP_LIMIT_RULES[c["stop_limit_rule"]])
        self.book.skip_zero_volume = c["zero_volume"] == "skip"
        c["commission"].asset_names = self.assets.names     # models see the fill's asset
        _check_per_asset(c["commission"], self.assets.names)
        c["slippage"].asset_names = self.assets.names
        from ml4t.orders import ContractSpec
        for name, spec in (c["contracts"] or {}).items():
            if isinstance(spec, ContractSpec):
                self.book.set_contract(self.assets.id(name), *spec.as_args())
        self.desk = None
        self.futures = None
        self.fx = None
        self.close_hooks = []
        capacity = _history_capacity(bar_data)
        in_memory = getattr(bar_data, "_stream", None) is None and \
            getattr(bar_data, "_batch_rows", None) is None
        self.sim = Simulator(self.ledger, self.book, int(FILL_MODES[c["fill"]]), capacity,
                             c["record"] == "slice", c["record_positions"], c["fractional"],
                             in_memory)
        if c["cash_in_lieu"] is not None:
            lieu, names = c["cash_in_lieu"], self.assets.names
            self.sim.lieu_hook = lambda a, ratio: lieu(names[a], ratio)
        self.start_ts = 0

    def setup_fx(self) -> None:
        """Asset currencies, cash books and the exchange-rate schedule (``ml4t.fx``)."""
        from ml4t.fx import FxDesk, parse_fx
        c = self.config
        base = c["base_currency"]
        cur = c["currency"] or {}
        self._known("currency", cur)
        codes = sorted((set(cur.values()) | set(c["cash_balances"])) - {base})
        if not codes:
            return
        names = [base] + codes
        index = {code: i for i, code in enumerate(names)}
        acur = np.zeros(len(self.assets.names), dtype=np.int32)
        for name, code in cur.items():
            acur[self.assets.id(name)] = index[code]
        balances = [0.0] * len(names)
        for code, amount in c["cash_balances"].items():
            balances[index[code]] = amount
        self.ledger.set_currencies(acur, len(names), balances)
        self.ledger.fx_auto = c["fx_conversion"] == "auto"
        self.ledger.fx_spread = c["fx_spread"]
        ts, ccy, rate = parse_fx(c["fx"], base, codes)
        self.sim.set_fx(ts, ccy, rate)
        self.fx = FxDesk(self, names, ts, ccy, rate)
        self.close_hooks.append(self.fx.on_close)
        self.sim.close_hook = self._on_close

    def _on_close(self, session: int, ts: int, k: int) -> None:
        for hook in self.close_hooks:
            hook(session, ts, k)

    def setup_futures(self, first_session: int) -> None:
        """Futures accounting, expiries and continuous-future rolls (``ml4t.futures``)."""
        from ml4t.futures import ContinuousFuture, Future, FuturesDesk
        specs = self.config["contracts"] or {}
        if not any(isinstance(s, (Future, ContinuousFuture)) for s in specs.values()):
            return
        if any(isinstance(s, ContinuousFuture) for s in specs.values()) and not any(
                isinstance(s, Future) for s in specs.values()):
            raise ConfigError("contracts", "a ContinuousFuture without Future contracts",
                              "the chain's contracts as ml4t.Future specifications")
        self.futures = FuturesDesk(self, specs, first_session)
        self.close_hooks.append(self.futures.on_close)
        self.sim.close_hook = self._on_close

    def setup_margin(self, on_event):
        """Maintenance requirements, borrow/interest rates, funding and the margin desk."""
        from ml4t.margin import MarginDesk, RateSchedule
        c, led, sim = self.config, self.ledger, self.sim
        self._known("initial_margin", c["initial_margin_per_asset"])
        for name, frac in c["initial_margin_per_asset"].items():
            led.set_initial_margin(self.assets.id(name), float(frac))
        mm = c["maintenance_margin"]
        per_asset = mm if isinstance(mm, dict) else {}
        default = mm if not isinstance(mm, dict) else (0.25, 0.30)
        self._known("maintenance_margin", per_asset)
        self._known("borrow_rate", c["borrow_rate"] if isinstance(c["borrow_rate"], dict) else {})
        self._known("hard_to_borrow", c["hard_to_borrow"] or ())
        for a, name in enumerate(self.assets.names):
            lo, sh = per_asset.get(name, default)
            led.set_margin(a, lo, sh)
        borrow_sched = {}
        br = c["borrow_rate"]
        items = br.items() if isinstance(br, dict) else ((n, br) for n in self.assets.names)
        any_rate = False
        for name, value in items:
            a = self.assets.id(name)
            sched = RateSchedule(f"borrow_rate[{name!r}]", value)
            if sched.constant is None:
                borrow_sched[a] = sched
                any_rate = True
            else:
                led.set_borrow_rate(a, sched.constant)
                any_rate = any_rate or sched.constant > 0
        for name in c["hard_to_borrow"] or ():
            led.set_hard_to_borrow(self.assets.id(name), True)
        credit = RateSchedule("interest_rate", c["interest_rate"])
        debit = RateSchedule("margin_rate", c["margin_rate"])
        led.day_count = float(c["day_count"])
        if credit.constant is not None:
            led.credit_rate = credit.constant
        if debit.constant is not None:
            led.debit_rate = debit.constant
        any_rate = (any_rate or credit.constant != 0 or debit.constant != 0)
        desk = MarginDesk(self, c["liquidation_policy"], on_event, borrow_sched,
                          credit if credit.constant is None else None,
                          debit if debit.constant is None else None)
        sim.accruals = bool(any_rate)
        if borrow_sched or desk.credit is not None or desk.debit is not None:
            sim.session_hook = desk.on_session
        if c["account"] == "margin" and c["margin_calls"]:
            sim.margin_hook = desk.on_margin_call
        if c["funding"] is not None:
            from ml4t.fx import funding_gap_guard
            arrays = _funding_arrays(c["funding"], self.assets)
            sim.set_funding(*arrays)
            if len(arrays[0]):
                self.close_hooks.append(funding_gap_guard(self, arrays[0], arrays[1]))
                sim.close_hook = self._on_close
        # a rate series must cover the first session it is needed: check before the run
        for sched in list(borrow_sched.values()) + [x for x in (desk.credit, desk.debit)
                                                    if x is not None]:
            sched.at(self.first_session_close())
        if sim.accruals:
            sim.next_session_fn = self.next_session     # days the last balance accrues
        self.desk = desk

    def _known(self, option, names):
        from ml4t.errors import suggest
        for name in names:
            if name not in self.assets.ids:
                hint = suggest(str(name), self.assets.names)
                raise ConfigError(option, name, "an asset in the data" + (
                    "" if hint else f" ({', '.join(self.assets.names[:10])})"), hint=hint)

    def first_session_close(self) -> int:
        """ts (ns) by which a rate series must have started: the first bar."""
        return int(self.start_ts)

    def next_session(self, session: int) -> int:
        """The session after ``session`` (days since epoch), from the calendar when known."""
        cal = self.bar_data.calendar
        day = np.datetime64(int(session), "D")
        if cal is not None:
            try:
                from ml4t.calendars import calendar

                year = int(str(day)[:4])           # a two-year window, cached per year
                c = calendar(cal, f"{year}-01-01", f"{year + 1}-12-31")
                nxt = c.date_to_session(pd.Timestamp(day) + pd.Timedelta(days=1), direction="next")
                return int(np.datetime64(nxt.date(), "D").astype(np.int64))
            except Exception:  # outside the calendar's range: fall back to business days
                pass
        return int(np.busday_offset(day, 1, roll="forward").astype(np.int64))


def _funding_arrays(table, assets: _Assets):
    """(ts, asset, rate) arrays from a funding table (columns ts, asset, rate)."""
    from ml4t.errors import DataError
    cols = {str(c).lower(): c for c in table.columns}
    for need in ("ts", "asset", "rate"):
        if need not in cols:
            raise DataError(f"funding table needs column {need!r} (found "
                            f"{', '.join(map(str, table.columns))})", path="<funding>",
                            column=need, rule="missing_column")
    ts = pd.to_datetime(table[cols["ts"]])
    if ts.dt.tz is None:
        ts = ts.dt.tz_localize("UTC")
    ts_ns = ts.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
    rate = pd.to_numeric(table[cols["rate"]], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(rate)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"funding rate is not a finite number ({table[cols['rate']].iloc[i]!r})",
                        path="<funding>", row=i, column="rate", rule="bad_rate")
    ids = []
    for i, name in enumerate(table[cols["asset"]]):
        if name not in assets.ids:
            raise DataError(f"unknown asset {name!r}", path="<funding>", row=i, column="asset",
                            rule="unknown_asset")
        ids.append(assets.ids[name])
    order = np.argsort(ts_ns, kind="stable")
    return ts_ns[order], np.asarray(ids, dtype=np.int32)[order], rate[order]


def _check_per_asset(model, names) -> None:
    """A per-asset commission naming an asset the data does not have is a typo, not a
    silent fall-back to its default model."""
    if isinstance(model, PerAssetCommission):
        unknown = model.unknown_assets(names)
        if unknown:
            hint = suggest(unknown[0], list(names))
            raise ConfigError("commission", model,
                              f"a PerAssetCommission whose assets are in the data; "
                              f"{', '.join(map(repr, unknown))} not among the run's assets",
                              hint=f"did you mean {hint!r}?" if hint else None)


def _history_capacity(bar_data) -> int:
    """Rows per asset to preallocate: exact for in-memory data, a guess when streaming."""
    n_assets = max(1, len(bar_data.assets))
    n_rows = getattr(bar_data, "n_rows", None)
    if n_rows:
        # dense panels have n_rows / n_assets bars per asset; sparse ones grow on demand
        return max(16, int(math.ceil(n_rows / n_assets)))
    return 256


class _Driver:
    """Hands the strategy its notifications and bar events; the core calls it per slice."""

    def __init__(self, run: _Run, strategy: Strategy, hooks: set[str]):
        self.run = run
        self.sim = run.sim
        self.strategy = strategy
        self.book = run.book
        self.ledger = run.ledger
        self.names = run.assets.names
        self.bars = Bars(run.sim, run.assets)
        self.on_event = strategy.on_event if "on_event" in hooks else None
        self.on_order = strategy.on_order if "on_order" in hooks else None
        self.on_fill = strategy.on_fill if "on_fill" in hooks else None
        self.notify = any(h is not None for h in (self.on_event, self.on_order, self.on_fill))
        on_bar = strategy.on_bar if "on_bar" in hooks else None
        on_event = self.on_event
        if on_event is None:
            self.bar_hook = on_bar
        elif on_bar is None:
            self.bar_hook = lambda bars: on_event(BarEvent(bars.ts, bars))
        else:
            def both(bars):
                on_bar(bars)
                on_event(BarEvent(bars.ts, bars))
            self.bar_hook = both
        if "on_open" in hooks:
            on_open, names = strategy.on_open, self.names
            run.sim.open_hook = lambda ts, ids, opens: on_open(OpenPrices(ts, names, ids, opens))

    def deliver(self):
        """Deliver every corporate action and order/fill event not yet seen, in time order."""
        sim, book = self.sim, self.book
        if not self.notify:
            sim.events_seen = book.n_events
            sim.actions_seen = len(sim.ax_ts)
            return
        self.deliver_actions()
        while sim.events_seen < book.n_events:
            i = sim.events_seen
            sim.events_seen = i + 1
            ts, oid, status, reason, fill_idx, filled = book.event(i)
            info = book.order_tuple(oid)
            order = Order._from_tuple(info, self.names[info[1]], ts=ts, status=status,
                                      reason=reason, filled=filled)
            if self.on_order is not None:
                self.on_order(order)
            if self.on_event is not None:
                self.on_event(OrderEvent(order))
            if fill_idx >= 0 and (self.on_fill is not None or self.on_event is not None):
                fill = self._fill(fill_idx)
                if self.on_fill is not None:
                    self.on_fill(fill)
                if self.on_event is not None:
                    self.on_event(FillEvent(fill))

    def deliver_actions(self):
        """Corporate actions applied since the last call, to ``on_event``."""
        sim = self.sim
        n = len(sim.ax_ts)
        if self.on_event is None:
            sim.actions_seen = n
            return
        while sim.actions_seen < n:
            i = sim.actions_seen
            sim.actions_seen = i + 1
            self.on_event(CorporateActionEvent(
                ts=_ts(sim.ax_ts.get(i)), asset=self.names[sim.ax_asset.get(i)],
                action=ACTION_NAMES[sim.ax_kind.get(i)], value=sim.ax_value.get(i),
                qty=sim.ax_qty.get(i), cash=sim.ax_cash.get(i)))

    def _fill(self, i: int) -> Fill:
        return fill_at(self.ledger, self.names, i)


def fill_at(ledger, names, i: int) -> Fill:
    """The ``Fill`` of the ledger's execution ``i`` (what ``on_fill`` is given)."""
    qty = _at(ledger.f_qty, i)
    price = _at(ledger.f_price, i)
    ref = _at(ledger.f_ref, i)
    return Fill(order_id=int(_at(ledger.f_oid, i)), asset=names[int(_at(ledger.f_asset, i))],
                ts_ns=int(_at(ledger.f_ts, i)), qty=qty, price=price, ref_price=ref,
                commission=_at(ledger.f_comm, i), slippage=(price - ref) * qty,
                realized_pnl=_at(ledger.f_realized, i))


def _at(buf, i):
    return buf.get(i)


class Engine:
    """A configured backtest engine; ``run`` it on a strategy and data.

    Parameters
    ----------
    cash : float or dict, default 100_000
        Starting cash; a dict (``{"USD": 100_000, "EUR": 20_000}``) gives opening
        balances per currency (the base currency's must be > 0).
    fill : {"next_open", "next_close", "same_close"}
        When orders fill: at the next bar's open (intrabar rules for limits and
        stops), at the next bar's close, or at the close of the bar on which they
        were placed (cheat-on-close).
    commission : CommissionModel, optional
        Default: no commission.
    slippage : SlippageModel, optional
        Default: no slippage.
    account : {"cash", "margin", "unchecked"}
        Cash account (cash never below zero), Reg-T margin account, or an
        account with no buying-power checks and no margin calls (what Zipline
        does; cash may go negative without limit).
    allow_short : bool, optional
        Default False for a cash account, True for a margin account.
    initial_margin : float or dict, default 0.5
        Initial margin requirement of a margin account (0.5 = Reg-T, 2x);
        ``{asset: fraction}`` sets it per asset (others 0.5).
    max_leverage : float, optional
        Cap on gross exposure / NAV (margin accounts); default none.
    on_insufficient : {"reject", "partial"}
        Reject an order that exceeds buying power, or fill what fits.
    fill_order : {"exit_first", "submission"}
        Sequencing at one fill point.
    fractional : bool, default False
        Allow fractional quantities.
    calendar : str or None, default "XNYS"
        Exchange calendar used to stamp daily data and define sessions.
    start, end : timestamp-like, optional
        Restrict the data to this range (inclusive).
    record : {"slice", "session"}
        Portfolio history granularity.
    record_positions : bool, default True
        Record position snapshots with the portfolio history.
    seed : int, default 0
        Master seed of the run's random generator (``Engine.rng``).
    price_adjustment : {"detect", "raw", "split_adjusted"}
        How to treat data with a ``split`` column: refuse prices that look
        split-adjusted (default), trust them as raw, or rebuild raw prices.
    corporate_actions : DataFrame, optional
        Extra splits/dividends: columns ``asset, ex_date`` and ``ratio`` or
        ``amount``, optional ``pay_date``.
    volume_limit : float, optional
        Cap each asset's fills in one bar at this fraction of the bar's volume
        (e.g. 0.025); the rest carries over. Default: no cap.
    intrabar_policy : {"stop_first", "limit_first", "nearest_open", "submission"}
        Which member of an OCO group or bracket fills when one bar touches both.
    cash_check : {"all", "opening"}
        Cash accounts: check every fill (default), or only the part of a fill that
        opens or enlarges a position (covering a short may then take cash below
        zero; a reversal that does not fit fills its closing leg only).
    stop_limit_rule : {"stop_only", "bar_direction"}
        A stop-limit (or trailing stop-limit) triggered inside a bar fills there at its
        stop when the stop is within the limit; with "bar_direction" it also fills at
        its limit when the limit lies beyond the stop and the bar closes past the limit
        moving away from its open (Backtrader's rule). Otherwise it rests as a limit.
    trail_source : {"close", "high_low"}
        What trailing stops follow: each bar's close, or its high (sells) / low (buys).
    contracts : dict of str to ContractSpec, Future or ContinuousFuture, optional
        Tick size, lot size, minimum quantity and fractional trading per asset;
        ``ml4t.Future`` makes an asset a futures contract (multiplier, expiry,
        per-contract margins, daily settlement; needs ``account="margin"``) and
        ``"ES": ml4t.ContinuousFuture(roll="days", days=5)`` a root name that
        trades the active contract and rolls it (see ``ml4t.futures``).
    maintenance_margin : (float, float) or dict, default (0.25, 0.30)
        Maintenance requirement of longs and shorts (fractions of market value),
        or ``{asset: (long, short)}``; checked at every mark to market.
    liquidation_policy : ml4t.margin.LiquidationPolicy, optional
        What a margin call sells (default: largest requirement first).
    margin_calls : bool, default True
        False: a margin account still checks initial margin on every opening fill and
        reports its maintenance requirement, but never calls or liquidates (equity may
        fall below the requirement, and below zero).
    borrow_rate : float, Series or dict, default 0
        Annual borrow fee on short market value (per asset with a dict; a Series
        gives a time-varying rate).
    hard_to_borrow : iterable of str, optional
        Assets on which new or larger shorts are rejected (``hard_to_borrow``).
    interest_rate, margin_rate : float or Series, default 0
        Annual interest credited on positive cash / charged on negative cash.
    day_count : {360, 365}
        Days in the rate year.
    funding : DataFrame, optional
        Perpetual funding payments: columns ``ts, asset, rate``.
    currency : dict of str to str, optional
        Currency of each foreign asset (``{"SAP": "EUR"}``); others are in
        ``base_currency``. See ``ml4t.fx``.
    base_currency : str, default "USD"
        Currency of NAV, metrics and P&L.
    fx : DataFrame, optional
        Exchange rates, base units per unit of each foreign currency: long
        (``ts, currency, rate``) or wide (one column per currency, by time).
    fx_conversion : {"auto", "hold"}
        Convert foreign cash flows to base at once (paying ``fx_spread``), or hold
        them in a cash book per currency.
    fx_spread : float, default 0
        Cost of each conversion, a fraction of the amount.
    zero_volume : {"fill", "skip"}
        Whether orders may fill on a bar whose volume is zero (or NaN): ``"skip"``
        waits for a bar that traded (IOC/FOK orders end unfilled). The default fills,
        because FX and index data often carry no volume at all. Quote data is not
        affected (the quoted sizes decide).
    cash_in_lieu : callable, optional
        ``f(asset, ratio) -> amount or None``, called when a split leaves a held
        position with a fraction of a unit (whole units only): the cash paid for
        that fraction (signed like the position; a short pays). None, or no
        function, pays the fraction at the pre-split close / ratio. The
        Zipline shim uses it for Zipline's rule (the fraction at the new cost
        basis rounded to cents).

    Raises
    ------
    ml4t.errors.ConfigError
        For any invalid value, naming the parameter.
    """

    def __init__(self, *, cash: float = 100_000.0, fill: str = "next_open",
                 commission: CommissionModel | None = None, slippage: SlippageModel | None = None,
                 account: str = "cash", allow_short: bool | None = None,
                 initial_margin: float = 0.5, max_leverage: float | None = None,
                 on_insufficient: str = "reject", fill_order: str = "exit_first",
                 fractional: bool = False, calendar: str | None = "XNYS", start=None, end=None,
                 record: str = "slice", record_positions: bool = True, seed: int = 0,
                 price_adjustment: str = "detect", corporate_actions=None,
                 volume_limit: float | None = None, intrabar_policy: str = "stop_first",
                 trail_source: str = "close", stop_limit_rule: str = "stop_only",
                 contracts: dict | None = None,
                 maintenance_margin=(0.25, 0.30), liquidation_policy=None, borrow_rate=0.0,
                 hard_to_borrow=None, interest_rate=0.0, margin_rate=0.0, day_count: int = 360,
                 funding=None, cash_check: str = "all", currency: dict | None = None,
                 base_currency: str = "USD", fx=None, fx_conversion: str = "auto",
                 fx_spread: float = 0.0, zero_volume: str = "fill", margin_calls: bool = True,
                 cash_in_lieu=None):
        check_choice("fill", fill, FILL_MODES)
        check_choice("account", account, ACCOUNTS)
        check_choice("on_insufficient", on_insufficient, ON_INSUFFICIENT)
        check_choice("fill_order", fill_order, FILL_ORDERS)
        check_choice("record", record, RECORD)
        from ml4t.corporate import PRICE_ADJUSTMENT
        check_choice("price_adjustment", price_adjustment, PRICE_ADJUSTMENT)
        check_choice("intrabar_policy", intrabar_policy, INTRABAR)
        check_choice("cash_check", cash_check, CASH_CHECKS)
        check_choice("trail_source", trail_source, TRAIL_SOURCES)
        check_choice("stop_limit_rule", stop_limit_rule, STOP_LIMIT_RULES)
        if volume_limit is not None and not (isinstance(volume_limit, (int, float))
                                             and 0 < volume_limit <= 1):
            raise ConfigError("volume_limit", volume_limit, "a fraction in (0, 1] or None")
        from ml4t.margin import LiquidationPolicy, RateSchedule
        _check_pair = lambda v: (isinstance(v, (tuple, list)) and len(v) == 2 and all(
            isinstance(x, (int, float)) and 0 <= x <= 1 for x in v))
        if isinstance(maintenance_margin, dict):
            if not all(_check_pair(v) for v in maintenance_margin.values()):
                raise ConfigError("maintenance_margin", maintenance_margin,
                                  "{asset: (long, short)} with fractions in [0, 1]")
        elif not _check_pair(maintenance_margin):
            raise ConfigError("maintenance_margin", maintenance_margin,
                              "a (long, short) pair of fractions in [0, 1]")
        if liquidation_policy is not None and not isinstance(liquidation_policy, LiquidationPolicy):
            raise ConfigError("liquidation_policy", liquidation_policy,
                              "an ml4t.margin.LiquidationPolicy instance")
        for name, value in (("interest_rate", interest_rate), ("margin_rate", margin_rate)):
            RateSchedule(name, value)
        for name, value in (borrow_rate.items() if isinstance(borrow_rate, dict)
                            else [("*", borrow_rate)]):
            RateSchedule(f"borrow_rate[{name!r}]", value)
        if day_count not in (360, 365):
            raise ConfigError("day_count", day_count, "360 or 365")
        if funding is not None and not isinstance(funding, pd.DataFrame):
            raise ConfigError("funding", type(funding).__name__,
                              "a DataFrame with columns ts, asset, rate")
        from ml4t.futures import ContinuousFuture
        from ml4t.orders import ContractSpec
        if contracts is not None:
            if not isinstance(contracts, dict) or not all(
                    isinstance(v, (ContractSpec, ContinuousFuture)) for v in contracts.values()):
                raise ConfigError("contracts", contracts,
                                  "a dict of asset name -> ml4t.ContractSpec / ml4t.Future "
                                  "(or root name -> ml4t.ContinuousFuture)")
        if corporate_actions is not None and not isinstance(corporate_actions, pd.DataFrame):
            raise ConfigError("corporate_actions", type(corporate_actions).__name__,
                              "a pandas DataFrame (asset, ex_date, ratio | amount, pay_date)")
        from ml4t.fx import FX_CONVERSIONS
        check_choice("fx_conversion", fx_conversion, FX_CONVERSIONS)
        check_choice("zero_volume", zero_volume, ZERO_VOLUME)
        if cash_in_lieu is not None and not callable(cash_in_lieu):
            raise ConfigError("cash_in_lieu", cash_in_lieu,
                              "a function (asset, ratio) -> amount, or None")
        if not isinstance(base_currency, str) or not base_currency:
            raise ConfigError("base_currency", base_currency, "a currency code such as 'USD'")
        if currency is not None and not (isinstance(currency, dict) and all(
                isinstance(v, str) and v for v in currency.values())):
            raise ConfigError("currency", currency, "a dict of asset name -> currency code")
        if not (isinstance(fx_spread, (int, float)) and 0 <= fx_spread < 1):
            raise ConfigError("fx_spread", fx_spread, "a fraction in [0, 1) (0.0005 = 5 bp)")
        balances = {}
        if isinstance(cash, dict):
            balances = dict(cash)
            bad = [k for k, v in balances.items() if isinstance(v, bool) or not (
                isinstance(v, (int, float)) and math.isfinite(v) and v >= 0)]
            if bad:
                raise ConfigError(f"cash[{bad[0]!r}]", balances[bad[0]], "a finite amount >= 0")
            if base_currency not in balances:
                raise ConfigError("cash", cash, f"a balance in the base currency "
                                  f"{base_currency!r} (and optionally others)")
            cash = balances.pop(base_currency)
            balances = {k: float(v) for k, v in balances.items() if v}
        try:
            cash = float(cash)
        except (TypeError, ValueError):
            raise ConfigError("cash", cash, "a finite number > 0") from None
        if not math.isfinite(cash) or cash <= 0:
            raise ConfigError("cash", cash, "a finite number > 0")
        foreign = set(balances) | set((currency or {}).values())
        foreign.discard(base_currency)
        if foreign and fx is None:
            raise ConfigError("fx", None, "exchange rates (a DataFrame) for "
                              f"{', '.join(sorted(foreign))} against {base_currency}")
        if commission is None:
            commission = NoCommission()
        if not isinstance(commission, CommissionModel):
            raise ConfigError("commission", commission, "a CommissionModel instance "
                              "(e.g. ml4t.models.PercentCommission(0.001))")
        if slippage is None:
            slippage = NoSlippage()
        if not isinstance(slippage, SlippageModel):
            raise ConfigError("slippage", slippage, "a SlippageModel instance "
                              "(e.g. ml4t.models.FixedBpsSlippage(5))")
        if allow_short is None:
            allow_short = account in ("margin", "unchecked")
        initial_per_asset = {}
        if isinstance(initial_margin, dict):
            initial_per_asset = dict(initial_margin)
            bad = [k for k, v in initial_per_asset.items() if isinstance(v, bool) or not (
                isinstance(v, (int, float)) and 0 < v <= 1)]
            if bad:
                raise ConfigError(f"initial_margin[{bad[0]!r}]", initial_per_asset[bad[0]],
                                  "a fraction in (0, 1]")
            initial_margin = 0.5
        if not (isinstance(initial_margin, (int, float)) and 0 < initial_margin <= 1):
            raise ConfigError("initial_margin", initial_margin, "a fraction in (0, 1], or "
                              "{asset: fraction} (others 0.5)")
        if max_leverage is None:
            max_leverage = math.inf
        elif not (isinstance(max_leverage, (int, float)) and max_leverage > 0):
            raise ConfigError("max_leverage", max_leverage, "a number > 0 or None")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ConfigError("seed", seed, "an integer")
        self.config: dict[str, Any] = dict(
            cash=cash, fill=fill, commission=commission, slippage=slippage, account=account,
            allow_short=bool(allow_short), initial_margin=float(initial_margin),
            initial_margin_per_asset=initial_per_asset,
            max_leverage=float(max_leverage), on_insufficient=on_insufficient,
            fill_order=fill_order, fractional=bool(fractional), calendar=calendar,
            start=start, end=end, record=record, record_positions=bool(record_positions),
            seed=int(seed), price_adjustment=price_adjustment,
            corporate_actions=corporate_actions, volume_limit=volume_limit,
            intrabar_policy=intrabar_policy, trail_source=trail_source,
            stop_limit_rule=stop_limit_rule, contracts=contracts,
            currency=currency, base_currency=base_currency, fx=fx, fx_conversion=fx_conversion,
            fx_spread=float(fx_spread), cash_balances=balances, zero_volume=zero_volume,
            margin_calls=bool(margin_calls), cash_in_lieu=cash_in_lieu,
            maintenance_margin=maintenance_margin, liquidation_policy=liquidation_policy,
            borrow_rate=borrow_rate, hard_to_borrow=list(hard_to_borrow or []),
            interest_rate=interest_rate, margin_rate=margin_rate, day_count=day_count,
            funding=funding, cash_check=cash_check)
        self.rng = np.random.default_rng(int(seed))

    def run(self, strategy, data, *, params: dict | None = None, out=None):
        """Run ``strategy`` (a ``Strategy`` subclass or instance) on ``data``.

        Parameters
        ----------
        strategy : type[Strategy] or Strategy
        data : DataFrame, dict of DataFrames, path, or ``ml4t.data.BarData``
            See :func:`ml4t.data.load_bars`.
        params : dict, optional
            Strategy parameters (only with a class).
        out : path, optional
            Directory to write the results and ``run_manifest.json`` into.

        Returns
        -------
        BacktestResult

        Raises
        ------
        ml4t.errors.DataError
            Invalid data, naming file, row, column and rule.
        ml4t.errors.ConfigError
            A bad strategy or parameter.
        """
        with fewer_young_collections():
            return self._run(strategy, data, params, out)

    def _run(self, strategy, data, params, out):
        from ml4t.data import BarData, load_bars
        from ml4t.result import BacktestResult
        from ml4t.manifest import RunClock

        clock = RunClock()
        c = self.config
        if isinstance(data, BarData):
            bar_data = data
        else:
            bar_data = load_bars(data, calendar=c["calendar"], start=c["start"], end=c["end"])
        from ml4t import corporate

        bar_data = corporate.check_price_adjustment(bar_data, c["price_adjustment"])
        strat = _make_strategy(strategy, params)
        run = _Run(self, bar_data)
        actions = corporate.actions_from_bars(bar_data)
        if c["corporate_actions"] is not None:
            actions = corporate.merge_actions(
                actions, corporate.actions_from_table(c["corporate_actions"], bar_data))
        run.sim.set_corporate_actions(*actions)
        batches = iter(bar_data.batches())
        first = next(batches, None)
        if first is not None and len(first.ts):
            run.start_ts = int(first.ts[0])
        run.setup_fx()
        run.setup_futures(int(first.session[0]) if first is not None and len(first.ts) else 0)
        strat.broker = Broker(run)
        strat.data = DataView(run.sim, run.assets)
        strat.rng = self.rng
        hooks = overridden(strat)
        driver = _Driver(run, strat, hooks)
        run.setup_margin(strat.on_event if "on_event" in hooks else None)
        if "on_start" in hooks:
            strat.on_start()
        def all_batches():
            if first is not None:
                yield first
            yield from batches

        run.sim.run(all_batches(), driver.bar_hook, driver.bars,
                    driver.deliver if driver.notify else None)
        # orders still open when the data ends are canceled, and the strategy hears of it
        run.book.cancel_all(run.sim.ts, int(Reason.END_OF_DATA))
        driver.deliver()
        if "on_stop" in hooks:
            strat.on_stop()
            run.book.cancel_all(run.sim.ts, int(Reason.END_OF_DATA))
        result = BacktestResult._from_run(run, strat, clock.finish())
        if out is not None:
            result.save(out)
        return result


#: young-generation threshold of Python's garbage collector during a run (see below)
GC_YOUNG_THRESHOLD = 50_000


@contextlib.contextmanager
def fewer_young_collections(threshold: int = GC_YOUNG_THRESHOLD):
    """Collect Python's young generation every ``threshold`` allocations instead of every
    700 while a run lasts; the collector's thresholds are restored after it.

    A run allocates many objects that live to its end (orders, fills, notifications,
    history rows), and most young collections would traverse them only to promote them:
    on the Backtrader shim's 100-asset rotation that was ~12% of ``cerebro.run()``.
    Cyclic garbage still gets collected, just in larger batches. Nothing changes when
    collection is disabled (``gc.disable()``) or the threshold is already higher."""
    old = gc.get_threshold()
    if not gc.isenabled() or old[0] == 0 or old[0] >= threshold:
        yield
        return
    gc.set_threshold(threshold, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _make_strategy(strategy, params) -> Strategy:
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy(**(params or {}))
    if isinstance(strategy, Strategy):
        if params:
            raise ConfigError("params", params, "None when passing a strategy instance "
                              "(set parameters when constructing it)")
        return strategy
    raise ConfigError("strategy", strategy, "a Strategy subclass or instance")


def run_backtest(strategy, data, *, params: dict | None = None, out=None, **config):
    """Run a backtest in one call: ``Engine(**config).run(strategy, data)``.

    Parameters
    ----------
    strategy : type[Strategy] or Strategy
    data : DataFrame, dict of DataFrames, CSV/Parquet path, csvdir folder, or BarData
    params : dict, optional
        Strategy parameters.
    out : path, optional
        Directory for the result files and ``run_manifest.json``.
    **config
        Keyword arguments of :class:`Engine` (unknown keywords raise ``TypeError``).

    Returns
    -------
    BacktestResult
    """
    return Engine(**config).run(strategy, data, params=params, out=out)
