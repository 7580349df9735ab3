"""The public Python API: Strategy params and hooks, Broker sizing, DataView point-in-time
access, Bars, Engine configuration, result tables, metrics, saving and the ``ml4t run`` CLI."""
from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

import pandas as pd
import pytest

from conftest import day_ts, frame, run, scripted
from ml4t import Engine, Strategy, run_backtest
from ml4t.errors import ConfigError, OrderError
from ml4t.models import FixedCommission
from ml4t.orders import BarEvent, Fill, FillEvent, Order, OrderEvent

ROOT = pathlib.Path(__file__).resolve().parents[1]
TS = day_ts(4)
RISING = [
    (10.0, 10.5, 9.5, 10.2),
    (11.0, 11.5, 10.5, 11.2),
    (12.0, 12.5, 11.5, 12.2),
    (13.0, 13.5, 12.5, 13.2),
]


# ------------------------------------------------------------------------------- params
class Params(Strategy):
    fast = 10
    slow = 30

    def on_bar(self, bars):
        pass


class TestParams:
    def test_class_attributes_are_defaults(self):
        r = run_backtest(Params, frame({"X": RISING}))
        assert (r.strategy.fast, r.strategy.slow) == (10, 30)

    def test_params_override_class_attributes(self):
        r = run_backtest(Params, frame({"X": RISING}), params={"fast": 3})
        assert (r.strategy.fast, r.strategy.slow) == (3, 30)
        assert Params.fast == 10                         # the class is untouched
        assert Params(slow=5).slow == 5

    def test_unknown_param_raises_with_suggestion(self):
        with pytest.raises(ConfigError) as e:
            run_backtest(Params, frame({"X": RISING}), params={"fsat": 3})
        assert e.value.param == "fsat"
        assert "fast" in str(e.value)                    # the suggested spelling

    def test_hooks_are_not_parameters(self):
        with pytest.raises(ConfigError):
            Params(on_bar=1)

    def test_params_with_instance_rejected(self):
        with pytest.raises(ConfigError):
            run_backtest(Params(), frame({"X": RISING}), params={"fast": 1})


# -------------------------------------------------------------------------------- hooks
class TestHooks:
    def test_only_overridden_hooks_are_called(self, monkeypatch):
        calls = []
        # patch the base class: a subclass that does not override on_fill/on_event inherits
        # the spy, but the engine must see they are not overridden and never call them
        monkeypatch.setattr(Strategy, "on_fill", lambda self, f: calls.append("on_fill"))
        monkeypatch.setattr(Strategy, "on_event", lambda self, e: calls.append("on_event"))
        monkeypatch.setattr(Strategy, "on_stop", lambda self: calls.append("on_stop"))

        class OnlyBar(Strategy):
            def on_bar(self, bars):
                if bars.ts == TS[0]:
                    self.broker.order("X", 1)

        r = run_backtest(OnlyBar, frame({"X": RISING}))
        assert len(r.fills) == 1                         # a fill happened ...
        assert calls == []                               # ... yet no inherited hook ran

    def test_on_order_and_on_fill_snapshots_in_time_order(self):
        class Recorder(Strategy):
            def on_start(self):
                self.orders, self.fills = [], []

            def on_bar(self, bars):
                if bars.ts == TS[0]:
                    self.broker.order("X", 10)

            def on_order(self, order):
                self.orders.append(order)

            def on_fill(self, fill):
                self.fills.append(fill)

        r = run_backtest(Recorder, frame({"X": RISING}), cash=1_000)
        s = r.strategy
        assert all(isinstance(o, Order) for o in s.orders)
        assert [(o.status, o.ts, o.filled) for o in s.orders] == [
            ("submitted", TS[0], 0.0), ("accepted", TS[0], 0.0), ("filled", TS[1], 10.0)]
        # snapshots are frozen: the first one still says submitted after the fill
        assert s.orders[0].status == "submitted" and s.orders[0].is_open is False
        assert s.orders[1].is_open and s.orders[2].avg_fill_price == 11.0
        assert len(s.fills) == 1 and isinstance(s.fills[0], Fill)
        f = s.fills[0]
        assert (f.order_id, f.asset, f.ts, f.qty, f.price) == (1, "X", TS[1], 10.0, 11.0)

    def test_on_order_sees_every_status_change_of_result_orders(self):
        # "on_order: called for every order status change, in time order" -- including the
        # end-of-data cancellation of an order still open when the data ends
        class Recorder(Strategy):
            def on_start(self):
                self.seen = []

            def on_bar(self, bars):
                if bars.ts == TS[0]:
                    self.broker.order("X", 1, limit_price=1.0)   # never fills

            def on_order(self, order):
                self.seen.append((order.id, order.status, order.reason))

        r = run_backtest(Recorder, frame({"X": RISING}))
        expected = list(zip(r.orders["order_id"], r.orders["status"], r.orders["reason"]))
        assert expected[-1] == (1, "canceled", "end_of_data")
        assert r.strategy.seen == expected

    def test_on_event_receives_bar_order_and_fill_events(self):
        class Events(Strategy):
            def on_start(self):
                self.events = []

            def on_event(self, event):
                self.events.append(event)
                if isinstance(event, BarEvent) and event.ts == TS[0]:
                    self.broker.order("X", 10)

        r = run_backtest(Events, frame({"X": RISING[:3]}), cash=1_000)
        ev = r.strategy.events
        # bar 0: the bar, then the new order's submitted/accepted; bar 1: the fill's order
        # event and fill event come before the bar event; bar 2: just the bar
        assert [e.kind for e in ev] == ["bar", "order", "order", "order", "fill", "bar", "bar"]
        assert [type(e) for e in ev] == [BarEvent, OrderEvent, OrderEvent, OrderEvent,
                                         FillEvent, BarEvent, BarEvent]
        assert [e.ts for e in ev] == [TS[0]] * 3 + [TS[1]] * 3 + [TS[2]]
        assert ev[3].order.status == "filled" and ev[4].fill.price == 11.0
        assert len(r.fills) == 1


# ------------------------------------------------------------------------------ sizing
# X closes at 10.30 on bar 0, Y at 20.60; cash 10000, nothing held.
SIZING_DF = frame({"X": [(10.0, 10.5, 9.9, 10.3)] * 3, "Y": [(20.0, 20.8, 19.9, 20.6)] * 3})


def _qty(o):
    return None if o is None else o.qty


@pytest.mark.parametrize("call, expected", [
    # 1000 / 10.30 = 97.09 -> 97
    (lambda b: _qty(b.order_value("X", 1_000)), 97),
    # -1000 / 10.30 = -97.09 -> -97 (toward zero, not -98)
    (lambda b: _qty(b.order_value("X", -1_000)), -97),
    # 5 / 10.30 = 0.49 -> 0 -> no order
    (lambda b: b.order_value("X", 5), None),
    # 10% of nav 10000 = 1000 -> 97
    (lambda b: _qty(b.order_percent("X", 0.1)), 97),
    # target 50 units, nothing held or open -> 50
    (lambda b: _qty(b.order_target("X", 50)), 50),
    # target 2000 currency: trunc(2000 / 10.30 = 194.17) = 194
    (lambda b: _qty(b.order_target_value("X", 2_000)), 194),
    # 50% of 10000 = 5000 / 10.30 = 485.4 -> 485
    (lambda b: _qty(b.order_target_percent("X", 0.5)), 485),
    # target -0.5 of nav: -5000 / 10.30 = -485.4 -> -485
    (lambda b: _qty(b.order_target_percent("X", -0.5)), -485),
    # weights: X 2000 / 10.30 -> 194; Y 3000 / 20.60 = 145.6 -> 145; NaN weight skipped
    (lambda b: [(o.asset, o.qty) for o in
                b.order_target_weights({"X": 0.2, "Y": 0.3, "Z": math.nan})], None),
])
def test_sizing_helpers(call, expected):
    out = []
    r = run_backtest(scripted({0: [lambda s, bars: out.append(call(s.broker))]}), SIZING_DF,
                     cash=10_000)
    got = out[0]
    if isinstance(got, list):
        assert got == [("X", 194.0), ("Y", 145.0)]
    else:
        assert got == expected
    # a helper that returned None placed nothing
    assert r.orders.empty == (got is None)


def test_targets_count_open_orders():
    out = []

    def act(s, bars):
        b = s.broker
        # 50 ordered; a second target 50 sees 50 open -> nothing; target 30 -> -20
        out.append([_qty(b.order_target("X", 50)), b.order_target("X", 50),
                    _qty(b.order_target("X", 30))])
        out.append([o.qty for o in b.get_open_orders("X")])

    run_backtest(scripted({0: [act]}), SIZING_DF, cash=10_000)
    assert out[0] == [50, None, -20]
    assert out[1] == [50, -20]


def test_targets_count_the_held_position():
    out = []

    def act(s, bars):
        # holding 100 after bar 1's fill: target 40 -> -60; target 0% -> -100
        out.append((_qty(s.broker.order_target("X", 40)),
                    _qty(s.broker.order_target_percent("X", 0.0))))

    r = run_backtest(scripted({0: [("X", 100, {})], 1: [act]}), SIZING_DF, cash=10_000)
    # the second target counts the first (-60 open): 0 - (100 - 60) = -40
    assert out == [(-60, -40)]
    # both fill on bar 2: 100 - 60 - 40 = 0, so the last position row is bar 1's
    assert r.positions["ts"].max() == day_ts(3)[1]
    assert list(r.fills["qty"]) == [100, -60, -40]


def test_order_returns_accepted_snapshot():
    out = []
    run_backtest(scripted({0: [lambda s, b: out.append(s.broker.order(
        "X", 3, limit_price=9.0, time_in_force="day"))]}), SIZING_DF)
    o = out[0]
    assert (o.id, o.asset, o.qty, o.status, o.type, o.time_in_force, o.limit_price) == (
        1, "X", 3.0, "accepted", "limit", "DAY", 9.0)
    assert o.remaining == 3.0 and o.is_buy and o.stop_price is None


# --------------------------------------------------------------------- account queries
def test_position_cash_and_value_inside_on_bar():
    df = frame({"X": [(10.0, 10.5, 9.5, 10.0), (10.0, 10.6, 9.9, 10.5), (10.5, 10.9, 10.4, 10.8)],
                "Y": [(20.0, 20.5, 19.5, 20.0)] * 3})
    out = {}

    def look(s, bars):
        b = s.broker
        out.update(pos=b.position("X"), flat=b.position("Y"), positions=b.positions(),
                   holdings=b.holdings(), cash=b.cash, value=b.value)

    run_backtest(scripted({0: [("X", 100, {})], 1: [look]}), df, cash=10_000)
    p = out["pos"]
    # bought 100 @ 10.0 (bar 1 open); bar 1 closes at 10.5
    assert (p.asset, p.qty, p.avg_cost, p.price) == ("X", 100.0, 10.0, 10.5)
    assert p.market_value == pytest.approx(1_050.0)
    assert p.unrealized_pnl == pytest.approx(50.0)
    assert bool(p) is True
    assert bool(out["flat"]) is False and out["flat"].qty == 0 and out["flat"].avg_cost is None
    assert list(out["positions"]) == ["X"]
    assert out["holdings"] == {"X": 100.0}
    # cash 10000 - 1000 = 9000; value 9000 + 100 * 10.5 = 10050
    assert out["cash"] == pytest.approx(9_000.0)
    assert out["value"] == pytest.approx(10_050.0)


# ------------------------------------------------------------------- point-in-time data
HALT_DF = frame({
    "X": RISING,
    "Y": [(20.0, 20.5, 19.5, 20.2), None, (22.0, 22.5, 21.5, 22.2), (23.0, 23.5, 22.5, 23.2)],
})


class Peek(Strategy):
    def on_start(self):
        self.rows = []

    def on_bar(self, bars):
        d = self.data
        hx = d.history("X", "close", 3)
        hy = d.history("Y", "close", 3)
        both = d.history(["X", "Y"], "close", 3)
        self.rows.append(dict(
            ts=bars.ts, assets=list(bars.assets), x_in="X" in bars, y_in="Y" in bars,
            x_close=bars.close["X"], y_get=bars.close.get("Y"),
            hx_last_ts=hx.index[-1], hx_last=hx.iloc[-1], hx_len=len(hx),
            hy_last_ts=hy.index[-1], both_max_ts=both.index.max(),
            arr=d.history_array("X", "close", 100), cur_x=d.current("X"),
            cur_y=d.current("Y"), open_x=d.current("X", "open"),
            high_arr=d.history_array("X", "high", 2), now=d.now,
        ))
        try:
            bars.close["Y"]
            self.rows[-1]["y_key_error"] = False
        except KeyError:
            self.rows[-1]["y_key_error"] = True


@pytest.fixture(scope="module")
def rows():
    return run_backtest(Peek, HALT_DF).strategy.rows


class TestPointInTime:
    def test_history_ends_at_the_current_bar(self, rows):
        for k, row in enumerate(rows):
            assert row["hx_last_ts"] == row["ts"] == TS[k] == row["now"]
            assert row["hx_last"] == RISING[k][3] == row["x_close"] == row["cur_x"]
            assert row["hx_len"] == min(k + 1, 3)
            # history_array: every close so far, the last one is now's
            assert list(row["arr"]) == [b[3] for b in RISING[:k + 1]]
            assert list(row["high_arr"]) == [b[1] for b in RISING[max(0, k - 1):k + 1]]
            assert row["open_x"] == RISING[k][0]
            assert row["both_max_ts"] <= row["ts"]
            assert row["hy_last_ts"] <= row["ts"]

    def test_bars_membership_and_halted_asset(self, rows):
        assert [r["assets"] for r in rows] == [["X", "Y"], ["X"], ["X", "Y"], ["X", "Y"]]
        halted = rows[1]
        assert halted["x_in"] and not halted["y_in"]
        assert halted["y_key_error"] is True and halted["y_get"] is None
        # Y's last known values are bar 0's
        assert halted["hy_last_ts"] == TS[0] and halted["cur_y"] == 20.2
        assert rows[2]["y_in"] and rows[2]["y_get"] == 22.2 and not rows[2]["y_key_error"]

    def test_bad_field_and_bars(self):
        errors = []

        def act(s, bars):
            for f in (lambda: s.data.history("X", "clsoe", 2),
                      lambda: s.data.history("X", "close", 0),
                      lambda: s.data.current("Q"),
                      lambda: bars.close["Q"]):
                try:
                    f()
                except Exception as e:      # noqa: BLE001 - the type is what we check
                    errors.append(e)

        run_backtest(scripted({0: [act]}), frame({"X": RISING}))
        assert isinstance(errors[0], ConfigError) and "close" in str(errors[0])
        assert isinstance(errors[1], ValueError)
        assert isinstance(errors[2], OrderError)
        assert isinstance(errors[3], OrderError)
        assert len(errors) == 4


# --------------------------------------------------------------------- engine config
class TestEngineConfig:
    def test_bad_fill_mode_names_param_and_suggests(self):
        with pytest.raises(ConfigError) as e:
            run_backtest(Params, frame({"X": RISING}), fill="next_opn")
        assert e.value.param == "fill"
        assert "next_open" in str(e.value) and "did you mean 'next_open'" in str(e.value)

    @pytest.mark.parametrize("cash", [-5, 0, math.nan, math.inf, "lots"])
    def test_bad_cash(self, cash):
        with pytest.raises(ConfigError) as e:
            Engine(cash=cash)
        assert e.value.param == "cash"

    @pytest.mark.parametrize("kw, param", [
        ({"account": "cahs"}, "account"), ({"on_insufficient": "partal"}, "on_insufficient"),
        ({"fill_order": "exit"}, "fill_order"), ({"initial_margin": 0}, "initial_margin"),
        ({"initial_margin": 1.5}, "initial_margin"), ({"max_leverage": -1}, "max_leverage"),
        ({"seed": 1.5}, "seed"), ({"record": "tick"}, "record"),
    ])
    def test_other_bad_values(self, kw, param):
        with pytest.raises(ConfigError) as e:
            Engine(**kw)
        assert e.value.param == param

    def test_unknown_keyword_raises_type_error(self):
        with pytest.raises(TypeError):
            run_backtest(Params, frame({"X": RISING}), comission=None)
        with pytest.raises(TypeError):
            Engine(cash=1, foo=2)


# --------------------------------------------------------------------------- results
PORTFOLIO_COLS = ["nav", "cash", "positions_value", "gross_exposure", "net_exposure",
                  "leverage", "realized_pnl", "unrealized_pnl", "commission", "returns"]
POSITIONS_COLS = ["ts", "asset", "qty", "price", "market_value", "avg_cost", "unrealized_pnl"]
ORDERS_COLS = ["ts", "order_id", "asset", "status", "reason", "type", "time_in_force", "qty",
               "filled", "limit_price", "stop_price"]
FILLS_COLS = ["ts", "order_id", "asset", "qty", "price", "ref_price", "commission", "slippage",
              "realized_pnl"]
TRADES_COLS = ["asset", "direction", "entry_ts", "exit_ts", "entry_price", "exit_price", "qty",
               "pnl", "commission", "pnl_net", "bars"]
METRIC_KEYS = {"starting_cash", "final_value", "total_return", "annual_return",
               "annual_volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio",
               "max_drawdown", "commission", "trade_count", "win_rate", "profit_factor",
               "avg_win", "avg_loss", "sessions"}


def _in_order(columns, documented):
    return [c for c in columns if c in documented] == documented


class RoundTrip(Strategy):
    """Buy 10 on the first bar, sell them on the third (a module-level class: picklable)."""

    def on_bar(self, bars):
        n = len(self.data.history("X", "close", 10))
        if n == 1:
            self.broker.order("X", 10)
        elif n == 3:
            self.broker.order("X", -10)


@pytest.fixture(scope="module")
def round_trip():
    # buy 10 @ 11.0 (bar 1 open), sell 10 @ 13.0 (bar 3 open); $1 per order
    df = frame({"X": RISING + [(13.0, 13.5, 12.5, 13.2)]})
    return run({0: [("X", 10, {})], 2: [("X", -10, {})]}, df, cash=1_000,
               commission=FixedCommission(1.0))


class TestResult:
    def test_table_columns(self, round_trip):
        r = round_trip
        assert r.portfolio.index.name == "ts"
        assert _in_order(list(r.portfolio.columns), PORTFOLIO_COLS)
        assert _in_order(list(r.positions.columns), POSITIONS_COLS)
        assert _in_order(list(r.orders.columns), ORDERS_COLS)
        assert _in_order(list(r.fills.columns), FILLS_COLS)
        assert _in_order(list(r.trades.columns), TRADES_COLS)
        assert str(r.portfolio.index.tz) == "UTC"

    def test_portfolio_numbers(self, round_trip):
        p = round_trip.portfolio
        # one row per bar; after bar 1: cash 1000 - 110 - 1 = 889, nav 889 + 10 * 11.2
        assert len(p) == 5
        assert p["cash"].iloc[1] == pytest.approx(889.0)
        assert p["nav"].iloc[1] == pytest.approx(1_001.0)
        assert p["positions_value"].iloc[1] == pytest.approx(112.0)
        assert p["unrealized_pnl"].iloc[1] == pytest.approx(2.0)      # 10 * (11.2 - 11.0)
        assert p["returns"].iloc[1] == pytest.approx(1_001.0 / 1_000.0 - 1)
        # end: 889 + 130 - 1 = 1018, flat
        assert p["nav"].iloc[-1] == pytest.approx(1_018.0)
        assert p["realized_pnl"].iloc[-1] == pytest.approx(20.0)      # 10 * (13 - 11)
        assert p["commission"].iloc[-1] == pytest.approx(2.0)

    def test_metrics(self, round_trip):
        m = round_trip.metrics
        assert METRIC_KEYS <= set(m)
        assert m["starting_cash"] == 1_000.0
        assert m["final_value"] == pytest.approx(1_018.0)
        assert m["total_return"] == pytest.approx(0.018)
        assert m["trade_count"] == 1
        assert m["win_rate"] == 1.0                       # pnl_net 20 - 2 = 18 > 0
        assert m["avg_win"] == pytest.approx(18.0)
        assert m["commission"] == pytest.approx(2.0)
        assert m["sessions"] == 5
        assert m["max_drawdown"] <= 0.0
        assert "Total return" in round_trip.summary()

    def test_save_writes_all_files(self, round_trip, tmp_path):
        d = round_trip.save(tmp_path / "out")
        names = {p.name for p in pathlib.Path(d).iterdir()}
        for name in ("portfolio.parquet", "positions.parquet", "orders.parquet",
                     "fills.parquet", "trades.parquet", "metrics.json", "tearsheet.png",
                     "run_manifest.json"):
            assert name in names
            assert (pathlib.Path(d) / name).stat().st_size > 0
        fills = pd.read_parquet(pathlib.Path(d) / "fills.parquet")
        pd.testing.assert_frame_equal(fills, round_trip.fills, check_dtype=False)
        metrics = json.loads((pathlib.Path(d) / "metrics.json").read_text())
        assert metrics["final_value"] == pytest.approx(1_018.0)
        manifest = json.loads((pathlib.Path(d) / "run_manifest.json").read_text())
        assert isinstance(manifest, dict) and manifest
        assert (pathlib.Path(d) / "tearsheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def test_tables_are_built_on_first_read_from_the_run_as_it_ended(self):
        df = frame({"X": RISING + [(13.0, 13.5, 12.5, 13.2)]})
        r = run({0: [("X", 10, {})], 2: [("X", -10, {})]}, df, cash=1_000,
                commission=FixedCommission(1.0))
        assert "fills" not in vars(r) and "portfolio" not in vars(r)
        # a second run in between changes nothing: the columns were copied at the end
        run({0: [("X", 5, {})]}, df, cash=50_000)
        fills = r.fills
        assert r.fills is fills                                  # built once
        assert fills["qty"].tolist() == [10.0, -10.0]
        assert fills["price"].tolist() == [11.0, 13.0]
        assert "portfolio" not in vars(r)                       # only what was read
        assert r.portfolio["nav"].iloc[-1] == pytest.approx(1_018.0)
        # tables the run left empty keep their columns
        assert list(r.accruals.columns) == ["ts", "kind", "asset", "amount", "base", "rate"]
        assert len(r.margin_calls) == 0 and len(r.conversions) == 0

    def test_a_copy_of_a_result_has_every_table(self):
        import copy

        df = frame({"X": RISING + [(13.0, 13.5, 12.5, 13.2)]})
        r = run_backtest(RoundTrip, df, cash=1_000, commission=FixedCommission(1.0))
        assert "fills" not in vars(r)
        twin = copy.copy(r)            # builds every table first: none is lost to either
        for name in ("portfolio", "positions", "orders", "fills", "trades",
                     "corporate_actions", "accruals", "margin_calls"):
            pd.testing.assert_frame_equal(getattr(twin, name), getattr(r, name))
        assert twin.fills["qty"].tolist() == [10.0, -10.0]
        assert twin.metrics["final_value"] == pytest.approx(1_018.0)

    def test_run_with_out_writes_results(self, tmp_path):
        run_backtest(Params, frame({"X": RISING}), out=tmp_path / "o")
        assert (tmp_path / "o" / "run_manifest.json").is_file()
        assert (tmp_path / "o" / "portfolio.parquet").is_file()


# ------------------------------------------------------------------------------- CLI
def test_cli_run_example(tmp_path):
    out = tmp_path / "sma"
    proc = subprocess.run(
        [sys.executable, "-m", "ml4t", "run", str(ROOT / "examples" / "sma_crossover.py"),
         "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "SmaCross on" in proc.stdout
    for label in ("Starting cash", "Final value", "Total return", "Sharpe ratio",
                  "Max drawdown", "Closed trades"):
        assert label in proc.stdout
    assert "100,000.00" in proc.stdout                    # ENGINE cash in the example
    assert f"results written to {out}" in proc.stdout
    for name in ("metrics.json", "tearsheet.png", "run_manifest.json", "fills.parquet"):
        assert (out / name).is_file()
    assert len(pd.read_parquet(out / "fills.parquet")) > 0


def test_cli_rejects_bad_fill_choice(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ml4t", "run", str(ROOT / "examples" / "sma_crossover.py"),
         "--fill", "next_opn", "--out", str(tmp_path / "x")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "next_open" in proc.stderr
