"""Read-only views handed to the algorithm: ``Portfolio``, ``Account``, ``Position(s)``.

They are snapshots built from the native engine's ledger (cash, quantities) and the
bundle's prices at the moment the algorithm asks; assigning to them raises, as in
Zipline.
"""
from __future__ import annotations

import pandas as pd

from ml4t.compat.zipline._bardata import BarData  # noqa: F401  (zipline.protocol.BarData)
from ml4t.compat.zipline.assets import Asset

__all__ = ["Portfolio", "Account", "Position", "Positions", "BarData"]


class _Frozen:
    __slots__ = ()

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot mutate {type(self).__name__} objects")

    def _set(self, **values):
        for k, v in values.items():
            object.__setattr__(self, k, v)


class Position(_Frozen):
    """One holding: ``asset, amount, cost_basis, last_sale_price, last_sale_date``."""

    __slots__ = ("asset", "amount", "cost_basis", "last_sale_price", "last_sale_date")

    def __init__(self, asset, amount=0, cost_basis=0.0, last_sale_price=0.0,
                 last_sale_date=None):
        # (one per held asset each time the portfolio is looked at: no keyword dict)
        setattr_ = object.__setattr__
        setattr_(self, "asset", asset)
        setattr_(self, "amount", amount)
        setattr_(self, "cost_basis", cost_basis)
        setattr_(self, "last_sale_price", last_sale_price)
        setattr_(self, "last_sale_date", last_sale_date)

    @property
    def sid(self):
        return self.asset

    def to_dict(self) -> dict:
        return {"sid": self.asset, "amount": self.amount, "cost_basis": self.cost_basis,
                "last_sale_price": self.last_sale_price}

    def __repr__(self):
        return "Position(%r)" % {k: getattr(self, k) for k in self.__slots__}


class Positions(dict):
    """Positions by asset; a missing asset gives an empty ``Position``."""

    def __missing__(self, key):
        if isinstance(key, Asset):
            return Position(key)
        raise ValueError(f"positions are keyed by Asset objects, got {type(key).__name__}")


class Portfolio(_Frozen):
    """The account as Zipline shows it.

    Attributes
    ----------
    cash, portfolio_value, positions_value, positions_exposure, pnl, returns,
    starting_cash, capital_used (= cash_flow), start_date, positions
    """

    __slots__ = ("cash_flow", "starting_cash", "portfolio_value", "pnl", "returns", "cash",
                 "positions", "start_date", "positions_value", "positions_exposure")

    def __init__(self, **values):
        self._set(**values)

    @property
    def capital_used(self) -> float:
        return self.cash_flow

    @property
    def current_portfolio_weights(self) -> pd.Series:
        values = pd.Series({a: p.last_sale_price * p.amount * a.price_multiplier
                            for a, p in self.positions.items()}, dtype=float)
        return values / self.portfolio_value

    def __repr__(self):
        return "Portfolio(%r)" % {k: getattr(self, k) for k in self.__slots__}


class Account(_Frozen):
    """Margin-style account fields (Zipline's backtest values: buying power is infinite)."""

    __slots__ = ("settled_cash", "accrued_interest", "buying_power", "equity_with_loan",
                 "total_positions_value", "total_positions_exposure", "regt_equity",
                 "regt_margin", "initial_margin_requirement", "maintenance_margin_requirement",
                 "available_funds", "excess_liquidity", "cushion", "day_trades_remaining",
                 "leverage", "net_leverage", "net_liquidation", "gross_leverage")

    def __init__(self, **values):
        self._set(**values)

    def __repr__(self):
        return "Account(%r)" % {k: getattr(self, k) for k in self.__slots__}

