"""A continuous future held through its quarterly rolls (native ml4t API).

Run it:  python examples/futures_roll.py [--out results/futures_roll]

Three synthetic E-mini-like contracts (H, M, U 2024; multiplier 50, 12,000 / 11,000
margin per contract) follow one seeded random walk, each later expiry a few points
higher (contango). The strategy holds 2 contracts of the continuous root ``"ES"``; the
engine rolls them five sessions before each expiry, at both contracts' closes, as two
real orders each (``result.rolls``, reason ``roll`` in ``result.orders``). The roll's
cost is its commission and slippage; the gap between the contracts is not P&L. On this
seed the market falls about 20%: with 2 contracts (about 470,000 of notional) on 100,000
the daily settlements drain the account until it meets two margin calls, whose forced
sales show in ``result.margin_calls``. The plot shows each contract's price, the
account's NAV against its maintenance requirement, and the roll points.
"""
import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ml4t import ContinuousFuture, Future, Strategy, run_backtest
from ml4t.models import FixedSpreadSlippage, PerShareCommission

EXPIRIES = {"ESH24": "2024-03-15", "ESM24": "2024-06-21", "ESU24": "2024-09-20"}
CONTANGO = {"ESH24": 0.0, "ESM24": 20.0, "ESU24": 40.0}


def contract_bars(seed: int = 7) -> pd.DataFrame:
    """Daily bars of the three contracts on XNYS sessions, each up to its expiry."""
    import exchange_calendars as xc

    sessions = xc.get_calendar("XNYS").sessions_in_range("2024-01-02", "2024-09-20")
    rng = np.random.default_rng(seed)
    spot = 4700 * np.exp(np.cumsum(rng.normal(0.0003, 0.009, len(sessions))))
    closes_utc = xc.get_calendar("XNYS").session_close
    rows = []
    for name, expiry in EXPIRIES.items():
        for i, s in enumerate(sessions):
            if s > pd.Timestamp(expiry):
                break
            c = round((spot[i] + CONTANGO[name]) * 4) / 4          # 0.25 ticks
            o = round((c - rng.normal(0, 5)) * 4) / 4
            rows.append({"ts": closes_utc(s), "asset": name, "open": o, "high": max(o, c) + 2,
                         "low": min(o, c) - 2, "close": c,
                         "volume": float(rng.integers(50_000, 150_000))})
    return pd.DataFrame(rows).sort_values(["ts", "asset"], kind="stable")


class HoldTwo(Strategy):
    def on_bar(self, bars):
        if not self.broker.position("ES") and not self.broker.get_open_orders():
            self.broker.order("ES", 2)


def main(out: Path):
    contracts = {name: Future(root="ES", expiry=exp, multiplier=50, tick_size=0.25,
                              initial_margin=12_000, maintenance_margin=11_000)
                 for name, exp in EXPIRIES.items()}
    contracts["ES"] = ContinuousFuture(roll="days", days=5)
    bars = contract_bars()
    result = run_backtest(HoldTwo, bars, cash=100_000, account="margin", contracts=contracts,
                          commission=PerShareCommission(2.25),
                          slippage=FixedSpreadSlippage(0.25))
    print(result.summary())
    print("\nrolls:")
    print(result.rolls.to_string(index=False))
    roll_fills = result.fills[result.fills.order_id.isin(
        np.r_[result.rolls.close_order_id, result.rolls.open_order_id])]
    print(f"\nroll cost: commission {roll_fills.commission.sum():.2f}, "
          f"slippage {roll_fills.slippage.sum():.2f}")
    print("\nmargin calls:")
    print(result.margin_calls.to_string(index=False))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for name, g in bars.groupby("asset"):
        ax1.plot(g["ts"], g["close"], label=name)
    ax1.scatter(result.rolls.ts, result.rolls.from_price, color="black", zorder=3,
                label="roll (closing leg)")
    ax1.set_title("Contract closes and roll points")
    ax1.legend()
    p = result.portfolio
    ax2.plot(p.index, p["nav"], label="NAV")
    ax2.plot(p.index, p["maintenance_requirement"], label="maintenance requirement")
    for ts in result.rolls.ts:
        ax2.axvline(ts, color="grey", alpha=0.4)
    ax2.set_title("Account: NAV (settled daily) and margin")
    ax2.legend()
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "futures_roll.png", dpi=100)
    print(f"plot written to {out / 'futures_roll.png'}")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/futures_roll"))
    main(ap.parse_args().out)
