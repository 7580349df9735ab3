# Per-asset bar history: (capacity, n_assets) arrays, rows = the asset's n-th bar.
# Indexed mode (one in-memory batch) stores only each bar's row in the batch arrays;
# copy mode (streamed batches) stores the values.

cdef class History:
    cdef readonly int n_assets
    cdef readonly Py_ssize_t cap
    cdef readonly bint indexed
    cdef readonly object count_np, rows_np, ts_np, open_np, high_np, low_np, close_np, volume_np
    cdef readonly object source                     # the batch indexed mode reads from
    cdef long long[::1] count
    cdef long long[:, ::1] rows
    cdef long long[:, ::1] ts
    cdef double[:, ::1] open, high, low, close, volume
    cdef const double[::1] src_close, src_volume
    cdef int _grow(self, Py_ssize_t need) except -1
    cdef double close_at(self, Py_ssize_t r, int a) noexcept
    cdef double volume_at(self, Py_ssize_t r, int a) noexcept
