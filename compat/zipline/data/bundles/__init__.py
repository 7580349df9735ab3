"""``ml4t.compat.zipline.data.bundles``: register/load csvdir bundles without ingesting."""
from ml4t.compat.zipline.data.bundles.core import (  # noqa: F401
    RegisteredBundle, bundles, clean, ingest, load, register, unregister)
from ml4t.compat.zipline.data.bundles.csvdir import csvdir_equities  # noqa: F401
from ml4t.compat.zipline.errors import UnknownBundle  # noqa: F401

__all__ = ["register", "unregister", "bundles", "ingest", "load", "clean", "csvdir_equities",
           "RegisteredBundle", "UnknownBundle"]
