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
    """The bundle's prices for ``USEquityPricing`` columns: built from
    ``bundle_data.equity_daily_bar_reader`` and ``bundle_data.adjustment_reader`` (as in
    Zipline research code); the shim reads the bundle itself, so this only records which
    bundle.

    Raises
    ------
    UnsupportedFeature
        Readers that do not come from a bundle loaded by the shim, or an FX reader.
    """

    def __init__(self, raw_price_reader, adjustments_reader, fx_reader=None):
        from ml4t.compat.zipline.errors import UnsupportedFeature
        store = getattr(raw_price_reader, "store", None)
        if store is None or getattr(adjustments_reader, "store", None) is not store:
            raise UnsupportedFeature(what="EquityPricingLoader(...)",
                                     why="pass bundle_data.equity_daily_bar_reader and "
                                         "bundle_data.adjustment_reader of one bundle")
        if fx_reader is not None:
            raise UnsupportedFeature(what="EquityPricingLoader(fx_reader=...)",
                                     why="prices are in one currency")
        self.store = store

    @classmethod
    def without_fx(cls, raw_price_reader, adjustments_reader):
        return cls(raw_price_reader, adjustments_reader)


USEquityPricingLoader = EquityPricingLoader
