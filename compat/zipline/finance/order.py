"""Zipline-shaped order records kept by the shim next to the native orders.

The native engine owns every order (matching, fills, status); the shim keeps one
``Order`` per Zipline order id so that ``get_order``, ``get_open_orders`` and the
``orders`` column of the perf frame show Zipline's fields (``amount``, ``filled``,
``commission``, ``stop``, ``limit``, ``stop_reached``, ``limit_reached``, ``dt``,
``created``, ``status``). Ids are 32 hex digits counting up from 1 in each run.
"""
from __future__ import annotations

import math
from enum import IntEnum

__all__ = ["ORDER_STATUS", "Order"]

ORDER_STATUS = IntEnum("ORDER_STATUS", ["OPEN", "FILLED", "CANCELLED", "REJECTED", "HELD"],
                       start=0)


class _Snapshot:
    """Attribute view of an order's dict (what ``get_order`` returns)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)

    def keys(self):
        return self.__dict__.keys()

    def __contains__(self, name):
        return name in self.__dict__

    def __eq__(self, other):
        return isinstance(other, _Snapshot) and self.__dict__ == other.__dict__

    def __repr__(self):
        return f"Order({self.__dict__})"


class Order:
    """One Zipline order as the algorithm sees it.

    Attributes
    ----------
    id : str
    asset : Equity
    amount, filled : int
        Ordered and filled shares (signed).
    commission : float
    stop, limit : float or None
    stop_reached, limit_reached : bool
    dt, created : pandas.Timestamp
    status : ORDER_STATUS
    """

    __slots__ = ("id", "dt", "reason", "created", "asset", "amount", "filled", "commission",
                 "_status", "stop", "limit", "stop_reached", "limit_reached", "direction",
                 "engine_id")

    def __init__(self, id: str, dt, asset, amount: int, stop=None, limit=None):
        self.id = id
        self.dt = dt
        self.reason = None
        self.created = dt
        self.asset = asset
        self.amount = amount
        self.filled = 0
        self.commission = 0
        self._status = ORDER_STATUS.OPEN
        self.stop = stop
        self.limit = limit
        self.stop_reached = False
        self.limit_reached = False
        self.direction = math.copysign(1, amount)
        self.engine_id = 0

    @property
    def sid(self):
        return self.asset

    @property
    def open_amount(self) -> int:
        return self.amount - self.filled

    @property
    def status(self) -> ORDER_STATUS:
        if not self.open_amount:
            return ORDER_STATUS.FILLED
        return self._status

    @property
    def open(self) -> bool:
        return self.status in (ORDER_STATUS.OPEN, ORDER_STATUS.HELD)

    @property
    def triggered(self) -> bool:
        if self.stop is not None and not self.stop_reached:
            return False
        if self.limit is not None and not self.limit_reached:
            return False
        return True

    def check_triggers(self, price: float, dt) -> None:
        """Update ``stop_reached``/``limit_reached`` from the close, as Zipline reports them.

        These flags are for display; the native engine decides the fills.
        """
        if self.triggered:
            return
        buy = self.amount > 0
        stop_hit = limit_hit = stop_limit_hit = False
        if self.stop is not None and self.limit is not None:
            if (buy and price >= self.stop) or (not buy and price <= self.stop):
                stop_limit_hit = True
                if (buy and price <= self.limit) or (not buy and price >= self.limit):
                    limit_hit = True
        elif self.stop is not None:
            stop_hit = (buy and price >= self.stop) or (not buy and price <= self.stop)
        elif self.limit is not None:
            limit_hit = (buy and price <= self.limit) or (not buy and price >= self.limit)
        if (stop_hit, limit_hit) != (self.stop_reached, self.limit_reached):
            self.dt = dt
        self.stop_reached = stop_hit
        self.limit_reached = limit_hit
        if stop_limit_hit:
            self.stop = None            # a triggered stop-limit is a plain limit order

    def to_dict(self) -> dict:
        """Zipline's order dict (the ``orders`` column of the perf frame)."""
        return {"id": self.id, "dt": self.dt, "reason": self.reason, "created": self.created,
                "amount": self.amount, "filled": self.filled, "commission": self.commission,
                "stop": self.stop, "limit": self.limit, "stop_reached": self.stop_reached,
                "limit_reached": self.limit_reached, "sid": self.asset, "status": self.status}

    def to_api_obj(self) -> _Snapshot:
        return _Snapshot(self.to_dict())

    def __repr__(self):
        return f"Order({self.to_dict()})"
