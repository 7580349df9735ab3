"""Bundle registry: ``register``, ``unregister``, ``bundles``, ``ingest``, ``load``.

A registered csvdir bundle is read in place when a run starts (and cached for the
process); ``ingest`` only validates it, and fills the optional on-disk cache when one is
configured (``csvdir_equities(cache_dir=...)`` or ``ML4T_BUNDLE_CACHE``). A bundle name may
also be a csvdir folder path.
"""
from __future__ import annotations

import os
from collections import namedtuple
from types import MappingProxyType

from ml4t.compat.zipline.errors import UnknownBundle

__all__ = ["register", "unregister", "bundles", "ingest", "load", "RegisteredBundle"]

RegisteredBundle = namedtuple("RegisteredBundle", ["calendar_name", "start_session",
                                                   "end_session", "minutes_per_day", "ingest",
                                                   "create_writers"])

_bundles: dict = {}
bundles = MappingProxyType(_bundles)
_cache: dict = {}


def register(name, f=None, calendar_name="NYSE", start_session=None, end_session=None,
             minutes_per_day=390, create_writers=True):
    """Register a bundle source under ``name`` (usable as a decorator without ``f``).

    ``f`` is what ``csvdir_equities(...)`` returns. Calendar ``"NYSE"`` is XNYS.
    """
    if f is None:
        return lambda fn: register(name, fn, calendar_name, start_session, end_session,
                                   minutes_per_day, create_writers)
    if name in _bundles:
        import warnings
        warnings.warn(f"overwriting bundle with name {name!r}", stacklevel=2)
    _bundles[name] = RegisteredBundle(calendar_name, start_session, end_session,
                                      minutes_per_day, f, create_writers)
    _cache.pop(name, None)
    return f


def unregister(name) -> None:
    """Forget bundle ``name``.

    Raises
    ------
    UnknownBundle
    """
    if name not in _bundles:
        raise UnknownBundle(name=name, registered=list(_bundles))
    del _bundles[name]
    _cache.pop(name, None)


def _calendar(name) -> str:
    name = getattr(name, "name", name)
    return {"NYSE": "XNYS", "CSVDIR": "XNYS"}.get(name, name)


def _source(name):
    if name in _bundles:
        return _bundles[name]
    if isinstance(name, (str, os.PathLike)) and os.path.isdir(name):
        from ml4t.compat.zipline.data.bundles.csvdir import csvdir_equities
        return RegisteredBundle("XNYS", None, None, 390, csvdir_equities(["daily"], name), True)
    raise UnknownBundle(name=name, registered=list(_bundles))


def load(name, environ=None, timestamp=None):
    """The bundle's data (``BundleData``), read from its folder on first use.

    Raises
    ------
    UnknownBundle
        Not registered and not a folder.
    ml4t.errors.DataError
        Bad data, or split-adjusted prices not declared with ``price_adjustment``.
    """
    spec = _source(name)
    key = (name, id(spec))
    data = _cache.get(key)
    if data is None:
        loader = getattr(spec.ingest, "load", None)
        if loader is None:
            loader = getattr(getattr(spec.ingest, "__self__", None), "load", None)
        if loader is None:
            from ml4t.compat.zipline.errors import UnsupportedFeature
            raise UnsupportedFeature(what=f"bundle {name!r}",
                                     why="only csvdir bundles (csvdir_equities) can be read")
        data = loader(environ, calendar=_calendar(spec.calendar_name),
                      start_session=spec.start_session, end_session=spec.end_session)
        _cache[key] = data
    return data


def ingest(name, environ=None, timestamp=None, assets_versions=(), show_progress=False):
    """Validate bundle ``name`` (runs read the folder directly; with a cache directory
    configured, the cache is written or refreshed)."""
    _cache.pop((name, id(_source(name))), None)
    load(name, environ, timestamp)


def clean(name, before=None, after=None, keep_last=None, environ=None):
    """Drop the cached copy of bundle ``name``."""
    for key in [k for k in _cache if k[0] == name]:
        del _cache[key]
    return set()


def _register_defaults() -> None:
    from ml4t.compat.zipline.data.bundles.csvdir import CSVDIRBundle
    # like Zipline: "csvdir" reads the folder named by the CSVDIR environment variable
    _bundles["csvdir"] = RegisteredBundle("NYSE", None, None, 390, CSVDIRBundle(["daily"]), True)


_register_defaults()
