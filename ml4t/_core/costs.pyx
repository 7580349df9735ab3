"""Built-in transaction cost models: commission and slippage.

Market rules implemented here (pinned by ``golden/basics``):

* Slippage moves the fill price against the trader: a buy pays ``ref + cost``,
  a sell receives ``ref - cost``. It is applied to the reference price the
  matching engine chose (open, close, limit or stop price).
* Commission is computed on the final (slipped) fill price and quantity.
  Models see the order's quantity filled and commission charged before this
  fill, so per-order minimums, maximums and fixed fees stay correct when an
  order fills in several pieces: the charge for a fill is the order's total
  after the fill minus what was already charged.

Users subclass :class:`CommissionModel` or :class:`SlippageModel` in plain
Python and override ``commission`` / ``fill_price``.
"""
from libc.math cimport isfinite, fabs, sqrt, INFINITY, NAN


def _finite_nonneg(name, value):
    v = float(value)
    if not (v == v) or v < 0.0 or v == float("inf"):
        from ml4t.errors import ConfigError
        raise ConfigError(name, value, "a finite number >= 0")
    return v


cdef object _asset_name(object names, int a):
    return None if names is None or a < 0 else names[a]


cdef class CommissionModel:
    """Base class of commission models.

    Subclasses override :meth:`commission`.

    Fill context: while the engine calls the model for a fill, ``self.fill_asset`` (asset
    id), ``self.fill_order`` (order id, as in ``broker.get_order``) and ``self.asset``
    (asset name) say which fill it is; before the first fill they are -1, 0 and None.

    Raises
    ------
    TypeError
        When a subclass does not override ``commission``.
    """

    def __cinit__(self, *args, **kwargs):
        if getattr(type(self), "commission") is getattr(CommissionModel, "commission"):
            raise TypeError(f"{type(self).__name__} must override commission()")
        self.fill_asset = -1
        self.fill_order = 0
        self.asset_names = None

    @property
    def asset(self):
        """Name of the asset of the fill being charged (None before the first fill)."""
        return _asset_name(self.asset_names, self.fill_asset)

    cpdef double commission(self, double qty, double price, double filled_before,
                            double charged_before) except? -1.0:
        """Commission for one fill.

        Parameters
        ----------
        qty : float
            Signed quantity of this fill (positive = buy).
        price : float
            Fill price after slippage.
        filled_before : float
            Absolute quantity of the same order filled before this fill.
        charged_before : float
            Commission already charged to the same order.

        Returns
        -------
        float
            Commission for this fill (>= 0 for every built-in).
        """
        raise NotImplementedError

    def __reduce__(self):
        return (type(self), self._args())

    def _args(self):
        return ()

    def __repr__(self):
        return f"{type(self).__name__}{self._args()!r}"


cdef class NoCommission(CommissionModel):
    """No commission."""

    cpdef double commission(self, double qty, double price, double filled_before,
                            double charged_before) except? -1.0:
        return 0.0


cdef class PerShareCommission(CommissionModel):
    """A fee per share (unit), with an optional per-order minimum and maximum.

    The order's total is ``clip(rate * shares_filled_so_far, minimum, maximum)``;
    each fill pays the increase of that total.

    Parameters
    ----------
    rate : float
        Currency per share, e.g. 0.005.
    minimum : float, default 0
        Minimum commission per order.
    maximum : float or None, default None
        Maximum commission per order (None = no cap).
    """

    def __init__(self, rate, minimum=0.0, maximum=None):
        self.rate = _finite_nonneg("rate", rate)
        self.minimum = _finite_nonneg("minimum", minimum)
        if maximum is None:
            self.maximum = INFINITY
        else:
            self.maximum = _finite_nonneg("maximum", maximum)
            if self.maximum < self.minimum:
                from ml4t.errors import ConfigError
                raise ConfigError("maximum", maximum, f"a value >= minimum ({minimum})")

    def _args(self):
        return (self.rate, self.minimum, None if self.maximum == INFINITY else self.maximum)

    cpdef double commission(self, double qty, double price, double filled_before,
                            double charged_before) except? -1.0:
        cdef double total = self.rate * (fabs(filled_before) + fabs(qty))
        if total < self.minimum:
            total = self.minimum
        if total > self.maximum:
            total = self.maximum
        total -= charged_before
        return total if total > 0.0 else 0.0


cdef class PercentCommission(CommissionModel):
    """A fraction of the fill's notional value, e.g. ``PercentCommission(0.001)`` = 0.1%.

    Parameters
    ----------
    rate : float
        Fraction of ``|qty| * price``.
    """

    def __init__(self, rate):
        self.rate = _finite_nonneg("rate", rate)

    def _args(self):
        return (self.rate,)

    cpdef double commission(self, double qty, double price, double filled_before,
                            double charged_before) except? -1.0:
        return self.rate * fabs(qty) * price


cdef class FixedCommission(CommissionModel):
    """A fixed fee per order, charged on the order's first fill.

    Parameters
    ----------
    amount : float
        Currency per order.
    """

    def __init__(self, amount):
        self.amount = _finite_nonneg("amount", amount)

    def _args(self):
        return (self.amount,)

    cpdef double commission(self, double qty, double price, double filled_before,
                            double charged_before) except? -1.0:
        return self.amount if filled_before == 0.0 else 0.0


cdef class PerAssetCommission(CommissionModel):
    """A commission model per asset: each fill is charged by the model of its asset,
    or by ``default`` for the assets not listed.

    Parameters
    ----------
    models : dict
        Asset name -> :class:`CommissionModel`, e.g.
        ``{"ES": PerShareCommission(2.0), "SPY": PercentCommission(0.0005)}``.
    default : CommissionModel, optional
        For every other asset. Default: :class:`NoCommission`.

    The model charging a fill sees that fill's context (``fill_asset``, ``fill_order``,
    ``asset``) as if it were the run's model. An asset named in ``models`` that is not in
    the run's data is a :class:`~ml4t.errors.ConfigError` when the run starts (a
    misspelt name would otherwise fall back to ``default`` silently).

    Raises
    ------
    ConfigError
        When ``models`` is not a dict of asset names to commission models, or ``default``
        is not a commission model.
    """

    def __init__(self, models, default=None):
        from ml4t.errors import ConfigError
        if not isinstance(models, dict):
            raise ConfigError("models", models, "a dict of asset name -> CommissionModel")
        for name, model in models.items():
            if not isinstance(name, str) or not name:
                raise ConfigError("models", name, "asset names (non-empty strings) as keys")
            if not isinstance(model, CommissionModel):
                raise ConfigError(f"models[{name!r}]", model, "a CommissionModel instance")
        if default is None:
            default = NoCommission()
        elif not isinstance(default, CommissionModel):
            raise ConfigError("default", default, "a CommissionModel instance or None")
        self.models = dict(models)
        self.default = default

    def _args(self):
        return (self.models, self.default)

    def unknown_assets(self, names):
        """The names in ``models`` that are not among ``names`` (sorted)."""
        have = set(names)
        return sorted(n for n in self.models if n not in have)

    cpdef double commission(self, double qty, double price, double filled_before,
                            double charged_before) except? -1.0:
        cdef CommissionModel model = self.default
        cdef object names = self.asset_names
        if names is not None and 0 <= self.fill_asset < len(names):
            model = self.models.get(names[self.fill_asset], self.default)
        model.fill_asset = self.fill_asset
        model.fill_order = self.fill_order
        model.asset_names = names
        return model.commission(qty, price, filled_before, charged_before)


cdef class SlippageModel:
    """Base class of slippage models.

    Subclasses override :meth:`fill_price`.

    Fill context: while the engine calls the model for a fill, ``self.fill_asset`` (asset
    id), ``self.fill_order`` (order id, as in ``broker.get_order``) and ``self.asset``
    (asset name) say which fill it is; before the first fill they are -1, 0 and None.

    Raises
    ------
    TypeError
        When a subclass does not override ``fill_price``.
    """

    def __cinit__(self, *args, **kwargs):
        if (getattr(type(self), "fill_price") is getattr(SlippageModel, "fill_price")
                and getattr(type(self), "fill_price_ctx")
                is getattr(SlippageModel, "fill_price_ctx")):
            raise TypeError(f"{type(self).__name__} must override fill_price()")
        self.volume_limit = NAN
        self.history_window = 0
        self.respect_limit = True
        self.fill_asset = -1
        self.fill_order = 0
        self.asset_names = None

    @property
    def asset(self):
        """Name of the asset of the fill being priced (None before the first fill)."""
        return _asset_name(self.asset_names, self.fill_asset)

    cpdef double fill_price(self, double ref, double qty, double volume) except? -1.0:
        """Price paid or received after slippage.

        Parameters
        ----------
        ref : float
            Reference price chosen by the matching rules.
        qty : float
            Signed fill quantity (positive = buy).
        volume : float
            The bar's volume (NaN when the data has none).

        Returns
        -------
        float
            The fill price (finite and > 0), or NaN to decline this bar: the order
            stays open and is tried again at the next bar (IOC/FOK are canceled).
            Anything else rejects the order with reason ``price_invalid``.

        Notes
        -----
        A limit order never fills beyond its limit unless the model sets
        ``self.respect_limit = False`` (Zipline's default slippage does that).
        """
        raise NotImplementedError

    cpdef double fill_price_ctx(self, double ref, double qty, double volume, double sigma,
                                double adv) except? -1.0:
        """Price after slippage, with point-in-time market context.

        The matching engine calls this method; the default ignores the context
        and calls :meth:`fill_price`. Models that set ``history_window`` > 0 get
        ``sigma`` (standard deviation of the last ``history_window`` daily
        close-to-close returns before the fill bar) and ``adv`` (their average
        volume); otherwise both are NaN.
        """
        return self.fill_price(ref, qty, volume)

    def __reduce__(self):
        return (type(self), self._args())

    def _args(self):
        return ()

    def __repr__(self):
        return f"{type(self).__name__}{self._args()!r}"


cdef class NoSlippage(SlippageModel):
    """Fill at the reference price."""

    cpdef double fill_price(self, double ref, double qty, double volume) except? -1.0:
        return ref


cdef class FixedBpsSlippage(SlippageModel):
    """Move the price by a fixed number of basis points against the trader.

    Parameters
    ----------
    bps : float
        Basis points, e.g. 5 = 0.05%: a buy pays ``ref * 1.0005``.
    """

    def __init__(self, bps):
        self.bps = _finite_nonneg("bps", bps)

    def _args(self):
        return (self.bps,)

    cpdef double fill_price(self, double ref, double qty, double volume) except? -1.0:
        if qty > 0:
            return ref * (1.0 + self.bps * 1e-4)
        return ref * (1.0 - self.bps * 1e-4)


cdef class FixedSpreadSlippage(SlippageModel):
    """Pay half a fixed spread: a buy fills at ``ref + spread/2``, a sell at ``ref - spread/2``.

    Parameters
    ----------
    spread : float
        Full bid-ask spread in price units.
    """

    def __init__(self, spread):
        self.spread = _finite_nonneg("spread", spread)

    def _args(self):
        return (self.spread,)

    cpdef double fill_price(self, double ref, double qty, double volume) except? -1.0:
        if qty > 0:
            return ref + 0.5 * self.spread
        return ref - 0.5 * self.spread


cdef class VolumeShareSlippage(SlippageModel):
    """Price moves with the square of the order's share of the bar's volume.

    ``share = min(|qty| / volume, volume_limit)``; a buy pays
    ``ref * (1 + price_impact * share**2)``, a sell receives
    ``ref * (1 - price_impact * share**2)``. The model also caps each fill at
    ``volume_limit * volume`` (the part above carries over to later bars), as
    Zipline users know it.

    Parameters
    ----------
    volume_limit : float, default 0.025
        Largest fraction of a bar's volume one asset's fills may take.
    price_impact : float, default 0.1
    """

    def __init__(self, volume_limit=0.025, price_impact=0.1):
        v = _finite_nonneg("volume_limit", volume_limit)
        if v <= 0 or v > 1:
            from ml4t.errors import ConfigError
            raise ConfigError("volume_limit", volume_limit, "a fraction in (0, 1]")
        self.volume_limit = v
        self.price_impact = _finite_nonneg("price_impact", price_impact)

    def _args(self):
        return (self.volume_limit, self.price_impact)

    cpdef double fill_price(self, double ref, double qty, double volume) except? -1.0:
        cdef double share
        if not (volume > 0):
            return ref
        share = fabs(qty) / volume
        if share > self.volume_limit:
            share = self.volume_limit
        if qty > 0:
            return ref * (1.0 + self.price_impact * share * share)
        return ref * (1.0 - self.price_impact * share * share)


cdef class SquareRootImpact(SlippageModel):
    """Square-root market impact (the Almgren-Chriss family).

    ``impact = coefficient * sigma * sqrt(|qty| / adv)`` as a fraction of the
    price, where ``sigma`` is the standard deviation of the last ``window``
    daily close-to-close returns and ``adv`` the average volume of those bars,
    both measured before the fill bar (point in time). A buy pays
    ``ref * (1 + impact)``, a sell receives ``ref * (1 - impact)``. With fewer
    than two bars of history (or no volume) there is no impact.

    Parameters
    ----------
    coefficient : float, default 1.0
    window : int, default 20
    """

    def __init__(self, coefficient=1.0, window=20):
        self.coefficient = _finite_nonneg("coefficient", coefficient)
        if not isinstance(window, int) or window < 2:
            from ml4t.errors import ConfigError
            raise ConfigError("window", window, "an integer >= 2")
        self.history_window = window

    def _args(self):
        return (self.coefficient, self.history_window)

    cpdef double fill_price(self, double ref, double qty, double volume) except? -1.0:
        return ref

    cpdef double fill_price_ctx(self, double ref, double qty, double volume, double sigma,
                                double adv) except? -1.0:
        cdef double impact
        if not (sigma >= 0) or not (adv > 0):
            return ref
        impact = self.coefficient * sigma * sqrt(fabs(qty) / adv)
        if qty > 0:
            return ref * (1.0 + impact)
        return ref * (1.0 - impact)
