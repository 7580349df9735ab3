"""Shared builders for the engine tests: tiny hand-made bar frames and a scripted strategy.

Conventions used throughout the tests
-------------------------------------
* Daily bars are stamped at 21:00 UTC (16:00 New York, the XNYS close) on consecutive
  business days starting Tuesday 2024-01-02, so bar ``i`` is its own session.
* ``bar(o, h, l, c)`` rows are written by hand; ``None`` in an asset's list means the asset
  has no bar at that timestamp (a halt).
* ``scripted({bar_index: [(asset, qty, kwargs), ...]})`` builds a Strategy that places
  exactly those orders in ``on_bar`` of the given slice. An entry may also be a callable
  ``f(strategy, bars)`` for anything else (cancels, sizing helpers, assertions).
"""
from __future__ import annotations

from typing import Callable, Iterable

import pandas as pd
import pytest

import ml4t
from ml4t import Strategy

START = pd.Timestamp("2024-01-02 21:00", tz="UTC")


def day_ts(n: int, start: pd.Timestamp = START) -> pd.DatetimeIndex:
    """``n`` business-day timestamps at 21:00 UTC (one XNYS session each)."""
    return pd.bdate_range(start, periods=n, freq="B", tz="UTC", normalize=False)


def intraday_ts(days: int, per_day: int, start: str = "2024-01-02") -> list[pd.Timestamp]:
    """``per_day`` hourly timestamps (15:00, 16:00, ... UTC) on each of ``days`` business days.

    All bars of one day fall in the same New York session (10:00..16:00 local).
    """
    out = []
    for d in pd.bdate_range(start, periods=days, freq="B"):
        for h in range(per_day):
            out.append(pd.Timestamp(d.date()).tz_localize("UTC") + pd.Timedelta(hours=15 + h))
    return out


def frame(bars: dict[str, list], ts: Iterable[pd.Timestamp] | None = None) -> pd.DataFrame:
    """Long bar frame from ``{asset: [(o, h, l, c[, volume]) or None, ...]}``.

    All assets' lists must have the same length (one entry per timestamp).
    """
    n = len(next(iter(bars.values())))
    assert all(len(v) == n for v in bars.values()), "one entry per timestamp for every asset"
    ts = list(day_ts(n) if ts is None else ts)
    assert len(ts) == n
    rows = []
    for i, t in enumerate(ts):
        for asset, seq in bars.items():
            b = seq[i]
            if b is None:
                continue
            o, h, l, c = b[:4]
            v = b[4] if len(b) > 4 else 1_000_000.0
            rows.append({"ts": t, "asset": asset, "open": float(o), "high": float(h),
                         "low": float(l), "close": float(c), "volume": float(v)})
    return pd.DataFrame(rows, columns=["ts", "asset", "open", "high", "low", "close", "volume"])


def flat_bars(opens: list[float], closes: list[float] | None = None, pad: float = 0.5) -> list:
    """Bars from opens (and closes, default = opens) with high/low ``pad`` outside both."""
    closes = opens if closes is None else closes
    return [(o, max(o, c) + pad, min(o, c) - pad, c) for o, c in zip(opens, closes)]


Entry = tuple | Callable


def scripted(plan: dict[int, list[Entry]], name: str = "Scripted", **extra_hooks) -> type:
    """A Strategy subclass that places ``plan[bar_index]`` orders in ``on_bar``.

    Each placed ``Order`` snapshot is appended to ``self.placed``; callables' return values
    are appended to ``self.returned``; every slice's timestamp to ``self.seen``.
    ``extra_hooks`` (e.g. ``on_stop=f``) are added to the class as methods.
    """

    def on_start(self):
        self.placed = []
        self.returned = []
        self.seen = []

    def on_bar(self, bars):
        k = len(self.seen)
        self.seen.append(bars.ts)
        for entry in self.plan.get(k, []):
            if callable(entry):
                self.returned.append(entry(self, bars))
            else:
                asset, qty, kwargs = entry
                self.placed.append(self.broker.order(asset, qty, **kwargs))

    ns = {"plan": plan, "on_start": on_start, "on_bar": on_bar}
    ns.update(extra_hooks)
    return type(name, (Strategy,), ns)


def run(plan: dict[int, list[Entry]], df: pd.DataFrame, **config) -> ml4t.BacktestResult:
    """Run a scripted strategy; ``config`` goes to ``run_backtest``."""
    return ml4t.run_backtest(scripted(plan), df, **config)


def order_rows(result, order_id: int) -> pd.DataFrame:
    """The lifecycle rows of one order, in log order."""
    return result.orders[result.orders["order_id"] == order_id].reset_index(drop=True)


def final(result, order_id: int) -> pd.Series:
    """The last lifecycle row of one order."""
    return order_rows(result, order_id).iloc[-1]


@pytest.fixture
def ts5() -> pd.DatetimeIndex:
    return day_ts(5)
