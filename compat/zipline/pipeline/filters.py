"""Filters: boolean pipeline terms (``CustomFilter``, ``StaticAssets``, ``StaticSids``, and
``Filter`` for isinstance)."""
from __future__ import annotations

import numpy as np

from ml4t.compat.zipline.pipeline import CustomFilter, Filter

__all__ = ["CustomFilter", "Filter", "StaticAssets", "StaticSids", "SingleAsset"]


class StaticSids(Filter):
    """True for the assets whose sid is in ``sids``, every session."""

    def __init__(self, sids):
        self.sids = frozenset(int(s) for s in sids)

    def _compute(self, day):
        out = np.zeros(len(day.alive), dtype=np.bool_)
        picked = [s for s in self.sids if 0 <= s < len(out)]
        out[picked] = True
        return out

    def __repr__(self):
        return f"StaticSids({sorted(self.sids)})"


class StaticAssets(StaticSids):
    """True for the given assets (``Equity`` objects), every session."""

    def __init__(self, assets):
        super().__init__(a.sid for a in assets)

    def __repr__(self):
        return f"StaticAssets({sorted(self.sids)})"


class SingleAsset(StaticSids):
    """True for one asset only."""

    def __init__(self, asset):
        super().__init__([asset.sid])
        self.asset = asset

    def __repr__(self):
        return f"SingleAsset({self.asset!r})"
