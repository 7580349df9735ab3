"""``csvdir_equities``: a bundle over a Zipline csvdir folder, read in place.

Zipline copies csvdir files into ``~/.zipline`` with ``zipline ingest``; the shim reads
the folder directly each time a run starts (in well under a second for years of daily
bars), so there is no ingest step and no stale copy.

Optionally, a cache under a directory the user names (``cache_dir=`` or the
``ML4T_BUNDLE_CACHE`` environment variable; nothing is written anywhere without one) keeps
the bundle's stored form as one ``.npz`` file, so later runs skip parsing the CSV files
and building the calendar. The cache is keyed on every file's name, size and modification
time and on the reading options: an edited file is read again, never served stale.
"""
from __future__ import annotations

import os

__all__ = ["csvdir_equities", "CSVDIRBundle"]


class CSVDIRBundle:
    """A csvdir folder (``<csvdir>/daily/<SYMBOL>.csv``) as a bundle source.

    Parameters
    ----------
    tframes : sequence of str, optional
        Time frames; only ``"daily"`` is supported.
    csvdir : str, optional
        The folder; default: the ``CSVDIR`` environment variable.
    price_adjustment : {"detect", "raw", "split_adjusted"}
        ml4t extension: how to read prices next to a ``split`` column (see
        ``ml4t.Engine``). ``detect`` refuses split-adjusted prices.
    cache_dir : str, optional
        ml4t extension: keep the bundle's stored form in this directory and read it from
        there while the files are unchanged. Default: the ``ML4T_BUNDLE_CACHE``
        environment variable, else no cache.
    """

    def __init__(self, tframes=None, csvdir=None, price_adjustment: str = "detect",
                 cache_dir=None):
        if tframes is not None and set(tframes) - {"daily"}:
            from ml4t.compat.zipline.errors import UnsupportedFeature
            raise UnsupportedFeature(what=f"csvdir time frames {sorted(set(tframes))}",
                                     why="only 'daily' bundles are supported")
        self.tframes = tframes
        self.csvdir = csvdir
        self.price_adjustment = price_adjustment
        self.cache_dir = cache_dir

    def folder(self, environ=None) -> str:
        path = self.csvdir or (environ or os.environ).get("CSVDIR")
        if not path:
            raise ValueError("csvdir bundle: no folder given and CSVDIR is not set")
        if not os.path.isdir(path):
            raise ValueError(f"csvdir bundle: {path!r} is not a directory")
        return path

    def load(self, environ=None, calendar="XNYS", start_session=None, end_session=None):
        from ml4t.compat.zipline._store import BundleData
        cache_dir = self.cache_dir or (environ or os.environ).get("ML4T_BUNDLE_CACHE") or None
        return BundleData(self.folder(environ), calendar=calendar,
                          price_adjustment=self.price_adjustment,
                          start_session=start_session, end_session=end_session,
                          cache_dir=cache_dir)

    def ingest(self, *args, **kwargs):
        """Nothing to copy: the folder is read when a run starts."""
        return None


def csvdir_equities(tframes=None, csvdir=None, price_adjustment: str = "detect",
                    cache_dir=None):
    """A bundle source over a csvdir folder, for ``bundles.register(name, ...)``."""
    return CSVDIRBundle(tframes, csvdir, price_adjustment, cache_dir)
