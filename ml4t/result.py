"""``BacktestResult``: the tables, metrics, summary and report of one run."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ml4t.orders import ORDER_TYPES, REASONS, STATUSES, TIME_IN_FORCE
from ml4t.metrics import compute_metrics

TABLES = ("portfolio", "positions", "orders", "fills", "trades", "corporate_actions",
          "accruals", "margin_calls")
OPTIONAL_TABLES = ("variation_margin", "rolls", "conversions")
"""Tables only futures or foreign-currency runs fill; written only when not empty."""


def _index(ts: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(ts, dtype=np.int64).view("M8[ns]")).tz_localize("UTC")


_STR_DTYPE = []        # [dtype] pandas gives a column of Python strings, when arrow-backed


def _arrow_str_dtype():
    if not _STR_DTYPE:
        dt = pd.Series(np.array(["a"], dtype=object)).dtype
        arrow = isinstance(dt, pd.StringDtype) and getattr(dt, "storage", None) == "pyarrow"
        _STR_DTYPE.append(dt if arrow else None)
    return _STR_DTYPE[0]


def _names(ids, names):
    """``names[ids]``: the column of strings pandas would build from those Python strings.

    With pandas' arrow-backed string dtype (pandas >= 3) the column is taken in
    pyarrow from the few distinct labels, instead of converting one Python string
    per row; otherwise (or for labels that are not all strings) it is an object array.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if not len(names) or not len(ids):
        return np.asarray([], dtype=object)
    dt = _arrow_str_dtype()
    if dt is not None and all(type(x) is str for x in names):
        import pyarrow as pa
        return pd.array(pa.array(list(names), type=pa.large_string()).take(pa.array(ids)),
                        dtype=dt)
    return np.asarray(names, dtype=object)[ids]


def _codes_table(mapping: dict, blank_zero: bool = False) -> list:
    """A code -> name dict as a list indexed by code (code 0 -> "" if ``blank_zero``)."""
    out = [""] * (max(mapping) + 1)
    for code, name in mapping.items():
        out[code] = name
    if blank_zero:
        out[0] = ""
    return out


class BacktestResult:
    """Outputs of one backtest.

    Attributes
    ----------
    portfolio : DataFrame
        Per recorded bar (index ``ts``, UTC): ``nav, cash, positions_value,
        gross_exposure, net_exposure, leverage, realized_pnl, unrealized_pnl,
        commission, dividends, receivable, returns``. ``nav`` includes dividends
        receivable (earned on the ex-date, not yet paid).
    positions : DataFrame
        Non-flat holdings at each recorded bar: ``ts, asset, qty, price,
        market_value, avg_cost, unrealized_pnl``.
    orders : DataFrame
        One row per order status change: ``ts, order_id, asset, status, reason,
        type, time_in_force, qty, filled, limit_price, stop_price`` — quantities and
        prices as they stood at that event (a replace or a split adjustment gets
        its own row, with reason ``replaced`` / ``corporate_action``).
    fills : DataFrame
        ``ts, order_id, asset, qty, price, ref_price, commission, slippage,
        realized_pnl``.
    trades : DataFrame
        Closed round trips (flat to flat): ``asset, direction, entry_ts,
        exit_ts, entry_price, exit_price, qty, pnl, commission, pnl_net, bars``.
    accruals : DataFrame
        Borrow fees, interest and funding: ``ts, kind, asset, amount, base, rate``.
    margin_calls : DataFrame
        ``ts, equity, requirement`` of each margin call.
    corporate_actions : DataFrame
        Splits, dividends, payments and cash in lieu applied: ``ts, asset,
        action, value, qty, cash``.
    metrics : dict
        Returns and risk statistics (empyrical) plus trade statistics.
    manifest : dict
        Configuration, seed, input hashes and versions.
    """

    def __init__(self, portfolio, positions, orders, fills, trades, manifest, strategy=None,
                 starting_cash=None, calendar="XNYS"):
        self.portfolio = portfolio
        self.positions = positions
        self.orders = orders
        self.fills = fills
        self.trades = trades
        self._manifest = manifest
        self._manifest_args = None
        self.strategy = strategy
        self.starting_cash = float(starting_cash if starting_cash is not None
                                   else manifest["config"]["cash"])
        self.calendar = calendar
        self._metrics = None
        self.corporate_actions = pd.DataFrame(
            {"ts": [], "asset": [], "action": [], "value": [], "qty": [], "cash": []})
        self.accruals = pd.DataFrame(
            {"ts": [], "kind": [], "asset": [], "amount": [], "base": [], "rate": []})
        self.margin_calls = pd.DataFrame({"ts": [], "equity": [], "requirement": []})
        self.variation_margin = pd.DataFrame(
            {"ts": [], "asset": [], "qty": [], "from_price": [], "to_price": [], "amount": []})
        self.rolls = pd.DataFrame({"ts": [], "root": [], "from_asset": [], "to_asset": [],
                                   "qty": [], "from_price": [], "to_price": [],
                                   "close_order_id": [], "open_order_id": []})
        self.conversions = pd.DataFrame(
            {"ts": [], "currency": [], "amount": [], "rate": [], "base_amount": [], "cost": []})

    @property
    def manifest(self) -> dict:
        """Run manifest (built on first access: hashing large in-memory inputs takes time)."""
        if self._manifest is None and self._manifest_args is not None:
            from ml4t.manifest import build_manifest
            self._manifest = build_manifest(*self._manifest_args)
            self._manifest_args = None
        return self._manifest

    @property
    def metrics(self) -> dict:
        """Metrics, computed on first access (importing empyrical costs about a second)."""
        if self._metrics is None:
            self._metrics = compute_metrics(self.portfolio, self.trades, self.starting_cash,
                                            self.calendar)
        return self._metrics

    # ------------------------------------------------------------ construction
    @classmethod
    def _from_run(cls, run, strategy, timing: dict) -> "BacktestResult":
        led, book, names = run.ledger, run.book, run.assets.names
        starting_cash = float(led.starting_cash)
        idx = _index(led.p_ts.to_numpy())
        nav = led.p_nav.to_numpy()
        gross = led.p_gross.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            leverage = np.where(nav > 0, gross / nav, np.nan)
        prev = np.concatenate([[starting_cash], nav[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = nav / prev - 1.0
        portfolio = pd.DataFrame({
            "nav": nav, "cash": led.p_cash.to_numpy(), "positions_value": led.p_net.to_numpy(),
            "gross_exposure": gross, "net_exposure": led.p_net_exp.to_numpy(), "leverage": leverage,
            "realized_pnl": led.p_realized.to_numpy(), "unrealized_pnl": led.p_unrealized.to_numpy(),
            "commission": led.p_commission.to_numpy(),
            "dividends": led.p_dividends.to_numpy(), "receivable": led.p_receivable.to_numpy(),
            "accrued": led.p_accrued.to_numpy(),
            "maintenance_requirement": led.p_maint.to_numpy(),
            "returns": returns,
        }, index=idx)
        portfolio.index.name = "ts"

        s_qty, s_price, s_cost = led.s_qty.to_numpy(), led.s_price.to_numpy(), led.s_cost.to_numpy()
        mult = led.mult_np
        s_mult = mult[led.s_asset.to_numpy()]
        positions = pd.DataFrame({
            "ts": _index(led.s_ts.to_numpy()), "asset": _names(led.s_asset.to_numpy(), names),
            "qty": s_qty, "price": s_price, "market_value": led.s_value.to_numpy(),
            "avg_cost": s_cost, "unrealized_pnl": (s_price - s_cost) * s_qty * s_mult,
        })
        if led.n_ccy > 1:
            # prices and costs in the asset's currency, values in base
            rate = np.where(s_qty != 0, led.s_value.to_numpy() / (s_qty * s_price * s_mult), 1.0)
            positions["unrealized_pnl"] = positions["unrealized_pnl"] * rate

        f_qty, f_price, f_ref = led.f_qty.to_numpy(), led.f_price.to_numpy(), led.f_ref.to_numpy()
        fills = pd.DataFrame({
            "ts": _index(led.f_ts.to_numpy()), "order_id": led.f_oid.to_numpy(),
            "asset": _names(led.f_asset.to_numpy(), names), "qty": f_qty, "price": f_price,
            "ref_price": f_ref, "commission": led.f_comm.to_numpy(),
            "slippage": (f_price - f_ref) * f_qty * mult[led.f_asset.to_numpy()] + 0.0,
            "realized_pnl": led.f_realized.to_numpy(),
            **({"fx_pnl": led.f_fx.to_numpy()} if led.n_ccy > 1 else {}),
        })

        oid = book.ev_oid.to_numpy()
        oi = oid - 1
        o_asset = book.o_asset.to_numpy()
        if len(oi):
            status = _names(book.ev_status.to_numpy(), _codes_table(STATUSES))
            reason = _names(book.ev_reason.to_numpy(), _codes_table(REASONS, blank_zero=True))
            otype = _names(book.o_type.to_numpy()[oi], _codes_table(ORDER_TYPES))
            tif = _names(book.o_tif.to_numpy()[oi], _codes_table(TIME_IN_FORCE))
        else:
            status = reason = otype = tif = []
        orders = pd.DataFrame({
            "ts": _index(book.ev_ts.to_numpy()), "order_id": oid,
            "asset": _names(o_asset[oi], names),
            "status": status, "reason": reason, "type": otype, "time_in_force": tif,
            "qty": book.ev_qty.to_numpy(), "filled": book.ev_filled.to_numpy(),
            "limit_price": book.ev_limit.to_numpy(), "stop_price": book.ev_stop.to_numpy(),
        })

        t_pnl, t_comm = led.t_pnl.to_numpy(), led.t_comm.to_numpy()
        t_long = led.t_dir.to_numpy() > 0
        trades = pd.DataFrame({
            "asset": _names(led.t_asset.to_numpy(), names),
            "direction": _names(t_long.astype(np.int64), ("short", "long")) if len(t_long)
            else np.where(t_long, "long", "short"),
            "entry_ts": _index(led.t_entry_ts.to_numpy()), "exit_ts": _index(led.t_exit_ts.to_numpy()),
            "entry_price": led.t_entry_price.to_numpy(), "exit_price": led.t_exit_price.to_numpy(),
            "qty": led.t_qty.to_numpy(), "pnl": t_pnl, "commission": t_comm,
            "pnl_net": t_pnl - t_comm, "bars": led.t_bars.to_numpy(),
        })
        sim = run.sim
        from ml4t.orders import ACTION_NAMES
        actions = pd.DataFrame({
            "ts": _index(sim.ax_ts.to_numpy()), "asset": _names(sim.ax_asset.to_numpy(), names),
            "action": [ACTION_NAMES[k] for k in sim.ax_kind.to_numpy()],
            "value": sim.ax_value.to_numpy(), "qty": sim.ax_qty.to_numpy(),
            "cash": sim.ax_cash.to_numpy(),
        })
        out = cls(portfolio, positions, orders, fills, trades, None, strategy,
                  starting_cash, run.bar_data.calendar)
        out._manifest_args = (run.config, run.bar_data, strategy, timing)
        out.corporate_actions = actions
        kinds = {1: "borrow_fee", 2: "interest", 3: "funding"}
        acc_asset = led.acc_asset.to_numpy()
        out.accruals = pd.DataFrame({
            "ts": _index(led.acc_ts.to_numpy()),
            "kind": [kinds[k] for k in led.acc_kind.to_numpy()],
            "asset": [names[a] if a >= 0 else "" for a in acc_asset],
            "amount": led.acc_amount.to_numpy(), "base": led.acc_base.to_numpy(),
            "rate": led.acc_rate.to_numpy(),
        })
        out.variation_margin = pd.DataFrame({
            "ts": _index(led.vm_ts.to_numpy()), "asset": _names(led.vm_asset.to_numpy(), names),
            "qty": led.vm_qty.to_numpy(), "from_price": led.vm_from.to_numpy(),
            "to_price": led.vm_to.to_numpy(), "amount": led.vm_amount.to_numpy(),
        })
        if led.n_ccy > 1:
            ccy_names = run.fx.names
            out.portfolio["fx_pnl"] = led.p_fx_pnl.to_numpy()
            out.portfolio["fx_cash"] = led.p_fx_cash.to_numpy()
            out.conversions = pd.DataFrame({
                "ts": _index(led.x_ts.to_numpy()),
                "currency": [ccy_names[c] for c in led.x_ccy.to_numpy()],
                "amount": led.x_amount.to_numpy(), "rate": led.x_rate.to_numpy(),
                "base_amount": led.x_base.to_numpy(), "cost": led.x_cost.to_numpy(),
            })
        rolls = run.futures.rolls if getattr(run, "futures", None) is not None else []
        out.rolls = pd.DataFrame({
            "ts": _index(np.array([r[0] for r in rolls], dtype=np.int64)),
            "root": [r[1] for r in rolls],
            "from_asset": [names[r[2]] for r in rolls], "to_asset": [names[r[3]] for r in rolls],
            "qty": np.array([r[4] for r in rolls], dtype=float),
            "from_price": np.array([r[5] for r in rolls], dtype=float),
            "to_price": np.array([r[6] for r in rolls], dtype=float),
            "close_order_id": np.array([r[7] for r in rolls], dtype=np.int64),
            "open_order_id": np.array([r[8] for r in rolls], dtype=np.int64),
        })
        calls = run.desk.calls if run.desk is not None else []
        out.margin_calls = pd.DataFrame({
            "ts": _index(np.array([c[0] for c in calls], dtype=np.int64)),
            "equity": np.array([c[1] for c in calls], dtype=float),
            "requirement": np.array([c[2] for c in calls], dtype=float),
        })
        return out

    # ---------------------------------------------------------------- outputs
    def summary(self) -> str:
        """A short text table of the key numbers."""
        m = self.metrics
        p = self.portfolio
        lines = [
            ("Period", f"{p.index[0]:%Y-%m-%d} .. {p.index[-1]:%Y-%m-%d}" if len(p) else "-"),
            ("Starting cash", f"{m['starting_cash']:,.2f}"),
            ("Final value", f"{m['final_value']:,.2f}"),
            ("Total return", _pct(m["total_return"])),
            ("Annual return", _pct(m["annual_return"])),
            ("Annual volatility", _pct(m["annual_volatility"])),
            ("Sharpe ratio", _num(m["sharpe_ratio"])),
            ("Sortino ratio", _num(m["sortino_ratio"])),
            ("Calmar ratio", _num(m["calmar_ratio"])),
            ("Max drawdown", _pct(m["max_drawdown"])),
            ("Fills", f"{len(self.fills):,}"),
            ("Commission", f"{m['commission']:,.2f}"),
            ("Closed trades", f"{m['trade_count']:,}"),
            ("Win rate", _pct(m["win_rate"])),
            ("Profit factor", _num(m["profit_factor"])),
            ("Average win / loss", f"{_num(m['avg_win'])} / {_num(m['avg_loss'])}"),
        ]
        width = max(len(k) for k, _ in lines)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)

    def table_names(self) -> list[str]:
        """Every table, plus the optional ones (futures, currencies) that have rows."""
        return list(TABLES) + [t for t in OPTIONAL_TABLES if len(getattr(self, t))]

    def to_parquet(self, directory) -> Path:
        """Write every table as ``<name>.parquet`` into ``directory`` (created if needed)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for name in self.table_names():
            df = getattr(self, name)
            df.reset_index().to_parquet(d / f"{name}.parquet", index=False) if name == "portfolio" \
                else df.to_parquet(d / f"{name}.parquet", index=False)
        return d

    def to_csv(self, directory, float_format: str = "%.10g") -> Path:
        """Write every table as ``<name>.csv`` with fixed float formatting (readable diffs)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for name in self.table_names():
            df = getattr(self, name)
            df = df.reset_index() if name == "portfolio" else df
            df.to_csv(d / f"{name}.csv", index=False, float_format=float_format,
                      lineterminator="\n")
        return d

    def save(self, directory) -> Path:
        """Tables as Parquet, metrics as JSON, ``run_manifest.json`` and ``tearsheet.png``."""
        import json
        from ml4t.manifest import jsonable, write_manifest

        d = self.to_parquet(directory)
        (d / "metrics.json").write_text(json.dumps(jsonable(self.metrics), indent=2,
                                                   sort_keys=True) + "\n")
        write_manifest(d / "run_manifest.json", self.manifest)
        self.plot(d / "tearsheet.png")
        return d

    def plot(self, path=None):
        """Tearsheet: equity curve with drawdown shading, and the underwater curve.

        Returns the matplotlib Figure; saved to ``path`` when given.
        """
        import matplotlib
        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        nav = self.portfolio["nav"]
        dd = nav / nav.cummax() - 1.0
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                       gridspec_kw={"height_ratios": [3, 1]})
        ax1.plot(nav.index, nav.values, color="tab:blue", lw=1.2, label="NAV")
        ax1.set_ylabel("net asset value")
        name = type(self.strategy).__name__ if self.strategy is not None else "strategy"
        ax1.set_title(f"{name}: total return "
                      f"{_pct(self.metrics['total_return'])}, Sharpe "
                      f"{_num(self.metrics['sharpe_ratio'])}, max drawdown "
                      f"{_pct(self.metrics['max_drawdown'])}")
        ax1.grid(alpha=0.3)
        ax2.fill_between(dd.index, dd.values, 0, color="tab:red", alpha=0.4)
        ax2.set_ylabel("drawdown")
        ax2.grid(alpha=0.3)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
            plt.close(fig)
        return fig

    def __repr__(self):
        return (f"BacktestResult(bars={len(self.portfolio)}, fills={len(self.fills)}, "
                f"trades={len(self.trades)}, final_value={self.metrics['final_value']:.2f})")


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2%}"


def _num(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"
