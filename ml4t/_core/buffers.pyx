# cython: boundscheck=False, wraparound=False
"""Growable typed columns (append-only logs) for the compiled core.

Each buffer owns a ``malloc`` block that doubles when full, so appending a row
costs a store and, rarely, a ``realloc``. ``to_numpy`` copies the first ``n``
values into a fresh array when a result table is built.
"""
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy
import numpy as np

cdef enum:
    START_CAP = 64

cdef extern from *:
    """
    #ifndef ML4T_CYTHON_VERSION
    #define ML4T_CYTHON_VERSION "unknown"
    #endif
    """
    const char* ML4T_CYTHON_VERSION

#: Version of Cython that compiled the core (recorded in run manifests).
CYTHON_VERSION = ML4T_CYTHON_VERSION.decode()


cdef class F64Buf:
    def __cinit__(self):
        self.n = 0
        self.cap = START_CAP
        self.data = <double*> malloc(self.cap * sizeof(double))
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.data)

    cdef int _grow(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap = self.cap
        while cap < need:
            cap *= 2
        cdef double* p = <double*> realloc(self.data, cap * sizeof(double))
        if p == NULL:
            raise MemoryError()
        self.data = p
        self.cap = cap
        return 0

    cdef int push(self, double v) except -1:
        if self.n == self.cap:
            self._grow(self.n + 1)
        self.data[self.n] = v
        self.n += 1
        return 0

    cpdef object to_numpy(self):
        out = np.empty(self.n, dtype=np.float64)
        cdef double[::1] view = out
        if self.n:
            memcpy(&view[0], self.data, self.n * sizeof(double))
        return out

    def __len__(self):
        return self.n

    def get(self, Py_ssize_t i):
        """Value at row ``i`` (bounds-checked)."""
        _check_index(i, self.n)
        return self.data[i]


cdef class I64Buf:
    def __cinit__(self):
        self.n = 0
        self.cap = START_CAP
        self.data = <long long*> malloc(self.cap * sizeof(long long))
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.data)

    cdef int _grow(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap = self.cap
        while cap < need:
            cap *= 2
        cdef long long* p = <long long*> realloc(self.data, cap * sizeof(long long))
        if p == NULL:
            raise MemoryError()
        self.data = p
        self.cap = cap
        return 0

    cdef int push(self, long long v) except -1:
        if self.n == self.cap:
            self._grow(self.n + 1)
        self.data[self.n] = v
        self.n += 1
        return 0

    cpdef object to_numpy(self):
        out = np.empty(self.n, dtype=np.int64)
        cdef long long[::1] view = out
        if self.n:
            memcpy(&view[0], self.data, self.n * sizeof(long long))
        return out

    def __len__(self):
        return self.n

    def get(self, Py_ssize_t i):
        """Value at row ``i`` (bounds-checked)."""
        _check_index(i, self.n)
        return self.data[i]


def _check_index(Py_ssize_t i, Py_ssize_t n):
    if i < 0 or i >= n:
        raise IndexError(f"index {i} out of range [0, {n})")
