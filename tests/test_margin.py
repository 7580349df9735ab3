"""Margin accounts: margin calls and forced liquidation, borrow fees, cash interest, funding.

Rules under test (docs/engine.md, "Accounts and buying power" and "Margin calls, short
costs, interest and funding"; ``ml4t/margin.py``; ``ml4t/_core/accounting.pyx``):

* at every mark to market (the close), equity = NAV is compared with the maintenance
  requirement sum(|qty x close| x maintenance); below it the strategy gets a
  ``MarginCallEvent`` and the liquidation policy sells at the close (with commission)
  until equity covers the requirement; the default sells the smallest whole quantity;
* accruals at each session end, on end-of-session balances, for the calendar days to
  the next session: borrow fee -short value x rate x d / day_count, interest
  cash x rate x d / day_count (credit rate on positive cash, margin rate on negative);
* funding: at each funding time the holder pays qty x price x rate (a short receives).

Every hand-computed number is derived in the comment next to it. Golden scenarios
``golden/margin_call`` and ``golden/borrow_interest`` are checked at the end against
the numbers their READMEs derive.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ml4t
from conftest import day_ts, flat_bars, frame, scripted
from ml4t._core.accounting import Ledger
from ml4t._core.enums import Reason
from ml4t.errors import ConfigError, DataError, Ml4tError
from ml4t.margin import LargestRequirementFirst, LiquidationPolicy, MarginCallEvent
from ml4t.models import PercentCommission
from ml4t.orders import OrderEvent

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
PROPS = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def sessions(n: int) -> list[pd.Timestamp]:
    """The first ``n`` (<= 21) XNYS sessions of January 2024, stamped at 21:00 UTC.

    Unlike ``conftest.day_ts`` this skips the exchange holiday 2024-01-15 (MLK day); the
    engine refuses a bar on a day that is not a session, which double-checks the list.
    """
    days = [d for d in pd.bdate_range("2024-01-02", "2024-01-31") if d.day != 15]
    assert n <= len(days) == 21
    return [d.tz_localize("UTC") + pd.Timedelta(hours=21) for d in days[:n]]


def margin_run(strategy, df, **config):
    config.setdefault("cash", 100_000)
    return ml4t.run_backtest(strategy, df, account="margin", **config)


def at(result, ts) -> pd.Series:
    """The portfolio row recorded at ``ts``."""
    return result.portfolio.loc[pd.Timestamp(ts)]


def short_from_start(asset: str, qty: float, name: str = "ShortFromStart", **hooks):
    """A strategy that opens ``qty`` (signed) in ``asset`` in on_start (fills at bar 0's open)."""
    def on_start(self):
        self.placed, self.returned, self.seen = [], [], []
        self.broker.order(asset, qty)
    return type(name, (scripted({}),), {"on_start": on_start, **hooks})


# ------------------------------------------------------------------ the leveraged long
# Closes of XYZ; bars are flat (open = close), so fills at an open happen at that close.
CRASH = [100, 100, 95, 80, 70, 64, 60, 62, 65]
CRASH_TS = day_ts(len(CRASH))          # Tue 2024-01-02 .. Fri 2024-01-12


def crash_run(**config):
    """Buy 1,900 XYZ at bar 0's close (fills at bar 1's open, 100) with 100,000: 1.9x."""
    df = frame({"XYZ": flat_bars(CRASH)}, CRASH_TS)
    events = []

    def on_event(self, event):
        events.append(event)

    strat = scripted({0: [("XYZ", 1900, {})]}, on_event=on_event)
    config.setdefault("commission", PercentCommission(0.001))
    return margin_run(strat, df, **config), events


class TestMarginCall:
    def test_call_on_the_right_bar_and_the_smallest_whole_quantity(self):
        result, _ = crash_run()
        # buy 1900 @ 100 + 190 commission: cash = 100000 - 190000 - 190 = -90190
        # equity = -90190 + 1900 c, requirement = 0.25 x 1900 c = 475 c: a call needs
        # 1425 c < 90190, c < 63.29. Bar 5 (close 64): equity 31410 >= 30400, no call.
        assert at(result, CRASH_TS[5])["nav"] == pytest.approx(31_410.0)
        assert at(result, CRASH_TS[5])["maintenance_requirement"] == pytest.approx(30_400.0)
        # bar 6 (close 60): equity -90190 + 114000 = 23810 < 28500: the one call
        calls = result.margin_calls
        assert list(calls["ts"]) == [CRASH_TS[6]]
        assert calls["equity"].iloc[0] == pytest.approx(23_810.0)
        assert calls["requirement"].iloc[0] == pytest.approx(28_500.0)
        # shortfall 4690; each share sold nets (0.25 - 0.001) x 60 = 14.94 of it, so
        # q = ceil(4690 / 14.94) = ceil(313.92) = 314, sold at the close 60
        liq = result.fills[result.fills["ts"] == CRASH_TS[6]]
        assert list(liq["qty"]) == [-314.0]
        assert liq["price"].iloc[0] == pytest.approx(60.0)
        assert liq["commission"].iloc[0] == pytest.approx(18.84)      # 0.001 x 314 x 60
        # 313 would not do: 313 x 14.94 = 4676.22 < 4690
        assert 313 * (0.25 - 0.001) * 60 < 4_690 <= 314 * (0.25 - 0.001) * 60

    def test_after_the_call_the_account_satisfies_maintenance(self):
        result, _ = crash_run()
        row = at(result, CRASH_TS[6])
        # cash = -90190 + 314 x 60 - 18.84 = -71368.84; 1586 x 60 = 95160 held
        assert row["cash"] == pytest.approx(-71_368.84)
        assert row["nav"] == pytest.approx(23_791.16)                  # -71368.84 + 95160
        assert row["maintenance_requirement"] == pytest.approx(23_790.0)   # 0.25 x 95160
        assert row["nav"] >= row["maintenance_requirement"]
        # realised (60 - 100) x 314 = -12560
        assert row["realized_pnl"] == pytest.approx(-12_560.0)
        # and the account stays compliant for the rest of the run (prices recover)
        p = result.portfolio
        assert (p["nav"] >= p["maintenance_requirement"] - 1e-6).all()

    def test_no_call_without_the_crash(self):
        # same buy, but the price only dips to 64: equity stays above the requirement
        df = frame({"XYZ": flat_bars([100, 100, 95, 80, 70, 64, 66])}, day_ts(7))
        result = margin_run(scripted({0: [("XYZ", 1900, {})]}), df,
                            commission=PercentCommission(0.001))
        assert result.margin_calls.empty
        assert not (result.orders["reason"] == "margin_call").any()

    def test_margin_call_event_reaches_on_event_before_the_liquidation_order_events(self):
        result, events = crash_run()
        kinds = [e.kind for e in events]
        call = kinds.index("margin_call")
        event = events[call]
        assert isinstance(event, MarginCallEvent)
        assert event.ts == CRASH_TS[6]
        assert event.equity == pytest.approx(23_810.0)
        assert event.requirement == pytest.approx(28_500.0)
        assert event.shortfall == pytest.approx(4_690.0)
        liq = [i for i, e in enumerate(events)
               if isinstance(e, OrderEvent) and e.order.reason == "margin_call"]
        # submitted, accepted, filled -- all after the call event
        assert len(liq) == 3
        assert call < min(liq)
        # the liquidation fill is delivered too, after the call event
        fills = [i for i, e in enumerate(events) if e.kind == "fill" and e.fill.qty == -314]
        assert len(fills) == 1 and fills[0] > call

    def test_liquidation_orders_carry_reason_margin_call(self):
        result, _ = crash_run()
        orders = result.orders
        liq = orders[orders["reason"] == "margin_call"]
        assert set(liq["order_id"]) == {2}
        assert list(liq["status"]) == ["submitted", "accepted", "filled"]
        assert (liq["ts"] == CRASH_TS[6]).all()
        assert liq["filled"].iloc[-1] == -314
        # the strategy's own order carries no reason
        assert (orders.loc[orders["order_id"] == 1, "reason"] == "").all()

    def test_short_squeeze_triggers_a_call_on_the_short(self):
        # short 1000 @ 100 (fills at bar 1's open), commission 100:
        # cash = 100000 + 100000 - 100 = 199900; equity = 199900 - 1000 c,
        # requirement = 0.30 x 1000 c; a call needs 1300 c > 199900, c > 153.77
        closes = [100, 100, 120, 150, 160, 158]
        ts = day_ts(len(closes))
        df = frame({"XYZ": flat_bars(closes)}, ts)
        result = margin_run(scripted({0: [("XYZ", -1000, {})]}), df,
                            commission=PercentCommission(0.001))
        # close 150: equity 49900 >= 45000 -- no call; close 160: 39900 < 48000
        assert at(result, ts[3])["maintenance_requirement"] == pytest.approx(45_000.0)
        assert list(result.margin_calls["ts"]) == [ts[4]]
        assert result.margin_calls["equity"].iloc[0] == pytest.approx(39_900.0)
        assert result.margin_calls["requirement"].iloc[0] == pytest.approx(48_000.0)
        # shortfall 8100; each share bought back nets (0.30 - 0.001) x 160 = 47.84:
        # q = ceil(8100 / 47.84) = ceil(169.31) = 170 (169 x 47.84 = 8084.96 is short)
        liq = result.fills[result.fills["ts"] == ts[4]]
        assert list(liq["qty"]) == [170.0]
        row = at(result, ts[4])
        # cash = 199900 - 170 x 160 - 27.2 = 172672.8; -830 x 160 = -132800
        assert row["cash"] == pytest.approx(172_672.8)
        assert row["nav"] == pytest.approx(39_872.8)
        assert row["maintenance_requirement"] == pytest.approx(39_840.0)   # 0.30 x 132800
        assert row["nav"] >= row["maintenance_requirement"]

    def test_per_asset_maintenance_from_a_dict(self):
        # AAA 1000 @ 100 and BBB 1800 @ 50 with 100,000: cash -90000 (no commission).
        # AAA's maintenance is 40% (dict), BBB keeps the default 25%.
        ts = day_ts(4)
        df = frame({"AAA": flat_bars([100, 100, 100, 40.25]),
                    "BBB": flat_bars([50, 50, 50, 48])}, ts)
        strat = scripted({0: [("AAA", 1000, {}), ("BBB", 1800, {})]})
        result = margin_run(strat, df, maintenance_margin={"AAA": (0.40, 0.40)})
        # bar 2: requirement 0.40 x 100000 + 0.25 x 90000 = 62500
        assert at(result, ts[2])["maintenance_requirement"] == pytest.approx(62_500.0)
        # bar 3: equity -90000 + 40250 + 86400 = 36650; requirement
        # 0.40 x 40250 + 0.25 x 86400 = 16100 + 21600 = 37700: a call, shortfall 1050
        assert list(result.margin_calls["ts"]) == [ts[3]]
        assert result.margin_calls["equity"].iloc[0] == pytest.approx(36_650.0)
        assert result.margin_calls["requirement"].iloc[0] == pytest.approx(37_700.0)
        # the largest requirement is BBB's (21600 > 16100): 0.25 x 48 = 12 per share,
        # q = ceil(1050 / 12) = ceil(87.5) = 88
        liq = result.fills[result.fills["ts"] == ts[3]]
        assert list(liq["asset"]) == ["BBB"] and list(liq["qty"]) == [-88.0]
        assert at(result, ts[3])["maintenance_requirement"] == pytest.approx(37_700 - 88 * 12)
        # with the default 25% on both there is no call: 0.25 x 126650 = 31662.5 < 36650
        default = margin_run(strat, df)
        assert default.margin_calls.empty
        assert at(default, ts[3])["maintenance_requirement"] == pytest.approx(31_662.5)

    def test_maintenance_dict_with_an_unknown_asset_is_an_error(self):
        # A misspelt asset in the dict must not silently fall back to the defaults
        # (STYLE: unknown names raise with a suggestion; borrow_rate={...} and
        # hard_to_borrow=[...] already do).
        df = frame({"XYZ": flat_bars([50] * 3)}, day_ts(3))
        with pytest.raises(Ml4tError, match="XYq"):
            margin_run(scripted({}), df, maintenance_margin={"XYq": (0.5, 0.5)})


# ------------------------------------------------------------------ liquidation policies
def two_asset_crash():
    # AAA 1000 @ 100, BBB 1800 @ 50: cash -90000 (no commission). Bar 3: AAA 50, BBB 30:
    # equity -90000 + 50000 + 54000 = 14000; requirement 0.25 x 104000 = 26000.
    ts = day_ts(5)
    df = frame({"AAA": flat_bars([100, 100, 100, 50, 50]),
                "BBB": flat_bars([50, 50, 50, 30, 30])}, ts)
    return ts, df, scripted({0: [("AAA", 1000, {}), ("BBB", 1800, {})]})


class FlattenFirst(LiquidationPolicy):
    """Sell the whole position in one named asset first (the default would pick BBB)."""

    def __init__(self, asset):
        self.asset = asset
        self.calls = []

    def plan(self, positions, equity, requirement):
        self.calls.append(([(p["asset"], p["qty"]) for p in positions], equity, requirement))
        for p in positions:
            if p["asset"] == self.asset:
                return [(p["asset"], -p["qty"])]
        return []


class OneShare(LiquidationPolicy):
    """Reduce the largest position by one unit per plan (a slow but valid policy)."""

    def __init__(self):
        self.n = 0

    def plan(self, positions, equity, requirement):
        self.n += 1
        p = positions[0]
        return [(p["asset"], -math.copysign(1.0, p["qty"]))]


class TestLiquidationPolicy:
    def test_default_sells_the_largest_requirement_first(self):
        ts, df, strat = two_asset_crash()
        result = margin_run(strat, df)
        # BBB's requirement 0.25 x 54000 = 13500 > AAA's 12500: sell BBB,
        # 0.25 x 30 = 7.5 per share, 12000 / 7.5 = 1600
        liq = result.fills[result.fills["ts"] == ts[3]]
        assert list(zip(liq["asset"], liq["qty"])) == [("BBB", -1600.0)]

    def test_a_custom_policy_subclass_is_used(self):
        ts, df, strat = two_asset_crash()
        policy = FlattenFirst("AAA")
        result = margin_run(strat, df, liquidation_policy=policy)
        # the policy saw the positions largest requirement first, equity and requirement
        positions, equity, requirement = policy.calls[0]
        assert positions == [("BBB", 1800.0), ("AAA", 1000.0)]
        assert equity == pytest.approx(14_000.0)
        assert requirement == pytest.approx(26_000.0)
        # it sold all 1000 AAA @ 50: cash -90000 + 50000 = -40000; equity 14000,
        # requirement 0.25 x 54000 = 13500 -> satisfied, one plan was enough
        liq = result.fills[result.fills["ts"] == ts[3]]
        assert list(zip(liq["asset"], liq["qty"])) == [("AAA", -1000.0)]
        assert len(policy.calls) == 1
        row = at(result, ts[3])
        assert row["nav"] == pytest.approx(14_000.0)
        assert row["maintenance_requirement"] == pytest.approx(13_500.0)
        orders = result.orders
        assert set(orders.loc[orders["reason"] == "margin_call", "asset"]) == {"AAA"}

    def test_a_custom_policy_is_called_until_maintenance_is_met(self):
        # ml4t/margin.py: plan "is called repeatedly until the account satisfies
        # maintenance or the plan is empty (then the default policy finishes the job)".
        # The leveraged long needs 314 shares sold at 60 (test above); a policy that
        # sells one share per plan must therefore be asked 314 times.
        policy = OneShare()
        result, _ = crash_run(liquidation_policy=policy)
        row = at(result, CRASH_TS[6])
        assert row["nav"] >= row["maintenance_requirement"] - 1e-6, (
            f"after the call: equity {row['nav']} < requirement {row['maintenance_requirement']}"
            f" ({policy.n} plans)")
        sold = -result.fills.loc[result.fills["ts"] == CRASH_TS[6], "qty"].sum()
        assert sold == 314

    def test_a_policy_must_be_a_liquidation_policy(self):
        with pytest.raises(ConfigError) as err:
            ml4t.Engine(account="margin", liquidation_policy=LargestRequirementFirst)
        assert err.value.param == "liquidation_policy"


# ------------------------------------------------------------------ hard to borrow
class TestHardToBorrow:
    def test_new_short_is_rejected_with_reason_hard_to_borrow(self):
        ts = day_ts(4)
        df = frame({"XYZ": flat_bars([50] * 4), "ABC": flat_bars([20] * 4)}, ts)
        strat = scripted({0: [("ABC", -50, {}), ("XYZ", -50, {})]})
        result = margin_run(strat, df, hard_to_borrow=["ABC"])
        last = result.orders.groupby("order_id").tail(1).set_index("order_id")
        assert last.loc[1, "status"] == "rejected"
        assert last.loc[1, "reason"] == "hard_to_borrow"
        # XYZ is not on the list: its short fills
        assert last.loc[2, "status"] == "filled"

    def test_selling_a_long_to_flat_is_allowed_but_not_through_zero(self):
        ts = day_ts(5)
        df = frame({"XYZ": flat_bars([50] * 5)}, ts)
        strat = scripted({0: [("XYZ", 100, {})], 1: [("XYZ", -150, {})],
                          2: [("XYZ", -100, {})]})
        result = margin_run(strat, df, hard_to_borrow=["XYZ"])
        last = result.orders.groupby("order_id").tail(1).set_index("order_id")
        # long 100 -> short 50 would open a short: rejected; long 100 -> 0 fills
        assert (last.loc[2, "status"], last.loc[2, "reason"]) == ("rejected", "hard_to_borrow")
        assert last.loc[3, "status"] == "filled"
        assert result.portfolio["net_exposure"].iloc[-1] == 0

    def test_covering_an_existing_short_is_allowed(self):
        # an existing short (opened before the asset became hard to borrow):
        # buying it back, in part or in full, passes; selling more does not
        led = Ledger(1, 100_000.0, True, True, 0.5)
        led.apply_fill_py(0, 1, 0, -100, 50.0, 0.0)
        led.set_hard_to_borrow(0, True)
        assert led.check_fill(0, 40, 50.0, 0.0) == 0           # partial cover
        assert led.check_fill(0, 100, 50.0, 0.0) == 0          # full cover
        assert led.check_fill(0, -10, 50.0, 0.0) == Reason.HARD_TO_BORROW   # larger short
        led.set_hard_to_borrow(0, False)
        assert led.check_fill(0, -10, 50.0, 0.0) == 0


# ------------------------------------------------------------------ accruals
# January 2024 on XNYS: 21 sessions, Tue 01-02 .. Wed 01-31. Calendar days from each
# session to the next (Fridays 3; Fri 01-12 -> Tue 01-16 is 4, MLK day; the last
# session accrues 1, to Thu 02-01). They sum to 30 (01-02 -> 02-01).
JAN_GAPS = [1, 1, 1, 3, 1, 1, 1, 1, 4, 1, 1, 1, 3, 1, 1, 1, 1, 3, 1, 1, 1]


def month_short(**config):
    """Short 100 XYZ at a constant 50 through January 2024 (fills at the first open)."""
    ts = sessions(21)
    df = frame({"XYZ": flat_bars([50.0] * 21)}, ts)
    return ts, margin_run(short_from_start("XYZ", -100), df, **config)


class TestAccruals:
    def test_a_month_of_borrow_fees_and_cash_interest_to_the_cent(self):
        ts, result = month_short(borrow_rate=0.10, interest_rate=0.05, day_count=360)
        acc = result.accruals
        fees = acc[acc["kind"] == "borrow_fee"]
        interest = acc[acc["kind"] == "interest"]
        assert len(fees) == 21 and len(interest) == 21
        assert list(fees["ts"]) == ts and list(interest["ts"]) == ts
        assert (fees["asset"] == "XYZ").all() and (interest["asset"] == "").all()
        # borrow fee on 100 x 50 = 5000 short value: 5000 x 0.10 x d / 360 each session,
        # 5000 x 0.10 x 30 / 360 = 41.67 over the month
        assert fees["base"].tolist() == [5_000.0] * 21
        assert fees["amount"].sum() == pytest.approx(-41.67, abs=0.005)
        np.testing.assert_allclose(fees["amount"], [-5000 * 0.10 * d / 360 for d in JAN_GAPS])
        # Fri 01-05 accrues 3 days: 5000 x 0.10 x 3 / 360 = 4.1667; Fri 01-12 four: 5.5556
        assert fees["amount"].iloc[3] == pytest.approx(-4.166667, abs=1e-6)
        assert fees["amount"].iloc[8] == pytest.approx(-5.555556, abs=1e-6)
        # interest on cash 100000 + 5000 short proceeds = 105000: first session
        # 105000 x 0.05 / 360 = 14.583333; each later one is on the cash after the
        # previous accruals: cash <- cash x (1 + 0.05 d / 360) - 5000 x 0.10 x d / 360
        assert interest["amount"].iloc[0] == pytest.approx(14.583333, abs=1e-6)
        cash, expected = 105_000.0, []
        for d in JAN_GAPS:
            expected.append(cash * 0.05 * d / 360)
            cash += cash * 0.05 * d / 360 - 5_000 * 0.10 * d / 360
        np.testing.assert_allclose(interest["amount"], expected, rtol=1e-12)
        # total 438.27 (simple interest would be 105000 x 0.05 x 30 / 360 = 437.50;
        # the rest is interest on interest); net of fees 396.60
        assert interest["amount"].sum() == pytest.approx(438.27, abs=0.005)
        assert acc["amount"].sum() == pytest.approx(396.60, abs=0.005)

    def test_day_count_365(self):
        _, result = month_short(borrow_rate=0.10, interest_rate=0.05, day_count=365)
        acc = result.accruals
        fees = acc[acc["kind"] == "borrow_fee"]["amount"]
        interest = acc[acc["kind"] == "interest"]["amount"]
        # 5000 x 0.10 x 30 / 365 = 41.10; the Friday 5000 x 0.10 x 3 / 365 = 4.1096
        assert fees.sum() == pytest.approx(-41.10, abs=0.005)
        assert fees.iloc[3] == pytest.approx(-4.109589, abs=1e-6)
        # first interest 105000 x 0.05 / 365 = 14.383562; compounded month total 432.26
        assert interest.iloc[0] == pytest.approx(14.383562, abs=1e-6)
        assert interest.sum() == pytest.approx(432.26, abs=0.005)

    def test_weekend_accrues_three_days(self):
        ts = day_ts(5)                                    # Tue .. Mon
        df = frame({"XYZ": flat_bars([50.0] * 5)}, ts)
        result = margin_run(short_from_start("XYZ", -100), df, borrow_rate=0.18)
        fees = result.accruals["amount"].to_numpy()
        # weekday 5000 x 0.18 / 360 = 2.5; Friday (index 3) 3 x 2.5 = 7.5
        np.testing.assert_allclose(fees, [-2.5, -2.5, -2.5, -7.5, -2.5])

    def test_data_ending_on_a_friday_still_accrues_the_weekend(self):
        # docs: "for the calendar days until the next session (a Friday balance accrues
        # three days)": the last session, Fri 01-05, is followed by Mon 01-08.
        ts = day_ts(4)                                    # Tue .. Fri
        df = frame({"XYZ": flat_bars([50.0] * 4)}, ts)
        result = margin_run(short_from_start("XYZ", -100), df, borrow_rate=0.18)
        fees = result.accruals["amount"].to_numpy()
        np.testing.assert_allclose(fees, [-2.5, -2.5, -2.5, -7.5])

    def test_credit_rate_on_positive_cash_margin_rate_on_negative_cash(self):
        ts = day_ts(5)
        df = frame({"XYZ": flat_bars([100.0] * 5)}, ts)
        # buy 1500 @ 100 with 100,000 (1.5x): cash -50000, a margin loan
        lev = margin_run(short_from_start("XYZ", 1500), df, interest_rate=0.05,
                         margin_rate=0.08)
        acc = lev.accruals
        assert (acc["kind"] == "interest").all() and (acc["rate"] == 0.08).all()
        # -50000 x 0.08 / 360 = -11.111111; then on -50011.111111: -11.113580
        assert acc["base"].iloc[0] == pytest.approx(-50_000.0)
        assert acc["amount"].iloc[0] == pytest.approx(-11.111111, abs=1e-6)
        assert acc["amount"].iloc[1] == pytest.approx(-11.113580, abs=1e-6)
        # Thu on -50022.224691: -11.116050; Friday on -50033.340741, three days:
        # -50033.340741 x 0.08 x 3 / 360 = -33.355560
        assert acc["base"].iloc[3] == pytest.approx(-50_033.340741, abs=1e-6)
        assert acc["amount"].iloc[3] == pytest.approx(-33.355560, abs=1e-6)
        # buy 500 @ 100: cash +50000, credited at 5% only (margin_rate unused)
        cashy = margin_run(short_from_start("XYZ", 500), df, interest_rate=0.05,
                           margin_rate=0.08)
        acc = cashy.accruals
        assert (acc["rate"] == 0.05).all()
        assert acc["amount"].iloc[0] == pytest.approx(6.944444, abs=1e-6)   # 50000 x .05/360
        # no rates: no accrual rows at all
        none = margin_run(short_from_start("XYZ", 1500), df)
        assert none.accruals.empty and (none.portfolio["accrued"] == 0).all()

    def test_borrow_rate_as_a_time_varying_series(self):
        ts = day_ts(5)                                    # Tue 01-02 .. Mon 01-08
        df = frame({"XYZ": flat_bars([50.0] * 5)}, ts)
        rate = pd.Series([0.10, 0.20], index=pd.to_datetime(["2024-01-02", "2024-01-05"]))
        result = margin_run(short_from_start("XYZ", -100), df, borrow_rate=rate)
        acc = result.accruals
        # the latest value at or before each session: 0.10 Tue..Thu, 0.20 from Fri 01-05
        assert acc["rate"].tolist() == [0.10, 0.10, 0.10, 0.20, 0.20]
        # 5000 x 0.10 / 360 = 1.388889; Fri 5000 x 0.20 x 3 / 360 = 8.333333; Mon 2.777778
        np.testing.assert_allclose(acc["amount"], [-1.388889, -1.388889, -1.388889,
                                                   -8.333333, -2.777778], atol=1e-6)

    def test_interest_rate_as_a_series(self):
        ts = day_ts(3)
        df = frame({"XYZ": flat_bars([50.0] * 3)}, ts)
        rate = pd.Series([0.036, 0.072], index=pd.to_datetime(["2023-12-01", "2024-01-03"]))
        result = margin_run(scripted({}), df, interest_rate=rate)
        acc = result.accruals
        assert acc["rate"].tolist() == [0.036, 0.072, 0.072]
        # 100000 x 0.036 / 360 = 10; then 100010 x 0.072 / 360 = 20.002
        assert acc["amount"].iloc[0] == pytest.approx(10.0)
        assert acc["amount"].iloc[1] == pytest.approx(20.002)

    def test_borrow_rate_per_asset_dict(self):
        ts = day_ts(3)
        df = frame({"AAA": flat_bars([50.0] * 3), "BBB": flat_bars([20.0] * 3),
                    "CCC": flat_bars([10.0] * 3)}, ts)

        def on_start(self):
            self.placed, self.returned, self.seen = [], [], []
            for asset in ("AAA", "BBB", "CCC"):
                self.broker.order(asset, -100)

        strat = type("ThreeShorts", (scripted({}),), {"on_start": on_start})
        rate_bbb = pd.Series([0.36], index=pd.to_datetime(["2024-01-01"]))
        result = margin_run(strat, df, borrow_rate={"AAA": 0.09, "BBB": rate_bbb})
        first = result.accruals[result.accruals["ts"] == ts[0]]
        # AAA: 5000 x 0.09 / 360 = 1.25; BBB: 2000 x 0.36 / 360 = 2.0; CCC not listed: 0
        assert first["asset"].tolist() == ["AAA", "BBB"]
        np.testing.assert_allclose(first["amount"], [-1.25, -2.0])
        np.testing.assert_allclose(first["base"], [5_000.0, 2_000.0])

    def test_accrual_rows_and_the_accrued_column(self):
        ts = day_ts(5)
        df = frame({"XYZ": flat_bars([50.0] * 5)}, ts)
        result = margin_run(short_from_start("XYZ", -100), df, borrow_rate=0.18,
                            record="session")
        acc = result.accruals
        assert list(acc.columns) == ["ts", "kind", "asset", "amount", "base", "rate"]
        assert acc["kind"].unique().tolist() == ["borrow_fee"]
        # running total: -2.5, -5, -7.5, -15 (Friday x3), -17.5
        np.testing.assert_allclose(result.portfolio["accrued"], [-2.5, -5, -7.5, -15, -17.5])
        # cash 105000 less the fees so far
        np.testing.assert_allclose(result.portfolio["cash"],
                                   105_000 + np.array([-2.5, -5, -7.5, -15, -17.5]))

    def test_portfolio_accrued_is_the_running_total_of_accruals(self):
        # docs: result.portfolio["accrued"] is the running total of result.accruals;
        # design: "at session end: DAY expiry, accruals (...), history row". With the
        # default record="slice" each row must include the accruals stamped at or before
        # it, as record="session" already does on the same (daily) data.
        ts = day_ts(5)
        df = frame({"XYZ": flat_bars([50.0] * 5)}, ts)
        result = margin_run(short_from_start("XYZ", -100), df, borrow_rate=0.18)
        acc = result.accruals
        running = [acc.loc[acc["ts"] <= t, "amount"].sum() for t in result.portfolio.index]
        # -2.5, -5, -7.5, -15, -17.5 (see the test above)
        np.testing.assert_allclose(result.portfolio["accrued"], running, atol=1e-9)
        np.testing.assert_allclose(result.portfolio["accrued"].iloc[-1], -17.5)


# ------------------------------------------------------------------ funding
# A perpetual-style asset on a 7-day calendar (calendar=None): daily bars at midnight
# UTC; funding times at 08:00 UTC fall between bars, so the price is the last close.
PERP_CLOSES = [100.0, 102.0, 98.0, 101.0, 105.0]
PERP_DAYS = pd.date_range("2024-01-01", periods=5, freq="D")


def perp_run(qty, funding, **config):
    df = frame({"PERP": flat_bars(PERP_CLOSES)}, list(PERP_DAYS))
    return margin_run(short_from_start("PERP", qty), df, calendar=None, funding=funding,
                      **config)


def funding_table(rates, asset="PERP"):
    return pd.DataFrame({"ts": [d + pd.Timedelta(hours=8) for d in PERP_DAYS[:len(rates)]],
                         "asset": asset, "rate": rates})


class TestFunding:
    def test_long_pays_a_positive_rate_and_receives_a_negative_one(self):
        result = perp_run(1000, funding_table([0.001, -0.0005, 0.002]))
        acc = result.accruals
        assert acc["kind"].tolist() == ["funding"] * 3
        assert acc["asset"].tolist() == ["PERP"] * 3
        # qty x last close x rate: 1000 x 100 x 0.001 = 100 paid; 1000 x 102 x -0.0005:
        # 51 received; 1000 x 98 x 0.002 = 196 paid
        np.testing.assert_allclose(acc["base"], [100_000.0, 102_000.0, 98_000.0])
        np.testing.assert_allclose(acc["rate"], [0.001, -0.0005, 0.002])
        np.testing.assert_allclose(acc["amount"], [-100.0, 51.0, -196.0])
        # accrued: -100, -49, -245 from the rows that follow each funding time
        np.testing.assert_allclose(result.portfolio["accrued"], [0, -100, -49, -245, -245])
        # cash: 100000 - 100000 for the long, then the payments
        np.testing.assert_allclose(result.portfolio["cash"], [0, -100, -49, -245, -245])

    def test_short_receives_a_positive_rate(self):
        result = perp_run(-1000, funding_table([0.001, 0.001]))
        acc = result.accruals
        # -1000 x 100 x 0.001 = -100 -> the short receives 100; then 102
        np.testing.assert_allclose(acc["base"], [-100_000.0, -102_000.0])
        np.testing.assert_allclose(acc["amount"], [100.0, 102.0])
        np.testing.assert_allclose(result.portfolio["cash"].iloc[-1], 200_000 + 202.0)

    def test_no_payment_while_flat_and_no_effect_on_other_assets(self):
        table = pd.concat([funding_table([0.001]), funding_table([0.01], asset="SPOT")])
        df = frame({"PERP": flat_bars(PERP_CLOSES), "SPOT": flat_bars(PERP_CLOSES)},
                   list(PERP_DAYS))
        # no position at all: nothing is paid
        flat = margin_run(scripted({}), df, calendar=None, funding=table)
        assert flat.accruals.empty
        # long PERP only: SPOT's funding (1%) is not charged
        long = margin_run(short_from_start("PERP", 10), df, calendar=None, funding=table)
        assert long.accruals["asset"].tolist() == ["PERP"]
        np.testing.assert_allclose(long.accruals["amount"], [-1.0])    # 10 x 100 x 0.001


# ------------------------------------------------------------------ bad input
class TestBadInput:
    @pytest.mark.parametrize("kwargs, param", [
        (dict(borrow_rate=-0.01), "borrow_rate"),
        (dict(borrow_rate=float("nan")), "borrow_rate"),
        (dict(borrow_rate={"XYZ": float("nan")}), "borrow_rate['XYZ']"),
        (dict(borrow_rate=pd.Series([0.1, float("nan")],
                                    index=pd.to_datetime(["2024-01-01", "2024-01-03"]))),
         "borrow_rate"),
        (dict(interest_rate=float("nan")), "interest_rate"),
        (dict(interest_rate=-0.02), "interest_rate"),
        (dict(margin_rate=-0.05), "margin_rate"),
        (dict(margin_rate="five percent"), "margin_rate"),
        (dict(day_count=364), "day_count"),
    ])
    def test_bad_rates_raise_config_error_naming_the_option(self, kwargs, param):
        with pytest.raises(ConfigError) as err:
            ml4t.Engine(account="margin", **kwargs)
        assert err.value.param.startswith(param)
        assert param.split("[")[0] in str(err.value)

    @pytest.mark.parametrize("mm", [(1.5, 0.3), (0.25, -0.1), (float("nan"), 0.3),
                                    {"XYZ": (0.25, 1.2)}, (0.25,), 0.25])
    def test_maintenance_margin_outside_0_1_is_refused(self, mm):
        with pytest.raises(ConfigError) as err:
            ml4t.Engine(account="margin", maintenance_margin=mm)
        assert err.value.param == "maintenance_margin"

    def test_rate_series_starting_after_the_first_session_is_refused(self):
        df = frame({"XYZ": flat_bars([50.0] * 3)}, day_ts(3))      # first session 01-02
        late = pd.Series([0.1], index=pd.to_datetime(["2024-01-04"]))
        with pytest.raises(ConfigError) as err:
            margin_run(short_from_start("XYZ", -100), df, borrow_rate=late)
        assert err.value.param == "borrow_rate['XYZ']"
        assert "2024-01-04" in str(err.value)
        with pytest.raises(ConfigError) as err:
            margin_run(scripted({}), df, interest_rate=late)
        assert err.value.param == "interest_rate"

    def test_rate_series_starting_late_is_refused_before_the_strategy_runs(self):
        # "bad input never reaches the compiled loop unchecked" (docs, Errors): the
        # first session is known before the run, so nothing may be half-run.
        df = frame({"XYZ": flat_bars([50.0] * 3)}, day_ts(3))
        late = pd.Series([0.1], index=pd.to_datetime(["2024-01-04"]))
        bars_seen = []
        strat = scripted({0: [lambda s, bars: bars_seen.append(bars.ts)]})
        with pytest.raises(ConfigError):
            margin_run(strat, df, interest_rate=late)
        assert bars_seen == [], f"the strategy already saw {len(bars_seen)} bar(s)"

    def test_funding_unknown_asset_names_row_and_column(self):
        started = []
        strat = scripted({}, on_start=lambda self: started.append(True))
        table = funding_table([0.001, 0.001, 0.001])
        table.loc[1, "asset"] = "PREP"
        df = frame({"PERP": flat_bars(PERP_CLOSES)}, list(PERP_DAYS))
        with pytest.raises(DataError) as err:
            margin_run(strat, df, calendar=None, funding=table)
        assert (err.value.row, err.value.column, err.value.rule) == (1, "asset", "unknown_asset")
        assert "PREP" in str(err.value)
        assert started == []                     # refused before the strategy started

    def test_funding_nan_rate_names_row_and_column(self):
        table = funding_table([0.001, 0.001, float("nan")])
        df = frame({"PERP": flat_bars(PERP_CLOSES)}, list(PERP_DAYS))
        with pytest.raises(DataError) as err:
            margin_run(scripted({}), df, calendar=None, funding=table)
        assert (err.value.row, err.value.column) == (2, "rate")

    def test_funding_missing_column_and_wrong_type(self):
        df = frame({"PERP": flat_bars(PERP_CLOSES)}, list(PERP_DAYS))
        with pytest.raises(DataError) as err:
            margin_run(scripted({}), df, calendar=None,
                       funding=funding_table([0.001]).drop(columns="rate"))
        assert err.value.column == "rate"
        with pytest.raises(ConfigError) as err:
            ml4t.Engine(funding=[{"ts": "2024-01-01", "asset": "PERP", "rate": 0.001}])
        assert err.value.param == "funding"


# ------------------------------------------------------------------ properties
def _path(moves, side):
    """Prices from adverse moves: a long loses when the price falls, a short when it rises."""
    prices, p = [100.0], 100.0
    for m in moves:
        p = max(0.5, p * (1 + side * m))
        prices.append(round(p, 4))
    return prices


@PROPS
@given(moves=st.lists(st.floats(-0.35, 0.15), min_size=2, max_size=10),
       maintenance=st.floats(0.05, 0.6), leverage=st.floats(1.0, 1.95),
       side=st.sampled_from([1, -1]), rate=st.sampled_from([0.0, 0.001, 0.005]))
def test_property_forced_liquidation_restores_maintenance(moves, maintenance, leverage, side,
                                                          rate):
    prices = _path(moves, side)
    ts = day_ts(len(prices)) if len(prices) <= 9 else sessions(len(prices))
    qty = side * math.floor(leverage * 1_000)               # leverage x 100000 / 100
    df = frame({"XYZ": flat_bars(prices)}, ts)
    result = margin_run(short_from_start("XYZ", qty), df,
                        maintenance_margin=(maintenance, maintenance),
                        commission=PercentCommission(rate))
    p = result.portfolio
    held = p["gross_exposure"] > 0
    # every recorded bar: equity covers the requirement, unless everything was sold
    bad = held & (p["nav"] < p["maintenance_requirement"] - 1e-6 * p["gross_exposure"])
    assert not bad.any(), p[bad]
    # each call sold the smallest whole quantity: (m - c) x close x q covers the shortfall,
    # q - 1 would not (or q was the whole position)
    for _, call in result.margin_calls.iterrows():
        liq = result.fills[(result.fills["ts"] == call["ts"])
                           & result.fills["order_id"].isin(
                               result.orders.loc[result.orders["reason"] == "margin_call",
                                                 "order_id"])]
        q = abs(liq["qty"].sum())
        price = liq["price"].iloc[0]
        before = abs(p.loc[call["ts"], "gross_exposure"] / price) + q
        shortfall = call["requirement"] - call["equity"]
        per_unit = (maintenance - rate) * price
        if q < before - 1e-9:
            assert per_unit * q >= shortfall - 1e-6
            assert per_unit * (q - 1) < shortfall + 1e-6


@PROPS
@given(rate=st.floats(0.001, 0.5), price=st.floats(1.0, 500.0),
       qty=st.integers(1, 1_000), day_count=st.sampled_from([360, 365]))
def test_property_accruals_are_linear_in_rate_and_time(rate, price, qty, day_count):
    ts = day_ts(5)                                           # Tue .. Mon (Friday = 3 days)
    df = frame({"XYZ": flat_bars([price] * 5)}, ts)
    strat = short_from_start("XYZ", -qty)
    big = 10_000_000                        # enough equity for any short drawn here
    one = margin_run(strat, df, cash=big, borrow_rate=rate, day_count=day_count).accruals
    two = margin_run(strat, df, cash=big, borrow_rate=2 * rate, day_count=day_count).accruals
    assert len(one) == len(two) == 5
    a1, a2 = one["amount"].to_numpy(), two["amount"].to_numpy()
    # the formula: -qty x price x rate x days / day_count
    days = np.array([1, 1, 1, 3, 1])
    np.testing.assert_allclose(a1, -qty * price * rate * days / day_count, rtol=1e-12)
    np.testing.assert_allclose(a2, 2 * a1, rtol=1e-12)                 # double the rate
    np.testing.assert_allclose(a1[3], 3 * a1[2], rtol=1e-12)           # Fri = 3 x Thu
    # interest: each row is base x rate x days / day_count on its own base
    cash = margin_run(scripted({}), df, interest_rate=rate, day_count=day_count).accruals
    np.testing.assert_allclose(cash["amount"],
                               cash["base"] * rate * days / day_count, rtol=1e-12)


@PROPS
@given(a_moves=st.lists(st.floats(-0.3, 0.3), min_size=8, max_size=8),
       b_moves=st.lists(st.floats(-0.3, 0.3), min_size=8, max_size=8),
       orders=st.lists(st.tuples(st.integers(0, 7), st.sampled_from(["AAA", "BBB"]),
                                 st.integers(-900, 900).filter(lambda q: q != 0)),
                       min_size=1, max_size=8),
       maintenance=st.floats(0.1, 0.5), dividend=st.floats(0.0, 3.0))
def test_property_nav_identity_on_a_margin_account(a_moves, b_moves, orders, maintenance,
                                                   dividend):
    ts = day_ts(9)
    df = frame({"AAA": flat_bars(_path(a_moves, 1)), "BBB": flat_bars(_path(b_moves, 1))}, ts)
    plan = {}
    for bar, asset, q in orders:
        plan.setdefault(bar, []).append((asset, q, {}))
    # a dividend on AAA, ex 01-05, paid 01-10: a receivable in between
    actions = pd.DataFrame({"asset": ["AAA"], "ex_date": ["2024-01-05"],
                            "amount": [dividend], "pay_date": ["2024-01-10"]})
    result = margin_run(scripted(plan), df, maintenance_margin=(maintenance, maintenance),
                        borrow_rate=0.2, interest_rate=0.03, margin_rate=0.07,
                        commission=PercentCommission(0.001), corporate_actions=actions)
    p = result.portfolio
    pos = result.positions
    held = (pos["qty"] * pos["price"]).groupby(pos["ts"]).sum()
    held = held.reindex(p.index, fill_value=0.0)
    # NAV = cash + sum(qty x price) + receivable at every bar
    np.testing.assert_allclose(p["nav"], p["cash"] + held + p["receivable"],
                               rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(p["positions_value"], held, rtol=1e-12, atol=1e-6)


# ------------------------------------------------------------------ golden key numbers
def expected(name: str, table: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / name / "expected" / f"{table}.csv")


def test_golden_margin_call_hand_calculation():
    calls = expected("margin_call", "margin_calls")
    # equity -90190 + 1900 x 60 = 23810 vs 0.25 x 114000; then -71368.84 + 1586 x 55
    assert calls["equity"].tolist() == pytest.approx([23_810.0, 15_861.16])
    assert calls["requirement"].tolist() == pytest.approx([28_500.0, 21_807.5])
    fills = expected("margin_call", "fills")
    # 1900 bought @ 100; calls sell 314 @ 60 and 435 @ 55; the strategy sells 1151 @ 58
    assert fills["qty"].tolist() == [1900, -314, -435, -1151]
    assert fills["price"].tolist() == [100, 60, 55, 58]
    assert fills["commission"].tolist() == pytest.approx([190, 18.84, 23.925, 66.758])
    orders = expected("margin_call", "orders")
    assert set(orders.loc[orders["reason"] == "margin_call", "order_id"]) == {2, 3}
    p = expected("margin_call", "portfolio").set_index("ts")
    assert p.loc["2024-01-10 21:00:00+00:00", "cash"] == pytest.approx(-71_368.84)
    assert p.loc["2024-01-10 21:00:00+00:00", "nav"] == pytest.approx(23_791.16)
    assert p.loc["2024-01-10 21:00:00+00:00", "maintenance_requirement"] == pytest.approx(23_790)
    assert p.loc["2024-01-11 21:00:00+00:00", "nav"] == pytest.approx(15_837.235)
    assert p.loc["2024-01-11 21:00:00+00:00", "maintenance_requirement"] == \
        pytest.approx(15_826.25)
    assert p["nav"].iloc[-1] == pytest.approx(19_223.477)
    trade = expected("margin_call", "trades").iloc[0]
    assert trade["exit_price"] == pytest.approx(109_523 / 1_900)
    assert (trade["pnl"], trade["commission"]) == pytest.approx((-80_477, 299.523))


def test_golden_borrow_interest_hand_calculation():
    acc = expected("borrow_interest", "accruals")
    fees = acc[acc["kind"] == "borrow_fee"]
    interest = acc[acc["kind"] == "interest"]
    # 10200 x 0.12 / 360; 10400 x 0.12 x 3 / 360 (the weekend); 10000 x 0.12 / 360
    assert fees["amount"].tolist() == pytest.approx([-3.4, -10.4, -10 / 3])
    # 100000 x 0.04 / 360; 110011.1111 x 0.04 / 360; 110019.9346 x 0.04 x 3 / 360; ...
    assert interest["amount"].tolist() == pytest.approx(
        [11.11111111, 12.22345679, 36.67331152, 12.22735643, 11.13945577])
    orders = expected("borrow_interest", "orders")
    htb = orders[orders["asset"] == "HTB"].iloc[-1]
    assert (htb["status"], htb["reason"]) == ("rejected", "hard_to_borrow")
    p = expected("borrow_interest", "portfolio")
    assert p["accrued"].iloc[-1] == pytest.approx(66.24135829)
    assert p["nav"].iloc[-1] == pytest.approx(100_266.2414)   # 100000 + 200 + 66.24
    assert p["maintenance_requirement"].iloc[1] == pytest.approx(3_060)   # 0.3 x 10200


def test_golden_funding_hand_calculation():
    acc = expected("funding", "accruals")
    assert acc["kind"].tolist() == ["funding"] * 6
    np.testing.assert_allclose(acc["amount"], [-4, -8, 4, 4.1, 12.3, 4.1])
    p = expected("funding", "portfolio")
    np.testing.assert_allclose(p["accrued"].iloc[-1], 12.5)
    np.testing.assert_allclose(p["nav"].iloc[-1], 102_012.5)
    assert expected("funding", "fills")["realized_pnl"].tolist() == [0, 1_000]


def test_funding_series_with_a_gap_while_holding_is_refused():
    # rows on days 1, 2 and 4 but not 3: holding through day 3 needs its payment
    from ml4t.errors import DataError
    table = pd.DataFrame({"ts": [PERP_DAYS[i] + pd.Timedelta(hours=8) for i in (0, 1, 3)],
                          "asset": "PERP", "rate": [0.001] * 3})
    with pytest.raises(DataError, match=r"PERP.*2024-01-04") as e:
        perp_run(1000, table)
    assert e.value.rule == "funding_gap"


def test_initial_margin_per_asset():
    # 100,000 cash; A at 0.5 (2x), B at 1.0 (no leverage). 1,500 A at 100 = 150,000 needs
    # 75,000: accepted. 1,500 B needs 150,000 > NAV: rejected; 1,000 B (100,000) fits alone.
    df = frame({"A": flat_bars([100.0] * 3), "B": flat_bars([100.0] * 3)})
    cfg = dict(initial_margin={"B": 1.0}, fill="same_close")
    ok = margin_run(scripted({0: [("A", 1500, {})]}), df, **cfg)
    assert ok.fills["qty"].tolist() == [1500]
    no = margin_run(scripted({0: [("B", 1500, {})]}), df, **cfg)
    assert no.fills.empty and no.orders.iloc[-1]["reason"] == "insufficient_margin"
    fits = margin_run(scripted({0: [("B", 1000, {})]}), df, **cfg)
    assert fits.fills["qty"].tolist() == [1000]
    # together: 1,000 A (50,000 required) leaves room for 500 B (50,000), not 501
    both = margin_run(scripted({0: [("A", 1000, {}), ("B", 500, {})],
                                1: [("B", 1, {})]}), df, **cfg)
    assert both.fills["qty"].tolist() == [1000, 500]
    assert both.orders.iloc[-1]["reason"] == "insufficient_margin"
    from ml4t.errors import ConfigError
    with pytest.raises(ConfigError, match="initial_margin"):
        margin_run(scripted({}), df, initial_margin={"B": 1.5})
    with pytest.raises(ConfigError, match="initial_margin"):
        margin_run(scripted({}), df, initial_margin={"NOPE": 0.5})


def test_margin_calls_off_keeps_the_position():
    # the crash of TestMarginCall: 1,900 shares at 100 on 100,000, price to 60. With
    # margin_calls=False nothing is sold, equity 24,000 < requirement 28,500 is reported.
    df = frame({"X": flat_bars([100.0, 100.0, 60.0, 60.0])})
    r = margin_run(scripted({0: [("X", 1900, {})]}), df, fill="same_close", margin_calls=False)
    assert r.margin_calls.empty
    assert r.fills["qty"].tolist() == [1900]
    p = r.portfolio.iloc[2]
    assert (p["nav"], p["maintenance_requirement"]) == (24_000, 28_500)
