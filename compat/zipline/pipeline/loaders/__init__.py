"""Pipeline loaders: where a dataset column's values come from.

Bundle prices (``USEquityPricing``) are read by the shim itself; a user dataset's columns
need a loader each, passed as ``run_algorithm(custom_loader={column: loader})``.
``DataFrameLoader`` (``.frame``) serves a (dates x sids) DataFrame.
"""
from __future__ import annotations

from ml4t.compat.zipline.pipeline.loaders.frame import DataFrameLoader

__all__ = ["PipelineLoader", "DataFrameLoader", "EquityPricingLoader", "USEquityPricingLoader"]


class PipelineLoader:
    """Base of loaders (for isinstance checks)."""


class EquityPricingLoader(PipelineLoader):
    """Bundle prices are loaded by the shim; this name exists so that imports work."""

    def __init__(self, *args, **kwargs):
        from ml4t.compat.zipline.errors import UnsupportedFeature
        raise UnsupportedFeature(what="EquityPricingLoader(...)",
                                 why="the shim reads bundle prices itself; pass only "
                                     "custom dataset columns in custom_loader")

    @classmethod
    def without_fx(cls, *args, **kwargs):
        return cls(*args, **kwargs)


USEquityPricingLoader = EquityPricingLoader
