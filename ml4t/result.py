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
OPTIONAL_TABLES = ("variation_margin", "rolls", "conversions", "cash_flows")
"""Tables only futures, foreign-currency or deposit/withdrawal runs fill; written only
when not empty."""


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


class _Table:
    """A table of ``BacktestResult``: assembled from the run's columns on first read
    (most callers read two or three of the tables, and a DataFrame costs far more to
    build than the copies of its columns); an empty table when the run left none."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        build = obj.__dict__.get("_builders", {}).pop(self.name, None)
        df = build() if build is not None else pd.DataFrame(
            {c: [] for c in EMPTY_COLUMNS[self.name]})
        obj.__dict__[self.name] = df          # from now on a plain attribute
        return df


EMPTY_COLUMNS = {
    "corporate_actions": ("ts", "asset", "action", "value", "qty", "cash"),
    "accruals": ("ts", "kind", "asset", "amount", "base", "rate"),
    "margin_calls": ("ts", "equity", "requirement"),
    "variation_margin": ("ts", "asset", "qty", "from_price", "to_price", "amount"),
    "rolls": ("ts", "root", "from_asset", "to_asset", "qty", "from_price", "to_price",
              "close_order_id", "open_order_id"),
    "conversions": ("ts", "currency", "amount", "rate", "base_amount", "cost"),
    "cash_flows": ("ts", "amount", "cash"),
}


def _builders(run) -> dict:
    """Table name -> function building its DataFrame from copies of the run's columns
    (taken here, so the builders hold no reference to the run's buffers)."""
    led, book, sim = run.ledger, run.book, run.sim
    names = list(run.assets.names)
    starting_cash = float(led.starting_cash)
    multi_ccy = led.n_ccy > 1
    mult = np.array(led.mult_np, dtype=float)
    col = {k: getattr(led, k).to_numpy() for k in (
        "p_ts", "p_nav", "p_gross", "p_cash", "p_net", "p_net_exp", "p_realized",
        "p_unrealized", "p_commission", "p_dividends", "p_receivable", "p_accrued", "p_maint",
        "p_flows", "cf_ts", "cf_amount", "cf_cash",
        "s_ts", "s_asset", "s_qty", "s_price", "s_cost", "s_value",
        "f_ts", "f_oid", "f_asset", "f_qty", "f_price", "f_ref", "f_comm", "f_realized",
        "t_asset", "t_dir", "t_entry_ts", "t_exit_ts", "t_entry_price", "t_exit_price",
        "t_qty", "t_pnl", "t_comm", "t_bars",
        "acc_ts", "acc_kind", "acc_asset", "acc_amount", "acc_base", "acc_rate",
        "vm_ts", "vm_asset", "vm_qty", "vm_from", "vm_to", "vm_amount")}
    if multi_ccy:
        col.update({k: getattr(led, k).to_numpy() for k in (
            "f_fx", "p_fx_pnl", "p_fx_cash", "x_ts", "x_ccy", "x_amount", "x_rate", "x_base",
            "x_cost")})
        ccy_names = list(run.fx.names)
    col.update({k: getattr(book, k).to_numpy() for k in (
        "ev_oid", "o_asset", "ev_status", "ev_reason", "o_type", "o_tif", "ev_ts", "ev_qty",
        "ev_filled", "ev_limit", "ev_stop")})
    col.update({k: getattr(sim, k).to_numpy() for k in (
        "ax_ts", "ax_asset", "ax_kind", "ax_value", "ax_qty", "ax_cash")})
    rolls = list(run.futures.rolls) if getattr(run, "futures", None) is not None else []
    calls = list(run.desk.calls) if run.desk is not None else []

    flows = len(col["cf_ts"]) > 0

    def portfolio():
        nav, gross = col["p_nav"], col["p_gross"]
        # deposits and withdrawals are not returns: each slice's flows come off its NAV
        flow = np.diff(col["p_flows"], prepend=0.0) if flows else None
        with np.errstate(divide="ignore", invalid="ignore"):
            leverage = np.where(nav > 0, gross / nav, np.nan)
            returns = (nav if flow is None else nav - flow) / np.concatenate(
                [[starting_cash], nav[:-1]]) - 1.0
        df = pd.DataFrame({
            "nav": nav, "cash": col["p_cash"], "positions_value": col["p_net"],
            "gross_exposure": gross, "net_exposure": col["p_net_exp"], "leverage": leverage,
            "realized_pnl": col["p_realized"], "unrealized_pnl": col["p_unrealized"],
            "commission": col["p_commission"], "dividends": col["p_dividends"],
            "receivable": col["p_receivable"], "accrued": col["p_accrued"],
            "maintenance_requirement": col["p_maint"], "returns": returns,
            **({"fx_pnl": col["p_fx_pnl"], "fx_cash": col["p_fx_cash"]} if multi_ccy else {}),
            **({"cash_flow": flow} if flows else {}),
        }, index=_index(col["p_ts"]))
        df.index.name = "ts"
        return df

    def positions():
        qty, price, cost = col["s_qty"], col["s_price"], col["s_cost"]
        s_mult = mult[col["s_asset"]]
        upnl = (price - cost) * qty * s_mult
        if multi_ccy:
            # prices and costs in the asset's currency, values in base
            with np.errstate(divide="ignore", invalid="ignore"):
                upnl = upnl * np.where(qty != 0, col["s_value"] / (qty * price * s_mult), 1.0)
        return pd.DataFrame({
            "ts": _index(col["s_ts"]), "asset": _names(col["s_asset"], names),
            "qty": qty, "price": price, "market_value": col["s_value"],
            "avg_cost": cost, "unrealized_pnl": upnl,
        })

    def fills():
        qty, price, ref = col["f_qty"], col["f_price"], col["f_ref"]
        return pd.DataFrame({
            "ts": _index(col["f_ts"]), "order_id": col["f_oid"],
            "asset": _names(col["f_asset"], names), "qty": qty, "price": price,
            "ref_price": ref, "commission": col["f_comm"],
            "slippage": (price - ref) * qty * mult[col["f_asset"]] + 0.0,
            "realized_pnl": col["f_realized"],
            **({"fx_pnl": col["f_fx"]} if multi_ccy else {}),
        })

    def orders():
        oid = col["ev_oid"]
        oi = oid - 1
        if len(oi):
            status = _names(col["ev_status"], _codes_table(STATUSES))
            reason = _names(col["ev_reason"], _codes_table(REASONS, blank_zero=True))
            otype = _names(col["o_type"][oi], _codes_table(ORDER_TYPES))
            tif = _names(col["o_tif"][oi], _codes_table(TIME_IN_FORCE))
        else:
            status = reason = otype = tif = []
        return pd.DataFrame({
            "ts": _index(col["ev_ts"]), "order_id": oid,
            "asset": _names(col["o_asset"][oi], names),
            "status": status, "reason": reason, "type": otype, "time_in_force": tif,
            "qty": col["ev_qty"], "filled": col["ev_filled"],
            "limit_price": col["ev_limit"], "stop_price": col["ev_stop"],
        })

    def trades():
        pnl, comm = col["t_pnl"], col["t_comm"]
        is_long = col["t_dir"] > 0
        return pd.DataFrame({
            "asset": _names(col["t_asset"], names),
            "direction": _names(is_long.astype(np.int64), ("short", "long")) if len(is_long)
            else np.where(is_long, "long", "short"),
            "entry_ts": _index(col["t_entry_ts"]), "exit_ts": _index(col["t_exit_ts"]),
            "entry_price": col["t_entry_price"], "exit_price": col["t_exit_price"],
            "qty": col["t_qty"], "pnl": pnl, "commission": comm,
            "pnl_net": pnl - comm, "bars": col["t_bars"],
        })

    def corporate_actions():
        from ml4t.orders import ACTION_NAMES
        return pd.DataFrame({
            "ts": _index(col["ax_ts"]), "asset": _names(col["ax_asset"], names),
            "action": [ACTION_NAMES[k] for k in col["ax_kind"]],
            "value": col["ax_value"], "qty": col["ax_qty"], "cash": col["ax_cash"],
        })

    def accruals():
        kinds = {1: "borrow_fee", 2: "interest", 3: "funding"}
        return pd.DataFrame({
            "ts": _index(col["acc_ts"]), "kind": [kinds[k] for k in col["acc_kind"]],
            "asset": [names[a] if a >= 0 else "" for a in col["acc_asset"]],
            "amount": col["acc_amount"], "base": col["acc_base"], "rate": col["acc_rate"],
        })

    def variation_margin():
        return pd.DataFrame({
            "ts": _index(col["vm_ts"]), "asset": _names(col["vm_asset"], names),
            "qty": col["vm_qty"], "from_price": col["vm_from"], "to_price": col["vm_to"],
            "amount": col["vm_amount"],
        })

    def conversions():
        return pd.DataFrame({
            "ts": _index(col["x_ts"]), "currency": [ccy_names[c] for c in col["x_ccy"]],
            "amount": col["x_amount"], "rate": col["x_rate"], "base_amount": col["x_base"],
            "cost": col["x_cost"],
        })

    def rolls_table():
        return pd.DataFrame({
            "ts": _index(np.array([r[0] for r in rolls], dtype=np.int64)),
            "root": [r[1] for r in rolls],
            "from_asset": [names[r[2]] for r in rolls], "to_asset": [names[r[3]] for r in rolls],
            "qty": np.array([r[4] for r in rolls], dtype=float),
            "from_price": np.array([r[5] for r in rolls], dtype=float),
            "to_price": np.array([r[6] for r in rolls], dtype=float),
            "close_order_id": np.array([r[7] for r in rolls], dtype=np.int64),
            "open_order_id": np.array([r[8] for r in rolls], dtype=np.int64),
        })

    def cash_flows():
        return pd.DataFrame({"ts": _index(col["cf_ts"]), "amount": col["cf_amount"],
                             "cash": col["cf_cash"]})

    def margin_calls():
        return pd.DataFrame({
            "ts": _index(np.array([c[0] for c in calls], dtype=np.int64)),
            "equity": np.array([c[1] for c in calls], dtype=float),
            "requirement": np.array([c[2] for c in calls], dtype=float),
        })

    out = dict(portfolio=portfolio, positions=positions, orders=orders, fills=fills,
               trades=trades, corporate_actions=corporate_actions, accruals=accruals,
               variation_margin=variation_margin, rolls=rolls_table,
               margin_calls=margin_calls, cash_flows=cash_flows)
    if multi_ccy:
        out["conversions"] = conversions
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
    cash_flows : DataFrame
        Deposits (+) and withdrawals (-) made with ``broker.deposit`` /
        ``broker.withdraw``: ``ts, amount, cash`` (the balance after). When there are
        any, ``portfolio`` gains a ``cash_flow`` column (the flows of each row) and its
        ``returns`` leave them out.
    corporate_actions : DataFrame
        Splits, dividends, payments and cash in lieu applied: ``ts, asset,
        action, value, qty, cash``.
    metrics : dict
        Returns and risk statistics (empyrical) plus trade statistics.
    manifest : dict
        Configuration, seed, input hashes and versions.
    """

    portfolio = _Table()
    positions = _Table()
    orders = _Table()
    fills = _Table()
    trades = _Table()
    corporate_actions = _Table()
    accruals = _Table()
    margin_calls = _Table()
    variation_margin = _Table()
    rolls = _Table()
    conversions = _Table()
    cash_flows = _Table()

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
        """The result of a finished run: every column is copied out of the run's buffers
        now (the result keeps nothing of the run but its configuration and data, for the
        manifest); each table is assembled into a DataFrame when first read."""
        out = cls.__new__(cls)
        out.__dict__["_builders"] = _builders(run)
        out._manifest = None
        out._manifest_args = (run.config, run.bar_data, strategy, timing)
        out.strategy = strategy
        out.starting_cash = float(run.ledger.starting_cash)
        out.calendar = run.bar_data.calendar
        out._metrics = None
        return out

    def __getstate__(self):
        """Copies (and pickles) carry every table built: the builders are closures, and a
        shared one would leave the table to whichever object read it first."""
        for name in list(self.__dict__.get("_builders", ())):
            getattr(self, name)
        state = dict(self.__dict__)
        state.pop("_builders", None)
        return state

    # ---------------------------------------------------------------- outputs
    def summary(self) -> str:
        """A short text table of the key numbers."""
        m = self.metrics
        p = self.portfolio
        lines = [
            ("Period", f"{p.index[0]:%Y-%m-%d} .. {p.index[-1]:%Y-%m-%d}" if len(p) else "-"),
            ("Starting cash", f"{m['starting_cash']:,.2f}"),
            ("Final value", f"{m['final_value']:,.2f}"),
            *([("Net deposits", f"{m['net_cash_flows']:,.2f}")]
              if "net_cash_flows" in m else []),
            ("Total return", _pct(m["total_return"])
             + (" (time-weighted)" if "net_cash_flows" in m else "")),
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
        """Every table, plus the optional ones (futures, currencies, cash flows) that have
        rows."""
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
