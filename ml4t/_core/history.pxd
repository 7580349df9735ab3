# Per-asset bar history: (capacity, n_assets) arrays, rows = the asset's n-th bar.

cdef class History:
    cdef readonly int n_assets
    cdef readonly Py_ssize_t cap
    cdef readonly object count_np, ts_np, open_np, high_np, low_np, close_np, volume_np
    cdef long long[::1] count
    cdef long long[:, ::1] ts
    cdef double[:, ::1] open, high, low, close, volume
    cdef int _grow(self, Py_ssize_t need) except -1

