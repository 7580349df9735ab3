"""``DataFrameLoader``: a custom dataset column served from a DataFrame."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DataFrameLoader"]


class DataFrameLoader:
    """Values of one custom column from a DataFrame indexed by date, with one column per
    sid.

    As in Zipline, a row is used on the session it is labelled with, so label each value
    with the first session on which it is known (shift end-of-day data forward a session
    yourself). Dates or sids not in the frame, and sessions when an asset did not exist,
    give the column's ``missing_value``.

    Parameters
    ----------
    column : BoundColumn
        The column this loader serves (``MyDataSet.my_column``).
    baseline : pandas.DataFrame
        Index: tz-naive session dates; columns: integer sids (or ``Equity`` objects).
    adjustments : None
        Adjustment tables are not supported; ``None`` or an empty frame only.

    Raises
    ------
    ValueError
        The index is not tz-naive unique dates at midnight, a column is not a sid, or the
        values cannot be cast to the column's dtype.
    UnsupportedFeature
        Non-empty ``adjustments``.
    """

    def __init__(self, column, baseline, adjustments=None):
        from ml4t.compat.zipline.assets import Asset
        from ml4t.compat.zipline.errors import UnsupportedFeature
        if adjustments is not None and len(adjustments):
            raise UnsupportedFeature(what="DataFrameLoader(adjustments=...)",
                                     why="store the adjusted values in the baseline instead")
        if not isinstance(baseline, pd.DataFrame):
            raise TypeError(f"DataFrameLoader: baseline must be a DataFrame, got "
                            f"{type(baseline).__name__}")
        where = f"DataFrameLoader({column!r})"
        index = baseline.index
        if not isinstance(index, pd.DatetimeIndex):
            raise ValueError(f"{where}: the baseline's index must be a DatetimeIndex of "
                             f"session dates, got {type(index).__name__}")
        if index.tz is not None:
            raise ValueError(f"{where}: the baseline's index is tz-aware ({index.tz}); "
                             "sessions are tz-naive dates, so no row would ever match. Use "
                             "baseline.tz_localize(None).")
        if not index.is_unique:
            dup = index[index.duplicated()][0]
            raise ValueError(f"{where}: the baseline's index repeats {dup.date()}")
        if len(index) and (index != index.normalize()).any():
            bad = index[index != index.normalize()][0]
            raise ValueError(f"{where}: the baseline's index has a time of day ({bad}); "
                             "label rows with session dates at midnight")
        sids = []
        for c in baseline.columns:
            if isinstance(c, Asset):
                sids.append(c.sid)
            elif isinstance(c, (int, np.integer)) and not isinstance(c, bool):
                sids.append(int(c))
            else:
                raise ValueError(f"{where}: column {c!r} is not a sid; name the columns by "
                                 "sid (bundle.asset_finder.lookup_symbols(tickers) gives "
                                 "the assets)")
        if len(set(sids)) != len(sids):
            raise ValueError(f"{where}: the baseline names a sid twice")
        try:
            values = baseline.to_numpy().astype(column.dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: the baseline's values cannot be read as "
                             f"{column.dtype}: {exc}") from None
        self.column = column
        self.baseline = values
        self.dates = index
        self.assets = pd.Index(sids, dtype=np.int64)
        self.adjustments = adjustments

    def _aligned(self, column, store, exists: np.ndarray) -> np.ndarray:
        """The column on every session of ``store`` (rows) for every sid (columns)."""
        if column is not self.column:
            raise ValueError(f"Can't load unknown column {column}")
        di = self.dates.get_indexer(pd.DatetimeIndex(store.sessions).tz_localize(None)
                                    if store.sessions.tz is not None else store.sessions)
        ai = self.assets.get_indexer(np.arange(len(store.assets)))
        out = np.full((len(di), len(ai)), column.missing_value, dtype=self.baseline.dtype)
        if len(self.baseline):
            good_d, good_a = di >= 0, ai >= 0
            out[np.ix_(good_d, good_a)] = self.baseline[np.ix_(di[good_d], ai[good_a])]
        out[~exists] = column.missing_value
        return out
