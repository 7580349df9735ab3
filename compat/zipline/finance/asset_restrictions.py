"""Asset restrictions: which assets may not be traded when.

``set_asset_restrictions(restrictions)`` registers a trading control refusing orders in a
restricted asset and makes ``data.can_trade`` False for it; ``set_do_not_order_list(assets)``
is the same with ``StaticRestrictions(assets)``. As in Zipline, both ask at the algorithm's
time (in ``handle_data``, the session close in UTC), and a date without a time zone is read
as UTC: a restriction effective at 15:00 of a session applies from that session's close.
Restrictions combine with ``|``.
"""
from __future__ import annotations

from collections import namedtuple
from enum import IntEnum

import pandas as pd

__all__ = ["Restriction", "RESTRICTION_STATES", "Restrictions", "NoRestrictions",
           "StaticRestrictions", "HistoricalRestrictions"]

Restriction = namedtuple("Restriction", ["asset", "effective_date", "state"])

RESTRICTION_STATES = IntEnum("RESTRICTION_STATES", ["ALLOWED", "FROZEN"])


def _one_asset(assets) -> bool:
    from ml4t.compat.zipline.assets import Asset
    return isinstance(assets, Asset)


class Restrictions:
    """Base class: ``is_restricted(assets, dt)`` for one asset (a bool) or several (a
    boolean Series indexed by asset)."""

    def is_restricted(self, assets, dt):
        raise NotImplementedError

    def _each(self, assets, dt, one) -> "bool | pd.Series":
        if _one_asset(assets):
            return one(assets, dt)
        assets = list(assets)
        return pd.Series([bool(one(a, dt)) for a in assets], index=pd.Index(assets, dtype=object),
                         dtype=bool)

    def __or__(self, other):
        if isinstance(other, NoRestrictions):
            return self
        return _UnionRestrictions([self, other])


class _UnionRestrictions(Restrictions):
    def __init__(self, parts):
        self.sub_restrictions = []
        for p in parts:
            self.sub_restrictions += (p.sub_restrictions if isinstance(p, _UnionRestrictions)
                                      else [p])

    def is_restricted(self, assets, dt):
        return self._each(assets, dt, lambda a, d: any(r.is_restricted(a, d)
                                                       for r in self.sub_restrictions))


class NoRestrictions(Restrictions):
    """Nothing is restricted (the default)."""

    def is_restricted(self, assets, dt):
        return self._each(assets, dt, lambda a, d: False)

    def __or__(self, other):
        return other


class StaticRestrictions(Restrictions):
    """The given assets are restricted at all times."""

    def __init__(self, restricted_list):
        self._restricted_set = frozenset(restricted_list)

    def is_restricted(self, assets, dt):
        return self._each(assets, dt, lambda a, d: a in self._restricted_set)


class HistoricalRestrictions(Restrictions):
    """Restrictions that start and end: each ``Restriction(asset, effective_date, state)``
    sets the asset's state (``FROZEN`` or ``ALLOWED``) from its effective date on; an
    asset is restricted at ``dt`` when its latest restriction effective on or before
    ``dt`` froze it. A date without a time zone is read in ``dt``'s."""

    def __init__(self, restrictions):
        by_asset: dict = {}
        for r in restrictions:
            if r.state not in (RESTRICTION_STATES.ALLOWED, RESTRICTION_STATES.FROZEN):
                raise ValueError(f"restriction state must be RESTRICTION_STATES.ALLOWED or "
                                 f"FROZEN, got {r.state!r}")
            by_asset.setdefault(r.asset, []).append(
                Restriction(r.asset, pd.Timestamp(r.effective_date), r.state))
        self._restrictions_by_asset = {a: sorted(rs, key=lambda r: r.effective_date)
                                       for a, rs in by_asset.items()}

    def is_restricted(self, assets, dt):
        return self._each(assets, dt, self._frozen)

    def _frozen(self, asset, dt) -> bool:
        dt = pd.Timestamp(dt)
        state = RESTRICTION_STATES.ALLOWED
        for r in self._restrictions_by_asset.get(asset, ()):
            when = r.effective_date
            if when.tzinfo is None and dt.tzinfo is not None:
                when = when.tz_localize(dt.tzinfo)
            elif when.tzinfo is not None and dt.tzinfo is None:
                when = when.tz_convert("UTC").tz_localize(None)
            if when > dt:
                break
            state = r.state
        return state == RESTRICTION_STATES.FROZEN
