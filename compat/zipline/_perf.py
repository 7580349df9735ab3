"""The perf DataFrame: one row per session with Zipline's columns.

Per session: ``period_open``/``period_close``, starting and ending cash, value and
exposure, long/short values, exposures and counts, ``portfolio_value``, ``pnl``,
``capital_used``, ``returns``, leverages, that day's ``orders`` and ``transactions``
and the ``positions`` (lists of dicts with Zipline's keys), the recorded variables,
then the cumulative risk metrics computed with empyrical on the returns so far
(``algorithm_period_return``, ``benchmark_period_return``, ``benchmark_volatility``,
``algo_volatility``, ``sharpe``, ``sortino``, ``max_drawdown``, ``alpha``, ``beta``,
``max_leverage``, ``trading_days``, ``period_label``; ``excess_return`` and
``treasury_period_return`` are always 0.0). With no benchmark the benchmark returns
are zeros and alpha/beta are None, as in Zipline.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["end_session", "build_frame"]


def _period_opens(algo) -> list:
    """Per session: its first minute plus one minute (Zipline's ``period_open``)."""
    opens = algo.__dict__.get("_period_opens")
    if opens is None:
        opens = algo._period_opens = list(algo._store.session_first_minutes
                                          + pd.Timedelta(minutes=1))
    return opens


def end_session(algo, i: int) -> None:
    """Record session ``i``'s row (called after ``handle_data`` and scheduled functions)."""
    positions = []
    long_v, short_v, longs, shorts = algo._stats(i, positions)
    cash = algo._cash()
    value = long_v + short_v
    gross = long_v - short_v
    pv = cash + value
    prev = algo._prev or {"cash": algo.capital_base, "value": 0.0, "exposure": 0.0,
                          "cum": 0.0, "pnl": 0.0}
    cum = pv / algo.capital_base - 1.0
    pnl_total = pv - algo.capital_base
    ret = (cum + 1.0) / (prev["cum"] + 1.0) - 1.0
    gl = np.inf if pv == 0 else gross / pv
    nl = np.inf if pv == 0 else value / pv
    row = {
        "period_open": _period_opens(algo)[i],
        "period_close": algo._closes[i],
        "starting_exposure": prev["exposure"],
        "long_exposure": long_v,
        "ending_exposure": value,
        "transactions": list(algo._day_txns),
        "orders": [o.to_dict() for o in algo._day_orders.values()],
        "short_exposure": short_v,
        "shorts_count": shorts,
        "portfolio_value": pv,
        "pnl": pnl_total - prev["pnl"],
        "starting_value": prev["value"],
        "long_value": long_v,
        "positions": positions,
        "short_value": short_v,
        "net_leverage": nl,
        "starting_cash": prev["cash"],
        "capital_used": cash - prev["cash"],
        "ending_cash": cash,
        "returns": ret,
        "ending_value": value,
        "gross_leverage": gl,
        "longs_count": longs,
    }
    algo._rows.append((row, dict(algo._recorded), cum))
    algo._daily_returns.append(ret)
    algo._leverages.append(gl)
    algo._prev = {"cash": cash, "value": value, "exposure": value, "cum": cum,
                  "pnl": pnl_total}


def _finite_or_none(x):
    x = float(x)
    return x if np.isfinite(x) else None


def _benchmark_returns(algo) -> np.ndarray:
    sessions = algo.sim_sessions
    n = len(sessions)
    if algo.benchmark_sid is not None:
        asset = algo.benchmark_sid
        if not hasattr(asset, "sid"):
            asset = algo.sid(int(asset))
        store = algo._store
        end = algo._i1
        if asset.start_date < sessions[0]:
            closes = store.window(asset.sid, "price", end, n + 1)
            return pd.Series(closes).pct_change().to_numpy()[1:]
        if asset.start_date == sessions[0]:
            closes = store.window(asset.sid, "price", end, n)
            out = pd.Series(closes).pct_change().to_numpy()
            o = store.open[algo._i0, asset.sid]
            c = store.close[algo._i0, asset.sid]
            out[0] = (c - o) / o
            return out
        from ml4t.compat.zipline.errors import BenchmarkAssetNotAvailableTooEarly
        raise BenchmarkAssetNotAvailableTooEarly(asset=asset, start=sessions[0].date())
    series = algo._benchmark_series
    if series is None:
        return np.zeros(n)
    s = pd.Series(series)
    idx = pd.DatetimeIndex(s.index)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    s.index = idx.normalize()
    missing = sessions.difference(s.index)
    if len(missing):
        raise ValueError(f"benchmark_returns has no value for {len(missing)} sessions, first "
                         f"{missing[0].date()}")
    return s.reindex(sessions).to_numpy(dtype=np.float64)


def _prefix_metrics(r: np.ndarray, b: np.ndarray) -> dict:
    """Empyrical's statistics of every prefix ``r[:k+1]`` at once (cumulative sums).

    Same definitions as ``empyrical`` (sample std with ddof=1, 252 periods a year,
    drawdowns anchored at 100, zero-dispersion std = 0, beta NaN when the benchmark's
    variance is below 1e-30); agrees with calling it on each prefix to ~1e-12.
    """
    n = len(r)
    k = np.arange(1, n + 1, dtype=np.float64)
    with np.errstate(all="ignore"):
        s1 = np.cumsum(r)
        mean = s1 / k
        var = (np.cumsum(r * r) - s1 * mean) / (k - 1)
        std = np.sqrt(np.maximum(var, 0.0))
        constant = np.maximum.accumulate(r) == np.minimum.accumulate(r)
        std = np.where(constant, 0.0, std)
        std[0] = np.nan
        vol = std * 252 ** (1.0 / 2.0)
        sharpe = mean / std * np.sqrt(252)
        down = np.sqrt(np.cumsum(np.minimum(r, 0.0) ** 2) / k) * np.sqrt(252)
        sortino = mean * 252 / down
        sortino[0] = np.nan
        level = 100.0 * np.cumprod(1.0 + r)
        peak = np.fmax.accumulate(np.concatenate(([100.0], level)))[1:]
        max_dd = np.minimum.accumulate((level - peak) / peak)
        bmean = np.cumsum(b) / k
        bvar = np.cumsum(b * b) / k - bmean * bmean
        cov = np.cumsum(b * r) / k - bmean * mean
        bvar = np.where(bvar < 1.0e-30, np.nan, bvar)
        beta = cov / bvar
        beta[0] = np.nan
        alpha = (mean - beta * bmean + 1.0) ** 252 - 1.0
        alpha[0] = np.nan
    return {"vol": vol, "sharpe": sharpe, "sortino": sortino, "max_dd": max_dd,
            "alpha": alpha, "beta": beta}


def _risk_rows(algo) -> list[dict]:
    n = len(algo._rows)
    r = np.asarray(algo._daily_returns, dtype=np.float64)
    b = _benchmark_returns(algo)[:n]
    m = _prefix_metrics(r, b)
    bench_cum = np.cumprod(1.0 + b) - 1.0
    bench_vol = (pd.Series(b).expanding(2).std(ddof=1) * np.sqrt(252)).to_numpy()
    max_lev = np.maximum.accumulate(np.maximum(np.asarray(algo._leverages, dtype=float), 0.0))
    out = []
    for k in range(n):
        alpha, beta = m["alpha"][k], m["beta"][k]
        out.append({
            "alpha": float(alpha) if np.isfinite(alpha) else None,
            "beta": None if np.isnan(beta) else float(beta),
            "sharpe": _finite_or_none(m["sharpe"][k]),
            "max_drawdown": _finite_or_none(m["max_dd"][k]),
            "max_leverage": float(max_lev[k]),
            "benchmark_period_return": _finite_or_none(bench_cum[k]),
            "benchmark_volatility": _finite_or_none(bench_vol[k]),
            "algo_volatility": _finite_or_none(m["vol"][k]),
            "sortino": _finite_or_none(m["sortino"][k]),
            "treasury_period_return": 0.0,
            "excess_return": 0.0,
            "period_label": algo._session_labels[k],
            "algorithm_period_return": algo._rows[k][2],
            "trading_days": k + 1,
        })
    return out


def build_frame(algo) -> pd.DataFrame:
    """The perf DataFrame of a finished run."""
    if algo.metrics_set == "none":
        rows = [{"period_open": row["period_open"], "period_close": row["period_close"],
                 **rec} for row, rec, _ in algo._rows]
    else:
        risk = _risk_rows(algo)
        rows = []
        for (row, rec, _), extra in zip(algo._rows, risk):
            d = dict(row)
            d.update(rec)
            d.update(extra)
            rows.append(d)
    index = pd.DatetimeIndex([row["period_close"] for row, _, _ in algo._rows], name=None)
    return pd.DataFrame(rows, index=index)
