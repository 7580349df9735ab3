"""A leveraged equity portfolio meeting a margin call (native ml4t API).

Run it:  python examples/margin_call.py [--out results/margin_call]

The strategy buys AAPL and MSFT near AAPL's September 2012 peak at close to 2x
leverage (Reg-T initial margin 50%) on the bundled data, with a 40% maintenance
requirement on longs, so that the slide that followed breaks it. The plot shows equity, the
maintenance requirement and the forced liquidations.
"""
import argparse
from pathlib import Path

from ml4t import Strategy, run_backtest
from ml4t.datasets import data_dir
from ml4t.models import PercentCommission


class Leveraged(Strategy):
    def on_start(self):
        self.calls = []

    def on_bar(self, bars):
        if not self.broker.positions() and not self.broker.get_open_orders():
            self.broker.order_target_percent("AAPL", 0.98)
            self.broker.order_target_percent("MSFT", 0.98)

    def on_event(self, event):
        if event.kind == "margin_call":
            self.calls.append(event)


def main(out: Path):
    result = run_backtest(Leveraged, data_dir(), cash=100_000, account="margin",
                          maintenance_margin=(0.40, 0.40), margin_rate=0.05,
                          commission=PercentCommission(0.001), start="2012-09-14",
                          end="2013-12-31")
    print(result.summary())
    print(f"\n{len(result.margin_calls)} margin calls; liquidation fills:")
    liq = result.orders[(result.orders.reason == "margin_call")
                        & (result.orders.status == "filled")]
    fills = result.fills[result.fills.order_id.isin(liq.order_id)]
    print(fills[["ts", "asset", "qty", "price"]].to_string(index=False))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = result.portfolio
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.plot(p.index, p["nav"], label="equity (NAV)")
    ax.plot(p.index, p["maintenance_requirement"], label="maintenance requirement")
    ax.plot(p.index, p["gross_exposure"], label="gross exposure", alpha=0.5)
    ax.scatter(fills["ts"], p["nav"].reindex(fills["ts"]).to_numpy(), color="red", zorder=3,
               label="forced liquidation")
    ax.set_title("Leveraged AAPL + MSFT: equity vs maintenance requirement")
    ax.legend()
    ax.grid(alpha=0.3)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "margin_call.png", dpi=100)
    print(f"plot written to {out / 'margin_call.png'}")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="results/margin_call")
    main(Path(ap.parse_args().out))
