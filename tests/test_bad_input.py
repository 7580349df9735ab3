"""Bad orders and bad direct core calls raise Python exceptions; nothing crashes the core.

Order validation is exercised through the public ``Broker.order`` inside a backtest. Direct
calls into the compiled classes with out-of-range ids run in one child interpreter, so a
segfault there shows up as a failed test (with the case that killed the child) instead of
killing the pytest process.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest

from conftest import day_ts, final, frame, run, scripted
from ml4t import Strategy, run_backtest
from ml4t.errors import ConfigError, OrderError

TS = day_ts(3)
DF = frame({"XYZ": [(10.0, 10.5, 9.5, 10.2), (11.0, 11.5, 10.5, 11.2),
                    (12.0, 12.5, 11.5, 12.2)]})


def attempt(call, **config):
    """Run ``call(broker)`` on bar 0 and return the exception it raised (or None)."""
    out = []

    def act(s, bars):
        try:
            out.append(("ok", call(s.broker)))
        except Exception as e:      # noqa: BLE001 - the type is what the test checks
            out.append(("err", e))

    r = run_backtest(scripted({0: [act]}), DF, **config)
    kind, value = out[0]
    return (value if kind == "err" else None), r


# ---------------------------------------------------------------------- bad orders
class TestBadOrders:
    def test_unknown_asset_suggests_spelling(self):
        err, r = attempt(lambda b: b.order("XYX", 1))
        assert isinstance(err, OrderError)
        assert "XYX" in str(err) and "did you mean 'XYZ'" in str(err)
        assert r.orders.empty

    def test_unknown_asset_without_close_match_lists_known(self):
        err, _ = attempt(lambda b: b.order("QQQQQQ", 1))
        assert isinstance(err, OrderError) and "XYZ" in str(err)

    @pytest.mark.parametrize("qty", [math.nan, math.inf, -math.inf, 0, 0.0, "ten", None])
    def test_bad_quantity(self, qty):
        err, r = attempt(lambda b: b.order("XYZ", qty))
        assert isinstance(err, OrderError)
        assert r.orders.empty and r.fills.empty

    def test_fractional_qty_refused_unless_enabled(self):
        err, r = attempt(lambda b: b.order("XYZ", 1.5))
        assert isinstance(err, OrderError) and "fractional" in str(err)
        assert r.orders.empty
        err, r = attempt(lambda b: b.order("XYZ", 1.5), fractional=True)
        # allowed: 1.5 @ bar 1 open 11.0 = 16.5
        assert err is None
        assert list(r.fills["qty"]) == [1.5]
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(100_000 - 16.5)

    @pytest.mark.parametrize("kw", [
        {"limit_price": -1.0}, {"limit_price": 0.0}, {"limit_price": math.nan},
        {"limit_price": math.inf}, {"stop_price": -1.0}, {"stop_price": 0.0},
        {"stop_price": math.nan}, {"stop_price": 5.0, "limit_price": 0.0},
        {"stop_price": math.nan, "limit_price": 5.0}, {"limit_price": "cheap"},
    ])
    def test_bad_prices(self, kw):
        err, r = attempt(lambda b: b.order("XYZ", 1, **kw))
        assert isinstance(err, OrderError)
        assert r.orders.empty

    def test_unknown_time_in_force(self):
        err, r = attempt(lambda b: b.order("XYZ", 1, time_in_force="GTX"))
        assert isinstance(err, ConfigError) and err.param == "time_in_force"
        assert "GTC" in str(err)
        assert r.orders.empty

    def test_sizing_helper_with_non_finite_value(self):
        err, _ = attempt(lambda b: b.order_value("XYZ", math.inf))
        assert isinstance(err, OrderError)

    def test_sizing_helper_for_asset_without_a_price_yet(self):
        df = frame({"XYZ": [(10.0, 10.5, 9.5, 10.2)] * 3,
                    "LATE": [None, (5.0, 5.5, 4.5, 5.2), (5.0, 5.5, 4.5, 5.2)]})
        out = []

        def act(s, bars):
            try:
                s.broker.order_value("LATE", 100)
            except OrderError as e:
                out.append(str(e))

        run_backtest(scripted({0: [act]}), df)
        assert len(out) == 1 and "LATE" in out[0]

    def test_cancel_unknown_order_id(self):
        err, _ = attempt(lambda b: b.cancel(42))
        assert isinstance(err, OrderError)

    def test_exception_in_strategy_propagates(self):
        class Boom(Strategy):
            def on_bar(self, bars):
                raise RuntimeError("strategy bug")

        with pytest.raises(RuntimeError, match="strategy bug"):
            run_backtest(Boom, DF)


class TestAfterTheData:
    def test_order_on_last_bar_is_canceled_end_of_data(self):
        r = run({2: [("XYZ", 1, {})]}, DF)
        last = final(r, 1)
        assert (last["status"], last["reason"], last["ts"]) == ("canceled", "end_of_data",
                                                                TS[2])
        assert r.fills.empty

    def test_order_in_on_stop_is_canceled_end_of_data(self):
        class Late(Strategy):
            def on_stop(self):
                self.broker.order("XYZ", 1)

        r = run_backtest(Late, DF)
        assert list(r.orders["status"]) == ["submitted", "accepted", "canceled"]
        assert r.orders["reason"].iloc[-1] == "end_of_data"
        assert r.fills.empty


# ----------------------------------------------------------------- direct core calls
SETUP = """
import math
import numpy as np
from ml4t._core.accounting import Ledger
from ml4t._core.matching import OrderBook
from ml4t._core.clock import Simulator
try:                                  # the history store has its own module in newer builds
    from ml4t._core.history import History
except ImportError:
    from ml4t._core.clock import History
from ml4t._core.buffers import F64Buf, I64Buf
from ml4t._core.costs import NoCommission, NoSlippage
led = Ledger(2, 1000.0)
book = OrderBook(led, NoCommission(), NoSlippage())
hist = History(2, 4)
"""

# (name, code, expected exception type name)
CORE_CASES = [
    ("submit_asset_negative", "book.submit(-1, 1.0)", "OrderError"),
    ("submit_asset_n", "book.submit(2, 1.0)", "OrderError"),
    ("submit_asset_huge", "book.submit(2**31 - 1, 1.0)", "OrderError"),
    ("submit_nan_qty", "book.submit(0, math.nan)", "OrderError"),
    ("submit_zero_qty", "book.submit(0, 0.0)", "OrderError"),
    ("submit_bad_type", "book.submit(0, 1.0, 9)", "OrderError"),
    ("submit_negative_type", "book.submit(0, 1.0, -1)", "OrderError"),
    ("submit_bad_tif", "book.submit(0, 1.0, 0, math.nan, math.nan, 7)", "OrderError"),
    ("submit_limit_without_price", "book.submit(0, 1.0, 1)", "OrderError"),
    ("cancel_unknown", "book.cancel(99)", "OrderError"),
    ("cancel_zero", "book.cancel(0)", "OrderError"),
    ("order_unknown", "book.order(-5)", "OrderError"),
    ("event_out_of_range", "book.event(10**6)", "IndexError"),
    ("event_negative", "book.event(-1)", "IndexError"),
    ("ledger_position_99", "led.position(99)", "IndexError"),
    ("ledger_position_negative", "led.position(-1)", "IndexError"),
    ("ledger_avg_cost_99", "led.avg_cost(99)", "IndexError"),
    ("ledger_check_fill_99", "led.check_fill(99, 1.0, 10.0, 0.0)", "IndexError"),
    ("ledger_apply_fill_99", "led.apply_fill_py(0, 1, 99, 1.0, 10.0, 0.0)", "IndexError"),
    ("ledger_apply_fill_nan", "led.apply_fill_py(0, 1, 0, math.nan, 10.0, 0.0)", "ValueError"),
    ("ledger_apply_fill_bad_price", "led.apply_fill_py(0, 1, 0, 1.0, -1.0, 0.0)",
     "ValueError"),
    ("ledger_mark_wrong_length", "led.mark_prices(np.array([1.0]))", "ValueError"),
    ("ledger_bad_cash", "Ledger(1, -5.0)", "ValueError"),
    ("ledger_negative_assets", "Ledger(-1, 5.0)", "ValueError"),
    ("history_window_99", "hist.window(99, 'close', 5)", "IndexError"),
    ("history_window_negative", "hist.window(-1, 'close', 5)", "IndexError"),
    ("history_window_zero_bars", "hist.window(0, 'close', 0)", "ValueError"),
    ("history_window_bad_field", "hist.window(0, 'clse', 1)", "KeyError"),
    ("f64buf_get_empty", "F64Buf().get(0)", "IndexError"),
    ("i64buf_get_negative", "I64Buf().get(-1)", "IndexError"),
    ("orderbook_without_models", "OrderBook(led, None, None)", "TypeError"),
    ("simulator_foreign_book",
     "Simulator(Ledger(2, 1.0), book)", "ValueError"),
    ("simulator_bad_mode", "Simulator(led, book, 7)", "ValueError"),
    ("simulator_batch_bad_asset", """
class B:
    ts = np.array([1], dtype=np.int64); asset = np.array([5], dtype=np.int32)
    open = high = low = close = volume = np.array([1.0]); session = np.array([0], dtype=np.int64)
Simulator(led, book).run([B()])
""", "ValueError"),
    ("simulator_batch_ragged", """
class B:
    ts = np.array([1, 2], dtype=np.int64); asset = np.array([0], dtype=np.int32)
    open = high = low = close = volume = np.array([1.0]); session = np.array([0], dtype=np.int64)
Simulator(led, book).run([B()])
""", "ValueError"),
]

CHILD = """
import json, sys, traceback
cases = json.loads(sys.stdin.read())
setup = cases.pop(0)
for name, code in cases:
    ns = {}
    exec(setup, ns)
    try:
        exec(code, ns)
        outcome = "no exception"
    except BaseException as e:
        outcome = type(e).__name__
    print(json.dumps([name, outcome]), flush=True)
print(json.dumps(["__done__", ""]), flush=True)
"""


@pytest.fixture(scope="module")
def core_outcomes():
    payload = [SETUP] + [[name, textwrap.dedent(code)] for name, code, _ in CORE_CASES]
    proc = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=300)
    outcomes = dict(json.loads(line) for line in proc.stdout.splitlines() if line.strip())
    return outcomes, proc


@pytest.mark.parametrize("name, code, expected", CORE_CASES, ids=[c[0] for c in CORE_CASES])
def test_direct_core_call_raises(core_outcomes, name, code, expected):
    outcomes, proc = core_outcomes
    if name not in outcomes:
        pytest.fail(f"the child interpreter died (return code {proc.returncode}) at or before "
                    f"case {name!r}; stderr:\n{proc.stderr[-2000:]}")
    assert outcomes[name] == expected


def test_child_interpreter_finished_cleanly(core_outcomes):
    outcomes, proc = core_outcomes
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "__done__" in outcomes


def test_order_error_is_value_error_and_ml4t_error():
    from ml4t.errors import Ml4tError
    assert issubclass(OrderError, ValueError) and issubclass(OrderError, Ml4tError)
    assert issubclass(ConfigError, ValueError) and issubclass(ConfigError, Ml4tError)
