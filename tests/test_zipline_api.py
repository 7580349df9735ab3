"""The API surface of ``ml4t.compat.zipline`` (runs without Zipline installed).

Hand-made csvdir bundles make the expected numbers easy to compute by hand; the
sample data (``data/raw``, ``data/daily``) checks bundles, splits and the CLI.
Parity with real Zipline is in ``test_zipline_parity.py``.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t.compat.zipline as zl
from ml4t.compat.zipline import api, errors
from ml4t.compat.zipline.assets import Equity
from ml4t.compat.zipline.data import bundles
from ml4t.compat.zipline.data.bundles.csvdir import csvdir_equities
from ml4t.compat.zipline.finance import commission, execution, slippage

ROOT = pathlib.Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
ADJUSTED = ROOT / "data" / "daily"


# ------------------------------------------------------------------------- fixtures
def _sessions(start: str, n: int) -> pd.DatetimeIndex:
    from ml4t.compat.zipline._store import get_exchange_calendar
    cal = get_exchange_calendar("XNYS", pd.Timestamp("2020-01-01"), pd.Timestamp("2020-12-31"))
    s = pd.DatetimeIndex(cal.sessions)
    s = s.tz_localize(None) if s.tz is not None else s
    return s[s >= pd.Timestamp(start)][:n]


def _write(folder: pathlib.Path, name: str, dates, close, volume=1_000_000, dividend=None,
           split=None):
    close = np.asarray(close, dtype=float)
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "open": close, "high": close + 0.5,
                          "low": close - 0.5, "close": close,
                          "volume": np.broadcast_to(volume, close.shape),
                          "dividend": 0.0 if dividend is None else dividend,
                          "split": 1.0 if split is None else split})
    (folder / "daily").mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "daily" / f"{name}.csv", index=False)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> str:
    """AAA: 40 sessions from 2020-01-02 at 10.0, 10.1, ...; 2:1 split on session 20 and a
    0.50 dividend on session 10. BBB: starts on session 5, volume 1000, flat 50.0."""
    folder = tmp_path_factory.mktemp("toy")
    days = _sessions("2020-01-02", 40)
    close = 10.0 + 0.1 * np.arange(40)
    close[20:] /= 2.0
    div = np.zeros(40)
    div[10] = 0.5
    split = np.ones(40)
    split[20] = 2.0
    _write(folder, "AAA", days, close, dividend=div, split=split)
    _write(folder, "BBB", days[5:], np.full(35, 50.0), volume=1000)
    return str(folder)


def run(bundle, initialize, handle_data=None, start="2020-01-02", end="2020-02-27",
        capital=100_000.0, **kw):
    return zl.run_algorithm(start=pd.Timestamp(start), end=pd.Timestamp(end),
                            initialize=initialize, handle_data=handle_data,
                            capital_base=capital, bundle=bundle, **kw)


# ------------------------------------------------------------------------- run & perf
def test_market_order_fills_next_close_with_default_costs(toy):
    def initialize(context):
        context.a = api.symbol("AAA")

    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-02").date():
            api.order(context.a, 100)

    perf = run(toy, initialize, handle_data)
    day2 = perf.iloc[1]
    [txn] = day2.transactions
    assert txn["amount"] == 100
    assert txn["price"] == pytest.approx(10.1 * 1.0005, rel=1e-12)   # next close + 5 bps
    assert txn["commission"] is None and txn["sid"] == api_asset(toy, "AAA")
    assert day2.ending_cash == pytest.approx(100_000 - 100 * 10.1 * 1.0005 - 0.1, rel=1e-12)
    assert day2.portfolio_value == pytest.approx(day2.ending_cash + 100 * 10.1, rel=1e-12)
    [order] = day2.orders
    assert (order["amount"], order["filled"], order["commission"]) == (100, 100, 0.1)
    assert int(order["status"]) == 1
    assert perf.index.tz is not None and perf.index[0].hour == 21     # session close, UTC


def api_asset(bundle, symbol):
    return next(a for a in bundles.load(bundle).assets if a.symbol == symbol)


def test_perf_has_zipline_columns_and_lists(toy):
    perf = run(toy, lambda c: None)
    for col in ("portfolio_value", "ending_cash", "returns", "pnl", "capital_used",
                "transactions", "orders", "positions", "sharpe", "sortino", "max_drawdown",
                "algo_volatility", "alpha", "beta", "benchmark_period_return",
                "algorithm_period_return", "trading_days", "period_label",
                "excess_return", "treasury_period_return", "gross_leverage", "longs_count"):
        assert col in perf.columns
    assert (perf.excess_return == 0).all() and (perf.treasury_period_return == 0).all()
    assert perf.alpha.isna().all() and perf.beta.isna().all()    # no benchmark
    assert (perf.portfolio_value == 100_000).all()


def test_volume_cap_spreads_fills_over_sessions(toy):
    def initialize(context):
        context.b = api.symbol("BBB")

    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-10").date():
            api.order(context.b, 250)                # 10% of 1000 = 100 shares a bar

    perf = run(toy, initialize, handle_data)
    amounts = [t["amount"] for txns in perf.transactions for t in txns]
    assert amounts == [100, 100, 50]


def test_splits_scale_positions_and_dividends_are_never_paid(toy):
    def initialize(context):
        context.a = api.symbol("AAA")
        context.n = 0

    def handle_data(context, data):
        context.n += 1
        if context.n == 1:
            api.order(context.a, 100)
        pos = context.portfolio.positions[context.a]
        api.record(amount=pos.amount, cost_basis=pos.cost_basis, cash=context.portfolio.cash)
        if context.n >= 12:
            api.record(hist=data.history(context.a, "close", 12, "1d").iloc[0])

    perf = run(toy, initialize, handle_data)
    assert perf.amount.iloc[19] == 100 and perf.amount.iloc[20] == 200
    cb_before = perf.cost_basis.iloc[19]
    assert perf.cost_basis.iloc[20] == round(cb_before / 2, 2)            # Zipline's rounding
    assert perf.cash.iloc[1:].nunique() == 1                              # no dividend cash
    # history on session 11 (ex-date 10): bars before the ex-date x (1 - 0.5 / close[9])
    ratio = 1 - 0.5 / 10.9
    assert perf["hist"].iloc[11] == pytest.approx(round(10.0 * ratio, 3), abs=1e-12)
    # on session 25 the window starts at session 14, before the split: halved and rounded
    assert perf["hist"].iloc[25] == pytest.approx(round(11.4 / 2, 3), abs=1e-12)


def test_record_repeats_and_is_nan_before_first_record(toy):
    def handle_data(context, data):
        if api.get_datetime().day == 7:
            api.record(x=1.5)
        api.record("y", 2)

    perf = run(toy, lambda c: None, handle_data, end="2020-01-14")
    assert math.isnan(perf.x.iloc[0])
    assert (perf.x.loc["2020-01-07":] == 1.5).all()
    assert (perf.y == 2).all()


def test_schedule_function_date_rules(toy):
    seen = {"ms1": [], "we": [], "ws": []}

    def initialize(context):
        api.schedule_function(lambda c, d: seen["ms1"].append(api.get_datetime().date()),
                              api.date_rules.month_start(days_offset=1))
        api.schedule_function(lambda c, d: seen["we"].append(api.get_datetime().date()),
                              api.date_rules.week_end(), api.time_rules.market_close(minutes=5))
        api.schedule_function(lambda c, d: seen["ws"].append(api.get_datetime().date()),
                              date_rule=api.date_rules.week_start(days_offset=2))

    run(toy, initialize, end="2020-02-14")
    assert [str(d) for d in seen["ms1"]] == ["2020-01-03", "2020-02-04"]
    assert str(seen["we"][0]) == "2020-01-03" and str(seen["we"][1]) == "2020-01-10"
    # third session of each ISO week: Jan 2 (Jan 1 is a holiday), Wed Jan 8, and Thu Jan 23
    # in the week of the Jan 20 holiday
    assert [str(d) for d in seen["ws"][:2]] == ["2020-01-02", "2020-01-08"]
    assert "2020-01-23" in [str(d) for d in seen["ws"]]


# ------------------------------------------------------------------------- data object
def test_current_and_history_shapes(toy):
    out = {}

    def initialize(context):
        context.assets = api.symbols("AAA", "BBB")

    def handle_data(context, data):
        if api.get_datetime().date() != pd.Timestamp("2020-01-15").date():
            return
        a, b = context.assets
        out["scalar"] = data.current(a, "close")
        out["volume"] = data.current(a, "volume")
        out["last_traded"] = data.current(a, "last_traded")
        out["fields"] = data.current(a, ["close", "volume"])
        out["assets"] = data.current([a, b], "price")
        out["frame"] = data.current([a, b], ["open", "close"])
        out["h1"] = data.history(a, "close", 3, "1d")
        out["h2"] = data.history([a, b], "close", 3, "1d")
        out["h3"] = data.history([a, b], ["close", "volume"], 2, "1d")
        out["can"] = (data.can_trade(a), data.can_trade([a, b]).tolist())
        out["stale"] = data.is_stale(a)
        with pytest.raises(KeyError, match="did you mean 'close'"):
            data.current(a, "closee")

    run(toy, initialize, handle_data)
    assert isinstance(out["scalar"], float) and out["scalar"] == pytest.approx(10.9)
    assert isinstance(out["volume"], int) and out["volume"] == 1_000_000
    assert out["last_traded"] == pd.Timestamp("2020-01-15")
    assert list(out["fields"].index) == ["close", "volume"] and out["fields"].name == "AAA"
    assert list(out["assets"].index) == list(bundles.load(toy).assets)
    assert out["frame"].shape == (2, 2) and list(out["frame"].columns) == ["open", "close"]
    assert isinstance(out["h1"], pd.Series) and len(out["h1"]) == 3
    assert out["h1"].index[-1] == pd.Timestamp("2020-01-15") and out["h1"].index.tz is None
    assert out["h2"].shape == (3, 2)
    assert out["h3"].shape == (4, 2) and list(out["h3"].columns) == ["close", "volume"]
    assert out["can"] == (True, [True, True]) and out["stale"] is False


def test_history_window_before_data_raises(toy):
    def handle_data(context, data):
        data.history(api.symbol("AAA"), "close", 5, "1d")

    with pytest.raises(errors.HistoryWindowStartsBeforeData, match="2020-01-09"):
        run(toy, lambda c: None, handle_data)


# ------------------------------------------------------------------------- orders
def test_sizing_functions_and_open_orders(toy):
    got = {}

    def initialize(context):
        context.a = api.symbol("AAA")

    def handle_data(context, data):
        day = api.get_datetime().date()
        if day == pd.Timestamp("2020-01-02").date():
            got["value"] = api.get_order(api.order_value(context.a, 1005.0))   # 100.5 -> 100
            got["pct"] = api.get_order(api.order_percent(context.a, 0.01))     # 1000 / 10 = 100
            got["near"] = api.get_order(api.order(context.a, 3.99995))          # -> 4
            got["zero"] = api.order(context.a, 0.3)                            # -> no order
            oid = api.order(context.a, 10, limit_price=5.0)
            got["open"] = api.get_open_orders(context.a)
            api.cancel_order(oid)
            got["after_cancel"] = api.get_open_orders()
            got["canceled"] = api.get_order(oid)
        if day == pd.Timestamp("2020-01-06").date():
            got["target"] = api.get_order(api.order_target(context.a, 150))
            got["target_value"] = api.order_target_value(context.a, 204 * 10.2)

    perf = run(toy, initialize, handle_data, end="2020-01-10")
    assert got["value"].amount == 100 and got["pct"].amount == 100 and got["near"].amount == 4
    assert got["zero"] is None
    assert len(got["open"]) == 4 and got["after_cancel"][api_asset(toy, "AAA")][-1].amount == 4
    assert int(got["canceled"].status) == 2
    assert got["target"].amount == 150 - 204            # targets ignore open orders
    assert got["target_value"] is None                  # already 204 shares
    assert perf.positions.iloc[-1][0]["amount"] == 150


def test_limit_and_stop_prices_are_rounded_in_the_orders_favour():
    assert execution.LimitOrder(10.0049).get_limit_price(True) == pytest.approx(10.0)
    assert execution.LimitOrder(10.0051).get_limit_price(True) == pytest.approx(10.0)
    assert execution.LimitOrder(10.0096).get_limit_price(True) == pytest.approx(10.01)
    assert execution.LimitOrder(10.0051).get_limit_price(False) == pytest.approx(10.01)
    assert execution.LimitOrder(10.0004).get_limit_price(False) == pytest.approx(10.0)
    assert execution.StopOrder(10.0049).get_stop_price(False) == pytest.approx(10.0)
    assert execution.StopOrder(10.0006).get_stop_price(True) == pytest.approx(10.01)
    with pytest.raises(errors.BadOrderParameters):
        execution.LimitOrder(float("nan"))
    with pytest.raises(errors.BadOrderParameters):
        execution.StopOrder(-1.0)


def test_errors_by_name(toy):
    def check(handler, exc, match=None, init=lambda c: None):
        def handle_data(context, data):
            if api.get_datetime().date() == pd.Timestamp("2020-01-03").date():
                handler(context, data)
        with pytest.raises(exc, match=match):
            run(toy, init, handle_data, end="2020-01-08")

    check(lambda c, d: api.symbol("AAB"), errors.SymbolNotFound, "did you mean 'AAA'")
    check(lambda c, d: api.sid(99), errors.SidsNotFound)
    check(lambda c, d: api.order("AAA", 1), errors.UnsupportedOrderParameters)
    check(lambda c, d: api.order(api.symbol("AAA"), 1, limit_price=1.0,
                                 style=execution.LimitOrder(1.0)),
          errors.UnsupportedOrderParameters)
    check(lambda c, d: api.order_value(api.symbol("BBB"), 100.0), errors.CannotOrderDelistedAsset,
          "starts trading")
    check(lambda c, d: api.set_slippage(slippage.NoSlippage()), errors.SetSlippagePostInit)
    check(lambda c, d: api.set_commission(commission.NoCommission()),
          errors.SetCommissionPostInit)
    check(lambda c, d: api.set_long_only(), errors.RegisterTradingControlPostInit)
    check(lambda c, d: api.set_max_leverage(2.0), errors.RegisterAccountControlPostInit)
    check(lambda c, d: api.order(api.symbol("AAA"), 11), errors.TradingControlViolation,
          init=lambda c: api.set_max_order_size(max_shares=10))
    check(lambda c, d: api.order(api.symbol("AAA"), -1), errors.TradingControlViolation,
          init=lambda c: api.set_long_only())
    check(lambda c, d: api.order(api.symbol("AAA"), 1), errors.TradingControlViolation,
          init=lambda c: api.set_do_not_order_list([api.symbol("AAA")]))
    with pytest.raises(errors.OrderDuringInitialize):
        run(toy, lambda c: api.order(api.symbol("AAA"), 1), end="2020-01-08")


def test_order_in_before_trading_start_is_refused(toy):
    def bts(context, data):
        api.order(api.symbol("AAA"), 1)

    with pytest.raises(errors.OrderInBeforeTradingStart):
        run(toy, lambda c: None, before_trading_start=bts, end="2020-01-08")


def test_max_order_count_and_position_size_log_mode(toy, caplog):
    def initialize(context):
        api.set_max_order_count(1, on_error="log")
        api.set_max_position_size(max_shares=5, on_error="log")

    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-03").date():
            api.order(api.symbol("AAA"), 3)
            api.order(api.symbol("AAA"), 3)

    perf = run(toy, initialize, handle_data, end="2020-01-08")
    assert sum(len(o) for o in perf.orders.iloc[1:2]) == 2         # logged, not refused
    assert "MaxOrderCount" in caplog.text


def test_api_outside_a_run_raises():
    with pytest.raises(RuntimeError, match="while an algorithm runs"):
        api.order(None, 1)
    with pytest.raises(RuntimeError):
        api.get_datetime()


# ------------------------------------------------------------------------- models
def test_zipline_model_defaults_and_native_mapping():
    from ml4t.models import FixedBpsSlippage, PerShareCommission
    fb = slippage.FixedBasisPointsSlippage()
    assert (fb.basis_points, fb.volume_limit) == (5.0, 0.1)
    native = fb._native(None)
    assert isinstance(native, FixedBpsSlippage) and native.volume_limit == 0.1
    assert native.respect_limit is False                # Zipline does not re-check limits
    assert slippage.FixedSlippage(0.1)._native(None).respect_limit is False
    assert slippage.NoSlippage()._native(None).respect_limit is False
    vs = slippage.VolumeShareSlippage()
    assert (vs.volume_limit, vs.price_impact) == (0.025, 0.1)
    ps = commission.PerShare()
    assert (ps.cost_per_share, ps.min_trade_cost) == (0.001, 0)
    assert isinstance(ps._native(), PerShareCommission)
    assert commission.PerDollar().cost_per_dollar == 0.0015

    class Mine(commission.PerShare):
        def calculate(self, order, transaction):
            return 1.0
    assert Mine()._native() is None                     # user code runs in Python


def test_commission_rules_by_hand():
    class O:
        commission, filled = 0.0, 0

    class T:
        amount, price = 100, 20.0
    assert commission.PerShare(0.01, min_trade_cost=5.0).calculate(O(), T()) == 5.0
    o = O()
    o.commission, o.filled = 5.0, 100
    assert commission.PerShare(0.01, min_trade_cost=5.0).calculate(o, T()) == 0
    assert commission.PerTrade(2.5).calculate(O(), T()) == 2.5
    assert commission.PerTrade(2.5).calculate(o, T()) == 0.0
    assert commission.PerDollar(0.001).calculate(O(), T()) == pytest.approx(2.0)


def test_custom_slippage_subclass_changes_the_price(toy):
    class Cent(slippage.SlippageModel):
        def process_order(self, data, order):
            return data.current(order.asset, "close") + 0.01 * order.direction, order.open_amount

    def initialize(context):
        api.set_slippage(Cent())
        api.set_commission(commission.NoCommission())

    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-02").date():
            api.order(api.symbol("AAA"), 10)

    perf = run(toy, initialize, handle_data, end="2020-01-06")
    assert perf.transactions.iloc[1][0]["price"] == pytest.approx(10.11)


def test_custom_slippage_returning_none_skips_the_order_for_the_bar(toy):
    class SkipFirst(slippage.SlippageModel):
        def __init__(self):
            super().__init__()
            self.skipped = set()

        def process_order(self, data, order):
            if order.amount == 10 and order.id not in self.skipped:
                self.skipped.add(order.id)
                return None, None                   # Zipline: skip, the order stays open
            return data.current(order.asset, "close"), order.open_amount

    def initialize(context):
        api.set_slippage(SkipFirst())
        api.set_commission(commission.NoCommission())

    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-02").date():
            api.order(api.symbol("AAA"), 10)
            api.order(api.symbol("AAA"), 20)       # still fills in the bar the first skips

    perf = run(toy, initialize, handle_data, end="2020-01-07")
    txns = [[(t["amount"], t["price"]) for t in day] for day in perf.transactions]
    assert txns[:3] == [[], [(20, pytest.approx(10.1))], [(10, pytest.approx(10.2))]]


def test_custom_models_on_twin_assets_get_their_own_orders(tmp_path):
    """Two assets with the same close and volume on every bar: each custom-model call still
    gets its own order (the engine passes the fill's asset and order), so each asset pays
    its own commission: TWA 10 shares x 0.05, TWB 30 shares x 0.01 (both fill at 10.0)."""
    days = _sessions("2020-01-02", 5)
    for name in ("TWA", "TWB"):
        _write(tmp_path, name, days, np.full(5, 10.0))
    seen = []

    class Tagged(slippage.SlippageModel):
        def process_order(self, data, order):
            seen.append((order.asset.symbol, order.amount))
            return data.current(order.asset, "close"), order.open_amount

    class ByAsset(commission.CommissionModel):
        def calculate(self, order, transaction):
            rate = 0.05 if transaction.asset.symbol == "TWA" else 0.01
            return rate * abs(transaction.amount)

    def initialize(context):
        api.set_slippage(Tagged())
        api.set_commission(ByAsset())

    def handle_data(context, data):
        if api.get_datetime().date() == days[0].date():
            api.order(api.symbol("TWA"), 10)
            api.order(api.symbol("TWB"), 30)

    perf = run(str(tmp_path), initialize, handle_data, start=str(days[0].date()),
               end=str(days[-1].date()))
    assert sorted(seen) == [("TWA", 10), ("TWB", 30)]
    day2 = perf.iloc[1]
    assert sorted((t["sid"].symbol, t["amount"], t["price"]) for t in day2.transactions) == [
        ("TWA", 10, 10.0), ("TWB", 30, 10.0)]
    assert day2.ending_cash == pytest.approx(100_000 - 40 * 10.0 - 0.5 - 0.3)


def test_limit_fill_may_cross_the_limit_with_default_slippage(toy):
    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-02").date():
            api.order(api.symbol("AAA"), 100, limit_price=10.1)   # next close == limit

    perf = run(toy, lambda c: None, handle_data, end="2020-01-06")
    [txn] = perf.transactions.iloc[1]
    assert txn["price"] == pytest.approx(10.1 * 1.0005, rel=1e-12)   # above the limit


def test_volume_share_slippage_skips_a_fill_beyond_the_limit(toy):
    def initialize(context):
        api.set_slippage(slippage.VolumeShareSlippage())

    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-02").date():
            api.order(api.symbol("AAA"), -10, limit_price=10.1)

    perf = run(toy, initialize, handle_data, end="2020-01-07")
    # 2020-01-03 closes at the limit 10.1: the impacted price is below it, no fill; the
    # order stays open and fills at the next close 10.2
    assert list(perf.transactions.iloc[1]) == []
    [txn] = perf.transactions.iloc[2]
    assert txn["amount"] == -10
    assert txn["price"] == pytest.approx(10.2 * (1 - 0.1 * (10 / 1_000_000) ** 2), rel=1e-12)


def test_no_buying_power_checks_and_no_margin_calls(toy):
    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-02").date():
            api.order(api.symbol("AAA"), -10_000)    # 100x the capital, short

    perf = run(toy, lambda c: None, handle_data, end="2020-01-10", capital=1_000.0)
    assert sum(len(day) for day in perf.transactions) == 1   # no liquidation
    assert perf.portfolio_value.iloc[-1] < 0                 # keeps running below zero
    assert perf.positions.iloc[-1][0]["amount"] == -10_000


# ------------------------------------------------------------------------- assets, views
def test_assets_compare_and_hash_by_sid():
    a = Equity(0, "AAPL")
    b = Equity(1, "IBM")
    assert a == 0 and a != b and a < b and sorted([b, a]) == [a, b]
    assert {a: 1}[Equity(0, "AAPL")] == 1 and hash(a) == hash(0)
    assert repr(a) == "Equity(0 [AAPL])" and int(b) == 1


def test_portfolio_and_account_views(toy):
    seen = {}

    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-02").date():
            api.order(api.symbol("AAA"), 1000)
        if api.get_datetime().date() == pd.Timestamp("2020-01-06").date():
            seen["p"] = context.portfolio
            seen["acct"] = context.account
            seen["env"] = api.get_environment("*")

    run(toy, lambda c: None, handle_data, end="2020-01-07")
    p, acct = seen["p"], seen["acct"]
    pos = p.positions[api_asset(toy, "AAA")]
    assert pos.amount == 1000 and pos.last_sale_price == pytest.approx(10.2)
    assert p.portfolio_value == pytest.approx(p.cash + 1000 * 10.2)
    assert p.starting_cash == 100_000 and p.capital_used == pytest.approx(p.cash - 100_000)
    assert acct.leverage == pytest.approx(1000 * 10.2 / p.portfolio_value)
    assert acct.buying_power == math.inf and acct.net_liquidation == p.portfolio_value
    assert p.positions[api_asset(toy, "BBB")].amount == 0        # missing -> empty position
    with pytest.raises(AttributeError):
        p.cash = 1.0
    assert seen["env"]["platform"] == "zipline" and seen["env"]["capital_base"] == 100_000


# ------------------------------------------------------------------------- bundles, CLI
def test_bundle_registry_and_split_adjusted_refusal(tmp_path):
    bundles.register("raw-test", csvdir_equities(["daily"], str(RAW)))
    assert "raw-test" in bundles.bundles
    bundles.ingest("raw-test")
    assert bundles.load("raw-test").symbols == ["AAPL", "IBM", "KO", "MSFT"]
    bundles.unregister("raw-test")
    with pytest.raises(errors.UnknownBundle):
        bundles.unregister("raw-test")
    from ml4t.errors import DataError
    bundles.register("adjusted-test", csvdir_equities(["daily"], str(ADJUSTED)))
    with pytest.raises(DataError, match="split_adjusted_input"):
        bundles.load("adjusted-test")
    bundles.register("adjusted-ok", csvdir_equities(["daily"], str(ADJUSTED),
                                                    price_adjustment="split_adjusted"))
    store = bundles.load("adjusted-ok")
    aapl = store.symbols.index("AAPL")
    assert store.close[0, aapl] == pytest.approx(411.23, abs=0.01)   # traded price rebuilt
    bundles.unregister("adjusted-test")
    bundles.unregister("adjusted-ok")


def test_unknown_bundle_names_the_registered_ones_and_the_fix():
    bundles.register("book-daily", csvdir_equities(["daily"], str(RAW)))
    try:
        with pytest.raises(errors.UnknownBundle) as err:
            run("book-dialy", lambda c: None, end="2020-01-08")
        text = str(err.value)
        assert "no bundle registered as 'book-dialy'; did you mean 'book-daily'?" in text
        assert "'book-daily'" in text.split("registered: ")[1]
        assert "csvdir_equities(['daily'], '/path/to/folder')" in text
        assert "folder's path as bundle=" in text
        # a folder path needs no registration
        perf = run(str(RAW), lambda c: None, start="2014-01-02", end="2014-01-08")
        assert len(perf) == 5 and perf["portfolio_value"].tolist() == [100_000.0] * 5
    finally:
        bundles.unregister("book-daily")


def test_sample_data_run_and_cli(tmp_path):
    algo = tmp_path / "algo.py"
    algo.write_text(
        "from ml4t.compat.zipline.api import order_target_percent, symbol, record\n"
        "def initialize(context):\n    context.a = symbol('AAPL')\n"
        "def handle_data(context, data):\n    order_target_percent(context.a, 0.5)\n"
        "    record(n=context.portfolio.positions[context.a].amount)\n")
    from ml4t.compat.zipline.__main__ import main
    out = tmp_path / "perf.pickle"
    assert main(["run", "-f", str(algo), "--start", "2014-06-02", "--end", "2014-06-13",
                 "-b", str(RAW), "--capital-base", "100000", "-o", str(out)]) == 0
    perf = pd.read_pickle(out)
    # the 7:1 AAPL split of 2014-06-09 multiplies the position
    assert perf.n.loc["2014-06-09"].iloc[0] == 7 * perf.n.loc["2014-06-06"].iloc[0]
    pq = tmp_path / "perf.parquet"
    assert main(["run", "-f", str(algo), "--start", "2014-06-02", "--end", "2014-06-13",
                 "-b", str(RAW), "--capital-base", "100000", "-o", str(pq)]) == 0
    assert "AAPL" in pd.read_parquet(pq).transactions.iloc[1]


def test_benchmarks_and_account_controls(toy):
    def initialize(context):
        api.set_benchmark(api.symbol("AAA"))

    def handle_data(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-02").date():
            api.order(api.symbol("AAA"), 100)

    perf = run(toy, initialize, handle_data, start="2020-01-03", end="2020-01-31")
    # benchmark: AAA's close-to-close returns from its history as of the last session,
    # adjusted for the dividend (session 10) and the 2:1 split (session 20, Jan 31) and
    # rounded to 3 decimals, as Zipline computes it
    ratio = 1 - 0.5 / 10.9
    first, second = round(10.0 * ratio * 0.5, 3), round(10.1 * ratio * 0.5, 3)
    assert perf.benchmark_period_return.iloc[0] == pytest.approx(second / first - 1, rel=1e-9)
    assert perf.beta.iloc[-1] is not None
    sessions = perf.index.tz_convert(None).normalize()
    given = pd.Series(0.001, index=sessions)
    perf2 = run(toy, lambda c: None, start="2020-01-03", end="2020-01-31",
                benchmark_returns=given)
    assert perf2.benchmark_period_return.iloc[-1] == pytest.approx(1.001 ** len(perf2) - 1)
    with pytest.raises(errors.SetBenchmarkOutsideInitialize):
        run(toy, lambda c: None, lambda c, d: api.set_benchmark(api.symbol("AAA")),
            end="2020-01-06")

    def levered(context, data):
        if api.get_datetime().date() == pd.Timestamp("2020-01-02").date():
            api.order(api.symbol("AAA"), 30_000)          # ~3x the capital
    with pytest.raises(errors.AccountControlViolation):
        run(toy, lambda c: api.set_max_leverage(2.0), levered, end="2020-01-08")


def test_metrics_set_none_and_unknown(toy):
    perf = run(toy, lambda c: None, end="2020-01-08", metrics_set="none")
    assert list(perf.columns) == ["period_open", "period_close"]
    with pytest.raises(ValueError, match="no metrics set"):
        run(toy, lambda c: None, end="2020-01-08", metrics_set="fancy")


def test_a_delisted_asset_is_closed_out_and_empty_sessions_still_run(tmp_path):
    """OLD: 5 sessions at 10..14; NEW starts on session 8 at 20: sessions 6-8 have no bar at
    all. Bought 100 OLD on session 1 (filled session 2 at 11 x 1.0005, commission 0.10);
    at the end of session 6 (past OLD's end date) the position is closed at its last close,
    14.0: cash + 1,400, no commission, a transaction without an order."""
    days = _sessions("2020-01-02", 12)
    _write(tmp_path, "OLD", days[:5], 10.0 + np.arange(5))
    _write(tmp_path, "NEW", days[8:], 20.0 + np.arange(4))
    seen, seen_window = [], []

    def handle_data(context, data):
        old = api.symbol("OLD")
        if api.get_datetime().date() == days[0].date():
            api.order(old, 100)
        seen.append((data.current(old, "price"), data.can_trade(old)))
        if api.get_datetime().date() == days[5].date():
            seen_window.extend(data.history(old, "price", 2, "1d").tolist())

    perf = run(str(tmp_path), lambda context: None, handle_data, start=str(days[0].date()),
               end=str(days[-1].date()))
    assert len(perf) == 12 and len(seen) == 12            # every session ran
    paid = 100 * 11.0 * 1.0005 + 0.1
    [close_out] = perf.iloc[5].transactions
    assert (close_out["amount"], close_out["price"], close_out["order_id"]) == (-100, 14.0, None)
    assert perf.iloc[5].ending_cash == pytest.approx(100_000 - paid + 1_400.0, rel=1e-12)
    assert perf.iloc[5].positions == [] and perf.iloc[4].positions[0]["amount"] == 100
    assert perf.iloc[-1].portfolio_value == pytest.approx(100_000 - paid + 1_400.0, rel=1e-12)
    assert seen[4] == (14.0, True)
    assert np.isnan(seen[5][0]) and seen[5][1] is False   # past its end date
    assert all(np.isnan(p) and not c for p, c in seen[5:])
    assert seen_window[0] == 14.0 and np.isnan(seen_window[1])   # no price after the end


def test_engine_bars_give_empty_sessions_a_placeholder_bar(tmp_path):
    from ml4t.compat.zipline._store import SESSION_PLACEHOLDER

    days = _sessions("2020-01-02", 6)
    _write(tmp_path, "OLD", days[:2], [10.0, 11.0])
    _write(tmp_path, "NEW", days[4:], [20.0, 21.0])
    store = bundles.load(_register_folder(tmp_path))
    i0, i1 = (store.session_index(days[0]), store.session_index(days[-1]))
    bars = store.engine_bars(i0, i1)
    assert bars.assets == ("NEW", "OLD", SESSION_PLACEHOLDER)
    [b] = list(bars.batches())
    got = [(pd.Timestamp(t).date(), bars.assets[a], v) for t, a, v in zip(b.ts, b.asset, b.volume)]
    assert got == [(days[0].date(), "OLD", 1e6), (days[1].date(), "OLD", 1e6),
                   (days[2].date(), SESSION_PLACEHOLDER, 0.0),
                   (days[3].date(), SESSION_PLACEHOLDER, 0.0),
                   (days[4].date(), "NEW", 1e6), (days[5].date(), "NEW", 1e6)]
    assert list(bars.extra["split"]) == [1.0] * 6


def _register_folder(folder) -> str:
    name = f"ml4t-test-{abs(hash(str(folder)))}"
    bundles.register(name, csvdir_equities(["daily"], str(folder)), calendar_name="XNYS")
    return name


# ---------------------------------------------------------------------------- pipeline
def _pipeline_days(toy, make, sessions):
    """pipeline_output('p') of the pipeline ``make()`` on each of ``sessions`` (indices
    into the toy bundle's sessions), as {index: DataFrame}."""
    from ml4t.compat.zipline.api import attach_pipeline, pipeline_output
    days = _sessions("2020-01-02", 40)
    seen = {}

    def initialize(context):
        attach_pipeline(make(), "p")

    def before_trading_start(context, data):
        k = days.get_loc(api.get_datetime().tz_localize(None).normalize())
        if k in sessions:
            seen[k] = pipeline_output("p").copy()

    run(toy, initialize, before_trading_start=before_trading_start)
    return seen


def test_pipeline_values_by_hand(toy):
    from ml4t.compat.zipline.pipeline import CustomFactor, Pipeline
    from ml4t.compat.zipline.pipeline.data import USEquityPricing
    from ml4t.compat.zipline.pipeline.factors import AverageDollarVolume, Returns

    class Oldest(CustomFactor):
        inputs = [USEquityPricing.close]
        window_length = 3

        def compute(self, today, assets, out, close):
            out[:] = close[0]

    def make():
        return Pipeline(columns={
            "close": USEquityPricing.close.latest, "oldest": Oldest(),
            "ret3": Returns(window_length=3), "adv2": AverageDollarVolume(window_length=2),
            "top": USEquityPricing.close.latest.top(1)})

    out = _pipeline_days(toy, make, {3, 5, 6, 10, 20})
    # session 3: yesterday's close 10.2; BBB (first bar on session 5) is not listed yet
    assert [a.symbol for a in out[3].index] == ["AAA"]
    assert out[3].loc[:, "close"].tolist() == pytest.approx([10.2])
    assert out[3]["oldest"].tolist() == pytest.approx([10.0])
    assert out[3]["ret3"].tolist() == pytest.approx([(10.2 - 10.0) / 10.0])
    assert [a.symbol for a in out[5].index] == ["AAA"]        # listed the session after
    six = out[6]
    assert [a.symbol for a in six.index] == ["AAA", "BBB"]
    assert six["close"].tolist() == pytest.approx([10.5, 50.0])
    assert six["adv2"].tolist()[1] == pytest.approx((50.0 * 1000 + 0.0) / 2)  # 1 bar yet
    assert six["top"].tolist() == [False, True]
    # session 10, the dividend's ex-date: yesterday's close 10.9 x (1 - 0.5 / 10.9)
    assert out[10]["close"].tolist()[0] == pytest.approx(10.4)
    # session 20, the split's ex-date: closes 11.7, 11.8, 11.9 halved
    assert out[20]["close"].tolist()[0] == pytest.approx(5.95)
    assert out[20]["oldest"].tolist()[0] == pytest.approx(5.85)
    assert out[20]["ret3"].tolist()[0] == pytest.approx((11.9 - 11.7) / 11.7)


def test_pipeline_rank_screen_and_normalisations(toy):
    from ml4t.compat.zipline.pipeline import Pipeline
    from ml4t.compat.zipline.pipeline.data import USEquityPricing

    close = USEquityPricing.close.latest

    def make():
        return Pipeline(columns={"rank": close.rank(), "desc": close.rank(ascending=False),
                                 "z": close.zscore(), "dm": close.demean(),
                                 "cheap": close < 20, "mid": close.percentile_between(0, 50),
                                 "x2": close * 2 + 1},
                        screen=~close.isnan())

    six = _pipeline_days(toy, make, {6})[6]
    a, b = 10.5, 50.0
    mean, std = (a + b) / 2, abs(b - a) / 2
    assert six["rank"].tolist() == [1.0, 2.0] and six["desc"].tolist() == [2.0, 1.0]
    assert six["z"].tolist() == pytest.approx([(a - mean) / std, (b - mean) / std])
    assert six["dm"].tolist() == pytest.approx([a - mean, b - mean])
    assert six["cheap"].tolist() == [True, False] and six["mid"].tolist() == [True, False]
    assert six["x2"].tolist() == pytest.approx([22.0, 101.0])


def test_pipeline_errors_by_name(toy):
    from ml4t.compat.zipline.api import attach_pipeline, pipeline_output
    from ml4t.compat.zipline.pipeline import CustomFactor, Pipeline
    from ml4t.compat.zipline.pipeline.data import USEquityPricing

    def late(context, data):
        attach_pipeline(Pipeline(), "late")

    with pytest.raises(errors.AttachPipelineAfterInitialize):
        run(toy, lambda c: None, handle_data=late)

    def early(context):
        pipeline_output("p")

    with pytest.raises(errors.PipelineOutputDuringInitialize):
        run(toy, early)

    def unknown(context, data):
        pipeline_output("nope")

    with pytest.raises(errors.NoSuchPipeline, match="No pipeline named 'nope'"):
        run(toy, lambda c: attach_pipeline(Pipeline(), "p"), handle_data=unknown)
    with pytest.raises(TypeError, match="groupby must be a Classifier"):
        USEquityPricing.close.latest.rank(groupby=USEquityPricing.close.latest)
    with pytest.raises(errors.UnsupportedFeature, match="method='average'"):
        USEquityPricing.close.latest.rank(method="average")

    class NoWindow(CustomFactor):
        inputs = [USEquityPricing.close]

    with pytest.raises(errors.WindowLengthNotSpecified, match="NoWindow requires a "
                                                              "window_length"):
        NoWindow()
    with pytest.raises(TypeError, match="positive window_length"):
        NoWindow(window_length=0)


def fixed_day(values):
    """A factor worth ``values`` and a pipeline session of ``len(values)`` alive assets."""
    from ml4t.compat.zipline.pipeline import Factor, _Engine

    class Fixed(Factor):
        def _compute(self, day):
            return np.asarray(values, dtype=float)

    # an engine over no bundle: one session (row 0) on which every asset is alive
    engine = object.__new__(_Engine)
    n = len(values)
    engine.store, engine.n, engine.end = None, n, 1
    engine.first, engine.last = np.full(n, -1), np.full(n, 1)
    engine._blocks, engine._days = {}, {}
    return Fixed(), engine.day(0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30))
def test_pipeline_rank_is_a_permutation(values):
    """The ordinal rank of any cross-section numbers its non-NaN assets 1..n."""
    fixed, day = fixed_day(values)
    for ascending in (True, False):
        ranks = day.value(fixed.rank(ascending=ascending))
        assert sorted(ranks.tolist()) == list(range(1, len(values) + 1))
        ordered = np.asarray(values)[np.argsort(ranks)]
        assert all(np.diff(ordered) >= 0) if ascending else all(np.diff(ordered) <= 0)


def test_pipeline_example_runs():
    import runpy
    ns = runpy.run_path(str(ROOT / "examples" / "zl_pipeline_momentum.py"))
    perf = zl.run_algorithm(start=pd.Timestamp("2012-03-01"), end=pd.Timestamp("2014-12-31"),
                            initialize=ns["initialize"],
                            before_trading_start=ns["before_trading_start"],
                            capital_base=100_000.0, bundle=str(RAW))
    assert sum(len(t) for t in perf["transactions"]) > 50
    assert (perf["n_liquid"].dropna() <= 4).all() and perf["best_momentum"].notna().any()
    assert max(len(p) for p in perf["positions"]) == 2


def test_before_trading_start_runs_at_0845_new_york_time_in_utc(toy):
    seen = []

    def bts(context, data):
        seen.append(api.get_datetime())

    run(toy, lambda c: None, before_trading_start=bts, end="2020-01-08")
    assert seen[:2] == [pd.Timestamp("2020-01-02 13:45", tz="UTC"),
                        pd.Timestamp("2020-01-03 13:45", tz="UTC")]


def test_before_trading_start_is_new_york_time_on_any_calendar(tmp_path):
    # zipline-reloaded's clock puts before_trading_start at 08:45 US/Eastern whatever the
    # calendar: on a London bundle it runs at 13:45 UTC in January (not 08:45 London)
    folder = tmp_path / "lse"
    _write(folder, "AAA", _sessions("2020-01-02", 5), 10.0 + np.arange(5))
    name = f"ml4t-test-xlon-{abs(hash(str(folder)))}"
    bundles.register(name, csvdir_equities(["daily"], str(folder)), calendar_name="XLON")
    seen = []
    try:
        zl.run_algorithm(start=pd.Timestamp("2020-01-02"), end=pd.Timestamp("2020-01-08"),
                         initialize=lambda c: None, capital_base=1e5, bundle=name,
                         before_trading_start=lambda c, d: seen.append(api.get_datetime()))
    finally:
        bundles.unregister(name)
    assert seen[:2] == [pd.Timestamp("2020-01-02 13:45", tz="UTC"),
                        pd.Timestamp("2020-01-03 13:45", tz="UTC")]


def test_before_trading_start_times_equal_pandas_localization_across_dst():
    from ml4t.compat.zipline.algorithm import _bts_times, _zone

    days = pd.date_range("2012-01-01", "2015-12-31", freq="D")
    times = _bts_times(days)
    expected = (days + pd.Timedelta(hours=8, minutes=45)).tz_localize(
        "America/New_York").tz_convert("UTC")
    assert times == list(expected)
    assert all(str(t.tz) == "UTC" for t in times[:3])
    # by hand: EST is UTC-5 in January, EDT UTC-4 in July; the switch (2014-03-09 02:00)
    # falls between the 8th's and the 10th's 08:45
    at = dict(zip(days, times))
    assert at[pd.Timestamp("2014-01-02")] == pd.Timestamp("2014-01-02 13:45", tz="UTC")
    assert at[pd.Timestamp("2014-07-01")] == pd.Timestamp("2014-07-01 12:45", tz="UTC")
    assert at[pd.Timestamp("2014-03-08")] == pd.Timestamp("2014-03-08 13:45", tz="UTC")
    assert at[pd.Timestamp("2014-03-10")] == pd.Timestamp("2014-03-10 12:45", tz="UTC")
    assert _zone("Not/A_Zone") == "Not/A_Zone"
