"""``cerebro.plot()`` with matplotlib: portfolio value, prices with buy/sell markers,
overlaid indicators (moving averages, bands) and indicators in their own panels."""
from __future__ import annotations

import numpy as np

from .utils import nums_to_datetime64

__all__ = ["plot_strategy"]


def _indicator_panels(strat, data):
    from .indicators import Indicator
    clock = data._bt_clock()
    over, sub = [], []
    for item in strat._bt_items:
        if not isinstance(item, Indicator) or item._bt_clock() is not clock:
            continue
        info = item.plotinfo
        if info.get("plot") is False:
            continue
        subplot = info.get("subplot")
        if subplot is None:
            subplot = True
        (sub if subplot else over).append(item)
    return over, sub


def _name(ind):
    alias = type(ind).__dict__.get("alias", ())
    return ind.plotinfo.get("plotname") or (alias[0] if alias else type(ind).__name__)


def _label(ind):
    name = _name(ind)
    args = [str(v) for k, v in ind.p._getitems()
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return f"{name}({', '.join(args[:3])})" if args else name


def plot_strategy(strat, width=16, height=9, start=None, end=None, use=None, savefig=None):
    """Draw one strategy of a finished run; returns the matplotlib figure."""
    import matplotlib
    if use:
        matplotlib.use(use)
    import matplotlib.pyplot as plt

    datas = strat.datas
    panels = [("value", None)]
    for d in datas:
        over, sub = _indicator_panels(strat, d)
        panels.append(("data", (d, over)))
        for ind in sub:
            panels.append(("ind", ind))
    ratios = [1.0 if kind != "data" else 3.0 for kind, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(width, height),
                             gridspec_kw={"height_ratios": ratios}, squeeze=False)
    axes = axes[:, 0]
    run = strat._run
    master_x = nums_to_datetime64(run.master._dtnums)
    for ax, (kind, obj) in zip(axes, panels):
        if kind == "value":
            values = np.asarray(run.values_of(strat), dtype=float)
            ax.plot(master_x[:len(values)], values, color="tab:blue", lw=1.0, label="Value")
            ax.set_ylabel("Value")
        elif kind == "data":
            d, over = obj
            x = nums_to_datetime64(d.lines.datetime.array)
            ax.plot(x, d.lines.close.array, color="black", lw=0.8, label=d._name or "close")
            for ind in over:
                for name, line in zip(ind.lines.getlinealiases(), ind.lines):
                    ax.plot(x, line.array, lw=0.9, label=f"{_label(ind)} {name}")
            buys = [(dt, px) for dd, dt, size, px in strat._bt_fills if dd is d and size > 0]
            sells = [(dt, px) for dd, dt, size, px in strat._bt_fills if dd is d and size < 0]
            if buys:
                bx, by = zip(*buys)
                ax.scatter(nums_to_datetime64(np.array(bx)), by, marker="^", color="green",
                           s=40, zorder=5, label="buy")
            if sells:
                sx, sy = zip(*sells)
                ax.scatter(nums_to_datetime64(np.array(sx)), sy, marker="v", color="red",
                           s=40, zorder=5, label="sell")
            ax.set_ylabel(d._name or "price")
        else:
            ind = obj
            x = nums_to_datetime64(ind._bt_clock()._dtnums)
            for name, line in zip(ind.lines.getlinealiases(), ind.lines):
                ax.plot(x, line.array, lw=0.9, label=name)
            for level in ind.plotinfo.get("plothlines") or ind.plotinfo.get("plotyhlines") or []:
                ax.axhline(level, color="grey", lw=0.6, ls="--")
            ax.set_ylabel(_name(ind))
            ax.set_title(_label(ind), fontsize="small", loc="right")
        ax.legend(loc="upper left", fontsize="small")
        ax.grid(alpha=0.3)
    if start is not None or end is not None:
        axes[-1].set_xlim(left=start, right=end)
    fig.suptitle(type(strat).__name__)
    fig.tight_layout()
    if savefig:
        fig.savefig(savefig)
    return fig
