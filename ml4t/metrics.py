"""Performance metrics: empyrical-reloaded on daily returns, plus trade statistics.

Daily returns are taken from the NAV at the end of each session (the last
recorded row of each exchange-local date), so intraday runs and daily runs
report on the same basis. Deposits and withdrawals (the portfolio's ``cash_flow``
column) are not returns: a session's flows come off its closing NAV, and the total
return is then the compounded (time-weighted) one. Annualisation uses 252 sessions a
year.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

_TZ = {"XNYS": "America/New_York", "XNAS": "America/New_York"}


def daily_returns(portfolio: pd.DataFrame, starting_cash: float, calendar: str | None) -> pd.Series:
    """Session-end NAV returns, the first one measured from the starting cash, net of
    the session's deposits and withdrawals."""
    if portfolio.empty:
        return pd.Series(dtype=float)
    nav = portfolio["nav"]
    tz = _calendar_tz(calendar)
    local = nav.index.tz_convert(tz) if tz else nav.index
    day = local.normalize().tz_localize(None)
    sess = nav.groupby(day).last()
    prev = np.concatenate([[starting_cash], sess.values[:-1]])
    end = sess.values
    if "cash_flow" in portfolio:
        end = end - portfolio["cash_flow"].groupby(day).sum().to_numpy()
    out = pd.Series(end / prev - 1.0, index=pd.DatetimeIndex(sess.index).tz_localize("UTC"))
    out.index.name = "session"
    return out


def _calendar_tz(calendar):
    if calendar is None:
        return None
    if calendar in _TZ:
        return _TZ[calendar]
    from ml4t.calendars import calendar_tz

    try:
        return calendar_tz(calendar)
    except LookupError:  # an unknown calendar name was already rejected by the loader
        return None


def _f(x) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return math.nan
    return x


def compute_metrics(portfolio: pd.DataFrame, trades: pd.DataFrame, starting_cash: float,
                    calendar: str | None = "XNYS") -> dict:
    """Return/risk metrics from empyrical and trade statistics.

    Returns
    -------
    dict
        ``starting_cash, final_value, total_return, annual_return,
        annual_volatility, sharpe_ratio, sortino_ratio, calmar_ratio,
        max_drawdown, commission, trade_count, win_rate, profit_factor,
        avg_win, avg_loss, sessions``.
    """
    import empyrical as ep

    r = daily_returns(portfolio, starting_cash, calendar)
    final = float(portfolio["nav"].iloc[-1]) if len(portfolio) else float(starting_cash)
    out = {
        "starting_cash": float(starting_cash),
        "final_value": final,
        "total_return": final / starting_cash - 1.0,
        "sessions": int(len(r)),
        "commission": float(portfolio["commission"].iloc[-1]) if len(portfolio) else 0.0,
    }
    if "cash_flow" in portfolio:          # deposits/withdrawals: time-weighted return
        out["total_return"] = float(np.prod(1.0 + r.to_numpy()) - 1.0)
        out["net_cash_flows"] = float(portfolio["cash_flow"].sum())
    if len(r) >= 2:
        with np.errstate(all="ignore"):
            out.update(
                annual_return=_f(ep.annual_return(r, period="daily")),
                annual_volatility=_f(ep.annual_volatility(r, period="daily")),
                sharpe_ratio=_f(ep.sharpe_ratio(r, period="daily")),
                sortino_ratio=_f(ep.sortino_ratio(r, period="daily")),
                calmar_ratio=_f(ep.calmar_ratio(r, period="daily")),
                max_drawdown=_f(ep.max_drawdown(r)),
            )
    else:
        out.update(annual_return=math.nan, annual_volatility=math.nan, sharpe_ratio=math.nan,
                   sortino_ratio=math.nan, calmar_ratio=math.nan,
                   max_drawdown=_f(min(0.0, out["total_return"])))
    pnl = trades["pnl_net"].to_numpy() if len(trades) else np.array([])
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    out.update(
        trade_count=int(len(pnl)),
        win_rate=float(len(wins) / len(pnl)) if len(pnl) else math.nan,
        profit_factor=float(wins.sum() / -losses.sum()) if len(losses) else
        (math.inf if len(wins) else math.nan),
        avg_win=float(wins.mean()) if len(wins) else math.nan,
        avg_loss=float(losses.mean()) if len(losses) else math.nan,
    )
    return out
