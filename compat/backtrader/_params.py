"""Class machinery shared by strategies, indicators, feeds, analyzers and sizers.

Backtrader declares parameters and lines as class attributes (``params = (("period",
20),)``, ``lines = ("sma",)``) and merges them along the inheritance chain with a
metaclass. Here ``__init_subclass__`` does the merging, and the constructor of each
family takes its parameters out of the keyword arguments before the user's
``__init__`` runs:

* ``__new__`` (``_bt_new``) builds ``self.p`` / ``self.params`` and stores what is left of
  the arguments;
* every ``__init__`` defined in a subclass is wrapped once, at class creation, so that the
  outermost call runs the user's ``__init__`` with the leftover arguments and then the
  family's ``_bt_postinit`` hook. Inner ``super().__init__()`` calls pass straight through.

Ownership (which strategy or indicator an indicator belongs to) is found through the
context variable ``OWNER``, set while an owner's ``__init__`` runs; no stack frames are
inspected.
"""
from __future__ import annotations

import contextvars
import functools
from collections import OrderedDict

# the object (strategy, indicator, analyzer) whose __init__ is running
OWNER: contextvars.ContextVar = contextvars.ContextVar("ml4t_bt_owner", default=None)
# 1 while strategies and indicators are being declared (line operations build lines),
# 2 while the backtest runs (line operations compare current values)
STAGE: contextvars.ContextVar = contextvars.ContextVar("ml4t_bt_stage", default=2)


def _pairs(spec, where):
    """Normalise a ``params`` declaration into (name, default) pairs."""
    if spec is None:
        return []
    if isinstance(spec, type) and issubclass(spec, ParamsBase):
        return list(spec._defaults.items())
    if isinstance(spec, dict):
        return list(spec.items())
    out = []
    for item in spec:
        if isinstance(item, str):
            out.append((item, None))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
            out.append((item[0], item[1]))
        else:
            raise TypeError(f"{where}: params must be a dict or a sequence of (name, default) "
                            f"pairs, got the item {item!r}")
    return out


class ParamsBase:
    """Parameters of one object: attributes ``self.p.<name>``.

    The class of each parameter set is built by :func:`make_params_class`; its
    ``_defaults`` hold the declared defaults in declaration order.
    """

    _defaults: "OrderedDict[str, object]" = OrderedDict()
    _plain_defaults: dict = {}

    def __init__(self, **values):
        # the defaults are class attributes (make_params_class); an instance keeps only
        # the values it was given, so a parameter set costs one dict update
        if values:
            defaults = self._defaults
            unknown = [k for k in values if k not in defaults]
            if unknown:
                raise TypeError(f"unknown parameters {sorted(unknown)}")
            self.__dict__.update(values)

    def _merged(self) -> dict:
        """Every parameter's value by name (the defaults updated with what was set)."""
        out = self._plain_defaults.copy()
        out.update(self.__dict__)
        return out

    # Backtrader's introspection helpers
    @classmethod
    def _getpairs(cls):
        return OrderedDict(cls._defaults)

    @classmethod
    def _getkeys(cls):
        return list(cls._defaults)

    @classmethod
    def _getdefaults(cls):
        return list(cls._defaults.values())

    @classmethod
    def _gettuple(cls):
        return tuple(cls._defaults.items())

    def _getitems(self):
        return [(k, getattr(self, k)) for k in self._defaults]

    def _getvalues(self):
        return [getattr(self, k) for k in self._defaults]

    def _getkwargs(self):
        return OrderedDict(self._getitems())

    def isdefault(self, name):
        return getattr(self, name) == self._defaults[name]

    def notdefault(self, name):
        return not self.isdefault(name)

    def __repr__(self):
        inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._defaults)
        return f"Params({inner})"


def make_params_class(owner_name: str, bases_defaults, spec) -> type:
    defaults = OrderedDict()
    for base in bases_defaults:
        defaults.update(base)
    defaults.update(_pairs(spec, owner_name))
    attrs = {"_defaults": defaults, "_plain_defaults": dict(defaults)}
    attrs.update(defaults)
    return type(f"{owner_name}Params", (ParamsBase,), attrs)


def merge_names(bases, own, attr) -> tuple:
    names = []
    for base in bases:
        for n in getattr(base, attr, ()):
            if n not in names:
                names.append(n)
    for n in own or ():
        if n not in names:
            names.append(n)
    return tuple(names)


class InfoDict(dict):
    """``plotinfo`` / ``plotlines`` holder: a dict with attribute access."""

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        return self.get(key)

    def __setattr__(self, key, value):
        self[key] = value

    def _get(self, key, default=None):
        return self.get(key, default)


def wrap_init(init):
    """Wrap a subclass ``__init__`` so the outermost call gets the leftover arguments."""
    if getattr(init, "_bt_wrapped", False):
        return init

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        pending = self.__dict__.pop("_bt_pending", None)
        if pending is None:
            return init(self, *args, **kwargs)
        self._bt_outer_init(init, *pending)
        return None

    __init__._bt_wrapped = True
    return __init__


class ParamsHolder:
    """Base of every family: merges ``params``/``plotinfo`` and wraps ``__init__``."""

    params = make_params_class("Base", [], ())
    plotinfo: dict = {}
    plotlines: dict = {}
    alias: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        raw = cls.__dict__.get("params")
        parents = [b.params._defaults for b in reversed(cls.__mro__[1:])
                   if isinstance(b.__dict__.get("params"), type)]
        if raw is None or not (isinstance(raw, type) and issubclass(raw, ParamsBase)):
            cls.params = make_params_class(cls.__name__, parents, raw)
        for name in ("plotinfo", "plotlines"):
            merged = {}
            for b in reversed(cls.__mro__):
                d = b.__dict__.get(name)
                if isinstance(d, dict):
                    for k, v in d.items():
                        if isinstance(v, dict) and isinstance(merged.get(k), dict):
                            merged[k] = {**merged[k], **v}
                        else:
                            merged[k] = v
            setattr(cls, "_" + name + "_merged", merged)
        if "__init__" in cls.__dict__:
            cls.__init__ = wrap_init(cls.__dict__["__init__"])

    def _bt_make_params(self, kwargs: dict) -> dict:
        """Take this class's parameters out of ``kwargs``; return the rest."""
        cls = type(self)
        values = {}
        rest = {}
        for k, v in kwargs.items():
            if k in cls.params._defaults:
                values[k] = v
            else:
                rest[k] = v
        self.params = self.p = cls.params(**values)
        self.plotinfo = InfoDict(cls._plotinfo_merged) if hasattr(cls, "_plotinfo_merged") \
            else InfoDict()
        self.plotlines = InfoDict(getattr(cls, "_plotlines_merged", {}))
        return rest

    def _bt_outer_init(self, init, args, kwargs):
        """Run the user's ``__init__`` (the outermost one) and the post-init hook."""
        init(self, *args, **kwargs)
        self._bt_postinit()

    def _bt_postinit(self):
        """Runs after the outermost ``__init__`` of the object returns."""


ParamsHolder.__init__ = wrap_init(lambda self, *a, **k: None)


def run_declaring(owner, init, args, kwargs) -> None:
    """Run ``init(owner, *args, **kwargs)`` as the declaration stage of ``owner``: lines and
    indicators created meanwhile find ``owner`` through ``OWNER`` and attach to it."""
    tok_owner = OWNER.set(owner)
    tok_stage = STAGE.set(1)
    try:
        init(owner, *args, **kwargs)
    finally:
        OWNER.reset(tok_owner)
        STAGE.reset(tok_stage)
