# cython: boundscheck=False, wraparound=False
"""Per-asset history of every bar seen so far, read by point-in-time windows.

Rows are an asset's n-th bar, so halts leave no holes; only rows below an
asset's ``count`` are ever read, which is what keeps windows point in time:
the clock appends a bar when its slice starts, never earlier.
"""
import numpy as np


def _grown(arr, cap, fill):
    # rows at or beyond an asset's count are never read, so new rows stay uninitialised
    out = np.empty((cap, arr.shape[1]), dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


cdef class History:
    """Per-asset history of every bar seen so far (rows = the asset's n-th bar).

    Stored as ``(capacity, n_assets)`` arrays that double when full, so a
    window of the last ``n`` bars of one asset is a strided column read. Only
    rows below an asset's ``count`` are ever read.
    """

    def __init__(self, int n_assets, Py_ssize_t capacity=256):
        if n_assets < 0:
            raise ValueError(f"n_assets must be >= 0, was {n_assets}")
        self.n_assets = n_assets
        self.cap = max(1, capacity)
        self.count_np = np.zeros(n_assets, dtype=np.int64)
        self.count = self.count_np
        self.ts_np = np.empty((self.cap, n_assets), dtype=np.int64)
        self.open_np = np.empty((self.cap, n_assets))
        self.high_np = np.empty((self.cap, n_assets))
        self.low_np = np.empty((self.cap, n_assets))
        self.close_np = np.empty((self.cap, n_assets))
        self.volume_np = np.empty((self.cap, n_assets))
        self._bind()

    def _bind(self):
        self.ts = self.ts_np
        self.open = self.open_np
        self.high = self.high_np
        self.low = self.low_np
        self.close = self.close_np
        self.volume = self.volume_np

    cdef int _grow(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap = self.cap
        while cap < need:
            cap *= 2
        self.ts_np = _grown(self.ts_np, cap, 0)
        self.open_np = _grown(self.open_np, cap, np.nan)
        self.high_np = _grown(self.high_np, cap, np.nan)
        self.low_np = _grown(self.low_np, cap, np.nan)
        self.close_np = _grown(self.close_np, cap, np.nan)
        self.volume_np = _grown(self.volume_np, cap, np.nan)
        self.cap = cap
        self._bind()
        return 0

    def window(self, int asset, str field, Py_ssize_t n):
        """Copy of the last ``n`` values of ``field`` for ``asset`` (fewer if fewer bars exist).

        Raises
        ------
        IndexError
            Asset id out of range.
        KeyError
            Unknown field.
        ValueError
            ``n`` < 1.
        """
        if asset < 0 or asset >= self.n_assets:
            raise IndexError(f"asset id {asset} out of range [0, {self.n_assets})")
        if n < 1:
            raise ValueError(f"bars must be >= 1, was {n}")
        arr = self._field(field)
        cdef Py_ssize_t end = self.count[asset]
        cdef Py_ssize_t start = end - n if end > n else 0
        return np.array(arr[start:end, asset])

    def _field(self, str field):
        if field == "close" or field == "price":
            return self.close_np
        if field == "open":
            return self.open_np
        if field == "high":
            return self.high_np
        if field == "low":
            return self.low_np
        if field == "volume":
            return self.volume_np
        if field == "ts":
            return self.ts_np
        from ml4t.errors import suggest
        hint = suggest(field, ["open", "high", "low", "close", "volume", "price", "ts"])
        raise KeyError(f"unknown field {field!r}" + (f"; did you mean {hint!r}?" if hint else ""))


