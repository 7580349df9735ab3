"""``data``: the ``BarData`` object handed to ``handle_data`` and ``before_trading_start``.

It reads the bundle's stored bars (``_store.BundleData``) up to the session the
algorithm is in, never later: ``current`` gives that session's unadjusted values,
``history`` a window ending at that session, adjusted for the splits and dividends
reached so far and rounded to 3 decimals, as Zipline returns them. (In
``before_trading_start`` that session is the day about to trade, whose close Zipline
already shows: a known look-ahead the shim reproduces for parity.)
"""
from __future__ import annotations

import math

import difflib

import numpy as np
import pandas as pd

from ml4t.compat.zipline.assets import Asset
from ml4t.compat.zipline.errors import HistoryWindowStartsBeforeData

__all__ = ["BarData"]

FIELDS = ("price", "open", "high", "low", "close", "volume", "last_traded")
HISTORY_FIELDS = ("price", "open", "high", "low", "close", "volume")


def _check_field(field, allowed=FIELDS):
    if field not in allowed:
        hint = difflib.get_close_matches(str(field), allowed, n=1)
        raise KeyError(f"unknown field {field!r}; valid fields are {', '.join(allowed)}"
                       + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def _is_list(x) -> bool:
    return not isinstance(x, (str, Asset)) and hasattr(x, "__iter__")


class BarData:
    """Point-in-time market data for the running algorithm (``data`` in callbacks)."""

    def __init__(self, algo):
        self._algo = algo
        self._store = algo._store

    # ------------------------------------------------------------------ helpers
    def _idx(self) -> int:
        return self._algo._data_idx

    def _asset(self, asset) -> Asset:
        if isinstance(asset, Asset):
            return asset
        if isinstance(asset, str):
            return self._algo.symbol(asset)
        raise TypeError(f"expected an Asset (from symbol() or sid()), got "
                        f"{type(asset).__name__} {asset!r}")

    def _spot(self, asset: Asset, field: str, i: int):
        s = self._store
        a = asset.sid
        if field == "price":
            if i > s.last_bar[a]:         # past the asset's end date (Zipline: NaN)
                return math.nan
            return float(s.ffill_close[i, a])
        if field == "last_traded":
            rows = np.flatnonzero(s.volume[: i + 1, a] != 0)
            return s.sessions[rows[-1]] if len(rows) else pd.NaT
        if field == "volume":
            return int(s.volume[i, a])
        return float(getattr(s, field)[i, a])

    # ------------------------------------------------------------------ current
    def current(self, assets, fields):
        """Values of ``fields`` for ``assets`` in the current session.

        One asset and one field give a scalar; a list on one side a Series; lists
        on both sides a DataFrame indexed by asset with one column per field.

        Raises
        ------
        KeyError
            Unknown field.
        """
        i = self._idx()
        many_assets, many_fields = _is_list(assets), _is_list(fields)
        if not many_fields:
            _check_field(fields)
        else:
            fields = list(fields)
            for f in fields:
                _check_field(f)
        if not many_assets:
            asset = self._asset(assets)
            if not many_fields:
                return self._spot(asset, fields, i)
            return pd.Series({f: self._spot(asset, f, i) for f in fields}, index=fields,
                             name=asset.symbol)
        assets = [self._asset(a) for a in assets]
        if not many_fields:
            return pd.Series({a: self._spot(a, fields, i) for a in assets}, index=assets,
                             name=fields)
        return pd.DataFrame({f: pd.Series({a: self._spot(a, f, i) for a in assets},
                                          index=assets, name=f) for f in fields})

    # ------------------------------------------------------------------ history
    def history(self, assets, fields, bar_count: int, frequency: str):
        """The last ``bar_count`` daily bars up to and including the current session.

        Adjusted for splits and dividends reached by the current session (never
        later ones) and rounded to 3 decimals. One asset and one field give a
        Series indexed by session; several assets a DataFrame with one column per
        asset; several fields a DataFrame indexed by (date, asset) with one column
        per field.

        Raises
        ------
        HistoryWindowStartsBeforeData
            The window would start before the first session of the bundle.
        ValueError
            ``bar_count`` < 1 or a frequency other than ``"1d"``.
        KeyError
            Unknown field.
        """
        if frequency != "1d":
            raise ValueError(f"daily backtests support frequency='1d' only, got {frequency!r}")
        if int(bar_count) < 1:
            raise ValueError(f"bar_count must be >= 1, got {bar_count}")
        bar_count = int(bar_count)
        s = self._store
        end = self._idx()
        start = end - bar_count + 1
        first = s.first_trading_row
        if start < first:
            suggested = s.sessions[min(first + bar_count, len(s.sessions) - 1)]
            raise HistoryWindowStartsBeforeData(
                first_trading_day=s.first_trading_day.date(), bar_count=bar_count,
                suggested_start_day=suggested.date())
        index = s.sessions[start:end + 1]
        single_asset = not _is_list(assets)
        asset_list = [self._asset(assets)] if single_asset else [self._asset(a) for a in assets]
        if isinstance(fields, str):
            _check_field(fields, HISTORY_FIELDS)
            if single_asset:
                return pd.Series(s.window(asset_list[0].sid, fields, end, bar_count),
                                 index=index, name=asset_list[0])
            if len(set(asset_list)) == len(asset_list):
                block = s.window_block([a.sid for a in asset_list], fields, end, bar_count)
                return pd.DataFrame(block, index=index, columns=asset_list)
            cols = {a: s.window(a.sid, fields, end, bar_count) for a in asset_list}
            return pd.DataFrame(cols, index=index, columns=asset_list)
        fields = list(fields)
        for f in fields:
            _check_field(f, HISTORY_FIELDS)
        rows = pd.MultiIndex.from_product([index, asset_list], names=["date", None])
        sids = [a.sid for a in asset_list]
        data = {f: s.window_block(sids, f, end, bar_count).reshape(-1) for f in fields}
        out = pd.DataFrame(data, index=rows, columns=pd.Index(fields, name="fields"))
        return out.sort_index()

    # ------------------------------------------------------------------ state
    def _can_trade(self, asset: Asset) -> bool:
        algo = self._algo
        session = self._store.sessions[self._idx()]
        if algo._is_restricted(asset):
            return False
        if not asset.is_alive_for_session(session):
            return False
        if asset.auto_close_date is not None and session > asset.auto_close_date:
            return False
        return not np.isnan(self._spot(asset, "price", self._idx()))

    def can_trade(self, assets):
        """True where the asset is alive this session, not restricted, and has a price."""
        if isinstance(assets, Asset):
            return self._can_trade(assets)
        assets = list(assets)
        return pd.Series([self._can_trade(a) for a in assets], index=assets, dtype=bool)

    def _is_stale(self, asset: Asset) -> bool:
        session = self._store.sessions[self._idx()]
        if not asset.is_alive_for_session(session):
            return False
        if self._spot(asset, "volume", self._idx()) > 0:
            return False
        return self._spot(asset, "last_traded", self._idx()) is not pd.NaT

    def is_stale(self, assets):
        """True where the asset is alive but did not trade in the current session."""
        if isinstance(assets, Asset):
            return self._is_stale(assets)
        return pd.Series({a: self._is_stale(a) for a in assets})

    @property
    def current_dt(self) -> pd.Timestamp:
        """The simulation time (UTC)."""
        return self._algo.get_datetime()

    @property
    def current_session(self) -> pd.Timestamp:
        return self._store.sessions[self._idx()]

    def __repr__(self):
        return f"BarData({self.current_dt})"
