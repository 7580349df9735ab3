"""``ml4t.compat.zipline.data``: bundles read straight from csvdir folders."""
from ml4t.compat.zipline.data import bundles  # noqa: F401
