"""Order, fill and position snapshots handed to strategies, and the closed sets of names.

Statuses, reasons and order types are lower-case strings in the public API
(``order.status == "filled"``); time in force is upper case (``"GTC"``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ml4t._core import enums as _enums
from ml4t._core.enums import REASON_TEXT

ORDER_TYPES = {e.value: e.name.lower() for e in _enums.OrderType}
STATUSES = {e.value: e.name.lower() for e in _enums.OrderStatus}
REASONS = {e.value: e.name.lower() for e in _enums.Reason}
TIME_IN_FORCE = {e.value: e.name for e in _enums.TimeInForce}
TIF_CODES = {name: code for code, name in TIME_IN_FORCE.items()}
ACTION_NAMES = {e.value: e.name.lower() for e in _enums.ActionKind}
OPEN_STATUSES = ("accepted", "partially_filled")


def _ts(ns: int) -> pd.Timestamp:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC")


def _opt(x: float):
    return None if x is None or math.isnan(x) else float(x)


@dataclass(slots=True)
class Order:
    """Snapshot of an order at one moment (the time of the event that produced it).

    Attributes
    ----------
    id : int
        Order id, counting from 1 in each run.
    asset : str
    qty : float
        Signed quantity ordered (positive = buy).
    filled : float
        Signed quantity filled so far.
    status : str
        One of ``created, submitted, accepted, partially_filled, filled, canceled,
        rejected, expired``.
    type : str
        ``market, limit, stop, stop_limit``.
    time_in_force : str
        ``GTC, DAY, IOC, FOK``.
    limit_price, stop_price : float or None
    reason : str
        Why the order was canceled, rejected or expired (``""`` otherwise).
    reason_text : str
        The reason as a sentence.
    ts, ts_ns : pandas.Timestamp, int
        Time of this snapshot's event (``ts_ns``: ns since the epoch, UTC).
    created, created_ns : pandas.Timestamp, int
        Submission time.
    avg_fill_price : float or None
    commission : float
        Commission charged so far.
    """

    id: int
    asset: str
    qty: float
    filled: float
    status: str
    type: str
    time_in_force: str
    limit_price: float | None
    stop_price: float | None
    reason: str
    reason_text: str
    ts_ns: int
    created_ns: int
    avg_fill_price: float | None
    commission: float

    @property
    def ts(self) -> pd.Timestamp:
        """Time of this snapshot's event (UTC)."""
        return _ts(self.ts_ns)

    @property
    def created(self) -> pd.Timestamp:
        """Submission time (UTC)."""
        return _ts(self.created_ns)

    @property
    def remaining(self) -> float:
        """Signed quantity still to fill."""
        return self.qty - self.filled

    @property
    def is_open(self) -> bool:
        """True while the order can still fill."""
        return self.status in OPEN_STATUSES

    @property
    def is_buy(self) -> bool:
        return self.qty > 0

    @classmethod
    def _from_tuple(cls, t: tuple, asset_name: str, *, ts: int, status: int | None = None,
                    reason: int | None = None, filled: float | None = None) -> "Order":
        (oid, _asset, qty, filled_now, otype, tif, st, rs, limit, stop, created, comm,
         avg) = t
        if status is not None:
            st = status
        if reason is not None:
            rs = reason
        return cls(int(oid), asset_name, qty, filled_now if filled is None else filled,
                   STATUSES[st], ORDER_TYPES[otype], TIME_IN_FORCE[tif],
                   None if limit != limit else limit, None if stop != stop else stop,
                   REASONS[rs] if rs else "", REASON_TEXT[rs], int(ts), int(created),
                   None if avg != avg else avg, comm)


@dataclass(frozen=True)
class ContractSpec:
    """Contract specification of one asset (``Engine(contracts={"ES": ContractSpec(...)})``).

    Parameters
    ----------
    tick_size : float, optional
        Price increment: limit and stop prices are rounded to it, never to a worse
        price (buy limits and sell stops down, sell limits and buy stops up).
    lot_size : float, optional
        Quantity increment: quantities are rounded toward zero to it.
    min_qty : float, default 0
        Orders below this quantity (after rounding) are rejected (``below_min_qty``).
    fractional : bool, optional
        Whether the asset trades in fractions (default: the engine's ``fractional``).
    """

    tick_size: float | None = None
    lot_size: float | None = None
    min_qty: float = 0.0
    fractional: bool | None = None

    def __post_init__(self):
        from ml4t.errors import ConfigError
        for name in ("tick_size", "lot_size"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(name, v, "a finite number > 0 or None")
        if not (isinstance(self.min_qty, (int, float)) and math.isfinite(self.min_qty)
                and self.min_qty >= 0):
            raise ConfigError("min_qty", self.min_qty, "a finite number >= 0")

    def as_args(self):
        nan = math.nan
        return (nan if self.tick_size is None else float(self.tick_size),
                nan if self.lot_size is None else float(self.lot_size),
                float(self.min_qty), self.fractional)


@dataclass(frozen=True)
class Fill:
    """One execution.

    Attributes
    ----------
    order_id : int
    asset : str
    ts, ts_ns : pandas.Timestamp, int
        Time of the fill (``ts_ns``: ns since the epoch, UTC).
    qty : float
        Signed quantity (positive = bought).
    price : float
        Fill price after slippage.
    ref_price : float
        Price the matching rules chose before slippage.
    commission : float
    slippage : float
        Cost of slippage in currency: ``(price - ref_price) * qty`` (>= 0 is a cost).
    realized_pnl : float
        FIFO P&L realised by this fill, before commission.
    """

    order_id: int
    asset: str
    ts_ns: int
    qty: float
    price: float
    ref_price: float
    commission: float
    slippage: float
    realized_pnl: float

    @property
    def ts(self) -> pd.Timestamp:
        """Time of the fill (UTC)."""
        return _ts(self.ts_ns)


@dataclass(frozen=True)
class Position:
    """Holding in one asset at the current time.

    ``bool(position)`` is True when the quantity is non-zero.
    """

    asset: str
    qty: float
    avg_cost: float | None
    price: float | None
    market_value: float
    unrealized_pnl: float

    def __bool__(self) -> bool:
        return self.qty != 0


@dataclass(frozen=True)
class BarEvent:
    """The data event of one slice (given to ``on_event``)."""

    ts: pd.Timestamp
    bars: object
    kind: str = "bar"


@dataclass(frozen=True)
class OrderEvent:
    """An order status change (given to ``on_event``)."""

    order: Order
    kind: str = "order"

    @property
    def ts(self) -> pd.Timestamp:
        return self.order.ts


@dataclass(frozen=True)
class FillEvent:
    """An execution (given to ``on_event``)."""

    fill: Fill
    kind: str = "fill"

    @property
    def ts(self) -> pd.Timestamp:
        return self.fill.ts


@dataclass(frozen=True)
class CorporateActionEvent:
    """A corporate action applied to the portfolio (given to ``on_event``).

    ``action`` is ``split``, ``dividend``, ``dividend_paid`` or ``cash_in_lieu``;
    ``value`` the ratio or the amount per unit; ``qty`` the position it applied
    to; ``cash`` the cash it moved now.
    """

    ts: pd.Timestamp
    asset: str
    action: str
    value: float
    qty: float
    cash: float
    kind: str = "corporate_action"
