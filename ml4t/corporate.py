"""Corporate actions: splits and cash dividends on the timeline, split-adjusted input
detection, and point-in-time adjustment of history windows.

Rules (pinned by ``golden/splits_dividends``):

* Fills always use unadjusted (traded) prices.
* A split (``ratio`` new units per old unit; 7.0 for AAPL's 7:1 of 2014-06-09,
  0.1 for a 1:10 reverse split) takes effect at the start of its ex-date
  session: quantity x ratio, lot prices / ratio, open orders' quantities x
  ratio and limit/stop prices / ratio; with whole units the fraction is paid
  as cash in lieu at the pre-split close / ratio.
* A cash dividend is earned on the position held at the start of the ex-date
  (shorts pay it) and paid on the pay date, or on the ex-date when no pay date
  is known (csvdir files have none). Until paid it is a receivable in NAV.
* ``data.history`` is adjusted as of the current simulation time: bars before a
  split already applied are divided by its ratio (volumes multiplied), bars
  before an ex-date already reached are multiplied by ``1 - dividend / close``
  of the bar before the ex-date. Actions not yet reached never leak in.
* Prices that are already split-adjusted while a ``split`` column still records
  the splits (a split with no matching price gap) are detected and refused
  unless the input is declared with ``price_adjustment``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ml4t._core.enums import ActionKind
from ml4t.errors import ConfigError, DataError

PRICE_ADJUSTMENT = ("detect", "raw", "split_adjusted")


def _session_start_ns(session_days: np.ndarray, calendar: str | None) -> np.ndarray:
    """Start (local midnight, as ns UTC) of each session given as days since epoch."""
    from ml4t.metrics import _calendar_tz

    days = pd.to_datetime(np.asarray(session_days, dtype=np.int64), unit="D")
    tz = _calendar_tz(calendar)
    idx = pd.DatetimeIndex(days)
    if tz:
        idx = idx.tz_localize(tz).tz_convert("UTC")
    else:
        idx = idx.tz_localize("UTC")
    return idx.as_unit("ns").asi8.astype(np.int64)


def _single_batch(bar_data):
    """All rows of in-memory data as one batch (the ``extra`` columns align with it)."""
    batches = list(bar_data.batches()) if bar_data.extra else []
    if not batches:
        return None
    if len(batches) == 1:
        return batches[0]
    from ml4t.data import BarBatch
    return BarBatch(**{f: np.concatenate([getattr(b, f) for b in batches])
                       for f in ("ts", "asset", "open", "high", "low", "close", "volume",
                                 "session")})


def split_events(bar_data):
    """(row indices, ratios) of the split rows of in-memory data (ratio != 1)."""
    split = bar_data.extra.get("split")
    if split is None:
        return np.zeros(0, np.int64), np.zeros(0)
    split = np.asarray(split, dtype=np.float64)
    rows = np.flatnonzero(np.isfinite(split) & (split > 0) & (split != 1.0))
    return rows, split[rows]


def check_price_adjustment(bar_data, mode: str = "detect"):
    """Verify (or apply) the declared price adjustment of data with a ``split`` column.

    Parameters
    ----------
    bar_data : ml4t.data.BarData
    mode : {"detect", "raw", "split_adjusted"}
        ``detect``: refuse split-adjusted prices (a split with no price gap);
        ``raw``: trust that prices are unadjusted; ``split_adjusted``: rebuild the
        traded prices by undoing the splits (prices and dividends before a split x
        ratio, volumes / ratio). Splits cut off by the loader's ``end``
        (``bar_data.splits_after_end``) are checked and undone too: they scale
        every kept row of their asset.

    Returns
    -------
    BarData
        ``bar_data`` itself, or a rebuilt copy for ``split_adjusted``.

    Raises
    ------
    ml4t.errors.DataError
        A split whose prices show no gap while ``mode="detect"``, naming asset,
        date, and the prices on both sides.
    """
    if mode not in PRICE_ADJUSTMENT:
        from ml4t.errors import check_choice
        check_choice("price_adjustment", mode, PRICE_ADJUSTMENT)
    rows, ratios = split_events(bar_data)
    later = getattr(bar_data, "splits_after_end", None)
    n_later = 0 if later is None else len(later["ratio"])
    if (len(rows) == 0 and n_later == 0) or mode == "raw":
        return bar_data
    batch = _single_batch(bar_data)
    if batch is None:
        return bar_data
    asset, close, open_ = batch.asset, batch.close, batch.open
    # (asset id, ts, ratio, close before, open on the ex-date) of every split: those inside
    # the data, then those cut off by ``end`` (they still scale every kept price)
    events = []
    for r, ratio in zip(rows, ratios):
        prev = np.flatnonzero(asset[:r] == asset[r])
        pc = close[prev[-1]] if len(prev) else math.nan
        events.append((int(asset[r]), int(batch.ts[r]), float(ratio), pc, open_[r], r))
    for i in range(n_later):
        events.append((int(later["asset"][i]), int(later["ts"][i]), float(later["ratio"][i]),
                       float(later["close_before"][i]), float(later["open"][i]), len(asset)))
    if mode == "detect":
        for a, ts, ratio, pc, o, _ in events:
            if not (pc > 0 and o > 0):
                continue
            gap_raw = abs(math.log(o * ratio / pc))       # raw data: open ~ prev close / ratio
            gap_adj = abs(math.log(o / pc))               # adjusted data: open ~ prev close
            if gap_adj < gap_raw:
                when = pd.Timestamp(ts, unit="ns", tz="UTC")
                raise DataError(
                    f"asset {bar_data.assets[a]!r} has a {ratio:g}:1 split on {when:%Y-%m-%d} "
                    f"but its prices show no matching gap (close before {pc:g}, open on the "
                    f"ex-date {o:g}): the prices look split-adjusted already. Declare the input "
                    f"with price_adjustment='split_adjusted' (ml4t rebuilds the traded prices) "
                    f"or price_adjustment='raw' if they are really unadjusted",
                    path=bar_data.source, column="split", rule="split_adjusted_input")
        return bar_data
    # split_adjusted: rebuild traded prices (rows of the asset before its split x ratio)
    factor = np.ones(len(asset))
    index = np.arange(len(asset))
    for a, _, ratio, _, _, r in events:
        factor[(asset == a) & (index < r)] *= ratio
    from ml4t.data import BarBatch, BarData

    new = BarBatch(ts=batch.ts, asset=batch.asset, open=batch.open * factor,
                   high=batch.high * factor, low=batch.low * factor, close=batch.close * factor,
                   volume=batch.volume / factor, session=batch.session)
    extra = dict(bar_data.extra)
    if "dividend" in extra:
        extra["dividend"] = np.asarray(extra["dividend"], dtype=np.float64) * factor
    # the splits after ``end`` are accounted for; those inside stay (the clock applies them)
    return BarData(assets=bar_data.assets, source=bar_data.source, calendar=bar_data.calendar,
                   extra=extra, n_rows=bar_data.n_rows, batch_rows=None, bars=new)


def actions_from_bars(bar_data):
    """Corporate actions from the ``dividend`` and ``split`` columns of in-memory data.

    Returns arrays ``(ts, asset, kind, value, pay_ts)`` sorted by time; dividends
    from such columns have no pay date, so they are paid on the ex-date.
    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32),
             np.zeros(0), np.zeros(0, np.int64))
    batch = _single_batch(bar_data)
    if batch is None:
        return empty
    parts = []
    rows, ratios = split_events(bar_data)
    if len(rows):
        parts.append((rows, np.full(len(rows), int(ActionKind.SPLIT), np.int32), ratios))
    div = bar_data.extra.get("dividend")
    if div is not None:
        div = np.asarray(div, dtype=np.float64)
        drows = np.flatnonzero(np.isfinite(div) & (div != 0.0))
        if len(drows):
            parts.append((drows, np.full(len(drows), int(ActionKind.DIVIDEND), np.int32),
                          div[drows]))
    if not parts:
        return empty
    rows = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([p[1] for p in parts])
    value = np.concatenate([p[2] for p in parts])
    ts = _session_start_ns(batch.session[rows], bar_data.calendar)
    order = np.lexsort((kind, batch.asset[rows], ts))
    ts = ts[order]
    return ts, batch.asset[rows][order].astype(np.int32), kind[order], value[order], ts.copy()


def actions_from_table(table: pd.DataFrame, bar_data):
    """Corporate actions from a table with columns ``asset, ex_date`` and ``ratio``
    (split) or ``amount`` (dividend), optional ``pay_date``.

    Raises
    ------
    ml4t.errors.DataError
        Missing columns, unknown assets, bad values, naming the row.
    """
    src = "<corporate_actions>"
    cols = {c.lower(): c for c in table.columns}
    for need in ("asset", "ex_date"):
        if need not in cols:
            raise DataError(f"corporate action table needs column {need!r} (found "
                            f"{', '.join(map(str, table.columns))})", path=src, column=need,
                            rule="missing_column")
    if "ratio" not in cols and "amount" not in cols:
        raise DataError("corporate action table needs a 'ratio' (split) or 'amount' "
                        "(dividend) column", path=src, rule="missing_column")
    ids = {n: i for i, n in enumerate(bar_data.assets)}
    out = []
    from ml4t.metrics import _calendar_tz
    tz = _calendar_tz(bar_data.calendar)

    def start_of(day, row, col):
        try:
            d = pd.Timestamp(day)
        except (ValueError, TypeError):
            raise DataError(f"not a date: {day!r}", path=src, row=row, column=col,
                            rule="bad_timestamp") from None
        if d.tzinfo is not None:
            d = d.tz_convert(tz or "UTC").tz_localize(None)
        d = d.normalize()
        return (d.tz_localize(tz) if tz else d.tz_localize("UTC")).tz_convert("UTC").value

    for row, rec in enumerate(table.to_dict("records")):
        name = rec[cols["asset"]]
        if name not in ids:
            raise DataError(f"unknown asset {name!r}", path=src, row=row, column="asset",
                            rule="unknown_asset")
        ex = start_of(rec[cols["ex_date"]], row, "ex_date")
        pay_raw = rec.get(cols.get("pay_date", "pay_date"))
        pay = ex if pay_raw is None or (isinstance(pay_raw, float) and math.isnan(pay_raw)) \
            or pay_raw is pd.NaT else start_of(pay_raw, row, "pay_date")
        ratio = rec.get(cols.get("ratio", "ratio"))
        amount = rec.get(cols.get("amount", "amount"))
        has_ratio = ratio is not None and not (isinstance(ratio, float) and math.isnan(ratio))
        has_amount = amount is not None and not (isinstance(amount, float) and math.isnan(amount))
        if has_ratio == has_amount:
            raise DataError("each row needs exactly one of 'ratio' (split) or 'amount' "
                            "(dividend)", path=src, row=row, rule="bad_action")
        if has_ratio:
            if not (math.isfinite(float(ratio)) and float(ratio) > 0):
                raise DataError(f"split ratio must be finite and > 0, was {ratio!r}", path=src,
                                row=row, column="ratio", rule="bad_split")
            out.append((ex, ids[name], int(ActionKind.SPLIT), float(ratio), ex))
        else:
            if not math.isfinite(float(amount)):
                raise DataError(f"dividend amount must be finite, was {amount!r}", path=src,
                                row=row, column="amount", rule="bad_dividend")
            if pay < ex:
                raise DataError("pay_date is before ex_date", path=src, row=row,
                                column="pay_date", rule="pay_before_ex")
            out.append((ex, ids[name], int(ActionKind.DIVIDEND), float(amount), pay))
    out.sort(key=lambda x: (x[0], x[1], x[2]))
    if not out:
        return (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32),
                np.zeros(0), np.zeros(0, np.int64))
    ts, asset, kind, value, pay = zip(*out)
    return (np.array(ts, np.int64), np.array(asset, np.int32), np.array(kind, np.int32),
            np.array(value, np.float64), np.array(pay, np.int64))


def merge_actions(*parts):
    """Concatenate action arrays and sort them by (ts, asset, kind)."""
    cols = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    order = np.lexsort((cols[2], cols[1], cols[0]))
    return tuple(c[order] for c in cols)


def adjustment_factors(actions, start: int, end: int, closes_before) -> tuple[np.ndarray, np.ndarray]:
    """Price and volume factors for history rows ``start .. end-1`` of one asset.

    ``actions`` are the (kind, value, history_row) applied so far, in the order
    they were applied; a split at history row h divides prices of rows < h by its
    ratio; a dividend at h multiplies them by ``1 - amount / close[h-1]``
    (``closes_before(h)`` gives that unadjusted close). A dividend applied after
    a split at the same row (same ex-date: splits come first) is paid per
    post-split unit, so that close is first divided by the split's ratio.
    """
    n = end - start
    price = np.ones(n)
    volume = np.ones(n)
    rows = np.arange(start, end)
    split_at: dict[int, float] = {}     # history row -> ratio of the splits applied there so far
    for kind, value, h in actions:
        if kind == ActionKind.SPLIT:
            split_at[h] = split_at.get(h, 1.0) * value
        if h <= start:
            continue
        mask = rows < h
        if kind == ActionKind.SPLIT:
            price[mask] /= value
            volume[mask] *= value
        elif kind == ActionKind.DIVIDEND and h >= 1:
            pc = closes_before(h) / split_at.get(h, 1.0)
            if pc > 0 and value < pc:
                price[mask] *= 1.0 - value / pc
    return price, volume
