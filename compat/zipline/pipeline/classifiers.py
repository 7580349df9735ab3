"""Classifiers: pipeline terms labelling each asset with an integer (-1 = missing), used
to group ``rank``, ``top``, ``bottom``, ``zscore`` and ``demean`` (``groupby=``) and to
build filters (``eq``, ``!=``, ``isnull``, ``notnull``, ``element_of``).

``Factor.quantiles(bins)`` (and ``quartiles``, ``quintiles``, ``deciles``) label each asset
with its quantile among the assets passing the mask, as ``pandas.qcut`` computes it;
``CustomClassifier`` fills an integer ``out`` row; an integer column's ``.latest`` is a
classifier. Text labels (Zipline's string classifiers) are not supported.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ml4t.compat.zipline.pipeline import CustomFactor, Filter, Term, _Apply, _mask_of

__all__ = ["Classifier", "CustomClassifier", "Everything", "Quantiles"]


class Classifier(Term):
    """An integer label per asset; ``missing_value`` (-1) where there is none."""

    dtype = np.int64
    missing_value = -1

    def eq(self, other) -> Filter:
        """True where the label equals ``other``.

        Raises
        ------
        ValueError
            ``other`` is the missing value (use ``isnull``).
        TypeError
            ``other`` is not an integer.
        """
        self._check_label(other, "eq")
        value = int(other)
        return _Apply((self,), lambda x: x == value, Filter)

    def __ne__(self, other) -> Filter:
        """True where the label is present and differs from ``other``."""
        self._check_label(other, "!=", allow_missing=True)
        value, missing = int(other), self.missing_value
        return _Apply((self,), lambda x: (x != value) & (x != missing), Filter)

    __hash__ = object.__hash__

    def _bad_compare(self, other):
        raise TypeError("cannot compare classifiers with <, <=, > or >=")

    __lt__ = __le__ = __gt__ = __ge__ = _bad_compare

    def isnull(self) -> Filter:
        missing = self.missing_value
        return _Apply((self,), lambda x: x == missing, Filter)

    def notnull(self) -> Filter:
        return ~self.isnull()

    def element_of(self, choices) -> Filter:
        """True where the label is one of ``choices`` (integers)."""
        choices = frozenset(choices)
        if self.missing_value in choices:
            raise ValueError(f"Found the missing value ({self.missing_value!r}) in the choices "
                             f"given to {type(self).__name__}.element_of(); missing values "
                             "never match, use isnull()")
        if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool)
                   for c in choices):
            raise TypeError(f"{type(self).__name__}.element_of() takes integer labels, got "
                            f"{sorted(map(repr, choices))}")
        wanted = np.array(sorted(choices), dtype=np.int64)
        return _Apply((self,), lambda x: np.isin(x, wanted), Filter)

    def _check_label(self, other, op, allow_missing=False):
        if not isinstance(other, (int, np.integer)) or isinstance(other, bool):
            raise TypeError(f"cannot compare {type(self).__name__} (integer labels) with "
                            f"{other!r} using {op}")
        if not allow_missing and other == self.missing_value:
            raise ValueError(f"Comparison against self.missing_value ({other!r}) in "
                             f"{type(self).__name__}.{op}(): missing values never compare "
                             "equal; use isnull()")


class Everything(Classifier):
    """Label 0 for every asset passing ``mask``."""

    def __init__(self, mask=None):
        self.mask = mask

    def _compute(self, day):
        return np.where(_mask_of(self.mask, day), 0, self.missing_value).astype(np.int64)


class Quantiles(Classifier):
    """``factor.quantiles(bins, mask)``: ``pandas.qcut`` labels (0 .. bins - 1) of the
    values of the assets passing ``mask``; -1 elsewhere and for NaN values.

    Raises
    ------
    ValueError
        On a session where the bin edges are not distinct (too few distinct values, or
        none at all), naming the term and the session; Zipline fails there too.
    """

    def __init__(self, factor, bins: int, mask=None):
        self._factor, self.bins, self._mask = factor, bins, mask

    def _compute(self, day):
        x = day.value(self._factor).astype(np.float64).copy()
        x[~_mask_of(self._mask, day)] = np.nan
        try:
            labels = np.asarray(pd.qcut(x, self.bins, labels=False), dtype=np.float64)
        except ValueError as exc:
            raise ValueError(f"{self!r} on {day.today.date()}: {exc}") from None
        return np.where(np.isnan(labels), self.missing_value, labels).astype(np.int64)

    def __repr__(self):
        return f"Quantiles({self.bins})"


class CustomClassifier(Classifier, CustomFactor):
    """A classifier computed by ``compute(self, today, assets, out, *inputs)``, ``out``
    an integer row prefilled with ``missing_value`` (set ``missing_value`` on the class
    to change it)."""

    def _allocate(self, n: int) -> np.ndarray:
        return np.full(n, self.missing_value, dtype=np.int64)


class LatestClassifier(Classifier):
    """``.latest`` of an integer column."""

    window_length = 1

    def __init__(self, column):
        self.column = column
        self.inputs = [column]
        self.missing_value = column.missing_value

    def _compute(self, day):
        return np.asarray(day.column(self.column, 1)[0], dtype=np.int64)

    def __repr__(self):
        return f"Latest({self.column!r})"
