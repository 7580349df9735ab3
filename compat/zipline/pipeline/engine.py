"""``SimplePipelineEngine``: run a Pipeline over a range of sessions outside an algorithm
(factor research), as Zipline's engine does::

    bundle_data = bundles.load(name)
    pricing = USEquityPricingLoader.without_fx(bundle_data.equity_daily_bar_reader,
                                               bundle_data.adjustment_reader)
    engine = SimplePipelineEngine(get_loader=lambda column: pricing,
                                  asset_finder=bundle_data.asset_finder)
    frame = engine.run_pipeline(pipe, start, end)   # MultiIndex (session, asset)

Each session's rows are what ``pipeline_output`` gives in an algorithm on that session.
"""
from __future__ import annotations

import pandas as pd

from ml4t.compat.zipline.pipeline import Pipeline, _Engine
from ml4t.compat.zipline.pipeline.domain import GENERIC, check_runnable

__all__ = ["SimplePipelineEngine", "PipelineEngine"]


class PipelineEngine:
    """Base class (for isinstance checks)."""


class SimplePipelineEngine(PipelineEngine):
    """Computes pipelines on a bundle's sessions.

    Parameters
    ----------
    get_loader : callable
        ``column -> loader``; asked for custom dataset columns (which need a
        ``DataFrameLoader``); bundle prices are read by the shim itself.
    asset_finder : AssetFinder
        ``bundle_data.asset_finder`` of a bundle loaded by the shim.
    default_domain : Domain, default GENERIC
        Accepted for compatibility (the bundle's own market is used).

    Raises
    ------
    TypeError
        ``asset_finder`` does not come from a bundle loaded by the shim.
    """

    def __init__(self, get_loader, asset_finder, default_domain=GENERIC,
                 populate_initial_workspace=None, default_hooks=None):
        store = getattr(asset_finder, "_store", None)
        if store is None:
            raise TypeError("SimplePipelineEngine needs bundle_data.asset_finder of a bundle "
                            "loaded with ml4t.compat.zipline.data.bundles.load")
        if populate_initial_workspace is not None:
            from ml4t.compat.zipline.errors import UnsupportedFeature
            raise UnsupportedFeature(what="populate_initial_workspace",
                                     why="the shim computes every term from the bundle")
        check_runnable(default_domain)
        self._store = store
        self._finder = asset_finder
        self._engine = _Engine(store, get_loader=get_loader)

    def run_pipeline(self, pipeline, start_date, end_date, hooks=None) -> pd.DataFrame:
        """``pipeline`` on every session from ``start_date`` to ``end_date``: a DataFrame
        indexed by (session, asset), one column per pipeline column.

        Raises
        ------
        ValueError
            ``start_date`` after ``end_date``, or either not a session of the bundle.
        """
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"run_pipeline() takes a Pipeline, got {type(pipeline).__name__}")
        check_runnable(pipeline.domain)
        start, end = pd.Timestamp(start_date), pd.Timestamp(end_date)
        if end < start:
            raise ValueError(f"start_date must be before or equal to end_date \n"
                             f"start_date={start_date}, end_date={end_date}")
        sessions = pd.DatetimeIndex(self._store.sessions)
        rows = []
        for label, when in (("start date", start), ("end date", end)):
            naive = when.tz_convert("UTC").tz_localize(None) if when.tzinfo else when
            if naive not in sessions:
                raise ValueError(f"Pipeline {label} ({when}) is not a trading session for "
                                 f"this bundle ({sessions[0].date()} .. "
                                 f"{sessions[-1].date()})")
            rows.append(sessions.get_loc(naive))
        frames, dates = [], []
        self._engine.end = min(rows[1] + 1, len(sessions))   # no blocks past the end
        for i in range(rows[0], rows[1] + 1):
            out = self._engine.run(pipeline, i)
            frames.append(out)
            dates.append(sessions[i])
        return _stack(frames, dates, list(pipeline.columns))

    def run_chunked_pipeline(self, pipeline, start_date, end_date, chunksize,
                             hooks=None) -> pd.DataFrame:
        """The same as ``run_pipeline`` (the shim has no chunks to size)."""
        return self.run_pipeline(pipeline, start_date, end_date, hooks)


def _stack(frames, dates, columns) -> pd.DataFrame:
    """Per-session outputs as one frame indexed by (session, asset)."""
    import numpy as np
    level_dates = np.repeat(pd.DatetimeIndex(dates).values, [len(f) for f in frames])
    assets = [a for f in frames for a in f.index]
    index = pd.MultiIndex.from_arrays([pd.DatetimeIndex(level_dates),
                                       pd.Index(assets, dtype=object)])
    if not frames:
        return pd.DataFrame(columns=columns, index=index)
    data = pd.concat(frames, axis=0, ignore_index=True) if len(frames) > 1 else frames[0]
    data = data.reset_index(drop=True)
    data.index = index
    return data[columns]
