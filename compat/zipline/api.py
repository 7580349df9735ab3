"""``ml4t.compat.zipline.api``: Zipline's algorithm API as free functions.

Each function acts on the algorithm of the run in progress, found in a
``contextvars.ContextVar`` set by ``run_algorithm`` (no frame inspection, nothing
injected at import). Called outside a run they raise ``RuntimeError``.
"""
from __future__ import annotations

from ml4t.compat.zipline.algorithm import current_algorithm as _algo
from ml4t.compat.zipline.finance import cancel_policy, commission, execution, slippage
from ml4t.compat.zipline.finance.asset_restrictions import (RESTRICTION_STATES,
                                                            HistoricalRestrictions, Restriction,
                                                            StaticRestrictions)
from ml4t.compat.zipline.finance.cancel_policy import EODCancel, NeverCancel
from ml4t.compat.zipline.finance.execution import (LimitOrder, MarketOrder, StopLimitOrder,
                                                   StopOrder)
from ml4t.compat.zipline.finance.slippage import (FixedBasisPointsSlippage, FixedSlippage,
                                                  VolumeShareSlippage)
from ml4t.compat.zipline.utils import events
from ml4t.compat.zipline.utils.events import calendars, date_rules, time_rules

__all__ = [
    "order", "order_value", "order_percent", "order_target", "order_target_value",
    "order_target_percent", "batch_market_order", "symbol", "symbols", "sid", "record",
    "schedule_function", "date_rules", "time_rules", "calendars", "get_open_orders",
    "get_order", "cancel_order", "get_datetime", "get_environment", "set_commission",
    "set_slippage", "set_benchmark", "set_long_only", "set_max_leverage",
    "set_max_position_size", "set_max_order_size", "set_max_order_count",
    "set_do_not_order_list", "set_cancel_policy", "set_symbol_lookup_date", "commission",
    "slippage", "execution", "cancel_policy", "events", "EODCancel", "NeverCancel",
    "FixedSlippage", "FixedBasisPointsSlippage", "VolumeShareSlippage", "MarketOrder",
    "LimitOrder", "StopOrder", "StopLimitOrder", "attach_pipeline", "pipeline_output",
    "set_asset_restrictions", "set_min_leverage", "StaticRestrictions",
    "HistoricalRestrictions", "Restriction", "RESTRICTION_STATES",
]


def order(asset, amount, limit_price=None, stop_price=None, style=None):
    """Order ``amount`` shares of ``asset`` (negative sells); return the order id or None.

    ``amount`` is truncated toward zero unless within 1e-4 of an integer; ``limit_price``
    / ``stop_price`` (or ``style``) are rounded to the cent in the order's favour.
    """
    return _algo().order(asset, amount, limit_price, stop_price, style)


def order_value(asset, value, limit_price=None, stop_price=None, style=None):
    """Order ``value`` dollars of ``asset`` at the current close."""
    return _algo().order_value(asset, value, limit_price, stop_price, style)


def order_percent(asset, percent, limit_price=None, stop_price=None, style=None):
    """Order ``percent`` (0.1 = 10%) of the portfolio value in ``asset``."""
    return _algo().order_percent(asset, percent, limit_price, stop_price, style)


def order_target(asset, target, limit_price=None, stop_price=None, style=None):
    """Order what it takes to hold ``target`` shares (open orders are not counted)."""
    return _algo().order_target(asset, target, limit_price, stop_price, style)


def order_target_value(asset, target, limit_price=None, stop_price=None, style=None):
    """Order what it takes to hold ``target`` dollars of ``asset``."""
    return _algo().order_target_value(asset, target, limit_price, stop_price, style)


def order_target_percent(asset, target, limit_price=None, stop_price=None, style=None):
    """Order what it takes for ``asset`` to be ``target`` (a fraction) of the portfolio."""
    return _algo().order_target_percent(asset, target, limit_price, stop_price, style)


def batch_market_order(share_counts):
    """Place a market order for each ``{asset: shares}`` entry; return the ids."""
    return _algo().batch_market_order(share_counts)


def symbol(symbol_str, country_code=None):
    """The Equity with this ticker (raises ``SymbolNotFound`` with suggestions)."""
    return _algo().symbol(symbol_str, country_code)


def symbols(*args, **kwargs):
    """A list of Equities by ticker."""
    return _algo().symbols(*args, **kwargs)


def sid(sid):
    """The asset with this integer id (raises ``SidsNotFound``)."""
    return _algo().sid(sid)


def record(*args, **kwargs):
    """Record values (``record(x=1)`` or ``record("x", 1)``) as perf columns."""
    return _algo().record(*args, **kwargs)


def schedule_function(func, date_rule=None, time_rule=None, half_days=True, calendar=None):
    """Run ``func(context, data)`` after ``handle_data`` on the sessions of ``date_rule``."""
    return _algo().schedule_function(func, date_rule, time_rule, half_days, calendar)


def get_open_orders(asset=None):
    """Open orders: ``{asset: [order, ...]}``, or the list for one asset."""
    return _algo().get_open_orders(asset)


def get_order(order_id):
    """The order with this id."""
    return _algo().get_order(order_id)


def cancel_order(order_param):
    """Cancel an order (id or order object)."""
    return _algo().cancel_order(order_param)


def get_datetime(tz=None):
    """The current simulation time (UTC, or converted to ``tz``)."""
    return _algo().get_datetime(tz)


def get_environment(field="platform"):
    """``arena``, ``data_frequency``, ``start``, ``end``, ``capital_base``, ``platform`` or ``*``."""
    return _algo().get_environment(field)


def set_commission(us_equities=None, us_futures=None):
    """Set the commission model (in ``initialize`` only)."""
    return _algo().set_commission(us_equities, us_futures)


def set_slippage(us_equities=None, us_futures=None):
    """Set the slippage model (in ``initialize`` only)."""
    return _algo().set_slippage(us_equities, us_futures)


def set_benchmark(benchmark):
    """Use ``benchmark``'s daily returns for alpha, beta and benchmark columns."""
    return _algo().set_benchmark(benchmark)


def set_cancel_policy(cancel_policy):
    """Only ``NeverCancel`` (Zipline's daily default) is supported."""
    return _algo().set_cancel_policy(cancel_policy)


def set_symbol_lookup_date(dt):
    """Accepted for compatibility (bundles here have one asset per ticker)."""
    return _algo().set_symbol_lookup_date(dt)


def set_long_only(on_error="fail"):
    """Refuse orders that would leave a short position."""
    return _algo().set_long_only(on_error)


def set_max_leverage(max_leverage):
    """Fail the run if account leverage at a session's end exceeds ``max_leverage``."""
    return _algo().set_max_leverage(max_leverage)


def set_max_position_size(asset=None, max_shares=None, max_notional=None, on_error="fail"):
    """Refuse orders that would make a position exceed these limits."""
    return _algo().set_max_position_size(asset, max_shares, max_notional, on_error)


def set_max_order_size(asset=None, max_shares=None, max_notional=None, on_error="fail"):
    """Refuse single orders above these limits."""
    return _algo().set_max_order_size(asset, max_shares, max_notional, on_error)


def set_max_order_count(max_count, on_error="fail"):
    """Refuse more than ``max_count`` orders per day."""
    return _algo().set_max_order_count(max_count, on_error)


def set_do_not_order_list(restricted_list, on_error="fail"):
    """Refuse orders in these assets (``data.can_trade`` is False for them)."""
    return _algo().set_do_not_order_list(restricted_list, on_error)


def set_asset_restrictions(restrictions, on_error="fail"):
    """Refuse orders in assets restricted by ``restrictions`` (``StaticRestrictions``,
    ``HistoricalRestrictions``) and make ``data.can_trade`` False for them."""
    return _algo().set_asset_restrictions(restrictions, on_error)


def set_min_leverage(min_leverage, grace_period):
    """After ``grace_period`` (a ``pandas.Timedelta``) from the first session, leverage at
    each session's end must be at least ``min_leverage``."""
    return _algo().set_min_leverage(min_leverage, grace_period)


def attach_pipeline(pipeline, name, chunks=None, eager=True):
    """Register a ``Pipeline`` under ``name`` (``initialize`` only); returns it."""
    return _algo().attach_pipeline(pipeline, name, chunks, eager)


def pipeline_output(name):
    """Today's output of the pipeline ``name``: a DataFrame indexed by asset."""
    return _algo().pipeline_output(name)
