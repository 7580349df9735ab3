# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled loops of the Backtrader shim's indicators (``compat/backtrader``).

Each function reproduces one loop of the shim's pure-Python indicators with the same
floating-point operations in the same order, so the results are bit-identical to
Backtrader's ``runonce`` computations:

* window sums are exactly rounded (what ``math.fsum`` returns): a window's exact sum is
  kept as non-overlapping partials (Shewchuk's expansion arithmetic), updated by adding
  the new value and the negated leaving one (both exact), then rounded once, correctly;
* maxima and minima follow Python's ``max``/``min`` (the first value is kept unless a
  later one compares greater / smaller, so NaN behaves as in Python);
* recurrences (exponential smoothing, cumulative sums) run the same expression per bar.

The functions return False (and leave ``out`` partly written) when an input value is not
finite or so large that the exact sums could overflow; the caller then runs its Python
loop, which raises or produces NaN exactly as Backtrader would.
"""
from libc.math cimport fabs, isfinite

cdef enum:
    MAXP = 128            # partials of one exact sum (at most ~40 for doubles)
cdef double BIG = 1e300   # values above this could overflow the partial sums


cdef inline int _grow(double *p, int n, double x) noexcept nogil:
    """Add x to the expansion p[0:n] (non-overlapping, increasing magnitude); return the
    new length, or -1 when it would not fit."""
    cdef int i = 0, j
    cdef double y, hi, lo, t
    for j in range(n):
        y = p[j]
        if fabs(x) < fabs(y):
            t = x
            x = y
            y = t
        hi = x + y
        lo = y - (hi - x)
        if lo != 0.0:
            p[i] = lo
            i += 1
        x = hi
    if x != 0.0:
        if i >= MAXP:
            return -1
        p[i] = x
        i += 1
    return i


cdef inline double _round(double *p, int n) noexcept nogil:
    """The correctly rounded value of the expansion p[0:n] (round half to even)."""
    cdef double hi = 0.0, lo = 0.0, x, y, yr
    if n > 0:
        n -= 1
        hi = p[n]
        while n > 0:
            x = hi
            n -= 1
            y = p[n]
            hi = x + y
            yr = hi - x
            lo = y - yr
            if lo != 0.0:
                break
        # half-way case: the remaining partials decide the direction of rounding
        if n > 0 and ((lo < 0.0 and p[n - 1] < 0.0) or (lo > 0.0 and p[n - 1] > 0.0)):
            y = lo * 2.0
            x = hi + y
            yr = x - hi
            if y == yr:
                hi = x
    return hi


cdef inline bint _ok(double x) noexcept nogil:
    return isfinite(x) and fabs(x) <= BIG


cdef _check(str fn, Py_ssize_t n, Py_ssize_t n_out, Py_ssize_t start=0):
    if n_out != n:
        raise ValueError(f"btfast.{fn}: out has {n_out} values, the input {n}")
    if start < 0:
        raise ValueError(f"btfast.{fn}: start must be >= 0, was {start}")


def rolling_fsum(const double[:] src, Py_ssize_t period, Py_ssize_t start, double[:] out,
                 double divisor):
    """``out[i] = fsum(src[i-period+1:i+1]) / divisor`` for i in [start, len(src)).

    ``divisor`` 1.0 leaves the sums as they are (x / 1.0 is exact)."""
    cdef Py_ssize_t n = src.shape[0], i, k
    cdef double p[MAXP]
    cdef int m = 0
    _check("rolling_fsum", n, out.shape[0], start)
    if period < 1:
        return False
    if start < period - 1:
        start = period - 1
    if start >= n:
        return True
    for i in range(start - period + 1, n):
        if not _ok(src[i]):
            return False
    with nogil:
        for k in range(start - period + 1, start + 1):
            m = _grow(p, m, src[k])
            if m < 0:
                break
        if m >= 0:
            out[start] = _round(p, m) / divisor
            for i in range(start + 1, n):
                m = _grow(p, m, src[i])
                if m < 0:
                    break
                m = _grow(p, m, -src[i - period])
                if m < 0:
                    break
                out[i] = _round(p, m) / divisor
    return m >= 0


def weighted_fsum(const double[:] src, const double[:] weights, Py_ssize_t start,
                  double[:] out, double coef):
    """``out[i] = coef * fsum(src[i-p+1+j] * weights[j] for j in range(p))``,
    p = len(weights), for i in [start, len(src))."""
    cdef Py_ssize_t n = src.shape[0], p = weights.shape[0], i, j
    cdef double parts[MAXP]
    cdef double x
    cdef int m = 0
    _check("weighted_fsum", n, out.shape[0], start)
    if p < 1:
        return False
    if start < p - 1:
        start = p - 1
    if start >= n:
        return True
    for i in range(start - p + 1, n):
        if not _ok(src[i]):
            return False
    for j in range(p):
        if not _ok(weights[j]):
            return False
    with nogil:
        for i in range(start, n):
            m = 0
            for j in range(p):
                x = src[i - p + 1 + j] * weights[j]
                if not _ok(x):
                    m = -1
                    break
                m = _grow(parts, m, x)
                if m < 0:
                    break
            if m < 0:
                break
            out[i] = coef * _round(parts, m)
    return m >= 0


def window_max(const double[:] src, Py_ssize_t period, Py_ssize_t start, double[:] out):
    """``out[i] = max(src[i-period+1:i+1])`` with Python's ``max`` (first kept unless a
    later value is greater)."""
    cdef Py_ssize_t n = src.shape[0], i, j
    cdef double cur, x
    _check("window_max", n, out.shape[0], start)
    if period < 1:
        return False
    if start < period - 1:
        start = period - 1
    with nogil:
        for i in range(start, n):
            cur = src[i - period + 1]
            for j in range(i - period + 2, i + 1):
                x = src[j]
                if x > cur:
                    cur = x
            out[i] = cur
    return True


def window_min(const double[:] src, Py_ssize_t period, Py_ssize_t start, double[:] out):
    """``out[i] = min(src[i-period+1:i+1])`` with Python's ``min``."""
    cdef Py_ssize_t n = src.shape[0], i, j
    cdef double cur, x
    _check("window_min", n, out.shape[0], start)
    if period < 1:
        return False
    if start < period - 1:
        start = period - 1
    with nogil:
        for i in range(start, n):
            cur = src[i - period + 1]
            for j in range(i - period + 2, i + 1):
                x = src[j]
                if x < cur:
                    cur = x
            out[i] = cur
    return True


def exp_smooth(const double[:] src, Py_ssize_t start, double prev, double alpha,
               double alpha1, double[:] out):
    """``prev = prev * alpha1 + src[i] * alpha; out[i] = prev`` for i in (start, n)."""
    cdef Py_ssize_t n = src.shape[0], i
    _check("exp_smooth", n, out.shape[0], start)
    with nogil:
        for i in range(start + 1, n):
            prev = prev * alpha1 + src[i] * alpha
            out[i] = prev


def accum(const double[:] src, Py_ssize_t start, double prev, double[:] out):
    """``prev = prev + src[i]; out[i] = prev`` for i in [start, n)."""
    cdef Py_ssize_t n = src.shape[0], i
    _check("accum", n, out.shape[0], start)
    with nogil:
        for i in range(start, n):
            prev = prev + src[i]
            out[i] = prev


def nonzero_diff(const double[:] a, const double[:] b, Py_ssize_t start, double[:] out):
    """``d = a[i] - b[i]``; ``out[i] = d if d else out[i-1]`` from ``start`` (NaN counts
    as non-zero, as in Python)."""
    cdef Py_ssize_t n = a.shape[0], i
    cdef double prev, d
    _check("nonzero_diff", n, out.shape[0], start)
    if b.shape[0] != n:
        raise ValueError(f"btfast.nonzero_diff: b has {b.shape[0]} values, a {n}")
    if start >= n:
        return
    with nogil:
        prev = a[start] - b[start]
        out[start] = prev
        for i in range(start + 1, n):
            d = a[i] - b[i]
            if d != 0.0:           # NaN != 0.0 is true: Python's `d if d else prev`
                prev = d
            out[i] = prev
