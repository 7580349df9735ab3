"""Asset objects: ``Equity`` (and a bare ``Future`` for isinstance checks).

Assets compare, sort and hash by their integer ``sid``, and compare equal to that
integer, as Zipline's do; ``repr`` reads ``Equity(0 [AAPL])``.
"""
from __future__ import annotations

from collections import namedtuple

import pandas as pd

__all__ = ["Asset", "Equity", "Future", "ExchangeInfo", "AssetFinder"]

ExchangeInfo = namedtuple("ExchangeInfo", "name canonical_name country_code")


class Asset:
    """A tradable instrument of a bundle.

    Parameters
    ----------
    sid : int
        Unique integer id (position of the symbol in the bundle's sorted symbols).
    symbol : str
    asset_name : str, default ""
    start_date, end_date : pandas.Timestamp
        First and last session with data (tz-naive midnight).
    auto_close_date : pandas.Timestamp, optional
        Day after ``end_date`` for csvdir bundles.
    exchange : str, default "CSVDIR"
    tick_size : float, default 0.01
    multiplier : float, default 1.0
    """

    __slots__ = ("sid", "symbol", "asset_name", "start_date", "end_date", "first_traded",
                 "auto_close_date", "exchange", "exchange_full", "country_code", "tick_size",
                 "multiplier")

    def __init__(self, sid: int, symbol: str, asset_name: str = "", start_date=None,
                 end_date=None, first_traded=None, auto_close_date=None,
                 exchange: str = "CSVDIR", exchange_full: str | None = None,
                 country_code: str = "??", tick_size: float = 0.01, multiplier: float = 1.0):
        self.sid = int(sid)
        self.symbol = symbol
        self.asset_name = asset_name
        self.start_date = start_date
        self.end_date = end_date
        self.first_traded = first_traded
        self.auto_close_date = auto_close_date
        self.exchange = exchange
        self.exchange_full = exchange if exchange_full is None else exchange_full
        self.country_code = country_code
        self.tick_size = tick_size
        self.multiplier = multiplier

    # identity: the sid -------------------------------------------------------------------
    def __int__(self) -> int:
        return self.sid

    def __index__(self) -> int:
        return self.sid

    def __hash__(self) -> int:
        return hash(self.sid)

    @staticmethod
    def _key(other):
        if isinstance(other, Asset):
            return other.sid
        if isinstance(other, int) and not isinstance(other, bool):
            return other
        return None

    def __eq__(self, other):
        k = self._key(other)
        return NotImplemented if k is None else self.sid == k

    def __ne__(self, other):
        k = self._key(other)
        return NotImplemented if k is None else self.sid != k

    def __lt__(self, other):
        k = self._key(other)
        return NotImplemented if k is None else self.sid < k

    def __le__(self, other):
        k = self._key(other)
        return NotImplemented if k is None else self.sid <= k

    def __gt__(self, other):
        k = self._key(other)
        return NotImplemented if k is None else self.sid > k

    def __ge__(self, other):
        k = self._key(other)
        return NotImplemented if k is None else self.sid >= k

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sid} [{self.symbol}])"

    __str__ = __repr__

    def __reduce__(self):
        return (type(self), (self.sid, self.symbol, self.asset_name, self.start_date,
                             self.end_date, self.first_traded, self.auto_close_date,
                             self.exchange, self.exchange_full, self.country_code,
                             self.tick_size, self.multiplier))

    # Zipline's helpers ---------------------------------------------------------------------
    @property
    def price_multiplier(self) -> float:
        return self.multiplier

    @property
    def exchange_info(self) -> ExchangeInfo:
        return ExchangeInfo(self.exchange_full, self.exchange, self.country_code)

    def to_dict(self) -> dict:
        """The asset's fields as a dict."""
        return {"sid": self.sid, "symbol": self.symbol, "asset_name": self.asset_name,
                "start_date": self.start_date, "end_date": self.end_date,
                "first_traded": self.first_traded, "auto_close_date": self.auto_close_date,
                "exchange": self.exchange, "exchange_full": self.exchange_full,
                "tick_size": self.tick_size, "multiplier": self.multiplier,
                "exchange_info": self.exchange_info}

    def is_alive_for_session(self, session) -> bool:
        """True if ``session`` lies between the asset's first and last session."""
        s = pd.Timestamp(session)
        if s.tzinfo is not None:
            s = s.tz_localize(None)
        s = s.normalize()
        return self.start_date <= s <= self.end_date

    def is_exchange_open(self, dt_minute) -> bool:  # noqa: ARG002 - daily data only
        """Daily data: the exchange is treated as open whenever the simulation runs."""
        return True


class Equity(Asset):
    """An equity of a csvdir bundle."""

    __slots__ = ()


class Future(Asset):
    """Placeholder for isinstance checks; futures are not supported by the shim."""

    __slots__ = ()


class AssetFinder:
    """Zipline's ``bundle_data.asset_finder`` over a bundle's assets: look assets up by
    ticker or sid. A csvdir bundle holds one asset per ticker, so ``as_of_date`` never
    changes the answer."""

    def __init__(self, assets, store=None):
        self._assets = list(assets)
        self._by_symbol = {a.symbol.upper(): a for a in self._assets}
        self._store = store               # the bundle's data, for SimplePipelineEngine

    @property
    def sids(self) -> list:
        return [a.sid for a in self._assets]

    equities_sids = sids

    def lookup_symbol(self, symbol, as_of_date=None, fuzzy=False, country_code=None):
        """The equity with ticker ``symbol`` (case-insensitive; with ``fuzzy``, share-class
        separators ``.``, ``/``, ``-`` and ``_`` are ignored).

        Raises
        ------
        SymbolNotFound
            No such ticker (close spellings are suggested).
        """
        import difflib

        from ml4t.compat.zipline.errors import SymbolNotFound
        if symbol is None:
            raise TypeError(f"cannot look up an asset for the symbol None (as of {as_of_date})")
        key = str(symbol).upper()
        hit = self._by_symbol.get(key)
        if hit is None and fuzzy:
            strip = str.maketrans("", "", "./-_")
            wanted = key.translate(strip)
            hits = [a for k, a in self._by_symbol.items() if k.translate(strip) == wanted]
            hit = hits[0] if len(hits) == 1 else None
        if hit is None:
            hints = difflib.get_close_matches(key, list(self._by_symbol), n=3)
            raise SymbolNotFound(symbol=symbol, suggestions=hints)
        return hit

    def lookup_symbols(self, symbols, as_of_date=None, fuzzy=False, country_code=None) -> list:
        """``[lookup_symbol(s, as_of_date, fuzzy) for s in symbols]``."""
        return [self.lookup_symbol(s, as_of_date, fuzzy, country_code) for s in symbols]

    def retrieve_asset(self, sid, default_none=False):
        """The asset with integer id ``sid``.

        Raises
        ------
        SidsNotFound
            No such sid (unless ``default_none``).
        """
        from ml4t.compat.zipline.errors import SidsNotFound
        try:
            i = int(sid)
            if i < 0:
                raise IndexError
            return self._assets[i]
        except (IndexError, ValueError, TypeError):
            if default_none:
                return None
            raise SidsNotFound(sids=[sid]) from None

    def retrieve_all(self, sids, default_none=False) -> list:
        return [self.retrieve_asset(s, default_none) for s in sids]

    def retrieve_equities(self, sids) -> dict:
        return {s: self.retrieve_asset(s) for s in sids}

    def lifetimes(self, dates, include_start_date=False, country_codes=None) -> pd.DataFrame:
        """Booleans (dates x sids): True where the asset existed on the date (listed
        before it, or on it with ``include_start_date``, and not past its end date)."""
        dates = pd.DatetimeIndex(dates).tz_localize(None) if getattr(dates, "tz", None) \
            else pd.DatetimeIndex(dates)
        cols = {}
        for a in self._assets:
            start = pd.Timestamp(a.start_date).tz_localize(None)
            end = pd.Timestamp(a.end_date).tz_localize(None)
            after = dates >= start if include_start_date else dates > start
            cols[a.sid] = after & (dates <= end)
        return pd.DataFrame(cols, index=dates, columns=self.sids)
