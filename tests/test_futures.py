"""Futures: multiplier, per-contract margin, daily settlement, expiry and continuous rolls.

Every number below is worked out by hand in the comments. The synthetic E-mini-like
chain: ESH24 expires Friday 2024-03-15, ESM24 on 2024-06-21; multiplier 50; margins
12,000 initial / 11,000 maintenance per contract; commission 2.00 per contract.
Daily bars on the XNYS sessions 2024-03-11 .. 2024-03-18 (closes at 20:00 UTC, after
the US switch to summer time), open = high = low = close so that fills at the close
(``fill="same_close"``) are exact.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ml4t
from ml4t import ContinuousFuture, Future
from ml4t.errors import ConfigError
from ml4t.models import PerShareCommission
from conftest import frame, scripted

TS = [pd.Timestamp(f"2024-03-{d} 20:00", tz="UTC") for d in (11, 12, 13, 14, 15, 18)]
H = [5000, 5010, 4990, 5020, 5030, None]          # ESH24 (no bar after its expiry)
M = [5050, 5062, 5041, 5075, 5080, 5070]          # ESM24


def _bars(closes):
    return [None if c is None else (c, c, c, c, 1000.0) for c in closes]


def chain_frame(h=H, m=M):
    return frame({"ESH24": _bars(h), "ESM24": _bars(m)}, ts=TS)


def specs(days=1, roll="days", **extra):
    kw = dict(root="ES", multiplier=50, initial_margin=12_000, maintenance_margin=11_000)
    kw.update(extra)
    return {"ESH24": Future(expiry="2024-03-15", **kw),
            "ESM24": Future(expiry="2024-06-21", **kw),
            "ES": ContinuousFuture(roll=roll, days=days)}


def run(plan, df=None, contracts=None, **config):
    cfg = dict(cash=100_000, account="margin", fill="same_close",
               commission=PerShareCommission(2.0))
    cfg.update(config)
    if cfg["commission"] is None:
        del cfg["commission"]
    return ml4t.run_backtest(scripted(plan), chain_frame() if df is None else df,
                             contracts=specs() if contracts is None else contracts, **cfg)


def test_roll_with_a_price_gap_pnl_by_contract_and_total():
    # buy 3 ES on 03-11: ESH24 @ 5000, commission 6         cash 99,994
    # 03-12 settles 3 * (5010 - 5000) * 50 = +1,500          cash 101,494
    # 03-13 settles 3 * (4990 - 5010) * 50 = -3,000          cash  98,494
    # 03-14 (1 session before expiry) roll at the closes: sell 3 ESH24 @ 5020 settles
    #   3 * (5020 - 4990) * 50 = +4,500, commission 6; buy 3 ESM24 @ 5075, commission 6
    #                                                        cash 102,982
    # 03-15 settles 3 * (5080 - 5075) * 50 = +750            cash 103,732
    # 03-18 settles 3 * (5070 - 5080) * 50 = -1,500          cash 102,232 = NAV
    # by contract: ESH24 trade +3,000 gross (3 * 20 * 50), 12 commission;
    # ESM24 open: -750 (3 * -5 * 50), 6 commission; total 3,000 - 750 - 18 = 2,232.
    # The 55-point gap between the contracts is not P&L.
    r = run({0: [("ES", 3, {})]})
    nav = r.portfolio["nav"]
    assert list(r.portfolio["cash"]) == [99_994, 101_494, 98_494, 102_982, 103_732, 102_232]
    assert nav.iloc[-1] == 102_232
    assert list(nav) == list(r.portfolio["cash"])            # settled every session end
    f = r.fills
    assert list(f["asset"]) == ["ESH24", "ESH24", "ESM24"]
    assert list(f["qty"]) == [3, -3, 3]
    assert list(f["price"]) == [5000, 5020, 5075]
    assert list(f["realized_pnl"]) == [0, 3_000, 0]
    t = r.trades.iloc[0]
    assert (t["asset"], t["pnl"], t["commission"], t["pnl_net"]) == ("ESH24", 3_000, 12, 2_988)
    assert r.positions.iloc[-1]["unrealized_pnl"] == -750
    assert r.positions.iloc[-1]["market_value"] == 3 * 5070 * 50
    roll = r.rolls.iloc[0]
    assert (roll["root"], roll["from_asset"], roll["to_asset"], roll["qty"]) == \
        ("ES", "ESH24", "ESM24", 3)
    assert (roll["from_price"], roll["to_price"]) == (5020, 5075)
    assert roll["ts"] == TS[3]
    reasons = r.orders[r.orders["order_id"].isin([2, 3])]["reason"].unique().tolist()
    assert reasons == ["roll"]
    # exposure at notional, margin per contract
    p = r.portfolio.iloc[0]
    assert p["gross_exposure"] == 3 * 5000 * 50 and p["net_exposure"] == 3 * 5000 * 50
    assert p["maintenance_requirement"] == 3 * 11_000
    assert p["positions_value"] == 0
    vm = r.variation_margin
    assert vm["amount"].sum() == 1_500 - 3_000 + 4_500 + 750 - 1_500


def test_short_futures_settle_with_the_opposite_sign():
    # sell 2 ESH24 @ 5000 (commission 4): 03-12 -2 * 10 * 50 = -1,000; 03-13 +2,000;
    # buy back 2 @ 4990 on 03-13 (commission 4): NAV 100,000 - 8 + 2 * 10 * 50 = 100,992
    r = run({0: [("ESH24", -2, {})], 2: [("ESH24", 2, {})]}, allow_short=True)
    assert list(r.portfolio["cash"])[:3] == [99_996, 98_996, 100_996 - 4]
    assert r.portfolio["nav"].iloc[-1] == 100_992
    assert r.trades.iloc[0]["pnl"] == 1_000


def test_position_held_through_expiry_is_closed_at_the_last_close():
    # long 1 ESH24 @ 5000 with no roll: at the end of 03-15 it is closed at 5030,
    # reason contract_expired: P&L 30 * 50 = 1,500, commission 2 + 2.
    contracts = {k: v for k, v in specs().items() if k != "ES"}
    r = run({0: [("ESH24", 1, {})], 5: [("ESH24", 1, {})]}, contracts=contracts)
    last = r.orders[r.orders["order_id"] == 2].iloc[-1]
    assert (last["status"], last["reason"]) == ("filled", "contract_expired")
    assert r.fills.iloc[1]["price"] == 5030 and r.fills.iloc[1]["ts"] == TS[4]
    assert r.portfolio["nav"].iloc[-1] == 100_000 + 1_500 - 4
    # an order for the expired contract afterwards is rejected with the reason
    late = r.orders[r.orders["order_id"] == 3]
    assert late.iloc[-1]["status"] == "rejected"
    assert late.iloc[-1]["reason"] == "contract_expired"


def test_open_orders_of_an_expiring_contract_are_canceled():
    contracts = {k: v for k, v in specs().items() if k != "ES"}
    r = run({0: [("ESH24", 1, {"limit_price": 4000.0})]}, contracts=contracts)
    last = r.orders[r.orders["order_id"] == 1].iloc[-1]
    assert (last["status"], last["reason"], last["ts"]) == ("canceled", "contract_expired", TS[4])


def test_per_contract_initial_margin_decides_how_many_contracts_open():
    # NAV 100,000, 12,000 initial per contract: 8 fit (96,000), 9 do not (108,000)
    ok = run({0: [("ESH24", 8, {})]}, commission=None)
    assert ok.fills["qty"].iloc[0] == 8 and ok.fills["ts"].iloc[0] == TS[0]
    no = run({0: [("ESH24", 9, {})]}, commission=None)
    assert no.fills.empty
    assert no.orders.iloc[-1]["reason"] == "insufficient_margin"


def test_without_per_contract_margin_the_fraction_of_notional_applies():
    # initial_margin=0.5 of notional: 1 contract = 5000 * 50 = 250,000 notional needs
    # 125,000 > 100,000: rejected. At 0.3 it needs 75,000: accepted.
    kw = dict(root="ES", multiplier=50)
    contracts = {"ESH24": Future(expiry="2024-03-15", **kw)}
    no = run({0: [("ESH24", 1, {})]}, contracts=contracts, commission=None)
    assert no.orders.iloc[-1]["reason"] == "insufficient_margin"
    ok = run({0: [("ESH24", 1, {})]}, contracts=contracts, commission=None, initial_margin=0.3)
    assert ok.fills["qty"].iloc[0] == 1 and ok.fills["ts"].iloc[0] == TS[0]


def test_variation_losses_trigger_a_margin_call_on_per_contract_maintenance():
    # 8 contracts @ 5000 with 100,000: maintenance 8 * 11,000 = 88,000.
    # 03-12 at 4980: NAV 100,000 - 8 * 20 * 50 = 92,000 >= 88,000; 03-13 at 4960:
    # NAV 84,000 < 88,000: margin call. Each contract sold frees 11,000 of requirement,
    # so one contract covers the 4,000 shortfall: 7 left, requirement 77,000.
    h = [5000, 4980, 4960, 4960, 4960, None]
    contracts = {k: v for k, v in specs().items() if k == "ESH24"}
    r = run({0: [("ESH24", 8, {})]}, df=chain_frame(h=h), contracts=contracts, commission=None)
    calls = r.margin_calls
    assert len(calls) == 1 and calls.iloc[0]["ts"] == TS[2]
    assert calls.iloc[0]["equity"] == 84_000 and calls.iloc[0]["requirement"] == 88_000
    liq = r.fills[r.fills["order_id"] == 2]
    assert liq["qty"].tolist() == [-1] and liq["price"].tolist() == [4960]
    assert r.portfolio["maintenance_requirement"].iloc[2] == 77_000


def test_continuous_root_reads_and_orders_the_active_contract():
    seen = []

    def look(s, bars):
        seen.append((bars.close["ES"], s.broker.position("ES").qty))

    plan = {i: [look] for i in range(6)}
    plan[0] = [("ES", 2, {}), look]
    r = run(plan)
    # before the roll (end of 03-14) ES is ESH24; from 03-15 on it is ESM24
    assert [c for c, _ in seen] == [5000, 5010, 4990, 5020, 5080, 5070]
    assert [q for _, q in seen] == [0, 2, 2, 2, 2, 2]     # same_close fills after on_bar
    assert r.rolls["to_asset"].tolist() == ["ESM24"]


def test_volume_rule_rolls_when_the_next_contract_trades_more():
    def bars(closes, vols):
        return [None if c is None else (c, c, c, c, v) for c, v in zip(closes, vols)]
    df = frame({"ESH24": bars(H, [900, 800, 300, 200, 100, None]),
                "ESM24": bars(M, [100, 500, 400, 900, 900, 900])}, ts=TS)
    # ESM24 first outtrades ESH24 on 03-13 (400 > 300): roll at its closes 4990 / 5041
    r = run({0: [("ES", 1, {})]}, df=df, contracts=specs(days=0, roll="volume"))
    roll = r.rolls.iloc[0]
    assert roll["ts"] == TS[2] and (roll["from_price"], roll["to_price"]) == (4990, 5041)


def test_open_interest_rule_rolls_when_the_next_contract_holds_more():
    # open interest column: ESM24 first exceeds ESH24 on 03-12 (6,000 > 5,500), while its
    # volume never does; roll at the 03-12 closes 5010 / 5062
    df = chain_frame()
    oi = {("ESH24", TS[i]): v for i, v in enumerate([9000, 5500, 4000, 3000, 1000])}
    oi.update({("ESM24", TS[i]): v for i, v in enumerate([1000, 6000, 7000, 8000, 9000, 9500])})
    df["open_interest"] = [oi[(a, t)] for a, t in zip(df["asset"], df["ts"])]
    r = run({0: [("ES", 1, {})]}, df=df, contracts=specs(days=0, roll="open_interest"))
    roll = r.rolls.iloc[0]
    assert roll["ts"] == TS[1] and (roll["from_price"], roll["to_price"]) == (5010, 5062)
    # without the column the rule is refused, naming it
    with pytest.raises(ConfigError, match="open_interest"):
        run({}, contracts=specs(roll="open_interest"))
    bad = df.copy()
    bad.loc[3, "open_interest"] = -1
    with pytest.raises(ml4t.errors.DataError, match="open interest"):
        run({}, df=bad, contracts=specs(roll="open_interest"))


def test_roll_cost_shows_slippage_and_commission():
    # with 0.25 points of fixed spread slippage per side the roll costs
    # 2 contracts * 2 legs * 0.25 * 50 = 50, plus 4 * 2.00 commission
    from ml4t.models import FixedSpreadSlippage
    base = run({0: [("ES", 2, {})]})
    slip = run({0: [("ES", 2, {})]}, slippage=FixedSpreadSlippage(0.5))
    roll_fills = slip.fills[slip.fills["order_id"].isin([2, 3])]
    assert roll_fills["slippage"].sum() == pytest.approx(2 * 2 * 0.25 * 50)
    assert roll_fills["commission"].sum() == 8
    # entry at 5000.25 (also 0.25 * 50 * 2 = 25 worse)
    assert base.portfolio["nav"].iloc[-1] - slip.portfolio["nav"].iloc[-1] == pytest.approx(75)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, what", [
    (dict(root="ES", expiry="2024-03-15"), "multiplier"),
    (dict(root="ES", multiplier=50), "expiry"),
    (dict(expiry="2024-03-15", multiplier=50), "root"),
    (dict(root="ES", expiry="2024-03-15", multiplier=-5), "multiplier"),
    (dict(root="ES", expiry="2024-03-15", multiplier=math.nan), "multiplier"),
    (dict(root="ES", expiry="not a date", multiplier=50), "expiry"),
    (dict(root="ES", expiry="2024-03-15", multiplier=50, initial_margin=1000), "maintenance_margin"),
    (dict(root="ES", expiry="2024-03-15", multiplier=50, initial_margin=1000,
          maintenance_margin=2000), "maintenance_margin"),
])
def test_bad_future_specs_name_the_field(kwargs, what):
    with pytest.raises(ConfigError, match=what):
        Future(**kwargs)


def test_futures_need_a_margin_account():
    with pytest.raises(ConfigError, match="margin"):
        run({}, account="cash")


def test_continuous_future_needs_its_contracts():
    with pytest.raises(ConfigError, match="root"):
        run({}, contracts={"ESH24": specs()["ESH24"], "NQ": ContinuousFuture()})
    with pytest.raises(ConfigError, match="roll"):
        ContinuousFuture(roll="calendar")
    with pytest.raises(ConfigError, match="days"):
        ContinuousFuture(days=-1)


# ------------------------------------------------------------------ property
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(closes=st.lists(st.integers(4900, 5100), min_size=6, max_size=6),
       trades=st.lists(st.integers(-3, 3), min_size=6, max_size=6))
def test_settled_nav_equals_value_accounting(closes, trades):
    """Daily settlement is only a different way of holding the same money: with
    multiplier 1 and no margin limits, a futures contract's NAV path equals that of a
    cash instrument traded identically, every session, and the variation margin sums
    to the total P&L."""
    df = frame({"X": _bars(closes)}, ts=TS)
    plan = {i: [("X", q, {})] for i, q in enumerate(trades) if q}
    fut = ml4t.run_backtest(scripted(plan), df, cash=1e9, account="margin", allow_short=True,
                            fill="same_close",
                            contracts={"X": Future(root="X", expiry="2030-01-01", multiplier=1)})
    eq = ml4t.run_backtest(scripted(plan), df, cash=1e9, account="margin", allow_short=True,
                           fill="same_close")
    assert np.allclose(fut.portfolio["nav"], eq.portfolio["nav"], rtol=0, atol=1e-6)
    assert fut.variation_margin["amount"].sum() == pytest.approx(
        fut.portfolio["nav"].iloc[-1] - 1e9, abs=1e-6)
    assert np.allclose(fut.portfolio["net_exposure"], eq.portfolio["net_exposure"])


# ------------------------------------------------------------------ golden
GOLDEN = __import__("pathlib").Path(__file__).resolve().parents[1] / "golden"


def test_golden_futures_roll_hand_calculation():
    def expected(table):
        return pd.read_csv(GOLDEN / "futures_roll" / "expected" / f"{table}.csv")
    p = expected("portfolio")
    assert p["cash"].tolist() == [99_994, 101_494, 98_494, 102_982, 103_732, 102_232]
    assert p["nav"].tolist() == p["cash"].tolist()
    assert p["gross_exposure"].iloc[0] == 750_000
    assert p["maintenance_requirement"].tolist() == [33_000] * 6
    roll = expected("rolls").iloc[0]
    assert (roll["from_asset"], roll["to_asset"], roll["from_price"], roll["to_price"]) == \
        ("ESH24", "ESM24", 5020, 5075)
    t = expected("trades").iloc[0]
    assert (t["asset"], t["pnl"], t["commission"]) == ("ESH24", 3_000, 12)
    assert p["unrealized_pnl"].iloc[-1] == -750
    vm = expected("variation_margin")
    assert vm["amount"].sum() == 1_500 - 3_000 + 4_500 + 750 - 1_500
