"""Pipeline datasets.

``USEquityPricing`` (alias ``EquityPricing``) holds the bundle's ``open``, ``high``,
``low``, ``close`` and ``volume``. A user dataset declares its columns as class
attributes::

    class SignalData(DataSet):
        predictions = Column(dtype=float)
        domain = US_EQUITIES

and its values come from a loader given to ``run_algorithm(custom_loader={column:
loader})``, e.g. ``DataFrameLoader`` (``ml4t.compat.zipline.pipeline.loaders.frame``).
"""
from __future__ import annotations

import numpy as np

from ml4t.compat.zipline.pipeline import Factor, Filter

__all__ = ["Column", "DataSet", "BoundColumn", "USEquityPricing", "EquityPricing"]


class Latest(Factor):
    """A column's most recent value: for bundle prices the session before today (adjusted
    as of today), for a custom column the value labelled today."""

    window_length = 1

    def __init__(self, column):
        self.column = column
        self.inputs = [column]

    def _compute(self, day):
        return day.column(self.column, 1)[0].astype(np.float64)

    def __repr__(self):
        return f"Latest({self.column!r})"


class LatestFilter(Filter):
    """``.latest`` of a boolean column."""

    window_length = 1

    def __init__(self, column):
        self.column = column
        self.inputs = [column]

    def _compute(self, day):
        return day.column(self.column, 1)[0].astype(np.bool_)

    def __repr__(self):
        return f"Latest({self.column!r})"


_DEFAULT_MISSING = {"f": np.nan, "b": False, "M": np.datetime64("NaT", "ns")}


class Column:
    """A column of a ``DataSet`` subclass (declared as a class attribute).

    Parameters
    ----------
    dtype : float, bool, int or a numpy datetime64 dtype
    missing_value : optional
        The value where there is no data: NaN for floats, False for booleans, NaT for
        datetimes; integer columns must give one.

    Raises
    ------
    NoDefaultMissingValue
        An integer column without ``missing_value``.
    UnsupportedFeature
        Text and other object columns (Zipline's classifiers).
    """

    def __init__(self, dtype, missing_value=None, doc=None, metadata=None,
                 currency_aware=False):
        dt = np.dtype(dtype)
        if dt.kind not in "fbiuM":
            from ml4t.compat.zipline.errors import UnsupportedFeature
            raise UnsupportedFeature(what=f"Column(dtype={dt})",
                                     why="columns hold floats, booleans, integers or dates")
        if dt.kind == "f":
            dt = np.dtype(np.float64)
        elif dt.kind in "iu":
            dt = np.dtype(np.int64)
        elif dt.kind == "M":
            dt = np.dtype("datetime64[ns]")
        self._no_missing = missing_value is None and dt.kind not in _DEFAULT_MISSING
        if missing_value is None:
            missing_value = _DEFAULT_MISSING.get(dt.kind)
        self.dtype = dt
        self.missing_value = missing_value
        self.doc = doc
        self.metadata = dict(metadata or {})
        self.currency_aware = currency_aware


class BoundColumn:
    """A column of a particular dataset: an input of factors; ``.latest`` is its most
    recent value."""

    window_safe = True

    def __init__(self, dataset, name: str, dtype=np.float64, missing_value=np.nan,
                 doc=None, metadata=None, currency_aware=False):
        self.dataset, self.name = dataset, name
        self.dtype = np.dtype(dtype)
        self.missing_value = missing_value
        self.doc = doc
        self.metadata = dict(metadata or {})
        self.currency_aware = currency_aware
        self._latest = None

    @property
    def qualname(self) -> str:
        return f"{self.dataset.__name__}.{self.name}"

    @property
    def latest(self):
        if self._latest is None:
            if self.dtype.kind == "b":
                self._latest = LatestFilter(self)
            elif self.dtype.kind == "f":
                self._latest = Latest(self)
            elif self.dtype.kind == "i":
                from ml4t.compat.zipline.pipeline.classifiers import LatestClassifier
                self._latest = LatestClassifier(self)
            else:
                from ml4t.compat.zipline.errors import UnsupportedFeature
                raise UnsupportedFeature(what=f"{self.qualname}.latest",
                                         why="date columns have no .latest here; use "
                                             "the column as a CustomFactor input")
        return self._latest

    def unspecialize(self):
        return self

    def specialize(self, domain):
        return self

    def __repr__(self):
        return f"{self.qualname}::{self.dtype}"


class _DataSetMeta(type):
    """Binds each ``Column`` of a dataset class (own or inherited) to that class."""

    def __new__(mcls, name, bases, namespace):
        cls = super().__new__(mcls, name, bases, namespace)
        specs = {}
        for base in reversed(cls.__mro__[1:]):
            specs.update(getattr(base, "_column_specs", {}))
        specs.update({k: v for k, v in namespace.items() if isinstance(v, Column)})
        cls._column_specs = specs
        bound = []
        for attr, col in specs.items():
            if getattr(col, "_no_missing", False):
                from ml4t.compat.zipline.errors import NoDefaultMissingValue
                raise NoDefaultMissingValue(name=f"{name}.{attr}", dtype=col.dtype)
            b = BoundColumn(cls, attr, col.dtype, col.missing_value, col.doc, col.metadata,
                            col.currency_aware)
            setattr(cls, attr, b)
            bound.append(b)
        cls.columns = frozenset(bound)
        return cls

    def __repr__(cls):
        return f"<DataSet: {cls.__name__!r}>"


class DataSet(metaclass=_DataSetMeta):
    """Base of pipeline datasets: subclass it and declare ``Column`` attributes."""

    domain = None

    @classmethod
    def get_column(cls, name: str) -> BoundColumn:
        col = cls.__dict__.get(name) if name in cls._column_specs else None
        if col is None:
            col = getattr(cls, name, None) if name in cls._column_specs else None
        if col is None:
            raise AttributeError(f"{cls.__name__} has no column {name!r}; its columns are "
                                 f"{sorted(cls._column_specs)}")
        return col

    @classmethod
    def specialize(cls, domain):
        return cls

    @classmethod
    def unspecialize(cls):
        return cls


class EquityPricing(DataSet):
    """Daily OHLCV of the bundle's equities."""

    open = Column(np.float64, currency_aware=True)
    high = Column(np.float64, currency_aware=True)
    low = Column(np.float64, currency_aware=True)
    close = Column(np.float64, currency_aware=True)
    volume = Column(np.float64)


USEquityPricing = EquityPricing
