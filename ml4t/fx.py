"""Multi-currency accounting: asset currencies, exchange rates, cash books, FX P&L.

Rules (pinned by ``tests/test_fx.py`` and ``golden/fx_round_trip``):

* Every asset has a currency (``Engine(currency={"SAP": "EUR"})``; unlisted assets
  are in ``base_currency``). Its prices, commissions, dividends and lots are in that
  currency; NAV, metrics and every P&L figure are in the base currency.
* ``fx`` gives, per currency, how many base units one unit is worth (EURUSD 1.08 in
  a USD account), as a long table (``ts, currency, rate``) or a wide one (one column
  per currency). A rate applies from the first bar at or after its time. An order in
  a currency without a rate yet is rejected (``no_fx_rate``); a session in which the
  book holds a currency but the series has no rate for it stops the run with a
  ``DataError`` naming the currency and the session (forward-fill the series
  yourself if stale rates are what you want).
* ``fx_conversion="auto"`` (default): every foreign cash flow (a purchase, a sale,
  commission, futures variation margin, cash in lieu) is converted to base at once
  at the rate, paying ``fx_spread`` (a fraction of the amount) on each conversion.
  ``"hold"``: the flows stay in a cash book per currency (a margin account may run
  a negative foreign balance, a cash account may not), valued at the current rate;
  ``broker.convert(from, to, amount)`` exchanges explicitly, paying the spread.
* FX P&L is reported apart from asset P&L. A foreign position's P&L splits into
  ``qty * (price - cost) * rate_now`` (asset) and ``qty * cost * (rate_now -
  rate_at_entry)`` (FX) per FIFO lot; a held foreign balance earns
  ``balance * rate_now - its base cost``. ``result.portfolio["fx_pnl"]`` is the
  running total (realised + open), ``result.fills["fx_pnl"]`` the part each fill
  realised; spreads paid are in ``result.conversions["cost"]``.
* A foreign dividend is converted at the ex-date rate without spread.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ml4t.errors import ConfigError, DataError

FX_CONVERSIONS = ("auto", "hold")


def _utc_ns(values) -> np.ndarray:
    idx = pd.DatetimeIndex(values)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    return idx.tz_convert("UTC").as_unit("ns").asi8


def parse_fx(table, base: str, needed: list[str]):
    """(ts, currency index, rate) arrays sorted by time from a long or wide table.

    ``needed``: the foreign currencies in index order (1, 2, ...).
    """
    if not isinstance(table, pd.DataFrame):
        raise ConfigError("fx", type(table).__name__,
                          "a DataFrame: columns ts, currency, rate (or one column per "
                          "currency, indexed by time)")
    cols = {str(c).lower(): c for c in table.columns}
    if {"currency", "rate"} <= set(cols):
        if "ts" not in cols and not isinstance(table.index, pd.DatetimeIndex):
            raise DataError("fx table needs a 'ts' column (or a DatetimeIndex)", path="<fx>",
                            column="ts", rule="missing_column")
        ts_vals = table[cols["ts"]] if "ts" in cols else table.index
        ccy = table[cols["currency"]].astype(str).to_numpy()
        rate = pd.to_numeric(table[cols["rate"]], errors="coerce").to_numpy(dtype=float)
        rows = np.arange(len(table))
        col_of = np.full(len(table), cols["rate"], dtype=object)
    else:
        ts_src = table[cols["ts"]] if "ts" in cols else table.index
        if not isinstance(ts_src, pd.DatetimeIndex) and "ts" not in cols:
            raise DataError("a wide fx table needs a DatetimeIndex or a 'ts' column",
                            path="<fx>", column="ts", rule="missing_column")
        value_cols = [c for c in table.columns if str(c).lower() != "ts"]
        n = len(table)
        ts_vals = np.tile(np.asarray(pd.DatetimeIndex(ts_src)), len(value_cols))
        ccy = np.repeat(np.array([str(c) for c in value_cols], dtype=object), n)
        rate = np.concatenate([pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float)
                               for c in value_cols]) if value_cols else np.zeros(0)
        rows = np.tile(np.arange(n), len(value_cols))
        col_of = np.repeat(np.array(value_cols, dtype=object), n)
    try:
        ts = _utc_ns(ts_vals)
    except (TypeError, ValueError) as exc:
        raise DataError(f"fx times are not dates/timestamps ({exc})", path="<fx>",
                        column="ts", rule="bad_timestamp") from None
    index = {c: i + 1 for i, c in enumerate(needed)}
    keep = np.array([c in index for c in ccy], dtype=bool)
    bad = keep & ~(np.isfinite(rate) & (rate > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"exchange rate of {ccy[i]} is not a finite number > 0 ({rate[i]!r})",
                        path="<fx>", row=int(rows[i]), column=str(col_of[i]), rule="bad_rate")
    missing = [c for c in needed if c not in set(ccy[keep])]
    if missing:
        raise ConfigError("fx", f"no rates for {', '.join(missing)}",
                          f"a rate series for every asset currency other than {base!r} "
                          f"(the table has: {', '.join(sorted(set(map(str, ccy)))) or 'nothing'})")
    ts, ccy_i, rate = ts[keep], np.array([index[c] for c in ccy[keep]], dtype=np.int32), \
        rate[keep]
    order = np.lexsort((ccy_i, ts))
    return ts[order], ccy_i[order], rate[order]


class FxDesk:
    """Session-end guard: a currency the book holds needs a rate in every session."""

    def __init__(self, run, names: list[str], ts, ccy, rate):
        self.run = run
        self.names = names                 # currency code per index (0 = base)
        self.per_ccy = {c: ts[ccy == c] for c in range(1, len(names))}
        self.prev_close_ts = None

    def on_close(self, session: int, ts: int, k: int) -> None:
        led = self.run.ledger
        prev = self.prev_close_ts
        self.prev_close_ts = ts
        if prev is None:
            return                      # the first session: any rate at or before it counts
        held = set(int(c) for c, q in zip(led.acur_np, led.qty_np) if q != 0)
        held |= {c for c in range(1, len(self.names)) if led.ccy_cash_np[c] != 0}
        for c in sorted(held):
            if c == 0:
                continue
            t = self.per_ccy[c]
            i = int(np.searchsorted(t, ts, side="right"))
            if i == 0 or t[i - 1] <= prev:
                day = pd.Timestamp(session, unit="D").date()
                last = (pd.Timestamp(t[i - 1], unit="ns", tz="UTC") if i else None)
                raise DataError(
                    f"no {self.names[c]} exchange rate in session {day} while the book holds "
                    f"{self.names[c]} (last rate before it: {last}); forward-fill the series "
                    "if a stale rate is intended", path="<fx>", column=self.names[c],
                    rule="fx_gap")


def funding_gap_guard(run, ts, asset):
    """Session-end guard for funding: while the book holds an asset whose funding series
    covers the session (rows before and after it), the session needs a funding row."""
    per_asset = {int(a): ts[asset == a] for a in np.unique(asset)}
    state = {"prev": None}

    def on_close(session: int, now: int, k: int) -> None:
        prev = state["prev"]
        state["prev"] = now
        if prev is None:
            return
        qty = run.ledger.qty_np
        for a, t in per_asset.items():
            if qty[a] == 0 or not (t[0] <= prev and t[-1] > now):
                continue
            i = int(np.searchsorted(t, now, side="right"))
            if t[i - 1] <= prev:
                day = pd.Timestamp(session, unit="D").date()
                raise DataError(
                    f"funding series of {run.assets.names[a]!r} has no payment in session {day} "
                    "while the book holds it (it has rows before and after)",
                    path="<funding>", column="ts", rule="funding_gap")
    return on_close
