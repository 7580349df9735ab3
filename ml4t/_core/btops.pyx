# cython: boundscheck=False, wraparound=False
"""Compiled operators of the Backtrader shim's line objects (``compat/backtrader/lines.py``).

A strategy's ``next()`` compares lines with numbers on every bar (``if self.cross > 0:``).
:func:`series_op` builds the same method as the Python one of ``lines._fast_op(op,
reverse, series=True)``: the same reads (the declaring stage builds a line; while the
backtest runs, the object's first line at its clock's current bar, ``array.item(idx)``)
and the same operation (``operator.lt`` and friends are ``PyObject_RichCompare``), without
the interpreter's per-bytecode cost. The reads take the direct C ways where they exist:
the stage is the context variable's value (``PyContextVar_Get``, what ``var.get()``
returns), ``self.__dict__`` the instance dict (``PyObject_GenericGetDict``, what the
``__dict__`` descriptor returns, without the class's ``__getattr__`` hook), and an exact
``int``/``float`` operand is no line without asking ``isinstance``.
"""
cimport numpy as cnp
from cpython.object cimport (Py_EQ, Py_GE, Py_GT, Py_LE, Py_LT, Py_NE, PyObject,
                             PyObject_GenericGetDict, PyObject_RichCompare)
from cpython.contextvars cimport PyContextVar_Get
from cpython.ref cimport Py_XDECREF

import operator

cnp.import_array()

cdef dict _COMPARE = {operator.lt: Py_LT, operator.le: Py_LE, operator.eq: Py_EQ,
                      operator.ne: Py_NE, operator.gt: Py_GT, operator.ge: Py_GE}


cdef inline object _current(object l0):
    """``l0.array.item(l0._clock._idx)``: read in place from a 1-d float64 array (the
    value ``item`` returns), else by ``item`` itself (its errors included)."""
    arr = l0.array
    idx = l0._clock._idx
    cdef Py_ssize_t i, n
    if (type(idx) is int and cnp.PyArray_CheckExact(arr)
            and cnp.PyArray_TYPE(<cnp.ndarray>arr) == cnp.NPY_DOUBLE
            and cnp.PyArray_NDIM(<cnp.ndarray>arr) == 1):
        n = cnp.PyArray_DIM(<cnp.ndarray>arr, 0)
        try:
            i = idx
        except OverflowError:
            return arr.item(idx)
        if i < 0:
            i += n
        if 0 <= i < n:
            return (<double *>cnp.PyArray_GETPTR1(<cnp.ndarray>arr, i))[0]
    return arr.item(idx)


cdef inline object _stage(object var):
    """``var.get()`` of a context variable."""
    cdef PyObject *value = NULL
    PyContextVar_Get(var, NULL, &value)
    if value is NULL:
        return var.get()                  # (no value and no default: its LookupError)
    out = <object>value
    Py_XDECREF(value)
    return out


def series_op(op, bint reverse, stage, line_root, binary):
    """The operator method of ``LineSeries`` for ``op`` (``reverse``: the reflected one):
    ``binary(self, other, op, reverse)`` while the context variable ``stage`` is 1
    (declaring), else ``op`` on the current values (``other[0]`` for a line)."""
    cdef int code = _COMPARE.get(op, -1)

    def method(self, other):
        if _stage(stage) == 1:
            return binary(self, other, op, reverse)
        if type(other) is not float and type(other) is not int and isinstance(other, line_root):
            other = other[0]
        value = _current(PyObject_GenericGetDict(self, NULL)["_l0"])
        if reverse:
            return PyObject_RichCompare(other, value, code) if code >= 0 else op(other, value)
        return PyObject_RichCompare(value, other, code) if code >= 0 else op(value, other)

    return method
