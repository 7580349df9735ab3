"""Cost models of ml4t/_core/costs.pyx: commission per fill, slippage, user subclasses, errors."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import day_ts, final, flat_bars, frame, run, scripted
from ml4t.errors import ConfigError
from ml4t.models import (
    CommissionModel,
    FixedBpsSlippage,
    FixedCommission,
    FixedSpreadSlippage,
    NoCommission,
    NoSlippage,
    PerAssetCommission,
    PercentCommission,
    PerShareCommission,
    SlippageModel,
)

TS = day_ts(4)
RISING = [
    (10.0, 10.5, 9.5, 10.2),
    (11.0, 11.5, 10.5, 11.2),
    (12.0, 12.5, 11.5, 12.2),
    (13.0, 13.5, 12.5, 13.2),
]


# ---------------------------------------------------------------------------- commission
class TestCommissionModels:
    def test_per_share_charges_increase_of_clipped_order_total(self):
        m = PerShareCommission(0.01, minimum=1.0, maximum=5.0)
        # fill 1: 50 shares -> total 0.50, clipped up to the 1.00 minimum -> pays 1.00
        assert m.commission(50, 20.0, 0.0, 0.0) == pytest.approx(1.0)
        # fill 2: 150 shares in total -> 1.50; 1.00 already charged -> pays 0.50
        assert m.commission(100, 20.0, 50.0, 1.0) == pytest.approx(0.5)
        # fill 3: 550 in total -> 5.50 clipped to the 5.00 maximum; 1.50 charged -> 3.50
        assert m.commission(400, 20.0, 150.0, 1.5) == pytest.approx(3.5)
        # fill 4: already at the maximum -> 0
        assert m.commission(100, 20.0, 550.0, 5.0) == 0.0
        # sells are charged on the absolute quantity: 300 * 0.01 = 3.00
        assert m.commission(-300, 20.0, 0.0, 0.0) == pytest.approx(3.0)

    def test_per_share_sum_of_fills_equals_single_fill(self):
        m = PerShareCommission(0.005, minimum=1.0)
        # one fill of 1000: 5.00. Three fills of 100, 300, 600: 1.00 (min), then total
        # 2.00 -> +1.00, then total 5.00 -> +3.00; sum 5.00
        single = m.commission(1_000, 10.0, 0.0, 0.0)
        a = m.commission(100, 10.0, 0.0, 0.0)
        b = m.commission(300, 10.0, 100.0, a)
        c = m.commission(600, 10.0, 400.0, a + b)
        assert (a, b, c) == pytest.approx((1.0, 1.0, 3.0))
        assert a + b + c == pytest.approx(single) == pytest.approx(5.0)

    def test_percent(self):
        # 0.1% of |-200| * 50 = 10
        assert PercentCommission(0.001).commission(-200, 50.0, 0.0, 0.0) == pytest.approx(10.0)
        assert PercentCommission(0.001).commission(200, 50.0, 100.0, 5.0) == pytest.approx(10.0)

    def test_fixed_only_on_first_fill(self):
        m = FixedCommission(5.0)
        assert m.commission(10, 1.0, 0.0, 0.0) == 5.0
        assert m.commission(10, 1.0, 10.0, 5.0) == 0.0

    def test_no_commission(self):
        assert NoCommission().commission(1_000, 100.0, 0.0, 0.0) == 0.0

    def test_commission_in_a_backtest_uses_the_slipped_price(self):
        df = frame({"X": RISING})
        r = run({0: [("X", 10, {})]}, df, cash=1_000, commission=PercentCommission(0.001),
                slippage=FixedBpsSlippage(100))
        f = r.fills.iloc[0]
        # ref 11.0 (bar 1 open) + 1% = 11.11; commission 0.1% of 10 * 11.11 = 0.1111
        assert f["ref_price"] == 11.0
        assert f["price"] == pytest.approx(11.11)
        assert f["commission"] == pytest.approx(0.1111)
        assert f["slippage"] == pytest.approx(1.1)           # (11.11 - 11.0) * 10
        # cash 1000 - 111.1 - 0.1111 = 888.7889
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(888.7889)
        assert r.portfolio["commission"].iloc[-1] == pytest.approx(0.1111)

    def test_per_share_minimum_in_a_backtest(self):
        r = run({0: [("X", 10, {})]}, frame({"X": RISING}), cash=1_000,
                commission=PerShareCommission(0.01, minimum=1.0))
        # 10 * 0.01 = 0.10 < minimum 1.00 -> 1.00
        assert r.fills["commission"].iloc[0] == pytest.approx(1.0)

    def test_fixed_commission_once_per_order_over_partial_fill(self):
        # with on_insufficient="partial" an order of 150 @ 10 fills what fits: cash 1000,
        # fixed 5 -> floor((1000 - 5) / 10) = 99 shares; one fill, one fee
        df = frame({"X": flat_bars([10.0, 10.0, 10.0])})
        r = run({0: [("X", 150, {})]}, df, cash=1_000, on_insufficient="partial",
                commission=FixedCommission(5.0))
        assert list(r.fills["qty"]) == [99]
        assert r.fills["commission"].sum() == pytest.approx(5.0)
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(5.0)  # 1000 - 990 - 5


# ------------------------------------------------------------------------------- slippage
class TestSlippageModels:
    def test_fixed_bps(self):
        m = FixedBpsSlippage(10)          # 10 bp = 0.1%
        assert m.fill_price(100.0, 5, math.nan) == pytest.approx(100.1)
        assert m.fill_price(100.0, -5, math.nan) == pytest.approx(99.9)

    def test_fixed_spread_pays_half_the_spread(self):
        m = FixedSpreadSlippage(0.2)
        assert m.fill_price(100.0, 5, 1e6) == pytest.approx(100.1)
        assert m.fill_price(100.0, -5, 1e6) == pytest.approx(99.9)

    def test_no_slippage(self):
        assert NoSlippage().fill_price(42.0, 1, 1.0) == 42.0

    def test_sell_slippage_in_backtest(self):
        r = run({0: [("X", -10, {})]}, frame({"X": RISING}), cash=1_000, account="margin",
                slippage=FixedSpreadSlippage(0.2))
        f = r.fills.iloc[0]
        # sell at bar 1 open 11.0 - 0.1 = 10.9; slippage cost (10.9 - 11.0) * -10 = +1.0
        assert f["price"] == pytest.approx(10.9)
        assert f["slippage"] == pytest.approx(1.0)

    def test_buy_limit_never_fills_worse_than_limit(self):
        # bar 1: low 10.5 <= limit 10.8 -> ref 10.8; +1% would be 10.908 -> capped at 10.8
        r = run({0: [("X", 10, {"limit_price": 10.8})]}, frame({"X": RISING}), cash=1_000,
                slippage=FixedBpsSlippage(100))
        f = r.fills.iloc[0]
        assert f["ref_price"] == 10.8 and f["price"] == 10.8

    def test_buy_limit_gap_fill_gets_slippage_up_to_the_limit(self):
        bars = [RISING[0], (10.0, 10.4, 9.8, 10.1)]
        # gap down: ref open 10.0; +1% = 10.1 <= limit 10.8 -> 10.1
        r = run({0: [("X", 10, {"limit_price": 10.8})]}, frame({"X": bars}), cash=1_000,
                slippage=FixedBpsSlippage(100))
        assert r.fills["price"].iloc[0] == pytest.approx(10.1)

    def test_sell_limit_never_fills_worse_than_limit(self):
        # bar 1: high 11.5 >= 11.2 -> ref 11.2; -1% = 11.088 < 11.2 -> capped at 11.2
        r = run({0: [("X", -10, {"limit_price": 11.2})]}, frame({"X": RISING}), cash=1_000,
                account="margin", slippage=FixedBpsSlippage(100))
        assert r.fills["price"].iloc[0] == 11.2

    def test_stop_limit_capped_at_its_limit(self):
        # triggered intrabar: ref = stop 11.3 (<= limit 11.35); spread 0.2 -> 11.4 > 11.35
        # -> capped at 11.35
        r = run({0: [("X", 10, {"stop_price": 11.3, "limit_price": 11.35})]},
                frame({"X": RISING}), cash=1_000, slippage=FixedSpreadSlippage(0.2))
        f = r.fills.iloc[0]
        assert f["ref_price"] == 11.3 and f["price"] == pytest.approx(11.35)

    def test_stop_order_is_not_capped(self):
        # a plain stop has no limit: ref 11.3 + 0.1 = 11.4
        r = run({0: [("X", 10, {"stop_price": 11.3})]}, frame({"X": RISING}), cash=1_000,
                slippage=FixedSpreadSlippage(0.2))
        assert r.fills["price"].iloc[0] == pytest.approx(11.4)


# ---------------------------------------------------------------------- user subclasses
class HalfCentPerShare(CommissionModel):
    def commission(self, qty, price, filled_before, charged_before):
        return 0.5 * abs(qty)


class QuarterTick(SlippageModel):
    def fill_price(self, ref, qty, volume):
        return ref + 0.25 if qty > 0 else ref - 0.25


class BadSlippage(SlippageModel):
    def fill_price(self, ref, qty, volume):
        return -1.0


class TestUserModels:
    def test_python_subclasses_work_inside_a_backtest(self):
        r = run({0: [("X", 10, {})]}, frame({"X": RISING}), cash=1_000,
                commission=HalfCentPerShare(), slippage=QuarterTick())
        f = r.fills.iloc[0]
        # 11.0 + 0.25 = 11.25; commission 0.5 * 10 = 5; cash 1000 - 112.5 - 5 = 882.5
        assert f["price"] == pytest.approx(11.25)
        assert f["commission"] == pytest.approx(5.0)
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(882.5)

    def test_invalid_slipped_price_rejects_the_order(self):
        r = run({0: [("X", 10, {})]}, frame({"X": RISING}), cash=1_000, slippage=BadSlippage())
        last = final(r, 1)
        assert (last["status"], last["reason"]) == ("rejected", "price_invalid")
        assert r.fills.empty

    def test_commission_subclass_without_override_raises(self):
        class Lazy(CommissionModel):
            pass

        with pytest.raises(TypeError, match="commission"):
            Lazy()

    def test_slippage_subclass_without_override_raises(self):
        class Lazy(SlippageModel):
            pass

        with pytest.raises(TypeError, match="fill_price"):
            Lazy()

    def test_non_model_rejected_by_engine(self):
        with pytest.raises(ConfigError) as e:
            run({}, frame({"X": RISING}), commission=0.001)
        assert e.value.param == "commission"


# ------------------------------------------------------------------------ bad parameters
@pytest.mark.parametrize("make, param", [
    (lambda: PercentCommission(-0.001), "rate"),
    (lambda: PercentCommission(math.nan), "rate"),
    (lambda: PerShareCommission(math.inf), "rate"),
    (lambda: PerShareCommission(0.01, minimum=-1.0), "minimum"),
    (lambda: PerShareCommission(0.01, minimum=5.0, maximum=1.0), "maximum"),
    (lambda: FixedCommission(-5.0), "amount"),
    (lambda: FixedBpsSlippage(math.nan), "bps"),
    (lambda: FixedBpsSlippage(-1), "bps"),
    (lambda: FixedSpreadSlippage(math.inf), "spread"),
])
def test_bad_model_parameters_raise_config_error(make, param):
    with pytest.raises(ConfigError) as e:
        make()
    assert e.value.param == param


# ------------------------------------------------------------------- fill context
def test_models_know_the_asset_and_order_of_each_fill():
    """Orders 1 (X +5), 2 (Y -3), 3 (X +7) placed on bar 0 fill at bar 1's opens (X 11.0,
    Y 20.0). Each model call sees its fill's asset and order id, and the slippage model
    sees how much of X the bar has already filled (0 before order 1, 5 before order 3)."""
    from ml4t import Strategy, run_backtest

    calls = []

    class Impact(SlippageModel):
        broker = None

        def fill_price(self, ref, qty, volume):
            calls.append(("slip", self.asset, self.fill_asset, self.fill_order,
                          self.broker.filled_in_bar(self.asset)))
            return ref

    class PerOrder(CommissionModel):
        def commission(self, qty, price, filled_before, charged_before):
            calls.append(("comm", self.asset, self.fill_order))
            return 1.0 if self.asset == "X" else 2.0

    slip = Impact()
    assert (slip.asset, slip.fill_asset, slip.fill_order) == (None, -1, 0)

    class Three(Strategy):
        placed = False

        def on_start(self):
            slip.broker = self.broker

        def on_bar(self, bars):
            if not self.placed:
                self.placed = True
                self.broker.order("X", 5)
                self.broker.order("Y", -3)
                self.broker.order("X", 7)

    df = frame({"X": [(10.0, 10.5, 9.5, 10.2), (11.0, 11.5, 10.5, 11.2)],
                "Y": [(20.0, 20.5, 19.5, 20.2), (20.0, 21.0, 19.0, 20.5)]})
    r = run_backtest(Three, df, cash=10_000, slippage=slip, commission=PerOrder(),
                     allow_short=True)
    assert calls == [("slip", "X", 0, 1, 0.0), ("comm", "X", 1),
                     ("slip", "Y", 1, 2, 0.0), ("comm", "Y", 2),
                     ("slip", "X", 0, 3, 5.0), ("comm", "X", 3)]
    assert r.fills["commission"].tolist() == [1.0, 2.0, 1.0]
    # cash: 10,000 - 5 * 11 + 3 * 20 - 7 * 11 - 4 (commissions) = 9,924
    assert r.fills["price"].tolist() == [11.0, 20.0, 11.0]
    assert r.portfolio["cash"].iloc[-1] == pytest.approx(9_924.0)


_ORDER = st.tuples(st.integers(0, 4), st.sampled_from(["X", "Y", "Z"]),
                   st.integers(-30, 30).filter(lambda q: q != 0),
                   st.sampled_from([None, 0.97, 1.03]))


@settings(max_examples=60, deadline=None)
@given(st.lists(_ORDER, min_size=1, max_size=15), st.sampled_from([None, 0.5]))
def test_every_model_call_names_an_order_of_its_own_asset(orders, volume_limit):
    """Whatever orders are placed (market or limit, both sides, some capped by volume):
    each slippage and commission call names an order of the asset it is pricing, and
    every fill was priced and charged under its own (asset, order id)."""
    from ml4t import run_backtest

    calls = []

    class Slip(SlippageModel):
        def fill_price(self, ref, qty, volume):
            calls.append(("slip", self.asset, self.fill_order))
            return ref

    class Comm(CommissionModel):
        def commission(self, qty, price, filled_before, charged_before):
            calls.append(("comm", self.asset, self.fill_order))
            return 0.5

    prices = {"X": 10.0, "Y": 20.0, "Z": 40.0}
    bars = {a: [(p, p * 1.05, p * 0.95, p, 40.0)] * 6 for a, p in prices.items()}
    plan: dict = {}
    for bar, asset, qty, limit in orders:
        kw = {} if limit is None else {"limit_price": prices[asset] * limit}
        plan.setdefault(bar, []).append((asset, float(qty), kw))
    r = run_backtest(scripted(plan), frame(bars), cash=1e6, account="margin",
                     allow_short=True, slippage=Slip(), commission=Comm(),
                     volume_limit=volume_limit)
    asset_of = dict(zip(r.orders["order_id"], r.orders["asset"]))
    assert calls and all(asset_of[oid] == asset for _, asset, oid in calls)
    for oid, asset in zip(r.fills["order_id"], r.fills["asset"]):
        assert ("slip", asset, oid) in calls and ("comm", asset, oid) in calls


# ----------------------------------------------------------------- per-asset commission
def test_per_asset_commission_charges_each_asset_its_own_model():
    """Bar 0: buy X 100, Y 50, Z 10; they fill at bar 1's opens (X 11, Y 20, Z 40).
    X: 0.1% of 100 * 11 = 1.10; Y: 50 * 0.02 = 1.00, raised to the 1.50 minimum;
    Z (not listed): the default, 5.00 per order."""
    from ml4t import run_backtest

    model = PerAssetCommission({"X": PercentCommission(0.001),
                                "Y": PerShareCommission(0.02, minimum=1.5)},
                               default=FixedCommission(5.0))
    df = frame({"X": [(10.0, 10.5, 9.5, 10.2), (11.0, 11.5, 10.5, 11.2)],
                "Y": [(20.0, 20.5, 19.5, 20.2), (20.0, 21.0, 19.0, 20.5)],
                "Z": [(40.0, 40.5, 39.5, 40.2), (40.0, 41.0, 39.0, 40.5)]})
    r = run_backtest(scripted({0: [("X", 100.0, {}), ("Y", 50.0, {}), ("Z", 10.0, {})]}), df,
                     cash=10_000, commission=model)
    got = dict(zip(r.fills["asset"], r.fills["commission"]))
    assert got == pytest.approx({"X": 1.10, "Y": 1.50, "Z": 5.00})
    # cash: 10,000 - 1,100 - 1,000 - 400 - 7.60 = 7,492.40
    assert r.portfolio["cash"].iloc[-1] == pytest.approx(7_492.40)
    # without a default the other assets pay nothing
    assert PerAssetCommission({"X": PercentCommission(0.001)}).default.commission(
        10, 5.0, 0.0, 0.0) == 0.0


def test_per_asset_commission_passes_the_fill_context_to_the_model_charging():
    seen = []

    class Seen(CommissionModel):
        def commission(self, qty, price, filled_before, charged_before):
            seen.append((self.asset, self.fill_order))
            return 0.25

    from ml4t import run_backtest

    df = frame({"X": [(10.0, 10.5, 9.5, 10.2)] * 2, "Y": [(20.0, 20.5, 19.5, 20.2)] * 2})
    r = run_backtest(scripted({0: [("Y", 5.0, {}), ("X", 5.0, {})]}), df, cash=10_000,
                     commission=PerAssetCommission({"Y": Seen()}, default=Seen()))
    assert seen == [("Y", 1), ("X", 2)]
    assert r.fills["commission"].tolist() == [0.25, 0.25]


def test_per_asset_commission_refuses_names_not_in_the_data_and_bad_tables():
    from ml4t import run_backtest

    df = frame({"AAPL": [(10.0, 10.5, 9.5, 10.2)] * 2})
    with pytest.raises(ConfigError, match=r"'APPL' not among the run's assets.*did you "
                                          r"mean 'AAPL'"):
        run_backtest(scripted({}), df, commission=PerAssetCommission(
            {"APPL": PercentCommission(0.001)}))
    with pytest.raises(ConfigError, match="models\\['X'\\]"):
        PerAssetCommission({"X": 0.001})
    with pytest.raises(ConfigError, match="'models'"):
        PerAssetCommission([("X", PercentCommission(0.001))])
    with pytest.raises(ConfigError, match="'default'"):
        PerAssetCommission({}, default="free")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["X", "Y", "Z"]),
                          st.integers(-20, 20).filter(lambda q: q != 0)),
                min_size=1, max_size=12))
def test_per_asset_commission_equals_each_model_run_alone(orders):
    """The per-asset model charges every fill what its asset's model charges when that
    model is the run's only one."""
    from ml4t import run_backtest

    models = {"X": PercentCommission(0.002), "Y": PerShareCommission(0.05, minimum=0.4)}
    default = FixedCommission(1.25)
    prices = {"X": 10.0, "Y": 20.0, "Z": 40.0}
    df = frame({a: [(p, p + 0.5, p - 0.5, p)] * 3 for a, p in prices.items()})
    plan = {0: [(a, float(q), {}) for a, q in orders]}
    kw = dict(cash=1e6, account="margin", allow_short=True)
    mixed = run_backtest(scripted(plan), df, commission=PerAssetCommission(models, default),
                         **kw)
    for asset in prices:
        alone = run_backtest(scripted(plan), df, commission=models.get(asset, default), **kw)
        a = mixed.fills[mixed.fills["asset"] == asset]["commission"].tolist()
        b = alone.fills[alone.fills["asset"] == asset]["commission"].tolist()
        assert a == b
