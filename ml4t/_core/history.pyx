# cython: boundscheck=False, wraparound=False
"""Per-asset history of every bar seen so far, read by point-in-time windows.

Rows are an asset's n-th bar, so halts leave no holes; only rows below an
asset's ``count`` are ever read, which is what keeps windows point in time:
the clock appends a bar when its slice starts, never earlier.

Two storage modes. *Indexed* (data held in memory as one batch): each row
stores the bar's position in the batch arrays, 8 bytes per bar, and windows
read the batch. *Copy* (streamed batches, which are dropped as the clock moves
on): each row stores the bar's values. An indexed history that meets a second
batch copies what it has and continues in copy mode.
"""
import numpy as np

FIELDS = ("open", "high", "low", "close", "volume")


def _grown(arr, cap):
    # rows at or beyond an asset's count are never read, so new rows stay uninitialised
    out = np.empty((cap, arr.shape[1]), dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


cdef class History:
    """Per-asset history of every bar seen so far (rows = the asset's n-th bar).

    Stored as ``(capacity, n_assets)`` arrays that double when full, so a
    window of the last ``n`` bars of one asset is a strided column read.

    Parameters
    ----------
    n_assets : int
    capacity : int
        Initial rows per asset.
    indexed : bool
        Store batch row positions instead of values (see the module docstring).
    """

    def __init__(self, int n_assets, Py_ssize_t capacity=256, bint indexed=False):
        if n_assets < 0:
            raise ValueError(f"n_assets must be >= 0, was {n_assets}")
        self.n_assets = n_assets
        self.cap = max(1, capacity)
        self.indexed = indexed
        self.count_np = np.zeros(n_assets, dtype=np.int64)
        self.count = self.count_np
        self.source = None
        if indexed:
            self.rows_np = np.empty((self.cap, n_assets), dtype=np.int64)
            self.rows = self.rows_np
        else:
            self._alloc_values(self.cap)

    def _alloc_values(self, Py_ssize_t cap):
        n = self.n_assets
        self.ts_np = np.empty((cap, n), dtype=np.int64)
        self.open_np = np.empty((cap, n))
        self.high_np = np.empty((cap, n))
        self.low_np = np.empty((cap, n))
        self.close_np = np.empty((cap, n))
        self.volume_np = np.empty((cap, n))
        self._bind()

    def _bind(self):
        self.ts = self.ts_np
        self.open = self.open_np
        self.high = self.high_np
        self.low = self.low_np
        self.close = self.close_np
        self.volume = self.volume_np

    def bind_source(self, batch):
        """Read windows from ``batch`` (indexed mode). A second, different batch
        switches the history to copy mode first."""
        if not self.indexed:
            return
        if self.source is not None and batch is not self.source:
            self.materialize()
            return
        self.source = batch
        self.src_close = np.ascontiguousarray(batch.close, dtype=np.float64)
        self.src_volume = np.ascontiguousarray(batch.volume, dtype=np.float64)

    def materialize(self):
        """Copy the values of every stored row out of the source batch (-> copy mode)."""
        if not self.indexed:
            return
        rows = self.rows_np
        self._alloc_values(self.cap)
        if self.source is not None:
            for a in range(self.n_assets):
                c = int(self.count_np[a])
                if c:
                    r = rows[:c, a]
                    self.ts_np[:c, a] = np.asarray(self.source.ts)[r]
                    for f in FIELDS:
                        getattr(self, f + "_np")[:c, a] = np.asarray(getattr(self.source, f))[r]
        self.indexed = False
        self.rows_np = None
        self.source = None

    cdef int _grow(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap = self.cap
        while cap < need:
            cap *= 2
        if self.indexed:
            self.rows_np = _grown(self.rows_np, cap)
            self.rows = self.rows_np
        else:
            self.ts_np = _grown(self.ts_np, cap)
            self.open_np = _grown(self.open_np, cap)
            self.high_np = _grown(self.high_np, cap)
            self.low_np = _grown(self.low_np, cap)
            self.close_np = _grown(self.close_np, cap)
            self.volume_np = _grown(self.volume_np, cap)
            self._bind()
        self.cap = cap
        return 0

    cdef double close_at(self, Py_ssize_t r, int a) noexcept:
        if self.indexed:
            return self.src_close[self.rows[r, a]]
        return self.close[r, a]

    cdef double volume_at(self, Py_ssize_t r, int a) noexcept:
        if self.indexed:
            return self.src_volume[self.rows[r, a]]
        return self.volume[r, a]

    def _test_fill(self, assets):
        """Append one bar per entry of ``assets`` (row j of the source) - for tests."""
        cdef Py_ssize_t j, cnt
        cdef int a
        for j in range(len(assets)):
            a = assets[j]
            if a < 0 or a >= self.n_assets:
                raise IndexError(f"asset id {a} out of range")
            cnt = self.count[a]
            if cnt == self.cap:
                self._grow(cnt + 1)
            if self.indexed:
                self.rows[cnt, a] = j
            else:
                self.ts[cnt, a] = self.source.ts[j]
                self.close[cnt, a] = self.source.close[j]
            self.count[a] = cnt + 1

    def value(self, str field, Py_ssize_t r, int asset):
        """Value of ``field`` in row ``r`` of ``asset`` (bounds-checked)."""
        if asset < 0 or asset >= self.n_assets:
            raise IndexError(f"asset id {asset} out of range [0, {self.n_assets})")
        if r < 0 or r >= self.count[asset]:
            raise IndexError(f"row {r} out of range [0, {self.count[asset]})")
        return self.window_range(asset, field, r, r + 1)[0]

    def window_range(self, int asset, str field, Py_ssize_t start, Py_ssize_t end):
        """Copy of rows ``start .. end-1`` of ``field`` for ``asset`` (caller checks bounds)."""
        name = self._name(field)
        if self.indexed:
            idx = self.rows_np[start:end, asset]
            return np.asarray(getattr(self.source, name))[idx]
        return np.array(getattr(self, name + "_np")[start:end, asset])

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
        cdef Py_ssize_t end = self.count[asset]
        cdef Py_ssize_t start = end - n if end > n else 0
        return self.window_range(asset, field, start, end)

    def _name(self, str field):
        if field == "close" or field == "price":
            return "close"
        if field in ("open", "high", "low", "volume", "ts"):
            return field
        from ml4t.errors import suggest
        hint = suggest(field, ["open", "high", "low", "close", "volume", "price", "ts"])
        raise KeyError(f"unknown field {field!r}" + (f"; did you mean {hint!r}?" if hint else ""))
