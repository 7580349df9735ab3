# Growable typed columns used by the core's logs (fills, orders, portfolio history).
# ``data`` is a raw pointer: index it only below ``n`` (callers check), push() grows it.

cdef class F64Buf:
    cdef double* data
    cdef readonly Py_ssize_t n
    cdef Py_ssize_t cap
    cdef int push(self, double v) except -1
    cdef int _grow(self, Py_ssize_t need) except -1
    cpdef object to_numpy(self)

cdef class I64Buf:
    cdef long long* data
    cdef readonly Py_ssize_t n
    cdef Py_ssize_t cap
    cdef int push(self, long long v) except -1
    cdef int _grow(self, Py_ssize_t need) except -1
    cpdef object to_numpy(self)
