"""Futures: contract specifications, daily settlement, expiry and continuous-future rolls.

Rules (pinned by ``tests/test_futures.py`` and ``golden/futures_roll``):

* A :class:`Future` is a contract specification with a multiplier and an expiry.
  Exposure and P&L are ``qty * price * multiplier``. Opening or closing moves no
  cash for the notional, only commission; futures need a margin account.
* Daily settlement (variation margin): at every session end an open position
  moves its P&L since the last settlement into cash and is settled at the close.
  A fill first settles the position it changes at the fill price. NAV is cash plus
  the unsettled P&L, so it moves exactly as a cash instrument's would; the
  ``variation_margin`` table lists every settlement.
* Margin: with ``initial_margin``/``maintenance_margin`` per contract the account
  needs ``|qty| * initial`` to open and ``|qty| * maintenance`` to stay clear of a
  margin call; without them the account's fractions of notional apply.
* Expiry: at the end of the expiry session an open position is closed at that
  session's close like a market order (slippage and commission apply), reason
  ``contract_expired``; open orders are canceled and later orders rejected with the
  same reason.
* :class:`ContinuousFuture` gives a root name (``"ES"``) that the strategy trades
  and reads like an asset; it always means the active contract. At the end of the
  roll session the engine closes the expiring contract and opens the same quantity
  in the next one at their closes, as two real orders with reason ``roll``; their
  slippage and commission are the roll's cost (``result.rolls``). History read
  through the root is the active contract's own, never back-adjusted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml4t.errors import ConfigError
from ml4t.orders import ContractSpec

ROLL_RULES = ("days", "volume", "open_interest")


def _day(value, name: str) -> int:
    """A date (str, date, Timestamp) as days since the epoch."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigError(name, value, "a date such as '2024-03-15'") from None
    if ts is pd.NaT:
        raise ConfigError(name, value, "a date such as '2024-03-15'")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


@dataclass(frozen=True)
class Future(ContractSpec):
    """A futures contract (``Engine(contracts={"ESH24": Future(...)}, account="margin")``).

    Parameters
    ----------
    root : str
        The product (``"ES"``); contracts with the same root form a
        :class:`ContinuousFuture` chain.
    expiry : date-like
        Last trading session.
    multiplier : float
        Currency per price point per contract (50 for the E-mini S&P 500).
    initial_margin, maintenance_margin : float, optional
        Margin per contract in the account currency; give both or neither (then the
        account's ``initial_margin`` and ``maintenance_margin`` fractions of notional
        apply).
    tick_size, lot_size, min_qty, fractional
        As in :class:`ml4t.ContractSpec`.
    """

    root: str | None = None
    expiry: object = None
    multiplier: float | None = None
    initial_margin: float | None = None
    maintenance_margin: float | None = None

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.root, str) or not self.root:
            raise ConfigError("root", self.root, "the product's root symbol, e.g. 'ES'")
        if self.expiry is None:
            raise ConfigError("expiry", None, f"the last trading date of this {self.root} "
                              "contract, e.g. '2024-03-15'")
        _day(self.expiry, "expiry")
        m = self.multiplier
        if m is None:
            raise ConfigError("multiplier", None, f"the {self.root} contract's multiplier "
                              "(currency per price point), e.g. 50")
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or m <= 0:
            raise ConfigError("multiplier", m, "a finite number > 0")
        im, mm = self.initial_margin, self.maintenance_margin
        if (im is None) != (mm is None):
            raise ConfigError("maintenance_margin" if mm is None else "initial_margin", None,
                              "both initial_margin and maintenance_margin per contract, "
                              "or neither")
        if im is not None:
            for name, v in (("initial_margin", im), ("maintenance_margin", mm)):
                if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                    raise ConfigError(name, v, "a finite amount > 0 per contract")
            if mm > im:
                raise ConfigError("maintenance_margin", mm,
                                  f"at most the initial margin ({im}) per contract")

    @property
    def expiry_day(self) -> int:
        return _day(self.expiry, "expiry")


@dataclass(frozen=True)
class ContinuousFuture:
    """A root symbol that always trades the active contract of its chain.

    ``Engine(contracts={"ESH24": Future(...), "ESM24": Future(...),
    "ES": ContinuousFuture(roll="days", days=5)})``: the strategy orders and reads
    ``"ES"``.

    Parameters
    ----------
    root : str, optional
        The chain's root (default: the key it is given under in ``contracts``).
    roll : {"days", "volume", "open_interest"}
        ``"days"``: roll at the end of the session ``days`` sessions before the
        active contract's expiry. ``"volume"`` / ``"open_interest"``: roll at the end
        of the first session in which the next contract's volume / open interest
        (the bars' ``open_interest`` column) exceeds the active one's, and at the
        latest ``days`` sessions before expiry.
    days : int
        Sessions before expiry (>= 0; 0 rolls at the end of the expiry session,
        before the expiry closes the position).
    """

    root: str | None = None
    roll: str = "days"
    days: int = 5

    def __post_init__(self):
        if self.roll not in ROLL_RULES:
            raise ConfigError("roll", self.roll, " or ".join(map(repr, ROLL_RULES)))
        if isinstance(self.days, bool) or not isinstance(self.days, (int, np.integer)) \
                or self.days < 0:
            raise ConfigError("days", self.days, "a whole number of sessions >= 0")


def _sessions_before(calendar: str | None, day: int, n: int) -> int:
    """The session ``n`` sessions before ``day`` (days since the epoch)."""
    if n == 0:
        return day
    d = np.datetime64(int(day), "D")
    if calendar is not None:
        try:
            from ml4t.data import _get_calendar

            cal = _get_calendar(calendar)
            s = cal.date_to_session(pd.Timestamp(d), direction="previous")
            out = cal.session_offset(s, -n)
            return int(np.datetime64(out.date(), "D").astype(np.int64))
        except Exception:   # outside the calendar's range: business days
            pass
    return int(np.busday_offset(d, -n, roll="backward").astype(np.int64))


class _Chain:
    def __init__(self, alias: str, spec: ContinuousFuture, contracts: list[int],
                 roll_day: list[int]):
        self.alias = alias
        self.spec = spec
        self.contracts = contracts
        self.roll_day = roll_day
        self.i = 0


class FuturesDesk:
    """Installed into the simulator: expiries, rolls; the ledger settles daily."""

    def __init__(self, run, specs: dict, first_session: int):
        self.run = run
        led, book, names = run.ledger, run.book, run.assets
        if led.margin is False and not led.unchecked:
            first = next(n for n, s in specs.items() if isinstance(s, Future))
            raise ConfigError("account", run.config["account"],
                              f"'margin': futures ({first!r}) trade on margin, a cash "
                              "account cannot hold them")
        self.expiry: dict[int, int] = {}
        roots: dict[str, list[tuple[int, int]]] = {}
        for name, spec in specs.items():
            if isinstance(spec, Future):
                a = names.id(name)
                im = math.nan if spec.initial_margin is None else float(spec.initial_margin)
                mm = math.nan if spec.maintenance_margin is None else \
                    float(spec.maintenance_margin)
                led.set_future(a, float(spec.multiplier), im, mm)
                self.expiry[a] = spec.expiry_day
                roots.setdefault(spec.root, []).append((spec.expiry_day, a))
        self.chains: list[_Chain] = []
        cal = run.bar_data.calendar
        for alias, spec in specs.items():
            if not isinstance(spec, ContinuousFuture):
                continue
            root = spec.root or alias
            if alias in names.ids:
                raise ConfigError("contracts", alias, "a continuous-future name that is not "
                                  "also an asset in the data")
            if root not in roots:
                raise ConfigError(f"contracts[{alias!r}]", root,
                                  "the root of at least one Future in contracts (roots: "
                                  f"{', '.join(sorted(roots)) or 'none'})")
            chain = sorted(roots[root])
            days = [_sessions_before(cal, exp, spec.days) for exp, _ in chain]
            ch = _Chain(alias, spec, [a for _, a in chain], days)
            # start on the first contract not already past its roll (or its expiry)
            while ch.i < len(chain) - 1 and (
                    (spec.roll == "days" and days[ch.i] < first_session)
                    or chain[ch.i][0] < first_session):
                ch.i += 1
            names.ids[alias] = ch.contracts[ch.i]
            self.chains.append(ch)
        self.rolls: list[tuple] = []
        self.prev_close_ts = -(1 << 62)
        self.open_interest = self._open_interest(run, specs)

    def _open_interest(self, run, specs) -> dict | None:
        """{(asset, session): open interest} of the chains that roll on it."""
        chains = [ch for ch in self.chains if ch.spec.roll == "open_interest"]
        if not chains:
            return None
        bd = run.bar_data
        bars = getattr(bd, "_bars", None)
        oi = bd.extra.get("open_interest")
        if bars is None or oi is None:
            ch = chains[0]
            raise ConfigError(f"contracts[{ch.alias!r}]", "roll='open_interest'",
                              "bars with an 'open_interest' column, loaded in memory "
                              "(a streamed Parquet file carries no extra columns)")
        wanted = np.zeros(len(bd.assets), dtype=bool)
        for ch in chains:
            wanted[ch.contracts] = True
        asset = np.asarray(bars.asset)
        rows = np.flatnonzero(wanted[asset] & np.isfinite(oi))
        session = np.asarray(bars.session)
        return {(int(asset[i]), int(session[i])): float(oi[i]) for i in rows}

    def on_close(self, session: int, ts: int, k: int) -> None:
        from ml4t._core.enums import Reason
        run = self.run
        led, book, sim = run.ledger, run.book, run.sim
        close = sim.last_close_np
        qty = led.qty_np
        n_fills = led.f_ts.n
        for ch in self.chains:
            self._roll(ch, session, ts, k, close, qty)
        for a, exp in self.expiry.items():
            if session >= exp and a not in book.expired:
                q = float(qty[a])
                if q != 0:
                    px = float(close[a]) if math.isfinite(close[a]) else float(led.mark_np[a])
                    book.forced_fill(k, ts, a, -q, px, int(Reason.CONTRACT_EXPIRED), False)
                book.cancel_asset(a, ts, int(Reason.CONTRACT_EXPIRED))
                book.expired.add(a)
        if led.f_ts.n != n_fills:
            led.mark_prices(close)        # exposures and requirements after the fills
        self.prev_close_ts = ts

    def _roll(self, ch: _Chain, session, ts, k, close, qty) -> None:
        from ml4t._core.enums import Reason
        run = self.run
        led, book, sim = run.ledger, run.book, run.sim
        while ch.i < len(ch.contracts) - 1:
            c, nxt = ch.contracts[ch.i], ch.contracts[ch.i + 1]
            due = session >= ch.roll_day[ch.i] or session >= self.expiry[c]
            if not due and ch.spec.roll == "volume":
                traded = sim.last_ts_np
                due = (traded[nxt] > self.prev_close_ts and traded[c] > self.prev_close_ts
                       and sim.last_volume_np[nxt] > sim.last_volume_np[c])
            elif not due and ch.spec.roll == "open_interest":
                a_oi = self.open_interest.get((c, session))
                n_oi = self.open_interest.get((nxt, session))
                due = a_oi is not None and n_oi is not None and n_oi > a_oi
            if not due:
                return
            if not math.isfinite(close[nxt]) or sim.last_ts_np[nxt] <= self.prev_close_ts:
                return          # the next contract has no price this session: try again later
            q = float(qty[c])
            if q != 0:
                px_old = float(close[c]) if math.isfinite(close[c]) else float(led.mark_np[c])
                px_new = float(close[nxt])
                o1 = book.forced_fill(k, ts, c, -q, px_old, int(Reason.ROLL), False)
                o2 = book.forced_fill(k, ts, nxt, q, px_new, int(Reason.ROLL), True)
                self.rolls.append((ts, ch.alias, c, nxt, q, px_old, px_new, o1, o2))
            ch.i += 1
            run.assets.ids[ch.alias] = nxt
