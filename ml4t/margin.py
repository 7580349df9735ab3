"""Margin calls, forced liquidation, borrow fees, cash interest and funding.

Rules (pinned by ``golden/margin_call``):

* Margin accounts carry a maintenance requirement per asset (defaults 25% of
  long and 30% of short market value). At every mark to market the compiled
  core compares equity (NAV) with the requirement; when equity falls below
  it, the strategy receives a ``MarginCallEvent`` and the liquidation policy
  then reduces positions at the current price until equity covers the
  requirement again. Liquidation orders are ordinary orders in
  ``result.orders`` with reason ``margin_call``.
* The default policy, :class:`LargestRequirementFirst`, reduces the position
  with the largest maintenance requirement first, by the smallest whole
  quantity that covers the shortfall, then the next, until the account
  satisfies maintenance. Write your own by subclassing
  :class:`LiquidationPolicy` and overriding ``plan``.
* Borrow fees accrue on short market value, and interest on cash (a credit
  rate on positive cash, a debit rate on a margin loan), at each session end
  on the end-of-session balances for the calendar days until the next
  session: ``base * annual_rate * days / day_count``.
* Perpetual funding: at each funding time the holder pays
  ``qty * price * rate`` (a short receives it when the rate is positive).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml4t.errors import ConfigError


@dataclass(frozen=True)
class MarginCallEvent:
    """Equity fell below the maintenance requirement (given to ``on_event``)."""

    ts: pd.Timestamp
    equity: float
    requirement: float
    kind: str = "margin_call"

    @property
    def shortfall(self) -> float:
        return self.requirement - self.equity


class LiquidationPolicy:
    """Decides which positions a margin call reduces.

    Override :meth:`plan`; it is called repeatedly until the account satisfies
    maintenance or the plan is empty (then the default policy finishes the job).
    """

    def plan(self, positions: list[dict], equity: float, requirement: float) -> list[tuple]:
        """Return ``[(asset, qty), ...]`` to trade now (qty reduces a position).

        ``positions``: dicts with ``asset, qty, price, requirement, maintenance``
        (the fraction), ``per_unit`` (the requirement one unit carries: futures with
        per-contract margins carry a fixed amount) and ``cost`` (a function of a signed quantity giving the equity that
        liquidating it loses to commission and slippage), sorted by requirement,
        largest first.
        """
        raise NotImplementedError


class LargestRequirementFirst(LiquidationPolicy):
    """Reduce the position with the largest maintenance requirement first, by the
    smallest whole quantity that covers the shortfall (the whole position if it
    cannot)."""

    def __init__(self, fractional: bool = False):
        self.fractional = fractional

    def plan(self, positions, equity, requirement):
        shortfall = requirement - equity
        if shortfall <= 0 or not positions:
            return []
        p = positions[0]
        per_unit = p.get("per_unit", p["maintenance"] * p["price"])
        size = abs(p["qty"])
        sign = -math.copysign(1.0, p["qty"])
        cost = p.get("cost") or (lambda q: 0.0)
        if per_unit <= 0:
            return [(p["asset"], sign * size)]
        need = shortfall / per_unit
        qty = need if self.fractional else math.ceil(need - 1e-9)
        qty = min(max(qty, 1e-9 if self.fractional else 1), size)
        # selling also costs commission and slippage: take enough to cover them too
        step = max(1.0, qty * 1e-6) if not self.fractional else qty * 1e-6
        for _ in range(10_000):
            if qty >= size or per_unit * qty >= shortfall + cost(sign * qty) - 1e-9:
                break
            qty = min(size, qty + step)
        return [(p["asset"], sign * qty)]


def _rate(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, value, "a finite annual rate >= 0 (0.05 = 5%)") from None
    if not math.isfinite(v) or v < 0:
        raise ConfigError(name, value, "a finite annual rate >= 0 (0.05 = 5%)")
    return v


class RateSchedule:
    """A constant annual rate or a time series of rates (the latest value at or
    before each session applies)."""

    def __init__(self, name: str, value):
        self.name = name
        if isinstance(value, pd.Series):
            if value.empty:
                raise ConfigError(name, "empty Series", "a non-empty Series of annual rates")
            idx = pd.DatetimeIndex(value.index)
            if idx.tz is None:
                idx = idx.tz_localize("UTC")
            vals = np.asarray(value.to_numpy(), dtype=float)
            bad = ~np.isfinite(vals) | (vals < 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ConfigError(name, f"{vals[i]!r} at {idx[i]}", "finite annual rates >= 0")
            order = np.argsort(idx.asi8, kind="stable")
            self.ts = idx.as_unit("ns").asi8[order]
            self.values = vals[order]
            self.constant = None
        else:
            self.constant = _rate(name, value)

    def at(self, ts_ns: int) -> float:
        if self.constant is not None:
            return self.constant
        i = int(np.searchsorted(self.ts, ts_ns, side="right")) - 1
        if i < 0:
            raise ConfigError(self.name, f"no rate at or before "
                              f"{pd.Timestamp(ts_ns, unit='ns', tz='UTC')}",
                              f"a series that starts on or before the first session it is needed "
                              f"(it starts {pd.Timestamp(self.ts[0], unit='ns', tz='UTC')})")
        return float(self.values[i])


class MarginDesk:
    """Installed into the simulator: handles margin calls and rate schedules."""

    def __init__(self, run, policy: LiquidationPolicy | None, notify, borrow: dict,
                 credit: RateSchedule | None, debit: RateSchedule | None):
        self.run = run
        self.policy = policy
        self.default = LargestRequirementFirst(run.fractional)
        self.notify = notify
        self.borrow = borrow            # asset id -> RateSchedule (time series only)
        self.credit = credit
        self.debit = debit
        self.calls: list[tuple] = []

    def _positions(self):
        led = self.run.ledger
        names = self.run.assets.names
        out = []
        book = self.run.book

        def cost_fn(p, mult):
            def cost(q):
                px = book.slippage_model.fill_price(p, q, math.nan)
                return (px - p) * q * mult + book.commission_model.commission(q, px, 0.0, 0.0)
            return cost

        for a, q, p, req, per_unit in led.margin_shortfall_order():
            m = led.maint_long_np[a] if q > 0 else led.maint_short_np[a]
            out.append(dict(asset=names[a], qty=q, price=p, requirement=req, maintenance=m,
                            per_unit=per_unit, cost=cost_fn(p, float(led.mult_np[a]))))
        return out

    def on_margin_call(self, k: int, ts: int) -> None:
        led, book, sim = self.run.ledger, self.run.book, self.run.sim
        equity, req = led.equity, led.maint_req
        self.calls.append((ts, equity, req))
        if self.notify is not None:
            self.notify(MarginCallEvent(pd.Timestamp(ts, unit="ns", tz="UTC"), equity, req))
        last_close = sim.last_close_np
        custom_rounds = 10_000 if self.policy is not None else 0
        for rounds in range(custom_rounds + 10 * max(1, led.n_held) + 10):
            equity, req = led.equity, led.maint_req
            if equity >= req - 1e-9 or led.n_held == 0:
                break
            positions = self._positions()
            # the user's policy plans first; if it runs dry (or stalls), the default finishes
            plan = (self.policy.plan(positions, equity, req)
                    if self.policy is not None and rounds < custom_rounds else [])
            if not plan:
                custom_rounds = min(custom_rounds, rounds)
                plan = self.default.plan(positions, equity, req)
            if not plan:
                break
            for asset, qty in plan:
                a = self.run.assets.id(asset)
                price = float(led.position_mark(a))
                book.liquidate(k, ts, a, float(qty), price)
            led.mark_prices(last_close)

    def on_session(self, session: int, ts: int) -> None:
        led = self.run.ledger
        for a, sched in self.borrow.items():
            led.set_borrow_rate(a, sched.at(ts))
        if self.credit is not None:
            led.credit_rate = self.credit.at(ts)
        if self.debit is not None:
            led.debit_rate = self.debit.at(ts)
